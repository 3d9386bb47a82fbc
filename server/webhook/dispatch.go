package webhook

import (
	"context"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// leaseMargin is the least lease a queued event must have left, beyond the
// client timeout, to be sent: the request must end, and its result be
// recorded, before any other relay may claim the event again.
const leaseMargin = 5 * time.Second

// How many of a merchant's events the relay holds (in flight plus queued)
// adapts to how fast the merchant answers: about holdWork of work at
// PerMerchant requests at a time, at least PerMerchant, at most the claim
// batch size. A merchant answering in 1 ms gets big claims, few and cheap per
// event; one taking 10 s gets no more than it can send at once, so its
// backlog stays in the database, where other replicas see it. A merchant not
// heard from yet gets startQuota per request slot.
const (
	holdWork   = 2 * time.Second
	startQuota = 8
)

// slowAttempt: after an attempt this slow, the merchant's queued events
// beyond its new quota are handed back at once rather than left to wait.
const slowAttempt = time.Second

// idleForget is how long the relay remembers an idle merchant's latency.
const idleForget = 5 * time.Minute

// merchantState is what the relay holds for one merchant: requests in
// flight, claimed events waiting for a free slot, and how fast it answers.
type merchantState struct {
	inflight int
	queue    []job
	// latency is a moving average of the merchant's attempt durations; 0
	// until the first attempt.
	latency  time.Duration
	lastSeen time.Time
	// backlog: the last claim filled the merchant's room, so more of its
	// events are probably due; its queue running low then wakes the claim
	// loop.
	backlog bool
}

func (ms *merchantState) held() int { return ms.inflight + len(ms.queue) }

// job is a claimed event with its merchant as loaded at claim time.
type job struct {
	ev store.OutboxEvent
	m  *pay.Merchant
}

// maxHeld bounds the events the relay holds, all merchants together.
func (r *Relay) maxHeld() int { return r.workers * startQuota }

// maxQuota is the most events of one merchant the relay holds.
func (r *Relay) maxQuota() int { return max(r.batch, r.perMerchant) }

// quota is how many events of a merchant the relay may hold.
func (r *Relay) quota(ms *merchantState) int {
	if ms == nil || ms.latency <= 0 {
		return min(r.perMerchant*startQuota, r.maxQuota())
	}
	q := int(int64(r.perMerchant) * int64(holdWork) / int64(ms.latency))
	return max(r.perMerchant, min(q, r.maxQuota()))
}

// claimLoop claims due events whenever there may be some: at every
// PollInterval, at once after a full claim, and when woken (Notify, or a
// merchant's queue running low).
func (r *Relay) claimLoop(ctx context.Context) {
	defer close(r.claimDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.wake:
		}
		wait := r.poll
		more, err := r.claim(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Error("webhook: claiming due events failed", "err", err)
		case more:
			wait = 0
		}
		timer.Reset(wait)
	}
}

