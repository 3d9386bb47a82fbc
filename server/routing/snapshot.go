package routing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// SnapshotVersion is the version of Snapshot's layout.
const SnapshotVersion = 1

// Snapshot is what a Router learned, as plain data (JSON-ready), so that the
// orchestrator can persist it periodically and a restart starts warm. Probe
// pacing is not kept: after a restart an eliminated gateway is probed soon.
type Snapshot struct {
	Version  int            `json:"version"`
	Segments []SegmentState `json:"segments"`
	Gateways []GatewayState `json:"gateways"`
}

// SegmentState is one merchant's estimates for one payment method.
type SegmentState struct {
	MerchantID string `json:"merchant_id"`
	MethodType string `json:"method_type"`
	Method     string `json:"method"`
	// Steps counts the segment's outcomes (the clock estimates decay by).
	Steps uint64 `json:"steps"`
	// Pooled is the segment's success over all gateways.
	Pooled Counts      `json:"pooled"`
	Cells  []CellState `json:"cells"`
}

// Counts is a discounted count of successes and failures as of segment step
// Step and time Updated.
type Counts struct {
	Successes float64   `json:"successes"`
	Failures  float64   `json:"failures"`
	Step      uint64    `json:"step"`
	Updated   time.Time `json:"updated"`
}

// Belief is an estimate of a success rate: mean and variance as of segment
// step Step and time Updated.
type Belief struct {
	Mean     float64   `json:"mean"`
	Variance float64   `json:"variance"`
	Step     uint64    `json:"step"`
	Updated  time.Time `json:"updated"`
}

// CellState is one gateway's state for a segment.
type CellState struct {
	Gateway string `json:"gateway"`
	// Belief is nil while the gateway has no success or failure here.
	Belief *Belief `json:"belief,omitempty"`
	// Recent holds the last RecentN (at most 64) outcomes, newest in the
	// lowest bit, 1 for success.
	Recent  uint64 `json:"recent"`
	RecentN int    `json:"recent_n"`
}

// GatewayState is one gateway account's downtime state across segments.
type GatewayState struct {
	MerchantID string `json:"merchant_id"`
	Gateway    string `json:"gateway"`
	Recent     uint64 `json:"recent"`
	RecentN    int    `json:"recent_n"`
	// Down counts consecutive Unavailable outcomes.
	Down int `json:"down"`
}

// Snapshot returns the learned state, sorted, for Restore.
func (r *Router) Snapshot() Snapshot {
	snap := Snapshot{Version: SnapshotVersion, Segments: []SegmentState{}, Gateways: []GatewayState{}}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for k, seg := range sh.segs {
			ss := SegmentState{MerchantID: k.merchant, MethodType: k.methodType, Method: k.method,
				Steps: seg.steps, Pooled: toCounts(&seg.pooled), Cells: make([]CellState, 0, len(seg.cells))}
			for gw, c := range seg.cells {
				ss.Cells = append(ss.Cells, CellState{Gateway: gw, Belief: toBelief(&c.est), Recent: c.recent.bits, RecentN: int(c.recent.n)})
			}
			slices.SortFunc(ss.Cells, func(a, b CellState) int { return cmp.Compare(a.Gateway, b.Gateway) })
			snap.Segments = append(snap.Segments, ss)
		}
		for k, h := range sh.health {
			snap.Gateways = append(snap.Gateways, GatewayState{MerchantID: k.merchant, Gateway: k.gateway,
				Recent: h.recent.bits, RecentN: int(h.recent.n), Down: h.down})
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(snap.Segments, func(a, b SegmentState) int {
		return cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.MethodType, b.MethodType), cmp.Compare(a.Method, b.Method))
	})
	slices.SortFunc(snap.Gateways, func(a, b GatewayState) int {
		return cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.Gateway, b.Gateway))
	})
	return snap
}

func toCounts(c *counts) Counts {
	out := Counts{Successes: c.s, Failures: c.f, Step: c.step}
	if c.at != 0 {
		out.Updated = time.Unix(0, c.at).UTC()
	}
	return out
}

func (c Counts) counts() counts {
	out := counts{s: c.Successes, f: c.Failures, step: c.Step}
	if !c.Updated.IsZero() {
		out.at = c.Updated.UnixNano()
	}
	return out
}

func toBelief(b *belief) *Belief {
	if !b.set {
		return nil
	}
	out := &Belief{Mean: b.m, Variance: b.v, Step: b.step}
	if b.at != 0 {
		out.Updated = time.Unix(0, b.at).UTC()
	}
	return out
}

func (b *Belief) belief() belief {
	if b == nil {
		return belief{}
	}
	out := belief{m: b.Mean, v: b.Variance, step: b.Step, set: true}
	if !b.Updated.IsZero() {
		out.at = b.Updated.UnixNano()
	}
	return out
}

// Restore replaces what r learned with snap. It refuses a snapshot of
// another version or with impossible values, leaving r as it was.
func (r *Router) Restore(snap Snapshot) error {
	if snap.Version != SnapshotVersion {
		return fmt.Errorf("routing.Restore: snapshot version %d, want %d", snap.Version, SnapshotVersion)
	}
	var segs [nShards]map[segKey]*segment
	var healths [nShards]map[gwKey]*health
	for i := range segs {
		segs[i], healths[i] = map[segKey]*segment{}, map[gwKey]*health{}
	}
	badCounts := func(c Counts, steps uint64) bool {
		return !(c.Successes >= 0 && c.Failures >= 0) || c.Step > steps
	}
	badBelief := func(b *Belief, steps uint64) bool {
		return b != nil && (!(b.Mean >= 0 && b.Mean <= 1 && b.Variance >= 0 && b.Variance <= maxVar) || b.Step > steps)
	}
	gwOf := func(merchant, gateway string) *health {
		hs := healths[hashString(merchant)%nShards]
		h := hs[gwKey{merchant, gateway}]
		if h == nil {
			h = &health{}
			h.probe.reset()
			hs[gwKey{merchant, gateway}] = h
		}
		return h
	}
	for _, g := range snap.Gateways {
		if g.RecentN < 0 || g.RecentN > 64 || g.Down < 0 {
			return fmt.Errorf("routing.Restore: gateway %s/%s: bad recent outcomes or down count", g.MerchantID, g.Gateway)
		}
		h := gwOf(g.MerchantID, g.Gateway)
		h.recent, h.down = window{g.Recent, uint8(g.RecentN)}, g.Down
	}
	for _, s := range snap.Segments {
		if badCounts(s.Pooled, s.Steps) {
			return fmt.Errorf("routing.Restore: segment %s/%s/%s: bad counts", s.MerchantID, s.MethodType, s.Method)
		}
		seg := &segment{steps: s.Steps, pooled: s.Pooled.counts(), cells: make(map[string]*cell, len(s.Cells))}
		for _, c := range s.Cells {
			if badBelief(c.Belief, s.Steps) || c.RecentN < 0 || c.RecentN > 64 {
				return fmt.Errorf("routing.Restore: segment %s/%s/%s, gateway %s: bad counts", s.MerchantID, s.MethodType, s.Method, c.Gateway)
			}
			ce := &cell{est: c.Belief.belief(), recent: window{c.Recent, uint8(c.RecentN)}, gw: gwOf(s.MerchantID, c.Gateway)}
			ce.probe.reset()
			seg.cells[c.Gateway] = ce
		}
		segs[hashString(s.MerchantID)%nShards][segKey{s.MerchantID, s.MethodType, s.Method}] = seg
	}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		sh.segs, sh.health = segs[i], healths[i]
		sh.mu.Unlock()
	}
	return nil
}
