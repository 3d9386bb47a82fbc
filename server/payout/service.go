// Package payout runs payouts (DESIGN §12, reference §10): the payout API's
// operations (create, status, cancel) and the worker that pays fulfillments
// on payout rails, retries them per the order's retry policy, and reports
// every step by callback.
//
// # Decisions
//
//   - Default retry policy (a merchant's until it sets its own with PUT
//     /admin/v1/merchants/{id}/payout-settings, and an order's unless it
//     sends retryAttemptPolicy): on FAILURE (the rail declined) or TIMEOUT
//     (the rail was down or unreachable, so it certainly did not pay), try
//     the next method of preferredMethodList at once, until the list is
//     exhausted. additionalInfo.isRetriable=false allows one attempt only.
//   - An attempt whose outcome is unknown (no answer, or PENDING at the
//     rail) is polled, never retried elsewhere: attempt n+1 cannot even be
//     inserted while attempt n may pay (a unique guard in the database).
//     When it stays unknown longer than additionalInfo.attemptThreshold
//     minutes (default Config.StuckAfter, 30 minutes), the attempt and its
//     fulfillment go to MANUAL_REVIEW and nothing more is tried for it.
//   - After a fulfillment is final the worker asks the rail once more, after
//     Config.SettleCheck (10 minutes): a success since returned is REVERSED
//     (and the fulfillment is retried if the policy allows, else fails); a
//     failure that paid after all is CONFLICTED (the fulfillment counts as
//     paid, or goes to MANUAL_REVIEW if another attempt paid too).
//   - PAY_AND_FULFILL: the collection order (same orderId) is created on the
//     payments side with the payout; fulfillments are scheduled only once
//     the worker sees it CHARGED (it checks the database, so a crash loses
//     nothing; a charge also wakes it at once). A failed or expired payment
//     fails the payout order. Money collected but not paid out (failed or
//     cancelled fulfillments) is refunded, unless the policy's
//     onUnfulfilled is MANUAL_REVIEW, which leaves the order in
//     FULFILLMENTS_MANUAL_REVIEW for a person.
package payout

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"switchyard/server/connector"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// Defaults of Config.
const (
	DefaultPollInterval = time.Second
	DefaultLease        = time.Minute
	DefaultStuckAfter   = 30 * time.Minute
	DefaultSettleCheck  = 10 * time.Minute
	DefaultBatch        = 16
)

// Config is what a Service needs; zero durations take the defaults.
type Config struct {
	DB *store.DB
	// Payments is the payments side: PAY_AND_FULFILL collection orders and
	// their refunds.
	Payments *orchestrator.Service
	// Rails are the payout methods this deployment can use.
	Rails connector.PayoutRails
	Log   *slog.Logger
	// PollInterval is how often the worker looks for due work, and how
	// soon an unknown attempt is asked again.
	PollInterval time.Duration
	// Lease is how long a claim holds a fulfillment or order; a worker that
	// dies holding it frees it after this.
	Lease time.Duration
	// StuckAfter is how long an attempt may stay unknown before manual
	// review, unless the fulfillment's attemptThreshold says otherwise.
	StuckAfter time.Duration
	// SettleCheck is how long after a fulfillment is final the rail is
	// asked once more about its attempts (reversals, late successes).
	SettleCheck time.Duration
	// Batch is the most fulfillments one worker pass takes.
	Batch int
}

// Service runs payouts.
type Service struct {
	db       *store.DB
	payments *orchestrator.Service
	rails    connector.PayoutRails
	log      *slog.Logger
	poll     time.Duration
	lease    time.Duration
	stuck    time.Duration
	settle   time.Duration
	batch    int
	// wake asks the worker to look for due work now.
	wake chan struct{}
}

