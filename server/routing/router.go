package routing

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Options tune a Router. Zero values take the defaults, which routesim
// chose (see the package documentation).
type Options struct {
	// Seed seeds exploration; a fixed seed makes decisions repeatable.
	Seed uint64
	// Drift is the variance a success rate is taken to gain with each
	// outcome of its segment (a random walk): how fast beliefs let go of
	// the past. Default 1e-5.
	Drift float64
	// DriftPerHour is the variance it gains per hour besides, so that the
	// beliefs of a segment that went quiet grow uncertain. Default 0.005.
	DriftPerHour float64
	// Spread is how far, as a standard deviation, a gateway's success rate
	// is expected to be from its segment's pooled rate: the prior of a
	// gateway with little or old evidence of its own. Default 0.1.
	Spread float64
	// Explore scales the spread of the Thompson draws: 1 is plain Thompson
	// sampling, smaller explores less. Default 0.7.
	Explore float64
	// ExploreFloor is variance the Thompson draws leave out: between
	// gateways known at least this well the ranking is greedy, and only
	// uncertainty beyond it (a gateway that is new, or whose evidence
	// aged) buys exploration. Default 0.003 (a standard deviation of
	// 0.055); negative for none.
	ExploreFloor float64
}

// Defaults of Options.
const (
	DefaultDrift        = 1e-5
	DefaultDriftPerHour = 0.005
	DefaultSpread       = 0.1
	DefaultExplore      = 0.7
	DefaultExploreFloor = 0.003
)

// nShards spreads merchants over locks, so that decisions for different
// merchants rarely contend.
const nShards = 16

// Router holds what routing learned: success-rate beliefs per merchant ×
// gateway account × payment method, and downtime state per gateway account.
// It is safe for concurrent use.
type Router struct {
	drift     float64 // variance per segment step
	driftNano float64 // variance per nanosecond
	priorVar  float64
	explore   float64
	floor     float64
	shards    [nShards]shard
}

type shard struct {
	mu     sync.Mutex
	rng    *rand.Rand
	segs   map[segKey]*segment
	health map[gwKey]*health
	_      [64]byte // keep shards' locks on separate cache lines
}

type segKey struct{ merchant, methodType, method string }

type gwKey struct{ merchant, gateway string }

// New returns a Router that knows nothing yet (see Restore).
func New(o Options) *Router {
	def := func(v *float64, d float64) {
		if *v == 0 || math.IsNaN(*v) {
			*v = d
		}
		*v = max(*v, 0)
	}
	def(&o.Drift, DefaultDrift)
	def(&o.DriftPerHour, DefaultDriftPerHour)
	def(&o.Spread, DefaultSpread)
	def(&o.Explore, DefaultExplore)
	def(&o.ExploreFloor, DefaultExploreFloor)
	r := &Router{
		drift: o.Drift, driftNano: o.DriftPerHour / float64(time.Hour),
		priorVar: max(o.Spread*o.Spread, 1e-6), explore: o.Explore, floor: o.ExploreFloor,
	}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.rng = rand.New(rand.NewPCG(o.Seed, uint64(i)*0x9e3779b97f4a7c15+1))
		sh.segs = map[segKey]*segment{}
		sh.health = map[gwKey]*health{}
	}
	return r
}

func (r *Router) shardOf(h uint32) *shard { return &r.shards[h%nShards] }

// slot is a candidate gateway while Decide ranks it.
type slot struct {
	gw    int // index in Plan.gws
	fixed int // position in a rule's list; -1: ranked by the mode
	c     *cell
	h     *health
	mean  float64
	score float64 // mean − cost
	draw  float64 // Thompson draw − cost
	elim  bool
}

// before orders slots: a rule's list first, in its order; then by score
// (SR mode) or by the default order (PRIORITY mode).
func (a *slot) before(b *slot, sr bool) bool {
	switch {
	case a.fixed >= 0 || b.fixed >= 0:
		if a.fixed < 0 || b.fixed < 0 {
			return a.fixed >= 0
		}
		return a.fixed < b.fixed
	case sr && a.score != b.score:
		return a.score > b.score
	}
	return a.gw < b.gw
}