// claim claims what the relay has room for and queues it; more reports a
// full claim (more may be due).
func (r *Relay) claim(ctx context.Context) (more bool, err error) {
	now := r.now()
	full := r.maxQuota()
	r.mu.Lock()
	limit := min(r.batch, r.maxHeld()-r.held)
	// The store caps every merchant at full; a merchant's smaller quota is
	// expressed by counting the difference as held.
	held := make(map[string]int, len(r.merchants))
	for id, ms := range r.merchants {
		if n := ms.held() + full - r.quota(ms); n > 0 {
			held[id] = n
		}
		if ms.held() == 0 && !ms.backlog && now.Sub(ms.lastSeen) > idleForget {
			delete(r.merchants, id)
		}
	}
	r.mu.Unlock()
	if limit <= 0 {
		return false, nil
	}
	events, err := r.db.ClaimEvents(ctx, store.Claim{Limit: limit, Lease: r.lease, PerMerchant: full, Held: held})
	if err != nil {
		return false, err
	}
	cache := map[string]*pay.Merchant{}
	failed := map[string]bool{}
	var jobs []job
	for _, ev := range events {
		if failed[ev.MerchantID] {
			continue
		}
		m, err := r.merchantOf(ctx, cache, ev.MerchantID)
		if err != nil {
			// Its claimed events are retried when their lease ends.
			r.log.Error("webhook: loading merchant failed", "merchant_id", ev.MerchantID, "err", err)
			failed[ev.MerchantID] = true
			continue
		}
		if m == nil || (m.WebhookURL == "" && ev.DestURL == "") {
			// Not retried: ResendEvent once a URL is configured.
			r.metrics.finished(store.EventSkipped)
			r.results <- store.DeliveryResult{EventID: ev.EventID, ClaimedAttempts: ev.Attempts, State: store.EventSkipped}
			continue
		}
		jobs = append(jobs, job{ev: ev, m: m})
	}

	taken := map[string]int{}
	for _, ev := range events {
		taken[ev.MerchantID]++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, n := range taken {
		ms := r.merchants[id]
		if ms == nil {
			ms = &merchantState{}
			r.merchants[id] = ms
		}
		// A merchant that got all the room it had probably has more due.
		ms.backlog = n >= full-held[id]
		ms.lastSeen = now
	}
	for id, ms := range r.merchants {
		if taken[id] == 0 && held[id] < full {
			ms.backlog = false
		}
	}
	for _, j := range jobs {
		ms := r.merchants[j.ev.MerchantID]
		ms.queue = append(ms.queue, j)
		r.held++
	}
	r.globalBacklog = limit < r.batch && len(events) == limit
	for _, j := range jobs {
		r.pump(r.merchants[j.ev.MerchantID])
	}
	return len(events) == limit, nil
}

// pump starts sends of a merchant's queued events while it has free slots.
// r.mu is held.
func (r *Relay) pump(ms *merchantState) {
	for !r.stopping && ms.inflight < r.perMerchant && len(ms.queue) > 0 {
		j := ms.queue[0]
		ms.queue[0] = job{}
		ms.queue = ms.queue[1:]
		if len(ms.queue) == 0 {
			ms.queue = nil
		}
		ms.inflight++
		r.sends.Add(1)
		go r.send(ms, j)
	}
}

// send delivers one event within the global cap and hands on the outcome.
func (r *Relay) send(ms *merchantState, j job) {
	defer r.sends.Done()
	var took time.Duration
	defer func() { r.finish(ms, took) }()

	select {
	case r.slots <- struct{}{}:
	case <-r.closing:
		r.release([]store.OutboxEvent{j.ev})
		return
	}
	defer func() { <-r.slots }()
	select {
	case <-r.closing:
		r.release([]store.OutboxEvent{j.ev})
		return
	default:
	}
	now := r.now()
	if now.Add(r.timeout + leaseMargin).After(j.ev.LeaseUntil) {
		// Too late to be sure of finishing within the lease: leave the
		// event to it rather than risk another relay sending it as well.
		r.log.Debug("webhook: lease too short to send; left to expire", "event_id", j.ev.EventID)
		return
	}
	res, cancelled := r.deliver(r.sendCtx, j, now)
	if cancelled {
		// Close cut the request short: it may or may not have arrived.
		r.release([]store.OutboxEvent{j.ev})
		return
	}
	took = res.Delivery.Duration
	r.results <- res
}

// finish books the end of a send and starts the next of the merchant's
// events. When the merchant's queue (or the relay's) runs low it wakes the
// claim loop; after a slow attempt it hands back what it now holds beyond
// the merchant's quota.
func (r *Relay) finish(ms *merchantState, took time.Duration) {
	var giveBack []store.OutboxEvent
	defer func() { r.release(giveBack) }()
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if took > 0 {
		if ms.latency == 0 {
			ms.latency = took
		} else {
			ms.latency = (4*ms.latency + took) / 5
		}
		ms.lastSeen = now
	}
	ms.inflight--
	r.held--
	if took > slowAttempt {
		if keep := max(0, r.quota(ms)-ms.inflight); len(ms.queue) > keep {
			for _, j := range ms.queue[keep:] {
				giveBack = append(giveBack, j.ev)
			}
			r.held -= len(ms.queue) - keep
			ms.queue = ms.queue[:keep:keep]
		}
	}
	r.pump(ms)
	// Top up before the queue runs dry; Notify coalesces the calls.
	if (ms.backlog && ms.held() <= r.quota(ms)/2) || (r.globalBacklog && r.held <= r.maxHeld()/2) {
		r.Notify()
	}
}
