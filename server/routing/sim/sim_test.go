package sim

import (
	"testing"

	"switchyard/server/routing"
)

// TestScenarios runs every scenario with a fixed seed and holds the router
// to its goals: at least 98% of the oracle's success and ahead of
// decision-engine's SR v3 on the mixed scenario, and ahead of static
// priority and round robin everywhere. The floors sit a little under what
// seed 1 gives (see the package documentation of routing), so a regression
// fails and noise does not.
func TestScenarios(t *testing.T) {
	const n = 50000
	floors := map[string]float64{"stationary": 0.985, "drift": 0.98, "degrade": 0.98, "outage": 0.98, "mixed": 0.98}
	sw := Switchyard("switchyard", routing.Options{}, true)
	res := RunAll(Scenarios[:], []Maker{sw, SRv3, Static, RoundRobin}, n, 1)
	for i, sc := range Scenarios {
		router, srv3, static, rr := res[i][0], res[i][1], res[i][2], res[i][3]
		t.Logf("%-10s oracle %.2f%%  switchyard %.2f%%  SR v3 %.2f%%  static %.2f%%  round robin %.2f%%", sc.Name,
			100*router.OracleRate(), 100*router.OfOracle(), 100*srv3.OfOracle(), 100*static.OfOracle(), 100*rr.OfOracle())
		if got, floor := router.OfOracle(), floors[sc.Name]; got < floor {
			t.Errorf("%s: switchyard at %.2f%% of the oracle, want at least %.1f%%", sc.Name, 100*got, 100*floor)
		}
		if sc.Name == "mixed" && router.Successes <= srv3.Successes {
			t.Errorf("mixed: switchyard charged %d, SR v3 %d: want switchyard ahead", router.Successes, srv3.Successes)
		}
		if router.Successes <= static.Successes || router.Successes <= rr.Successes {
			t.Errorf("%s: switchyard %d, static %d, round robin %d", sc.Name, router.Successes, static.Successes, rr.Successes)
		}
	}
}

// TestScenariosDense runs the mixed story in 20,000 txns, changes 2.5 times
// as fast per txn: the router stays ahead of SR v3 (it reaches about 97.4%
// of the oracle there, SR v3 about 96.6%).
func TestScenariosDense(t *testing.T) {
	sc, _ := ScenarioByName("mixed")
	res := RunAll([]Scenario{sc}, []Maker{Switchyard("switchyard", routing.Options{}, true), SRv3}, 20000, 1)
	router, srv3 := res[0][0], res[0][1]
	t.Logf("mixed, 20000 txns: switchyard %.2f%%, SR v3 %.2f%%", 100*router.OfOracle(), 100*srv3.OfOracle())
	if router.OfOracle() < 0.97 || router.Successes <= srv3.Successes {
		t.Errorf("switchyard %.2f%% of the oracle, SR v3 %.2f%%", 100*router.OfOracle(), 100*srv3.OfOracle())
	}
}

func TestDeterministic(t *testing.T) {
	sc, _ := ScenarioByName("mixed")
	for _, mk := range []Maker{Switchyard("switchyard", routing.Options{}, true), SRv3, DTS(250, false)} {
		a, b := Run(sc, mk, 5000, 9), Run(sc, mk, 5000, 9)
		if a != b {
			t.Errorf("%s: %+v then %+v", mk.Name, a, b)
		}
		if c := Run(sc, mk, 5000, 10); c == a {
			t.Errorf("%s: seeds 9 and 10 gave the same result %+v", mk.Name, c)
		}
	}
}

func TestOracleIsBest(t *testing.T) {
	for _, sc := range Scenarios {
		for _, mk := range []Maker{Static, RoundRobin, SlidingGreedy(100, 0.05), SWUCB(500, 0.05), DUCB(250, 0.01), KalmanTS(1e-5, 1)} {
			if r := Run(sc, mk, 3000, 2); r.Successes > r.Oracle {
				t.Errorf("%s, %s: %d charged, more than the oracle's %d", sc.Name, mk.Name, r.Successes, r.Oracle)
			}
		}
	}
}
