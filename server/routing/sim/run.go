package sim

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"time"

	"switchyard/server/routing"
)

// Txn is one synthetic payment.
type Txn struct {
	Seq     int
	ID      string
	Segment int
	// Amount is in paise (INR minor units).
	Amount int64
	At     time.Time
	// Eligible lists the gateways that support the txn's segment.
	Eligible []int
}

// Policy is a routing approach under test.
type Policy interface {
	// Rank writes the gateways to try for tx, best first, to out and
	// returns how many it wrote.
	Rank(tx *Txn, out []int) int
	// Observe learns tx's final outcome at gateway g, at time at.
	Observe(tx *Txn, g int, o routing.Outcome, at time.Time)
}

// Maker names a policy and builds a fresh one for a run.
type Maker struct {
	Name string
	New  func(seed uint64) Policy
}

// Result is a policy's score over one scenario run.
type Result struct {
	Scenario  string
	Policy    string
	Txns      int
	Successes int
	// Oracle is how many txns the oracle charged on the same traffic.
	Oracle int
}

// Rate is the achieved success rate.
func (r Result) Rate() float64 { return float64(r.Successes) / float64(r.Txns) }

// OracleRate is the oracle's success rate.
func (r Result) OracleRate() float64 { return float64(r.Oracle) / float64(r.Txns) }

// OfOracle is the achieved success as a fraction of the oracle's.
func (r Result) OfOracle() float64 { return float64(r.Successes) / float64(r.Oracle) }

// Traffic timing: 5 txns a second (a 50,000-txn run is 2¾ hours); a timed-out request's outcome is known
// after 30 s; an orchestrator tries at most 3 gateways (fallback only after
// Down, when the gateway certainly did not process the payment).
const (
	interval    = 200 * time.Millisecond
	timeout     = 30 * time.Second
	maxAttempts = 3
)

// Start is the simulated clock's start.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// eligible lists, per segment, the gateways that support it.
var eligible = func() [][]int {
	out := make([][]int, len(Segments))
	for s := range Segments {
		for g := range Gateways {
			if base[s][g] > 0 {
				out[s] = append(out[s], g)
			}
		}
	}
	return out
}()

// Run replays n txns of scenario sc, generated from seed, through a fresh
// policy of mk and through the oracle. The traffic and each txn's luck (its
// shopper abandoning, its draw against the gateway's success rate) are the
// same for every policy: only the routing differs.
func Run(sc Scenario, mk Maker, n int, seed uint64) Result {
	res := Result{Scenario: sc.Name, Policy: mk.Name, Txns: n}
	traffic := rand.New(rand.NewPCG(seed, 0x5eed))
	pol := mk.New(seed ^ 0xa5a5a5a5)
	var pend pending
	var order [len(Gateways) + 1]int
	var p [len(Gateways)]float64
	var st [len(Gateways)]State
	for i := 0; i < n; i++ {
		t := float64(i) / float64(n)
		at := Start.Add(time.Duration(i) * interval)
		for len(pend) > 0 && !pend[0].at.After(at) {
			f := heap.Pop(&pend).(feedback)
			pol.Observe(f.tx, f.g, f.o, f.at)
		}

		x, s := traffic.Float64(), 0
		for s < len(Segments)-1 && x >= Segments[s].Share {
			x -= Segments[s].Share
			s++
		}
		seg := &Segments[s]
		abandons := traffic.Float64() < seg.Abandon
		luck := traffic.Float64()
		delay := time.Duration((seg.DelayMin + traffic.Float64()*(seg.DelayMax-seg.DelayMin)) * float64(time.Second))
		// Amounts: log-uniform from ₹100 to ₹20,000.
		amount := int64(math.Exp(math.Log(100)+traffic.Float64()*math.Log(200))) * 100
		tx := &Txn{Seq: i, ID: "sim-" + strconv.Itoa(i), Segment: s, Amount: amount, At: at, Eligible: eligible[s]}

		best := 0.0
		for _, g := range tx.Eligible {
			p[g], st[g] = sc.health(g, s, t)
			if st[g] == Up {
				best = max(best, p[g])
			}
		}
		if !abandons && luck < best {
			res.Oracle++
		}

		k := min(pol.Rank(tx, order[:]), maxAttempts)
		for j := 0; j < k; j++ {
			g := order[j]
			if base[s][g] == 0 {
				panic("sim: " + mk.Name + " routed " + seg.Method + " to " + Gateways[g].Name + ", which does not take it")
			}
			switch {
			case st[g] == Down:
				pol.Observe(tx, g, routing.Unavailable, at)
				continue
			case st[g] == TimingOut:
				heap.Push(&pend, feedback{at.Add(timeout), tx, g, routing.Timeout})
			case abandons:
				heap.Push(&pend, feedback{at.Add(delay), tx, g, routing.Ignore})
			case luck < p[g]:
				res.Successes++
				heap.Push(&pend, feedback{at.Add(delay), tx, g, routing.Success})
			default:
				heap.Push(&pend, feedback{at.Add(delay), tx, g, routing.Failure})
			}
			break
		}
	}
	return res
}

type feedback struct {
	at time.Time
	tx *Txn
	g  int
	o  routing.Outcome
}

// pending is a min-heap of feedback by arrival time.
type pending []feedback

func (h pending) Len() int           { return len(h) }
func (h pending) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h pending) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pending) Push(x any)        { *h = append(*h, x.(feedback)) }
func (h *pending) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

// RunAll runs every maker over every scenario, concurrently, and returns
// the results by scenario, then maker. Each run is deterministic, so the
// table is too.
func RunAll(scs []Scenario, mks []Maker, n int, seed uint64) [][]Result {
	out := make([][]Result, len(scs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, sc := range scs {
		out[i] = make([]Result, len(mks))
		for j, mk := range mks {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				out[i][j] = Run(sc, mk, n, seed)
			}()
		}
	}
	wg.Wait()
	return out
}

// Mean is the mean of results over several seeds.
type Mean struct {
	Rate, OracleRate, OfOracle float64
}

// RunMeans is RunAll over seeds seed … seed+runs−1, averaged.
func RunMeans(scs []Scenario, mks []Maker, n int, seed uint64, runs int) [][]Mean {
	out := make([][]Mean, len(scs))
	for i := range out {
		out[i] = make([]Mean, len(mks))
	}
	for k := 0; k < runs; k++ {
		res := RunAll(scs, mks, n, seed+uint64(k))
		for i := range res {
			for j, r := range res[i] {
				m := &out[i][j]
				m.Rate += r.Rate() / float64(runs)
				m.OracleRate += r.OracleRate() / float64(runs)
				m.OfOracle += r.OfOracle() / float64(runs)
			}
		}
	}
	return out
}