// Decide ranks the gateways of plan p for txn in and writes the result to
// out: eligibility, the first matching rule, success-rate ranking with
// exploration and the cost term, then elimination. It returns ErrNoGateway
// when no gateway may take the txn. Decide does not allocate.
func (r *Router) Decide(p *Plan, in *Input, now time.Time, out *Decision) error {
	*out = Decision{}
	bit := methodBit(in.MethodType)
	amt, amtOK := thousandths(in.Amount, in.Currency)
	var sl [MaxGateways]slot
	n := 0

	if in.Gateway != "" {
		i, ok := p.byName[in.Gateway]
		if !ok || !p.gws[i].eligible(in, bit, amt, amtOK) {
			out.Reason = ReasonNone
			return ErrNoGateway
		}
		sl[0] = slot{gw: i, fixed: 0}
		sh := r.shardOf(p.shard)
		sh.mu.Lock()
		r.estimate(sh, p, in, now, sl[:1], false)
		sh.mu.Unlock()
		out.Reason = ReasonForced
		r.fill(p, sl[:1], out)
		return nil
	}

	var rl *rule
	for i := range p.rules {
		if p.rules[i].matches(in, bit, amt, amtOK) {
			rl = &p.rules[i]
			out.Rule = rl.name
			break
		}
	}
	var elig [MaxGateways]bool
	for i := range p.gws {
		elig[i] = p.gws[i].eligible(in, bit, amt, amtOK)
	}
	if rl != nil && rl.action == actEnforce {
		for _, gi := range rl.gws {
			if elig[gi] {
				fixed := -1
				if !p.srMode {
					fixed = n
				}
				sl[n] = slot{gw: gi, fixed: fixed}
				n++
			}
		}
	} else {
		for i := range p.gws {
			if elig[i] {
				sl[n] = slot{gw: i, fixed: -1}
				n++
			}
		}
	}
	if n == 0 {
		out.Reason = ReasonNone
		return ErrNoGateway
	}
	cands := sl[:n]

	// The rule's order, or the mode's. srReason: the success-rate ranking
	// (not a rule) says why the primary leads.
	thompson, srReason := false, false
	switch {
	case rl == nil && !p.srMode:
		out.Reason = ReasonPriority
	case rl == nil:
		thompson, srReason = true, true
	case rl.action == actEnforce:
		out.Reason = ReasonEnforced
		thompson = p.srMode
	case rl.action == actPriority:
		out.Reason = ReasonPriority
		for k, gi := range rl.gws {
			for j := range cands {
				if cands[j].gw == gi {
					cands[j].fixed = k
				}
			}
		}
	case rl.action == actSplit:
		out.Reason = ReasonSplit
		if j := splitPick(rl, cands, in.TxnID); j >= 0 {
			cands[j].fixed = 0
		} else {
			// None of the split's gateways can take the txn: the
			// mode decides among the others.
			out.Reason = ReasonPriority
			thompson, srReason = p.srMode, p.srMode
		}
	}

	sh := r.shardOf(p.shard)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r.estimate(sh, p, in, now, cands, thompson)

	// Rank: insertion sort (n is small, and sort.Slice allocates).
	for i := 1; i < n; i++ {
		for j := i; j > 0 && cands[j].before(&cands[j-1], p.srMode); j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	if thompson {
		// Thompson sampling: the primary is the best draw from the
		// estimates' posteriors, the fallbacks by estimate.
		best := 0
		for j := 1; j < n; j++ {
			if cands[j].draw > cands[best].draw {
				best = j
			}
		}
		bestMean := 0
		for j := 1; j < n; j++ {
			if cands[j].mean > cands[bestMean].mean {
				bestMean = j
			}
		}
		switch {
		case !srReason:
		case best != 0:
			out.Reason = ReasonExploration
		case bestMean != 0 && cands[bestMean].mean > cands[0].mean:
			out.Reason = ReasonCost
		default:
			out.Reason = ReasonSR
		}
		moveToFront(cands, best)
	}

	if p.elim.Enabled {
		eliminate(cands, now, out)
	}
	r.fill(p, cands, out)
	return nil
}

// estimate scores the candidates from the learned state and judges
// elimination. sh is p's shard, locked.
func (r *Router) estimate(sh *shard, p *Plan, in *Input, now time.Time, cands []slot, thompson bool) {
	t := now.UnixNano()
	k := max(p.elim.MinSamples, 1)
	seg := sh.segs[segKey{p.merchant, in.MethodType, in.Method}]
	prior, step := r.prior(seg, t), uint64(0)
	if seg != nil {
		step = seg.steps
	}
	var none belief
	for j := range cands {
		s := &cands[j]
		g := &p.gws[s.gw]
		if seg != nil {
			s.c = seg.cells[g.name]
		}
		b := &none
		if s.c != nil {
			s.h = s.c.gw
			b = &s.c.est
		} else {
			s.h = sh.health[gwKey{p.merchant, g.name}]
		}
		mean, v := r.current(b, prior, step, t)
		cost := p.costWeight * g.fee(in, p.feeCurrency)
		s.mean, s.score = mean, mean-cost
		if thompson {
			s.draw = mean + r.explore*math.Sqrt(max(v-r.floor, 0))*sh.rng.NormFloat64() - cost
		}
		if p.elim.Enabled {
			var ec, eh bool
			if s.c != nil {
				ec = s.c.recent.collapsed(k, p.elim.Threshold)
				s.c.elim = ec
			}
			if s.h != nil {
				eh = s.h.down >= downAfter || s.h.recent.collapsed(k, p.elim.Threshold)
				s.h.elim = eh
			}
			s.elim = ec || eh
		} else {
			if s.c != nil {
				s.c.elim = false
			}
			if s.h != nil {
				s.h.elim = false
			}
		}
	}
}

// eliminate moves eliminated candidates behind the others, except one whose
// probe is due, which goes first; when every candidate is eliminated, the
// least bad goes first. The candidates' shard is locked.
func eliminate(cands []slot, now time.Time, out *Decision) {
	n := len(cands)
	ne := 0
	for j := range cands {
		if cands[j].elim {
			ne++
		}
	}
	if ne == 0 {
		return
	}
	if ne == n {
		for i := 1; i < n; i++ {
			for j := i; j > 0 && cands[j].score > cands[j-1].score; j-- {
				cands[j], cands[j-1] = cands[j-1], cands[j]
			}
		}
		out.Reason = ReasonDowntime
		return
	}
	primaryOut := cands[0].elim
	// Stable partition: healthy first.
	var tmp [MaxGateways]slot
	m := 0
	for j := range cands {
		if !cands[j].elim {
			tmp[m] = cands[j]
			m++
		}
	}
	for j := range cands {
		if cands[j].elim {
			tmp[m] = cands[j]
			m++
		}
	}
	copy(cands, tmp[:n])

	t := now.UnixNano()
	probed := -1
	for j := n - ne; j < n; j++ {
		pr := cands[j].pacing()
		if probed < 0 && pr.due(t) {
			pr.sent(t)
			probed = j
		} else {
			pr.skipped++
		}
	}
	switch {
	case probed >= 0:
		moveToFront(cands, probed)
		out.Reason, out.Probe = ReasonProbe, true
	case primaryOut:
		out.Reason = ReasonDowntime
	}
}

// pacing is the probe state that governs an eliminated candidate: the
// gateway's when the gateway as a whole is out, else its cell's.
func (s *slot) pacing() *probe {
	if s.h != nil && s.h.elim {
		return &s.h.probe
	}
	return &s.c.probe
}

func moveToFront(cands []slot, j int) {
	if j <= 0 {
		return
	}
	c := cands[j]
	copy(cands[1:j+1], cands[:j])
	cands[0] = c
}

func (r *Router) fill(p *Plan, cands []slot, out *Decision) {
	for j := range cands {
		if j == MaxCandidates {
			break
		}
		g := &p.gws[cands[j].gw]
		out.Candidates[j] = Candidate{Gateway: g.name, Account: g.acct, Score: cands[j].score, Eliminated: cands[j].elim}
		out.N++
	}
}

// fee is the expected fee of a txn at g as a fraction of its amount.
func (g *gateway) fee(in *Input, feeCurrency string) float64 {
	f := g.feeRate
	if g.feeFixed > 0 && in.Amount > 0 && in.Currency == feeCurrency {
		f += float64(g.feeFixed) / float64(in.Amount)
	}
	return min(f, 1)
}

// splitPick returns the index in cands of the gateway a SPLIT rule sends
// txn id to, among the split's gateways that can take it: the txn's bucket
// (0-99, from a hash of its id) walks the shares' cumulative percentages,
// scaled to the eligible shares. -1 when none is eligible.
func splitPick(rl *rule, cands []slot, id string) int {
	total := 0
	var at [MaxGateways]int8
	for k, sh := range rl.split {
		at[k] = -1
		for j := range cands {
			if cands[j].gw == sh.gw {
				at[k] = int8(j)
				total += sh.percent
			}
		}
	}
	if total == 0 {
		return -1
	}
	b := int(bucket(id)) * total / 100
	acc := 0
	for k, sh := range rl.split {
		if at[k] < 0 {
			continue
		}
		acc += sh.percent
		if b < acc {
			return int(at[k])
		}
	}
	return -1 // unreachable: b < total
}

// bucket maps a txn id to 0-99: FNV-1a, then MurmurHash3's finalizer so
// that ids differing in their last character spread over all buckets.
func bucket(id string) uint32 {
	h := hashString(id)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h % 100
}
