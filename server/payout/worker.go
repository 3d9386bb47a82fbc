package payout

import (
	"context"
	"strconv"
	"sync"
	"time"

	"switchyard/server/connector"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// refundRequestID is the unique_request_id of the refund of a PAY_AND_
// FULFILL order's money not paid out (one per order: it is the whole
// unfulfilled amount, decided once).
const refundRequestID = "payout_unfulfilled"

// railTimeout bounds one call to a rail; no answer within it is UNKNOWN.
const railTimeout = 30 * time.Second

// Worker runs the payout workflow in the background. Start it once and
// Close it once (app.App owns it).
type Worker struct {
	svc    *Service
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewWorker returns a stopped worker of svc.
func NewWorker(svc *Service) *Worker { return &Worker{svc: svc} }

// Start runs passes every PollInterval, and at once when notified, until
// ctx ends or Close is called.
func (w *Worker) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.wg.Go(func() {
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-w.svc.wake:
			}
			more := w.svc.RunOnce(ctx)
			wait := w.svc.poll
			if more {
				wait = 0
			}
			t.Reset(wait)
		}
	})
}

// Close stops the worker and waits for the pass in progress: attempts under
// way finish their rail call and record it (each call is bounded), so a
// clean shutdown leaves nothing unknown that need not be.
func (w *Worker) Close() {
	w.once.Do(func() {
		if w.cancel != nil {
			w.cancel()
		}
		w.wg.Wait()
	})
}

// RunOnce runs one pass: collection orders that may have been paid,
// refunds to send, and due fulfillments (concurrently). It reports whether
// a claim came back full, so more may be due.
func (s *Service) RunOnce(ctx context.Context) bool {
	more := false
	if ids, err := s.db.ClaimPayoutOrders(ctx, store.ClaimAwaitingPayment, s.batch, s.lease); err != nil {
		s.logErr(ctx, "claiming payout orders awaiting payment failed", err)
	} else {
		more = more || len(ids) == s.batch
		for _, id := range ids {
			if err := s.checkPayment(ctx, id); err != nil {
				s.logErr(ctx, "checking a collection order failed", err, "payout_id", id)
			}
		}
	}
	if ids, err := s.db.ClaimPayoutOrders(ctx, store.ClaimPendingRefund, s.batch, s.lease); err != nil {
		s.logErr(ctx, "claiming payout refunds failed", err)
	} else {
		more = more || len(ids) == s.batch
		for _, id := range ids {
			if err := s.sendRefund(ctx, id); err != nil {
				s.logErr(ctx, "refunding unfulfilled payout money failed", err, "payout_id", id)
			}
		}
	}
	due, err := s.db.ClaimDueFulfillments(ctx, s.batch, s.lease)
	if err != nil {
		s.logErr(ctx, "claiming due fulfillments failed", err)
		return more
	}
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Go(func() {
			// A step outlives a shutdown's cancel: its rail call and the
			// recording of the answer are bounded, and finishing them
			// keeps the attempt known.
			stepCtx := context.WithoutCancel(ctx)
			if err := s.step(stepCtx, d.PayoutOrderID, d.FulfillmentID); err != nil {
				s.logErr(ctx, "payout step failed", err, "fulfillment_id", d.FulfillmentID)
			}
		})
	}
	wg.Wait()
	return more || len(due) == s.batch
}

func (s *Service) logErr(ctx context.Context, msg string, err error, args ...any) {
	if ctx.Err() != nil {
		return
	}
	s.log.Error("payout: "+msg, append(args, "err", err)...)
}

// step moves one claimed fulfillment forward: it learns the outcome of its
// unknown attempt, or starts its next attempt, or (for a final one) asks
// the rail once more about its attempts.
func (s *Service) step(ctx context.Context, payoutID, fulfillmentID string) error {
	o, err := s.db.PayoutOrderByID(ctx, payoutID)
	if err != nil {
		return err
	}
	f := o.Fulfillment(fulfillmentID)
	if f == nil {
		return nil
	}
	if f.Status.Final() {
		return s.verify(ctx, o, f)
	}
	if a := f.OpenAttempt(); a != nil {
		rail := s.rails[a.Method]
		res := s.railStatus(ctx, rail, a.ID)
		switch res.Outcome {
		case connector.PayoutNotFound:
			// The rail never got it (a crash between recording the attempt
			// and calling the rail): send it now, same id, so the rail
			// still pays it at most once.
			res = s.initiate(ctx, rail, f, a)
		case connector.PayoutUnavailable:
			// The rail could not be asked (down): that says nothing of a
			// payout it may have made. Still unknown.
			res.Outcome = connector.PayoutUnknown
		}
		return s.record(ctx, payoutID, fulfillmentID, a.ID, res)
	}
	a, err := s.startAttempt(ctx, payoutID, fulfillmentID)
	if err != nil || a == nil {
		if pay.ErrorCode(err) == pay.ECONFLICT {
			// Another worker got there first; its attempt is what counts.
			return nil
		}
		return err
	}
	res := s.initiate(ctx, s.rails[a.Method], f, a)
	return s.record(ctx, payoutID, fulfillmentID, a.ID, res)
}

