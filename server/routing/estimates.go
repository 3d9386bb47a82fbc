package routing

import (
	"math"
	"math/bits"
	"time"
)

// Outcome is a final txn outcome as routing learns from it.
type Outcome uint8

// Outcomes.
const (
	// Ignore: not the gateway's doing (the shopper abandoned a 3DS, bank or
	// UPI page, or the card details were wrong); routing learns nothing.
	Ignore Outcome = iota
	// Success: the txn was charged.
	Success
	// Failure: the gateway or the issuer behind it declined or errored.
	Failure
	// Unavailable: the gateway certainly did not process the request
	// (connection refused, 5xx before processing); the orchestrator fell
	// back. Downtime, not a failure of the gateway's success rate.
	Unavailable
	// Timeout: the gateway did not answer in time and the txn failed.
	// Downtime, and a failure.
	Timeout
)

// Feedback is one final txn outcome at one gateway account.
type Feedback struct {
	MerchantID string
	Gateway    string
	MethodType string
	Method     string
	Outcome    Outcome
	// Sent is when the txn went to the gateway (zero: now). Outcomes
	// arrive out of order: a success of a txn sent before the gateway went
	// down must not clear its downtime.
	Sent time.Time
}

// segment is what routing knows of one merchant's txns of one payment method
// (CARD/VISA, UPI/UPI, NB/NB_HDFC): its clock, pooled success and the
// gateways' beliefs for it.
type segment struct {
	// steps counts the segment's outcomes: the clock beliefs age by, so
	// that a gateway that gets no traffic grows uncertain at the pace the
	// segment learns, and is explored again.
	steps uint64
	// pooled is the segment's success over all gateways: the prior of a
	// gateway the segment has not seen.
	pooled counts
	cells  map[string]*cell
}

// counts is a discounted count of successes and failures.
type counts struct {
	s, f float64
	step uint64 // segment step of the last update
	at   int64  // unix nanoseconds of the last update
}

// belief is a Kalman filter's estimate of a success rate that walks
// randomly: mean m and variance v as of segment step step and time at.
type belief struct {
	m, v float64
	step uint64
	at   int64
	set  bool
}

// cell is one gateway's estimate for one segment.
type cell struct {
	est    belief
	recent window
	probe  probe
	gw     *health
	// elim is whether the last decision found the cell eliminated.
	elim bool
}

// health is one gateway account's state across segments: the downtime
// signals that are the gateway's rather than a segment's.
type health struct {
	// recent holds its last successes and failures (not downtime) across
	// segments.
	recent window
	// down counts consecutive Unavailable and Timeout outcomes; downSent
	// is when the latest of them was sent (unix nanoseconds).
	down     int
	downSent int64
	probe    probe
	elim     bool
}

// window holds the last 64 outcomes, newest in bit 0.
type window struct {
	bits uint64
	n    uint8
}

func (w *window) push(ok bool) {
	w.bits <<= 1
	if ok {
		w.bits |= 1
	}
	if w.n < 64 {
		w.n++
	}
}

// collapsed reports whether the success of the last k outcomes is below
// threshold (k ≥ 1); fewer than k outcomes are not judged.
func (w *window) collapsed(k int, threshold float64) bool {
	if int(w.n) < k {
		return false
	}
	ok := bits.OnesCount64(w.bits & (math.MaxUint64 >> (64 - k)))
	return float64(ok) < threshold*float64(k)
}

// probe paces the traffic of an eliminated gateway: one txn once gap
// decisions skipped it and span passed since the last probe, both doubling
// while probes fail. Waiting for both keeps a busy merchant from sending
// many probes before the first one's outcome is known, and a quiet one from
// waiting long.
type probe struct {
	skipped uint32
	gap     uint32
	next    int64 // unix nanoseconds
	span    int64
}

// Probe pacing: from 1 in 20 decisions and 10 s apart, doubling up to 1 in
// 320 and 2 min apart.
const (
	probeGap     = 20
	probeGapMax  = 320
	probeSpan    = int64(10 * time.Second)
	probeSpanMax = int64(2 * time.Minute)
	// downAfter consecutive Unavailable or Timeout outcomes eliminate a
	// gateway.
	downAfter = 3
)

func (p *probe) due(now int64) bool {
	return p.skipped+1 >= p.gap && now >= p.next
}

func (p *probe) sent(now int64) {
	p.skipped = 0
	if p.gap == 0 {
		p.gap, p.span = probeGap, probeSpan
	}
	p.next = now + p.span
}

func (p *probe) failed() {
	if p.gap == 0 {
		p.gap, p.span = probeGap, probeSpan
	}
	p.gap = min(2*p.gap, probeGapMax)
	p.span = min(2*p.span, probeSpanMax)
}

// probeFailed backs off the probes of c's elimination.
func (c *cell) probeFailed() {
	if c.gw.elim {
		c.gw.probe.failed()
	}
	if c.elim {
		c.probe.failed()
	}
}

func (p *probe) reset() { *p = probe{gap: probeGap, span: probeSpan} }