// New returns a Service; NewWorker runs its worker.
func New(cfg Config) *Service {
	s := &Service{
		db: cfg.DB, payments: cfg.Payments, rails: cfg.Rails, log: cfg.Log,
		poll: cfg.PollInterval, lease: cfg.Lease, stuck: cfg.StuckAfter, settle: cfg.SettleCheck, batch: cfg.Batch,
		wake: make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	setDefault(&s.poll, DefaultPollInterval)
	setDefault(&s.lease, DefaultLease)
	setDefault(&s.stuck, DefaultStuckAfter)
	setDefault(&s.settle, DefaultSettleCheck)
	setDefault(&s.batch, DefaultBatch)
	return s
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Notify wakes the worker (a payment was charged, an order created). It
// never blocks and is safe on a nil Service.
func (s *Service) Notify() {
	if s == nil {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Create validates in and creates merchant m's payout order: for
// PAY_AND_FULFILL also its collection order. Bad input and a reused orderId
// create nothing.
func (s *Service) Create(ctx context.Context, m *pay.Merchant, in pay.PayoutInput) (*OrderWire, error) {
	policy, err := s.Policy(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	now := s.db.Now().UTC().Truncate(time.Second)
	o, err := pay.NewPayoutOrder(m.ID, in, policy, s.rails.Methods(), now)
	if err != nil {
		return nil, err
	}
	if _, err := s.db.PayoutOrder(ctx, m.ID, o.OrderID); err == nil {
		return nil, &pay.Error{Code: pay.ECONFLICT, Message: "orderId: a payout order with this orderId already exists",
			Fields: []pay.FieldError{{Field: "orderId", Reason: "already used by another payout order"}}}
	} else if pay.ErrorCode(err) != pay.ENOTFOUND {
		return nil, err
	}
	switch o.Type {
	case pay.FulfillOnly:
		for _, f := range o.Fulfillments {
			f.DueAt = now
		}
	case pay.PayAndFulfill:
		po, created, err := s.payments.CreateOrder(ctx, m, pay.OrderInput{
			OrderID: o.OrderID, Amount: pay.FormatAmount(o.Amount.Amount, o.Amount.Currency), Currency: o.Amount.Currency,
			CustomerID: o.CustomerID, CustomerEmail: o.CustomerEmail, CustomerPhone: o.CustomerPhone,
			UDF: [10]string{o.UDF[0], o.UDF[1], o.UDF[2], o.UDF[3], o.UDF[4]},
		})
		if err != nil {
			return nil, err
		}
		// An existing NEW order of the same amount is this request's own,
		// left by an attempt that failed after creating it.
		if !created && po.Status != pay.StatusNew {
			return nil, &pay.Error{Code: pay.ECONFLICT, Message: "orderId: a payment order with this orderId already exists",
				Fields: []pay.FieldError{{Field: "orderId", Reason: "already used by a payment order"}}}
		}
		o.PaymentOrderUUID, o.PaymentStatus, o.NextCheckAt = po.ID, pay.PaymentAwaiting, now
	}
	ev := &events{o: o, now: now}
	ev.order()
	if err := s.db.CreatePayoutOrder(ctx, o, ev.out); err != nil {
		return nil, err
	}
	s.log.Info("payout order created", "merchant_id", m.ID, "order_id", o.OrderID, "type", o.Type,
		"fulfillments", len(o.Fulfillments))
	s.Notify()
	return s.view(ctx, o)
}

// Order returns merchant m's payout order as the status API shows it.
func (s *Service) Order(ctx context.Context, m *pay.Merchant, orderID string) (*OrderWire, error) {
	o, err := s.db.PayoutOrder(ctx, m.ID, orderID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, o)
}

// view renders o with its payment side: the collection order (with its
// payment links) and the refunds of money not paid out.
func (s *Service) view(ctx context.Context, o *pay.PayoutOrder) (*OrderWire, error) {
	w := orderWire(o)
	if o.PaymentOrderUUID == "" {
		return &w, nil
	}
	po, err := s.payments.OrderByID(ctx, o.PaymentOrderUUID)
	if err != nil {
		return nil, err
	}
	links := s.payments.Links(po)
	w.Payments = append(w.Payments, PaymentWire{
		ID: po.ID, OrderID: po.OrderID, Status: string(po.Status), Amount: amount(po.Amount),
		PaymentLinks: PaymentLinks{Web: links.Web, Mobile: links.Mobile, Iframe: links.Iframe},
	})
	refunds, err := s.db.Refunds(ctx, po.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range refunds {
		if r.UniqueRequestID != refundRequestID {
			continue
		}
		w.Refunds = append(w.Refunds, RefundWire{ID: r.ID, UniqueRequestID: r.UniqueRequestID,
			Amount: amount(r.Amount), Status: string(r.Status)})
	}
	if len(w.Refunds) == 0 && o.RefundStatus != "" {
		// Decided, not yet sent (or kept for review).
		w.Refunds = append(w.Refunds, RefundWire{Amount: amount(pay.Money{Amount: o.RefundAmount, Currency: o.Amount.Currency}),
			Status: map[string]string{pay.RefundPendingSend: "PENDING", pay.RefundReview: "MANUAL_REVIEW"}[o.RefundStatus]})
	}
	return &w, nil
}

// Cancel cancels one of merchant m's fulfillments that has not been
// attempted yet; an attempted one is ECONFLICT.
func (s *Service) Cancel(ctx context.Context, m *pay.Merchant, fulfillmentID string) (*OrderWire, error) {
	id, err := s.db.PayoutIDOfFulfillment(ctx, m.ID, fulfillmentID)
	if err != nil {
		return nil, err
	}
	o, err := s.db.ChangePayout(ctx, id, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		f := o.Fulfillment(fulfillmentID)
		if f.Status == pay.FulfillmentCancelled {
			return store.PayoutChange{None: true}, nil
		}
		if f.Status != pay.FulfillmentCreated || len(f.Attempts) > 0 {
			return store.PayoutChange{}, pay.Errorf(pay.ECONFLICT,
				"fulfillment %s is %s: only a fulfillment not yet attempted can be cancelled", f.ID, f.Status)
		}
		ev := &events{o: o, now: now}
		setFulfillment(f, pay.FulfillmentCancelled, now)
		ev.fulfillment(f, string(f.Status))
		s.settleOrder(o, ev, now)
		return store.PayoutChange{Fulfillments: []*pay.Fulfillment{f}, Events: ev.out}, nil
	})
	if err != nil {
		return nil, err
	}
	s.Notify()
	return s.view(ctx, o)
}

// Policy is merchant merchantID's default retry policy.
func (s *Service) Policy(ctx context.Context, merchantID string) (pay.RetryPolicy, error) {
	p, ok, err := s.db.PayoutPolicy(ctx, merchantID)
	if err != nil || !ok {
		return pay.DefaultRetryPolicy(), err
	}
	return p, nil
}

// PutPolicy validates and sets merchant merchantID's default retry policy.
func (s *Service) PutPolicy(ctx context.Context, merchantID string, p pay.RetryPolicy) (pay.RetryPolicy, error) {
	if _, err := s.payments.Merchant(ctx, merchantID); err != nil {
		return p, err
	}
	if p.OnUnfulfilled == "" {
		p.OnUnfulfilled = pay.OnUnfulfilledRefund
	}
	if err := p.Validate("retryAttemptPolicy"); err != nil {
		return p, err
	}
	return p, s.db.PutPayoutPolicy(ctx, merchantID, p)
}

// ValidExpand checks the status API's expand list.
func ValidExpand(expand string) error {
	if expand == "" {
		return nil
	}
	for _, e := range strings.Split(expand, ",") {
		if !slices.Contains([]string{"fulfillment", "payment", "refund"}, strings.TrimSpace(e)) {
			return pay.Invalid("expand", "must list fulfillment, payment or refund, comma-separated")
		}
	}
	return nil
}

// setFulfillment moves f to st at now.
func setFulfillment(f *pay.Fulfillment, st pay.FulfillmentStatus, now time.Time) {
	if f.Status != st {
		f.Status, f.StatusUpdatedAt = st, now
	}
}

// settleOrder recomputes o's status after a change and reports a new
// status; when a PAY_AND_FULFILL order ends with collected money not paid
// out, it decides, per the policy, between a refund and manual review. The
// refund waits for the settle check, which may still find that a failed
// attempt paid after all (CONFLICTED): then there is less, or nothing, to
// refund.
func (s *Service) settleOrder(o *pay.PayoutOrder, ev *events, now time.Time) {
	before := o.Status
	o.Status = o.DeriveStatus()
	if o.Type == pay.PayAndFulfill && o.PaymentStatus == pay.PaymentCharged && o.Status.Final() && o.RefundStatus == "" {
		if owed := o.Unfulfilled(); owed > 0 {
			o.RefundAmount = owed
			if o.Policy.OnUnfulfilled == pay.OnUnfulfilledReview {
				o.RefundStatus = pay.RefundReview
			} else {
				o.RefundStatus, o.NextCheckAt = pay.RefundPendingSend, now.Add(s.settle+s.poll)
			}
			o.Status = o.DeriveStatus()
		}
	}
	if o.Status != before {
		ev.order()
	}
}