func (s *Service) initiate(ctx context.Context, rail connector.PayoutRail, f *pay.Fulfillment, a *pay.PayoutAttempt) connector.PayoutResult {
	if rail == nil {
		return connector.PayoutResult{Outcome: connector.PayoutUnavailable, RespCode: "METHOD_UNAVAILABLE",
			RespMessage: a.Method + " is not available in this deployment"}
	}
	ctx, cancel := context.WithTimeout(ctx, railTimeout)
	defer cancel()
	return rail.Initiate(ctx, connector.Payout{AttemptID: a.ID, Amount: a.Amount, Beneficiary: f.Beneficiary, Remark: f.Info.Remark})
}

func (s *Service) railStatus(ctx context.Context, rail connector.PayoutRail, attemptID string) connector.PayoutResult {
	if rail == nil {
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: "METHOD_UNAVAILABLE"}
	}
	ctx, cancel := context.WithTimeout(ctx, railTimeout)
	defer cancel()
	return rail.Status(ctx, attemptID)
}

// startAttempt records the fulfillment's next attempt (INITIATED) and
// commits it before the rail is called: a crash after this leaves an
// attempt the worker asks the rail about, never one it forgets. It returns
// nil when no attempt is to be made (the fulfillment changed meanwhile, or
// its backoff is not over).
func (s *Service) startAttempt(ctx context.Context, payoutID, fulfillmentID string) (*pay.PayoutAttempt, error) {
	var started *pay.PayoutAttempt
	_, err := s.db.ChangePayout(ctx, payoutID, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		started = nil
		f := o.Fulfillment(fulfillmentID)
		if f.Status.Final() || f.OpenAttempt() != nil || o.PaymentStatus == pay.PaymentAwaiting {
			return store.PayoutChange{None: true}, nil
		}
		ev := &events{o: o, now: now}
		ok, _ := f.NextAttempt(o.Policy)
		if !ok {
			// Nothing more to try (a policy exhausted by a reversal seen
			// in verify is settled there; this is a safety net).
			setFulfillment(f, pay.FulfillmentFailure, now)
			f.DueAt = now.Add(s.settle)
			ev.fulfillment(f, string(f.Status))
			s.settleOrder(o, ev, now)
			return store.PayoutChange{Fulfillments: []*pay.Fulfillment{f}, Events: ev.out}, nil
		}
		seq := len(f.Attempts) + 1
		a := &pay.PayoutAttempt{
			ID: f.ID + "-t" + strconv.Itoa(seq), FulfillmentID: f.ID, PayoutOrderID: o.ID, Seq: seq,
			Method: f.MethodFor(o.Policy, seq), Amount: f.Amount, Status: pay.AttemptInitiated,
			CreatedAt: now, UpdatedAt: now,
		}
		f.Attempts = append(f.Attempts, a)
		if o.Status == pay.PayoutReady {
			o.Status = pay.PayoutScheduled
			ev.order()
		}
		if f.Status == pay.FulfillmentCreated {
			setFulfillment(f, pay.FulfillmentPending, now)
			ev.fulfillment(f, "INITIATED")
		}
		ev.txn(f, a)
		// If this worker dies before recording the answer, the lease
		// brings the fulfillment back to one that asks the rail.
		f.DueAt = now.Add(s.lease)
		s.settleOrder(o, ev, now)
		started = a
		return store.PayoutChange{Fulfillments: []*pay.Fulfillment{f}, NewAttempts: []*pay.PayoutAttempt{a}, Events: ev.out}, nil
	})
	return started, err
}

