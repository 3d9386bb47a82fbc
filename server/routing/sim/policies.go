package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"switchyard/server/pay"
	"switchyard/server/routing"
)

// Switchyard is Switchyard's router with the merchant defaults (SR mode,
// elimination at 5% over 20 outcomes, no rules, no cost term) and router
// options o (zero: the defaults); eliminate false turns elimination off.
func Switchyard(name string, o routing.Options, eliminate bool) Maker {
	return Maker{name, func(seed uint64) Policy {
		o := o
		o.Seed = seed
		cfg := pay.DefaultRouting()
		cfg.Elimination.Enabled = eliminate
		plan, err := routing.NewPlan(routing.Setup{MerchantID: "sim", Routing: &cfg, Gateways: accounts(),
			FeeCurrency: "INR", Limits: limits()})
		if err != nil {
			panic(err) // the world is static: a bug
		}
		sw := &switchyard{r: routing.New(o), plan: plan, index: map[string]int{}}
		for g, gw := range Gateways {
			sw.index[gw.Name] = g
		}
		return sw
	}}
}

// accounts are the world's gateways as a merchant's accounts.
func accounts() []*pay.GatewayAccount {
	var out []*pay.GatewayAccount
	for g, gw := range Gateways {
		a := &pay.GatewayAccount{MerchantID: "sim", Name: gw.Name, Connector: "sandbox", Enabled: true,
			Currencies: []string{"INR"}, FeePercent: gw.FeePercent}
		for s, seg := range Segments {
			if base[s][g] > 0 && !contains(a.PaymentMethods, seg.MethodType) {
				a.PaymentMethods = append(a.PaymentMethods, seg.MethodType)
			}
		}
		out = append(out, a)
	}
	return out
}

