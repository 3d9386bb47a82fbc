package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"switchyard/server/routing"
	"switchyard/server/routing/sim"
)

// routesim runs `switchyard routesim`: synthetic traffic over gateways whose
// success rates drift, degrade, recover and go down, routed by Switchyard's
// router and by the approaches it should beat, each scored against an
// oracle that always picks the best gateway. The output is deterministic
// for a seed.
func routesim(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("routesim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	seed := fs.Uint64("seed", 1, "seed of the traffic and of the routers' randomness")
	runs := fs.Int("runs", 1, "runs per scenario, with seeds seed, seed+1, …; the table shows their means")
	n := fs.Int("n", 50000, "txns per scenario")
	scenario := fs.String("scenario", "all", "scenario to run: "+scenarioNames()+" or all")
	estimators := fs.Bool("estimators", false, "also compare the bare estimators the router's was chosen among, and the router's parts")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: switchyard routesim [-seed N] [-runs N] [-n TXNS] [-scenario NAME] [-estimators]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("routesim: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1000 || *n > 10_000_000 {
		return fmt.Errorf("routesim: -n must be between 1000 and 10000000")
	}
	if *runs < 1 || *runs > 100 {
		return fmt.Errorf("routesim: -runs must be between 1 and 100")
	}
	scs := sim.Scenarios
	if *scenario != "all" {
		sc, ok := sim.ScenarioByName(*scenario)
		if !ok {
			return fmt.Errorf("routesim: unknown scenario %q; want %s or all", *scenario, scenarioNames())
		}
		scs = []sim.Scenario{sc}
	}

	seeds := fmt.Sprintf("seed %d", *seed)
	if *runs > 1 {
		seeds = fmt.Sprintf("means of %d runs, seeds %d-%d", *runs, *seed, *seed+uint64(*runs)-1)
	}
	fmt.Fprintf(stdout, "routesim: %d txns per scenario, %s; %d gateways, %d payment methods, 5 txns/s, outcomes 3-60 s late\n\n",
		*n, seeds, len(sim.Gateways), len(sim.Segments))
	approaches := []sim.Maker{
		sim.Switchyard("switchyard", routing.Options{}, true),
		sim.SRv3,
		sim.Static,
		sim.RoundRobin,
	}
	res := sim.RunMeans(scs, approaches, *n, *seed, *runs)
	w := nameWidth(approaches)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := fmt.Sprintf("%-*s\t", w, "approach")
	for _, sc := range scs {
		header += sc.Name + "\tof oracle\t"
	}
	fmt.Fprintln(tw, header)
	line := fmt.Sprintf("%-*s\t", w, "oracle")
	for i := range scs {
		line += pct(res[i][0].OracleRate) + "\t\t"
	}
	fmt.Fprintln(tw, line)
	for j, mk := range approaches {
		line := fmt.Sprintf("%-*s\t", w, mk.Name)
		for i := range scs {
			line += pct(res[i][j].Rate) + "\t" + pct(res[i][j].OfOracle) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, sc := range scs {
		fmt.Fprintf(stdout, "  %-10s  %s\n", sc.Name, sc.Doc)
	}

	if *estimators {
		fmt.Fprintf(stdout, "\nestimators (%% of oracle):\n\n")
		mks := []sim.Maker{
			sim.SlidingGreedy(100, 0.02),
			sim.DiscountedGreedy(250, 0.05),
			sim.SWUCB(1000, 0.01),
			sim.DUCB(500, 0.002),
			sim.DTS(500, false),
			sim.KalmanTS(1e-5, 0.7),
			// The router's parts: its estimator with elimination, then
			// what it adds. Spread 10 makes the segment prior void.
			sim.Switchyard("router: Kalman Thompson + elimination", routing.Options{Spread: 10, ExploreFloor: -1}, true),
			sim.Switchyard("  + exploration floor", routing.Options{Spread: 10}, true),
			sim.Switchyard("  + segment prior (switchyard)", routing.Options{}, true),
			sim.Switchyard("switchyard without elimination", routing.Options{}, false),
		}
		res := sim.RunMeans(scs, mks, *n, *seed, *runs)
		w := nameWidth(mks)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		header := fmt.Sprintf("%-*s\t", w, "estimator")
		for _, sc := range scs {
			header += sc.Name + "\t"
		}
		fmt.Fprintln(tw, header+"mean\t")
		for j, mk := range mks {
			line, sum := fmt.Sprintf("%-*s\t", w, mk.Name), 0.0
			for i := range scs {
				line += pct(res[i][j].OfOracle) + "\t"
				sum += res[i][j].OfOracle
			}
			fmt.Fprintln(tw, line+pct(sum/float64(len(scs)))+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func scenarioNames() string {
	var names []string
	for _, sc := range sim.Scenarios {
		names = append(names, sc.Name)
	}
	return strings.Join(names, ", ")
}

func nameWidth(mks []sim.Maker) int {
	w := len("approach")
	for _, mk := range mks {
		w = max(w, len([]rune(mk.Name)))
	}
	return w
}

func pct(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }
