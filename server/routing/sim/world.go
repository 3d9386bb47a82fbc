// Package sim is routesim's engine: synthetic payment traffic over gateways
// whose success rates drift, degrade, recover and go down, replayed against
// routing policies (Switchyard's router, a reimplementation of Juspay
// decision-engine's SR v3, static priority, round robin, and bare bandit
// estimators) and scored against an oracle that always knows the best
// gateway. It is pure and deterministic for a seed.
package sim

import (
	"math"
	"math/rand/v2"
)

// Gateway is a synthetic processor.
type Gateway struct {
	Name       string
	FeePercent string
}

// Segment is a slice of the traffic: one payment method.
type Segment struct {
	MethodType string
	Method     string
	// Share is the segment's fraction of the traffic.
	Share float64
	// Abandon is the probability that the shopper abandons (3DS, bank or
	// UPI app) whatever the gateway: the outcome routing must Ignore.
	Abandon float64
	// Delay bounds, in seconds, how late a final outcome arrives.
	DelayMin, DelayMax float64
}

// Gateways of the synthetic world.
var Gateways = [...]Gateway{
	{"A", "2.0"}, {"B", "1.8"}, {"C", "2.2"}, {"D", "1.6"},
}

// Segments of the synthetic world: a card-heavy Indian mix.
var Segments = [...]Segment{
	{"CARD", "VISA", 0.28, 0.10, 5, 40},
	{"CARD", "MASTERCARD", 0.17, 0.10, 5, 40},
	{"CARD", "RUPAY", 0.08, 0.12, 5, 40},
	{"CARD", "AMEX", 0.04, 0.08, 5, 40},
	{"UPI", "UPI", 0.28, 0.15, 10, 60},
	{"NB", "NB_HDFC", 0.06, 0.08, 10, 40},
	{"NB", "NB_SBI", 0.05, 0.10, 10, 40},
	{"WALLET", "PAYTM", 0.04, 0.05, 3, 15},
}

// base is each segment's success probability at each gateway (A, B, C, D)
// when nothing is wrong, given the shopper completes; 0: not supported.
var base = [][]float64{
	{0.92, 0.89, 0.86, 0.90}, // VISA
	{0.90, 0.91, 0.85, 0.88}, // MASTERCARD
	{0, 0.84, 0.90, 0},       // RUPAY
	{0.88, 0.82, 0, 0.90},    // AMEX
	{0.80, 0.86, 0.83, 0},    // UPI
	{0.90, 0, 0.85, 0.92},    // NB_HDFC
	{0.82, 0, 0.88, 0.80},    // NB_SBI
	{0, 0.93, 0.90, 0},       // PAYTM
}

// State is a gateway's availability.
type State uint8

// States.
const (
	// Up: the gateway processes payments.
	Up State = iota
	// Down: the gateway refuses connections; the orchestrator falls back
	// to the next candidate at once.
	Down
	// TimingOut: requests time out; the txn fails (it may have been
	// processed, so no fallback) and the outcome arrives after 30 s.
	TimingOut
)

// Scenario is a story of the gateways' health over a run.
type Scenario struct {
	Name string
	Doc  string
	// health gives gateway g's success probability for segment s, and its
	// state, at progress t in [0, 1).
	health func(g, s int, t float64) (float64, State)
}

// Scenarios routesim runs, by name.
var Scenarios = []Scenario{
	{"stationary", "fixed success rates", func(g, s int, t float64) (float64, State) {
		return base[s][g], Up
	}},
	{"drift", "every rate drifts ±0.07 on its own slow cycle; leaders change", func(g, s int, t float64) (float64, State) {
		return drift(g, s, t, 0.07), Up
	}},
	{"degrade", "A loses 0.35 on all methods for a quarter of the run then recovers gradually; B's UPI and D's HDFC netbanking degrade for a while", degrade},
	{"outage", "A down 10% of the run, B times out 3%, C flaps down briefly every 10%, D down 5%", outage},
	{"mixed", "drift ±0.05, with degradations, outages, timeouts and flapping", mixed},
}

// ScenarioByName returns the scenario called name.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// phases and periods of the drift: fixed, so a scenario is the same story
// whatever the seed (the seed varies the traffic and the outcomes).
var phases, periods = func() ([][]float64, []float64) {
	rng := rand.New(rand.NewPCG(7, 11))
	ph := make([][]float64, len(Segments))
	for s := range ph {
		ph[s] = make([]float64, len(Gateways))
		for g := range ph[s] {
			ph[s][g] = rng.Float64()
		}
	}
	return ph, []float64{2, 3, 1.5, 2.5}
}()

func drift(g, s int, t, amp float64) float64 {
	b := base[s][g]
	if b == 0 {
		return 0
	}
	return clamp(b + amp*math.Sin(2*math.Pi*(periods[g]*t+phases[s][g])))
}

func clamp(p float64) float64 { return min(max(p, 0.05), 0.99) }

// ramp is 0 before a, 1 after b, linear between.
func ramp(t, a, b float64) float64 {
	switch {
	case t <= a:
		return 0
	case t >= b:
		return 1
	}
	return (t - a) / (b - a)
}

func degrade(g, s int, t float64) (float64, State) {
	p := base[s][g]
	if p == 0 {
		return 0, Up
	}
	switch {
	case g == 0 && t >= 0.25 && t < 0.60:
		p -= 0.35 * (1 - ramp(t, 0.50, 0.60))
	case g == 1 && s == 4 && t >= 0.65 && t < 0.80:
		p = 0.45
	case g == 3 && s == 5 && t >= 0.10 && t < 0.20:
		p = 0.50
	}
	return clamp(p), Up
}

func outage(g, s int, t float64) (float64, State) {
	p := base[s][g]
	switch {
	case g == 0 && t >= 0.20 && t < 0.30,
		g == 2 && math.Mod(t, 0.1) < 0.008,
		g == 3 && t >= 0.70 && t < 0.75:
		return p, Down
	case g == 1 && t >= 0.50 && t < 0.53:
		return p, TimingOut
	}
	return p, Up
}

func mixed(g, s int, t float64) (float64, State) {
	p := drift(g, s, t, 0.05)
	if p == 0 {
		return 0, Up
	}
	switch {
	case g == 0 && t >= 0.15 && t < 0.35:
		p -= 0.35 * (1 - ramp(t, 0.30, 0.35))
	case g == 1 && s == 4 && t >= 0.55 && t < 0.65:
		p = 0.45
	}
	switch {
	case g == 0 && t >= 0.40 && t < 0.46,
		g == 3 && math.Mod(t, 0.125) < 0.006:
		return clamp(p), Down
	case g == 2 && t >= 0.75 && t < 0.77:
		return clamp(p), TimingOut
	}
	return clamp(p), Up
}