// pooledWindow is the memory, in outcomes, of a segment's pooled success;
// pooledHalfLife its memory in time.
const (
	pooledWindow   = 500
	pooledHalfLife = time.Hour
	// maxVar caps a belief's variance: that of a coin.
	maxVar = 0.25
	// minNoise floors the variance of one outcome (m(1−m)), so that a
	// belief near 0 or 1 still moves.
	minNoise = 0.02
)

// prior returns the segment's pooled success rate, smoothed.
func (r *Router) prior(seg *segment, now int64) float64 {
	if seg == nil {
		return 0.5
	}
	c := &seg.pooled
	w := weight(seg.steps-c.step, now-c.at)
	return (c.s*w + 1) / ((c.s+c.f)*w + 2)
}

// weight discounts pooled evidence k segment steps and dt nanoseconds old.
func weight(k uint64, dt int64) float64 {
	x := float64(k)*math.Log1p(-1.0/pooledWindow) - float64(max(dt, 0))*(math.Ln2/float64(pooledHalfLife))
	if x < -50 {
		return 0
	}
	return math.Exp(x)
}

func (c *counts) add(step uint64, now int64, ok bool) {
	w := weight(step-c.step, now-c.at)
	c.s, c.f, c.step, c.at = c.s*w, c.f*w, step, now
	if ok {
		c.s++
	} else {
		c.f++
	}
}

// current returns a gateway's belief for a segment at segment step step
// and time now: what its own outcomes say (own) combined with the segment
// prior, the pooled rate with variance r.priorVar. A gateway with little or
// old evidence of its own is thus taken to be like the segment's others,
// and explored again.
func (r *Router) current(b *belief, prior float64, step uint64, now int64) (m, v float64) {
	if !b.set {
		return prior, r.priorVar
	}
	m, v = r.own(b, step, now)
	w := 1 / (1/v + 1/r.priorVar)
	return w * (m/v + prior/r.priorVar), w
}

// own returns what b's outcomes alone say, aged to step and now: the
// variance grows with the steps and the time since b was updated (the
// random walk), up to that of a coin.
func (r *Router) own(b *belief, step uint64, now int64) (m, v float64) {
	if !b.set {
		return 0.5, maxVar
	}
	v = b.v + r.drift*float64(step-b.step)
	if now > b.at {
		v += r.driftNano * float64(now-b.at)
	}
	return b.m, min(v, maxVar)
}

// update is the Kalman filter's step for one outcome y (1 or 0) on the
// gateway's own evidence; the outcome's noise is the Bernoulli variance at
// the current belief.
func (r *Router) update(b *belief, prior float64, step uint64, now int64, ok bool) {
	pm, _ := r.current(b, prior, step, now)
	m, v := r.own(b, step, now)
	y := 0.0
	if ok {
		y = 1
	}
	gain := v / (v + max(pm*(1-pm), minNoise))
	*b = belief{m: min(max(m+gain*(y-m), 0), 1), v: (1 - gain) * v, step: step, at: now, set: true}
}

// Observe learns from one final txn outcome. Call it once per final txn,
// with the gateway that processed it, also after a fallback (then once per
// gateway tried: the one that was unavailable, and the one that decided).
func (r *Router) Observe(fb Feedback, now time.Time) {
	if fb.Outcome == Ignore || fb.Outcome > Timeout {
		return
	}
	t := now.UnixNano()
	ok := fb.Outcome == Success
	sh := r.shardOf(hashString(fb.MerchantID))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sk := segKey{fb.MerchantID, fb.MethodType, fb.Method}
	seg := sh.segs[sk]
	if seg == nil {
		seg = &segment{cells: map[string]*cell{}}
		sh.segs[sk] = seg
	}
	c := seg.cells[fb.Gateway]
	if c == nil {
		gk := gwKey{fb.MerchantID, fb.Gateway}
		h := sh.health[gk]
		if h == nil {
			h = &health{}
			h.probe.reset()
			sh.health[gk] = h
		}
		c = &cell{gw: h}
		c.probe.reset()
		seg.cells[fb.Gateway] = c
	}
	h := c.gw
	sent := t
	if !fb.Sent.IsZero() {
		sent = fb.Sent.UnixNano()
	}
	wasElim := c.elim || h.elim
	if down := fb.Outcome == Unavailable || fb.Outcome == Timeout; down {
		// Downtime is the gateway's, and elimination deals with it. The
		// success-rate belief (the rate when the gateway is up) takes a
		// Timeout as a failure, but only the first of a streak: an outage
		// must not leave the gateway looking bad once it is back.
		first := h.down == 0
		h.down++
		h.downSent = max(h.downSent, sent)
		if wasElim {
			c.probeFailed()
		}
		if fb.Outcome == Unavailable || !first {
			return
		}
	} else if sent > h.downSent {
		h.down = 0
	}
	seg.steps++
	r.update(&c.est, r.prior(seg, t), seg.steps, t, ok)
	seg.pooled.add(seg.steps, t, ok)
	c.recent.push(ok)
	h.recent.push(ok)
	switch {
	case ok && wasElim:
		// A probe got through: pace from scratch should the gateway
		// fall again.
		c.probe.reset()
		h.probe.reset()
		c.elim, h.elim = false, false
	case !ok && wasElim && fb.Outcome == Failure:
		c.probeFailed()
	}
}
