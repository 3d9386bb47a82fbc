package orchestrator

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// Reconciliation settings.
const (
	// syncAfter is how long a txn may sit in flight before it is synced
	// with its gateway: longer than any gateway call, so a sync never races
	// the authorization it checks.
	syncAfter = 2 * gatewayTimeout
	// expiryGrace is how long after its order expired a txn may still be in
	// flight before it is failed.
	expiryGrace = 5 * time.Minute
	// refundSyncAfter is how long a refund stays PENDING before its gateway
	// is asked again.
	refundSyncAfter = time.Minute
	// leftSyncWindow is how long after Switchyard failed a txn on its own
	// (superseded by a new attempt, expired with its order) the reconciler
	// still asks its gateway about it: the shopper may finish a page left
	// open, a payer approve a collect request late, and the gateway's
	// notification of that charge may be lost. It is syncAfter × 2^6.
	leftSyncWindow = 64 * syncAfter
	reconcileBatch = 200
)

// ReconcileReport counts what one reconciliation pass did.
type ReconcileReport struct {
	Synced, Expired, AutoRefunds, RefundsSynced, ManualReview int
	// LeftSynced counts superseded or expired txns asked about again.
	LeftSynced int
}

// Reconcile runs one pass of the reconciliation that keeps every status
// true: it syncs txns left in flight with their gateways (a crash or a
// timeout leaves them so), fails the ones whose order expired, asks again
// about txns it failed on its own (superseded, expired) for an hour, refunds
// conflicted charges (a second charge of an order, or a late success), and
// settles pending refunds, sending those pending beyond 10 days to manual
// review. Every step is idempotent, so passes may overlap across replicas.
func (s *Service) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	now := s.db.Now()

	stale, err := s.db.StaleTxns(ctx, now.Add(-syncAfter), reconcileBatch)
	if err != nil {
		return rep, err
	}
	for _, t := range stale {
		out, err := s.SyncTxn(ctx, t)
		if err != nil {
			s.log.Warn("reconcile: sync failed", "txn_id", t.TxnID, "err", err)
			continue
		}
		rep.Synced++
		if out.Txn.Status.Pending() && now.After(out.Order.ExpiresAt.Add(expiryGrace)) {
			if err := s.expireTxn(ctx, out.Txn); err != nil {
				s.log.Warn("reconcile: expiring txn failed", "txn_id", t.TxnID, "err", err)
				continue
			}
			rep.Expired++
		}
	}

	// Txns failed by Switchyard alone may still be charged at the gateway.
	// Each is asked again as its age crosses syncAfter, twice that, four
	// times, … up to the window: a few calls per txn, not one per pass. A
	// charge found is recorded as a conflicted one, refunded below.
	prev := s.leftPass.last()
	left, err := s.db.LeftTxns(ctx, leftRanges(prev, now), reconcileBatch)
	if err != nil {
		return rep, err
	}
	s.leftPass.done(now)
	for _, t := range left {
		if _, err := s.SyncTxn(ctx, t); err != nil {
			s.log.Warn("reconcile: sync of a left txn failed", "txn_id", t.TxnID, "err", err)
			continue
		}
		rep.LeftSynced++
	}

	var conflicted []*pay.Txn
	for after, afterID := (time.Time{}), ""; ; {
		page, err := s.db.ConflictedCharges(ctx, after, afterID, reconcileBatch)
		if err != nil {
			return rep, err
		}
		conflicted = append(conflicted, page...)
		if len(page) < reconcileBatch {
			break
		}
		after, afterID = page[len(page)-1].UpdatedAt, page[len(page)-1].ID
	}
	for _, t := range conflicted {
		m, err := s.db.Merchant(ctx, t.MerchantID)
		if err != nil {
			return rep, err
		}
		if t.Details.ConflictReason == "MULTIPLE_CHARGED" && !m.AutoRefundMultipleCharged {
			continue // the merchant refunds duplicates itself
		}
		o, err := s.db.OrderByID(ctx, t.OrderUUID)
		if err != nil {
			return rep, err
		}
		refunds, err := s.db.Refunds(ctx, o.ID)
		if err != nil {
			return rep, err
		}
		// One auto-refund per txn, keyed auto_refund_<seq>; after a failed
		// one, the next attempt gets its own key (…_<seq>_<failures>). A
		// charge already refunded in full (by hand) needs nothing.
		left, failed := t.Amount.Amount, 0
		for _, r := range refunds {
			if r.TxnUUID != t.ID {
				continue
			}
			if r.Counts() {
				left -= r.Amount.Amount
			} else if r.InitiatedBy == "AUTO_REFUND" {
				failed++
			}
		}
		key := autoRefundPrefix + strconv.Itoa(t.Seq)
		if failed > 0 {
			key += "_" + strconv.Itoa(failed)
		}
		if left <= 0 {
			continue
		}
		_, r, err := s.Refund(ctx, m, o, RefundRequest{UniqueRequestID: key, TxnID: t.TxnID, InitiatedBy: "AUTO_REFUND"})
		if err != nil {
			s.log.Warn("reconcile: auto-refund failed", "txn_id", t.TxnID, "err", err)
			continue
		}
		if r.Status == pay.RefundPending {
			// A replayed auto-refund still pending: settle it now.
			if _, _, err := s.syncRefund(ctx, r); err != nil {
				s.log.Warn("reconcile: auto-refund sync failed", "txn_id", t.TxnID, "err", err)
			}
		}
		rep.AutoRefunds++
	}

	pending, err := s.db.PendingRefunds(ctx, now.Add(-refundSyncAfter), reconcileBatch)
	if err != nil {
		return rep, err
	}
	for _, r := range pending {
		// Ask first: a refund the gateway settled is not a case for a
		// person, however long it waited.
		_, cur, err := s.syncRefund(ctx, r)
		if err != nil {
			s.log.Warn("reconcile: refund sync failed", "refund_id", r.ID, "err", err)
		} else {
			rep.RefundsSynced++
		}
		if (cur == nil || cur.Status == pay.RefundPending) && now.Sub(r.CreatedAt) > pay.RefundPendingLimit {
			if err := s.refundToManualReview(ctx, r); err != nil {
				return rep, err
			}
			rep.ManualReview++
		}
	}
	return rep, nil
}