// limits restrict each account to the methods it supports.
func limits() map[string]routing.Limits {
	out := map[string]routing.Limits{}
	for g, gw := range Gateways {
		var l routing.Limits
		for s, seg := range Segments {
			if base[s][g] > 0 {
				l.Methods = append(l.Methods, seg.Method)
			}
		}
		out[gw.Name] = l
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type switchyard struct {
	r     *routing.Router
	plan  *routing.Plan
	index map[string]int
	dec   routing.Decision
}

func (sw *switchyard) Rank(tx *Txn, out []int) int {
	seg := &Segments[tx.Segment]
	in := routing.Input{TxnID: tx.ID, MethodType: seg.MethodType, Method: seg.Method, Amount: tx.Amount, Currency: "INR"}
	if err := sw.r.Decide(sw.plan, &in, tx.At, &sw.dec); err != nil {
		panic(err)
	}
	n := 0
	for _, c := range sw.dec.List() {
		if n < len(out) {
			out[n] = sw.index[c.Gateway]
			n++
		}
	}
	return n
}

func (sw *switchyard) Observe(tx *Txn, g int, o routing.Outcome, at time.Time) {
	seg := &Segments[tx.Segment]
	sw.r.Observe(routing.Feedback{MerchantID: "sim", Gateway: Gateways[g].Name, MethodType: seg.MethodType,
		Method: seg.Method, Outcome: o, Sent: tx.At}, at)
}

// Static is static priority: A, then B, C, D; no learning.
var Static = Maker{"static priority", func(uint64) Policy { return static{} }}

type static struct{}

func (static) Rank(tx *Txn, out []int) int                   { return copy(out, tx.Eligible) }
func (static) Observe(*Txn, int, routing.Outcome, time.Time) {}

// RoundRobin rotates over the eligible gateways of each segment.
var RoundRobin = Maker{"round robin", func(uint64) Policy { return &roundRobin{next: make([]int, len(Segments))} }}

type roundRobin struct{ next []int }

func (rr *roundRobin) Rank(tx *Txn, out []int) int {
	e := tx.Eligible
	k := rr.next[tx.Segment] % len(e)
	rr.next[tx.Segment]++
	n := 0
	for j := range e {
		out[n] = e[(k+j)%len(e)]
		n++
	}
	return n
}

func (*roundRobin) Observe(*Txn, int, routing.Outcome, time.Time) {}

// SRv3 reimplements Juspay decision-engine's SR v3 success-rate routing
// with its defaults (src/decider/gatewaydecider/gw_scoring.rs,
// src/feedback/gateway_selection_scoring_v3/flow.rs): per gateway and
// payment method a window of the last 125 outcomes, created all ones; the
// score is the window's mean; 5% of txns hedge (a uniformly random
// gateway); the reset (upper and lower factors 3) rewrites the window of
// any gateway scoring below p_max − 3σ, σ = √(max(p_max(1−p_max), 0.09)/125),
// to ⌊(1 − p_max + 3σ)·125⌋ evenly spread zeros; gateways scoring below the
// 0.05 elimination threshold go last (all of them eliminated: best first).
// It learns from the same outcomes as Switchyard's router (not from
// shopper abandonment).
var SRv3 = Maker{"decision-engine SR v3", func(seed uint64) Policy {
	p := &srv3{rng: rand.New(rand.NewPCG(seed, 3)), win: make([][]*ring, len(Segments))}
	for s := range p.win {
		p.win[s] = make([]*ring, len(Gateways))
		for g := range p.win[s] {
			p.win[s][g] = newRing(srv3Bucket)
		}
	}
	return p
}}

const (
	srv3Bucket  = 125
	srv3Hedging = 0.05
	srv3Reset   = 3.0
	srv3Elim    = 0.05
)

type srv3 struct {
	rng *rand.Rand
	win [][]*ring
}

func (p *srv3) Rank(tx *Txn, out []int) int {
	e := tx.Eligible
	w := p.win[tx.Segment]
	var score [len(Gateways)]float64
	pmax := 0.0
	for _, g := range e {
		score[g] = w[g].mean()
		pmax = max(pmax, score[g])
	}
	// Reset starved or collapsed gateways towards the best.
	n := float64(srv3Bucket)
	sigma := math.Sqrt(max(pmax*(1-pmax), 0.09) / n)
	zeros := min(max(int(math.Floor((1-pmax+srv3Reset*sigma)*n)), 2), srv3Bucket)
	for _, g := range e {
		if score[g] < pmax-srv3Reset*sigma {
			w[g].resetSpread(zeros)
			score[g] = w[g].mean()
		}
	}
	k := copy(out, e)
	rank := func(a, b int) bool {
		ea, eb := score[a] < srv3Elim, score[b] < srv3Elim
		if ea != eb {
			return eb
		}
		return score[a] > score[b]
	}
	for i := 1; i < k; i++ {
		for j := i; j > 0 && rank(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if p.rng.Float64() < srv3Hedging {
		j := p.rng.IntN(k)
		g := out[j]
		copy(out[1:j+1], out[:j])
		out[0] = g
	}
	return k
}

func (p *srv3) Observe(tx *Txn, g int, o routing.Outcome, _ time.Time) {
	if o == routing.Ignore {
		return
	}
	p.win[tx.Segment][g].push(o == routing.Success)
}

// ring is a window of the last n outcomes.
type ring struct {
	v   []bool
	at  int
	sum int
	n   int // how many are set (≤ len(v))
}

// newRing returns a full window of successes (SR v3's optimistic start).
func newRing(size int) *ring {
	r := &ring{v: make([]bool, size), sum: size, n: size}
	for i := range r.v {
		r.v[i] = true
	}
	return r
}

func (r *ring) push(ok bool) {
	if r.n == len(r.v) && r.v[r.at] {
		r.sum--
	}
	r.v[r.at] = ok
	if ok {
		r.sum++
	}
	r.at = (r.at + 1) % len(r.v)
	r.n = min(r.n+1, len(r.v))
}

func (r *ring) mean() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.sum) / float64(r.n)
}

// resetSpread rewrites the window with zeros spread evenly.
func (r *ring) resetSpread(zeros int) {
	size := len(r.v)
	interval := float64(size-1) / float64(zeros-1)
	zc := 0
	for i := 0; i < size; i++ {
		if float64(i) >= float64(zc)*interval && zc < zeros {
			r.v[i] = false
			zc++
		} else {
			r.v[i] = true
		}
	}
	r.at, r.n, r.sum = 0, size, size-zc
}