// record applies a rail's answer about attempt attemptID.
func (s *Service) record(ctx context.Context, payoutID, fulfillmentID, attemptID string, res connector.PayoutResult) error {
	changed := false
	_, err := s.db.ChangePayout(ctx, payoutID, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		changed = false
		f := o.Fulfillment(fulfillmentID)
		var a *pay.PayoutAttempt
		for _, x := range f.Attempts {
			if x.ID == attemptID {
				a = x
			}
		}
		if a == nil {
			return store.PayoutChange{None: true}, nil
		}
		ch := s.apply(o, f, a, res, now)
		changed = len(ch.Events) > 0
		return ch, nil
	})
	if changed {
		// A retry may be due at once.
		s.Notify()
	}
	return err
}

// apply decides what a rail's answer about attempt a of f means; pure, it
// runs inside ChangePayout.
func (s *Service) apply(o *pay.PayoutOrder, f *pay.Fulfillment, a *pay.PayoutAttempt, res connector.PayoutResult, now time.Time) store.PayoutChange {
	ev := &events{o: o, now: now}
	ch := store.PayoutChange{Fulfillments: []*pay.Fulfillment{f}}
	setAttempt := func(st pay.AttemptStatus) {
		a.Status, a.UpdatedAt = st, now
		if res.RespCode != "" {
			a.ResponseCode, a.ResponseMessage = res.RespCode, res.RespMessage
		}
		if res.GatewayRef != "" {
			a.GatewayRef = res.GatewayRef
		}
		ch.Attempts = append(ch.Attempts, a)
		ev.txn(f, a)
	}
	finish := func(st pay.FulfillmentStatus) {
		if f.Status != st {
			setFulfillment(f, st, now)
			ev.fulfillment(f, string(st))
		}
		// One more look at the rail later: reversals, late successes.
		f.DueAt = now.Add(s.settle)
	}
	retryOrFail := func() {
		if ok, wait := f.NextAttempt(o.Policy); ok {
			setFulfillment(f, pay.FulfillmentPending, now)
			f.DueAt = now.Add(wait)
			return
		}
		finish(pay.FulfillmentFailure)
	}

	switch {
	case a.Open():
		switch res.Outcome {
		case connector.PayoutSucceeded:
			setAttempt(pay.AttemptSuccess)
			finish(pay.FulfillmentSuccess)
		case connector.PayoutFailed, connector.PayoutUnavailable:
			a.FailureKind = pay.FailureDeclined
			if res.Outcome == connector.PayoutUnavailable {
				a.FailureKind = pay.FailureTimeout
			}
			setAttempt(pay.AttemptFailure)
			retryOrFail()
		case connector.PayoutReversed:
			setAttempt(pay.AttemptReversed)
			retryOrFail()
		default:
			// Unknown or pending: ask again soon, unless it has been
			// unknown too long.
			if now.Sub(a.CreatedAt) >= s.stuckAfter(f) {
				setAttempt(pay.AttemptManualReview)
				finish(pay.FulfillmentManualReview)
			} else {
				f.DueAt = now.Add(s.poll)
			}
		}
	case a.Status == pay.AttemptSuccess && res.Outcome == connector.PayoutReversed:
		setAttempt(pay.AttemptReversed)
		retryOrFail()
	case a.Status == pay.AttemptFailure && res.Outcome == connector.PayoutSucceeded:
		setAttempt(pay.AttemptConflicted)
		if f.Paid() > 1 {
			// Another attempt paid too: the beneficiary got the money
			// twice; only a person can sort that out.
			finish(pay.FulfillmentManualReview)
		} else {
			finish(pay.FulfillmentSuccess)
		}
	default:
		return store.PayoutChange{None: true}
	}
	s.settleOrder(o, ev, now)
	ch.Events = ev.out
	return ch
}

func (s *Service) stuckAfter(f *pay.Fulfillment) time.Duration {
	if f.Info.AttemptThreshold > 0 {
		return time.Duration(f.Info.AttemptThreshold) * time.Minute
	}
	return s.stuck
}

// verify asks the rail once more about a final fulfillment's paid and
// failed attempts, then unschedules it.
func (s *Service) verify(ctx context.Context, o *pay.PayoutOrder, f *pay.Fulfillment) error {
	for _, a := range f.Attempts {
		if a.Status != pay.AttemptSuccess && a.Status != pay.AttemptFailure {
			continue
		}
		res := s.railStatus(ctx, s.rails[a.Method], a.ID)
		if err := s.record(ctx, o.ID, f.ID, a.ID, res); err != nil {
			return err
		}
	}
	_, err := s.db.ChangePayout(ctx, o.ID, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		f := o.Fulfillment(f.ID)
		if !f.Status.Final() || f.DueAt.After(now) {
			// A reversal reopened it, or a late change rescheduled the
			// check: leave it to that.
			return store.PayoutChange{None: true}, nil
		}
		f.DueAt = time.Time{}
		return store.PayoutChange{Fulfillments: []*pay.Fulfillment{f}}, nil
	})
	return err
}