// leftPass remembers when this process last asked gateways about left
// txns (superseded or expired), so that each is asked only when its age
// crosses one of its sync points.
type leftPass struct {
	mu sync.Mutex
	at time.Time
}

func (p *leftPass) last() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}

func (p *leftPass) done(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.After(p.at) {
		p.at = now
	}
}

// leftRanges returns the updated_at ranges (from, to] of the left txns due
// for a sync at now: those whose age crossed syncAfter × 2^k (up to the
// window) since the previous pass at prev. The first pass of a process
// (prev zero), or one after a long pause, takes the whole window once.
func leftRanges(prev, now time.Time) [][2]time.Time {
	if prev.IsZero() || now.Sub(prev) >= leftSyncWindow {
		return [][2]time.Time{{now.Add(-leftSyncWindow), now.Add(-syncAfter)}}
	}
	var out [][2]time.Time
	for age := syncAfter; age <= leftSyncWindow; age *= 2 {
		// prev - updated < age <= now - updated
		out = append(out, [2]time.Time{prev.Add(-age), now.Add(-age)})
	}
	return out
}

// expireTxn fails a txn still in flight after its order expired. Should the
// gateway charge it after all, the success is recorded as a conflicted
// charge and refunded.
func (s *Service) expireTxn(ctx context.Context, t *pay.Txn) error {
	_, _, err := s.db.ChangeOrder(ctx, t.OrderUUID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		cur := findTxn(txns, t.ID)
		if cur == nil || !cur.Status.Pending() {
			return ch, nil
		}
		nt := *cur
		nt.Status = pay.StatusAuthorizationFailed
		if cur.Status == pay.StatusPendingVBV {
			nt.Status = pay.StatusAuthenticationFailed
		}
		nt.ErrorCode, nt.ErrorMessage = "EXPIRED", "the order expired before the payment completed"
		nt.Details.NextAction = nil
		ch.Updated = []*pay.Txn{&nt}
		all := replaceAll(txns, ch.Updated)
		ev, err := s.event("ORDER_FAILED", withStatus(o, pay.OrderStatus(all), now), all)
		if err != nil {
			return ch, err
		}
		ch.Events = append(ch.Events, ev)
		return ch, nil
	})
	if err == nil {
		if o, err := s.db.OrderByID(ctx, t.OrderUUID); err == nil {
			s.publish(o, t)
		}
	}
	return err
}

