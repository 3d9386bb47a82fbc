package orchestrator

import (
	"context"
	"strings"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// autoRefundPrefix starts the unique_request_id of every auto-refund.
const autoRefundPrefix = "auto_refund_"

// RefundRequest asks to refund part or all of a charged order.
type RefundRequest struct {
	// UniqueRequestID is the merchant's idempotency key for the refund.
	UniqueRequestID string
	// Amount in major units; empty refunds everything still refundable.
	Amount string
	// TxnID optionally names the charged txn ("<merchant>-<order>-<n>").
	TxnID string
	// InitiatedBy is API, DASHBOARD or AUTO_REFUND.
	InitiatedBy string
}

// Refund refunds order o of merchant m. The refund is recorded PENDING under
// the order's lock (where idempotency and the refundable amount are
// decided, so concurrent requests can neither duplicate a refund nor
// together exceed the charged amount), then sent to the gateway outside any
// transaction, then its outcome is recorded with its webhook. A repeated
// unique_request_id returns the existing refund.
func (s *Service) Refund(ctx context.Context, m *pay.Merchant, o *pay.Order, req RefundRequest) (*pay.Order, *pay.Refund, error) {
	var p pay.Problems
	if req.UniqueRequestID == "" {
		p.Add("unique_request_id", "is required")
	} else if !pay.ValidUniqueRequestID(req.UniqueRequestID) {
		p.Add("unique_request_id", "must be 1-64 letters, digits, '_', '.', ':' or '-'")
	} else if req.InitiatedBy != "AUTO_REFUND" && strings.HasPrefix(req.UniqueRequestID, autoRefundPrefix) {
		// Auto-refunds are keyed auto_refund_<seq> in the same space: a
		// merchant refund so named would be replayed in their place.
		p.Add("unique_request_id", "the prefix "+autoRefundPrefix+" is reserved for auto-refunds")
	}
	var amount int64
	if req.Amount != "" {
		a, err := pay.ParseAmount(req.Amount, o.Amount.Currency)
		if err != nil {
			return nil, nil, &pay.Error{Code: pay.EINVALID, Compat: "invalid amount", Message: "Amount is invalid.",
				Fields: err.(*pay.Error).Fields}
		}
		amount = a
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	if req.InitiatedBy == "" {
		req.InitiatedBy = "API"
	}

	var refund *pay.Refund
	var charged *pay.Txn
	replay := false
	_, _, err := s.db.ChangeOrder(ctx, o.ID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		refund, charged, replay = nil, nil, false
		for _, r := range o.Refunds {
			if r.UniqueRequestID == req.UniqueRequestID {
				if amount != 0 && amount != r.Amount.Amount {
					return ch, &pay.Error{Code: pay.EINVALID, Compat: "duplicate.call",
						Message: "A refund call was already completed with this unique_request_id for the order."}
				}
				refund, replay = r, true
				return ch, nil
			}
		}
		// A refund applies to one charged txn: the one named, else the
		// order's kept charge. Conflicted charges are refunded by txn_id
		// (auto-refunds do that).
		for _, t := range txns {
			if t.Status != pay.StatusCharged {
				continue
			}
			if (req.TxnID != "" && req.TxnID == t.TxnID) || (req.TxnID == "" && !t.Conflicted) {
				charged = t
			}
		}
		if charged == nil {
			return ch, &pay.Error{Code: pay.EINVALID, Compat: "invalid.order.not_successful",
				Message: "Cannot process unsuccessful order."}
		}
		left := charged.Amount.Amount
		for _, r := range o.Refunds {
			if r.TxnUUID == charged.ID && r.Counts() {
				left -= r.Amount.Amount
			}
		}
		want := amount
		if want == 0 {
			want = left
		}
		if want > left || want <= 0 {
			return ch, &pay.Error{Code: pay.EINVALID, Compat: "invalid.amount.exceeded",
				Message: "Refund amount exceeds the refundable amount.",
				Fields:  []pay.FieldError{{Field: "amount", Reason: "at most " + pay.FormatAmount(left, o.Amount.Currency) + " is refundable"}}}
		}
		refund = &pay.Refund{
			ID: pay.NewID("rfnd_"), OrderUUID: o.ID, TxnUUID: charged.ID, MerchantID: o.MerchantID,
			UniqueRequestID: req.UniqueRequestID, Amount: pay.Money{Amount: want, Currency: o.Amount.Currency},
			Status: pay.RefundPending, InitiatedBy: req.InitiatedBy,
		}
		ch.NewRefund = refund
		return ch, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if replay {
		order, err := s.db.OrderByID(ctx, o.ID)
		if err != nil {
			return nil, nil, err
		}
		return order, refund, nil
	}
	return s.sendRefund(ctx, charged, refund)
}

// sendRefund asks the gateway to refund r of txn t and records the outcome.
func (s *Service) sendRefund(ctx context.Context, t *pay.Txn, r *pay.Refund) (*pay.Order, *pay.Refund, error) {
	conn, err := s.connectorOf(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayTimeout)
	defer cancel()
	start := time.Now()
	res := conn.Refund(gctx, connector.Refund{RefundID: r.ID, TxnID: t.TxnID, GatewayRef: t.Details.GatewayRef, Amount: r.Amount})
	timeGateway(ctx, start)
	wctx, wcancel := recordContext(ctx)
	defer wcancel()
	return s.applyRefund(wctx, r, res)
}

// applyRefund records a gateway's refund outcome on a PENDING refund, with
// its webhook; a final refund never changes again.
func (s *Service) applyRefund(ctx context.Context, r *pay.Refund, res connector.RefundResult) (*pay.Order, *pay.Refund, error) {
	var out *pay.Refund
	order, _, err := s.db.ChangeOrder(ctx, r.OrderUUID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		out = nil
		for _, cur := range o.Refunds {
			if cur.ID == r.ID {
				out = cur
			}
		}
		if out == nil {
			return ch, pay.Errorf(pay.ENOTFOUND, "refund not found")
		}
		if out.Status != pay.RefundPending {
			return ch, nil
		}
		nr := *out
		setNonEmpty(&nr.GatewayRef, res.GatewayRef)
		event := ""
		switch res.Outcome {
		case connector.RefundSucceeded:
			nr.Status, event = pay.RefundSuccess, "ORDER_REFUNDED"
			if nr.InitiatedBy == "AUTO_REFUND" {
				event = "AUTO_REFUND_SUCCEEDED"
			}
		case connector.RefundFailed:
			nr.Status, event = pay.RefundFailure, "ORDER_REFUND_FAILED"
			if nr.InitiatedBy == "AUTO_REFUND" {
				event = "AUTO_REFUND_FAILED"
			}
			nr.ErrorCode, nr.ErrorMessage = res.RespCode, res.RespMessage
		default:
			// Pending or unknown: reconciliation asks the gateway later.
			return ch, nil
		}
		ch.UpdatedRefunds = []*pay.Refund{&nr}
		out = &nr
		if nr.InitiatedBy == "AUTO_REFUND" && nr.Status == pay.RefundSuccess {
			for _, t := range txns {
				if t.ID == nr.TxnUUID && pay.CanMove(t.Status, pay.StatusAutoRefunded) {
					at := *t
					at.Status = pay.StatusAutoRefunded
					ch.Updated = append(ch.Updated, &at)
					txns = replaceAll(txns, ch.Updated)
				}
			}
		}
		after := *o
		after.Refunds = replaceRefund(o.Refunds, &nr)
		after.AmountRefunded = pay.RefundedAmount(after.Refunds, txns)
		after.UpdatedAt = now
		ev, err := s.event(event, &after, txns)
		if err != nil {
			return ch, err
		}
		ch.Events = append(ch.Events, ev)
		return ch, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return order, out, nil
}

func replaceRefund(refunds []*pay.Refund, nr *pay.Refund) []*pay.Refund {
	out := make([]*pay.Refund, len(refunds))
	for i, r := range refunds {
		out[i] = r
		if r.ID == nr.ID {
			out[i] = nr
		}
	}
	return out
}

// TxnByTxnID returns a merchant's txn by its txn_id.
func (s *Service) TxnByTxnID(ctx context.Context, m *pay.Merchant, txnID string) (*pay.Txn, error) {
	t, err := s.db.TxnByTxnID(ctx, txnID)
	if err != nil || t.MerchantID != m.ID {
		return nil, pay.Errorf(pay.ENOTFOUND, "transaction not found")
	}
	return t, nil
}