// checkPayment looks at a PAY_AND_FULFILL order's collection: CHARGED
// schedules the fulfillments, failed or expired fails the payout order,
// anything else is looked at again after PollInterval.
func (s *Service) checkPayment(ctx context.Context, id string) error {
	o, err := s.db.PayoutOrderByID(ctx, id)
	if err != nil {
		return err
	}
	po, err := s.payments.OrderByID(ctx, o.PaymentOrderUUID)
	if err != nil {
		return err
	}
	_, err = s.db.ChangePayout(ctx, id, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		if o.PaymentStatus != pay.PaymentAwaiting {
			return store.PayoutChange{None: true}, nil
		}
		ev := &events{o: o, now: now}
		ch := store.PayoutChange{}
		switch {
		case po.Status == pay.StatusCharged:
			o.PaymentStatus, o.NextCheckAt = pay.PaymentCharged, time.Time{}
			if o.Status == pay.PayoutReady {
				o.Status = pay.PayoutScheduled
				ev.order()
			}
			for _, f := range o.Fulfillments {
				if !f.Status.Final() {
					f.DueAt = now
					ch.Fulfillments = append(ch.Fulfillments, f)
				}
			}
		case po.Status.Failed() || po.Expired(now):
			o.PaymentStatus, o.NextCheckAt = pay.PaymentFailed, time.Time{}
			for _, f := range o.Fulfillments {
				if !f.Status.Final() {
					setFulfillment(f, pay.FulfillmentCancelled, now)
					f.DueAt = time.Time{}
					ev.fulfillment(f, string(f.Status))
					ch.Fulfillments = append(ch.Fulfillments, f)
				}
			}
		default:
			o.NextCheckAt = now.Add(s.poll)
			return ch, nil
		}
		s.settleOrder(o, ev, now)
		ch.Events = ev.out
		return ch, nil
	})
	if err == nil {
		s.Notify()
	}
	return err
}

// sendRefund refunds a PAY_AND_FULFILL order's collected money that was not
// paid out, through the payments side (idempotent by its
// unique_request_id, so a repeat after a crash refunds once).
func (s *Service) sendRefund(ctx context.Context, id string) error {
	o, err := s.db.PayoutOrderByID(ctx, id)
	if err != nil {
		return err
	}
	if owed := o.Unfulfilled(); owed < o.RefundAmount || o.Status == pay.PayoutScheduled {
		// Since the refund was decided, a failed attempt turned out paid
		// (or a reversal reopened a fulfillment): decide again.
		_, err := s.db.ChangePayout(ctx, id, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
			if o.RefundStatus != pay.RefundPendingSend {
				return store.PayoutChange{None: true}, nil
			}
			o.RefundStatus, o.RefundAmount, o.NextCheckAt = "", 0, time.Time{}
			ev := &events{o: o, now: now}
			s.settleOrder(o, ev, now)
			return store.PayoutChange{Events: ev.out}, nil
		})
		return err
	}
	po, err := s.payments.OrderByID(ctx, o.PaymentOrderUUID)
	if err != nil {
		return err
	}
	m, err := s.payments.Merchant(ctx, o.MerchantID)
	if err != nil {
		return err
	}
	_, _, err = s.payments.Refund(ctx, m, po, orchestratorRefund(o))
	next := pay.RefundSent
	if err != nil {
		s.log.Warn("payout: refund of unfulfilled money not accepted; retried later", "payout_id", id, "err", err)
		next = pay.RefundPendingSend
	}
	_, cerr := s.db.ChangePayout(ctx, id, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		if o.RefundStatus != pay.RefundPendingSend {
			return store.PayoutChange{None: true}, nil
		}
		o.RefundStatus = next
		o.NextCheckAt = time.Time{}
		if next == pay.RefundPendingSend {
			o.NextCheckAt = now.Add(10 * s.poll)
		}
		return store.PayoutChange{}, nil
	})
	return cerr
}

func orchestratorRefund(o *pay.PayoutOrder) orchestrator.RefundRequest {
	return orchestrator.RefundRequest{UniqueRequestID: refundRequestID,
		Amount: pay.FormatAmount(o.RefundAmount, o.Amount.Currency), InitiatedBy: "API"}
}