// syncRefund asks the gateway for the state of a pending refund.
func (s *Service) syncRefund(ctx context.Context, r *pay.Refund) (*pay.Order, *pay.Refund, error) {
	txns, err := s.db.Txns(ctx, r.OrderUUID)
	if err != nil {
		return nil, nil, err
	}
	t := findTxn(txns, r.TxnUUID)
	if t == nil {
		return nil, nil, pay.Errorf(pay.ENOTFOUND, "transaction of refund %s not found", r.ID)
	}
	conn, err := s.connectorOf(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayTimeout)
	defer cancel()
	res := conn.RefundStatus(gctx, connector.Refund{RefundID: r.ID, TxnID: t.TxnID, GatewayRef: r.GatewayRef, Amount: r.Amount})
	wctx, wcancel := recordContext(ctx)
	defer wcancel()
	return s.applyRefund(wctx, r, res)
}

// refundToManualReview parks a refund whose outcome the gateway would not
// tell for 10 days, and tells the merchant.
func (s *Service) refundToManualReview(ctx context.Context, r *pay.Refund) error {
	_, _, err := s.db.ChangeOrder(ctx, r.OrderUUID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		for _, cur := range o.Refunds {
			if cur.ID != r.ID || cur.Status != pay.RefundPending {
				continue
			}
			nr := *cur
			nr.Status = pay.RefundManualReview
			ch.UpdatedRefunds = []*pay.Refund{&nr}
			after := *o
			after.Refunds, after.UpdatedAt = replaceRefund(o.Refunds, &nr), now
			ev, err := s.event("REFUND_MANUAL_REVIEW_NEEDED", &after, txns)
			if err != nil {
				return ch, err
			}
			ch.Events = append(ch.Events, ev)
		}
		return ch, nil
	})
	return err
}

// Reconciler runs Reconcile every interval until closed.
type Reconciler struct {
	svc      *Service
	interval time.Duration
	log      *slog.Logger
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewReconciler returns a stopped reconciler.
func NewReconciler(svc *Service, interval time.Duration) *Reconciler {
	return &Reconciler{svc: svc, interval: interval, log: svc.log.With("component", "reconcile")}
}

// Start runs passes in the background until ctx ends or Close is called.
func (r *Reconciler) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// Each pass also checkpoints the routing estimates.
			if err := r.svc.SaveRouting(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("saving routing estimates failed", "err", err)
			}
			rep, err := r.svc.Reconcile(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Error("reconcile pass failed", "err", err)
			}
			if rep != (ReconcileReport{}) {
				r.log.Info("reconcile pass", "synced", rep.Synced, "left_synced", rep.LeftSynced, "expired", rep.Expired,
					"auto_refunds", rep.AutoRefunds, "refunds_synced", rep.RefundsSynced, "manual_review", rep.ManualReview)
			}
		}
	}()
}

// Close stops the reconciler, waits for a pass in progress and saves the
// routing estimates a last time.
func (r *Reconciler) Close() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.svc.SaveRouting(ctx); err != nil {
		r.log.Warn("saving routing estimates failed", "err", err)
	}
}
