package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/routing"
)

// TxnRouting is what a txn keeps of its routing (pay.Txn.Routing, JSON):
// the decision with its candidates and scores, and every gateway attempt, so
// the Order Status API and the dashboard can explain where a payment went.
type TxnRouting struct {
	Decision routing.Recorded `json:"decision"`
	Attempts []RoutingAttempt `json:"attempts"`
}

// RoutingAttempt is one call to a gateway for a txn and how it ended.
type RoutingAttempt struct {
	Gateway string    `json:"gateway"`
	Outcome string    `json:"outcome"`
	Code    string    `json:"code,omitempty"`
	At      time.Time `json:"at"`
}

// decide picks the ordered gateway candidates of a txn: the forced account
// (gateway_id, metadata.JUSPAY:gateway_reference_id) or the router's choice
// over the merchant's accounts and routing config.
func (s *Service) decide(ctx context.Context, m *pay.Merchant, o *pay.Order, in pay.TxnInput, card *pay.Card) (*routing.Decision, error) {
	gateways, err := s.db.Gateways(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	// The plan is compiled per txn: it is cheap next to the gateway call,
	// and it can never be stale.
	plan, err := routing.NewPlan(routing.Setup{MerchantID: m.ID, Routing: &m.Routing, Gateways: gateways, FeeCurrency: m.DefaultCurrency})
	if err != nil {
		return nil, err
	}
	input := routing.Input{
		TxnID:      m.ID + "-" + o.OrderID + "-" + strconv.Itoa(o.TxnCount+1),
		MethodType: in.PaymentMethodType, Method: in.PaymentMethod,
		Amount: o.Amount.Amount, Currency: o.Amount.Currency, UDF: o.UDF,
		Gateway: in.Gateway,
	}
	if input.Gateway == "" {
		input.Gateway = o.Metadata["JUSPAY:gateway_reference_id"]
	}
	if card != nil {
		input.CardBIN = card.Number[:min(8, len(card.Number))]
	}
	d := new(routing.Decision)
	err = s.router.Decide(plan, &input, s.db.Now(), d)
	switch {
	case errors.Is(err, routing.ErrNoGateway) && input.Gateway != "":
		return nil, pay.Invalid("gateway_id", "gateway "+strconv.Quote(input.Gateway)+" is not an enabled gateway supporting "+
			in.PaymentMethodType+" in "+o.Amount.Currency)
	case errors.Is(err, routing.ErrNoGateway):
		return nil, &pay.Error{Code: pay.EINVALID, Compat: "invalid_request_error",
			Message: "Can't find a suitable gateway to process the transaction"}
	case err != nil:
		return nil, err
	}
	return d, nil
}

// routingOutcome is what a txn's result teaches the router. Outcomes that
// are not the gateway's doing teach nothing: the shopper failing or
// abandoning authentication, or a decline for the shopper's own reasons
// (insufficient funds, a wrong or blocked card); otherwise every gateway
// would look as bad as its shoppers.
func routingOutcome(t *pay.Txn, res connector.Result) (routing.Outcome, bool) {
	switch {
	case res.Outcome == connector.Unknown:
		return routing.Timeout, true
	case res.Outcome == connector.Unavailable:
		return routing.Unavailable, true
	case t.Status == pay.StatusCharged:
		return routing.Success, true
	case t.Status == pay.StatusAuthenticationFailed:
		return routing.Ignore, true
	case t.Status == pay.StatusAuthorizationFailed:
		switch res.RespCode {
		case "insufficient_funds", "invalid_card", "incorrect_cvc", "expired_card", "card_blocked", "lost_card", "stolen_card":
			return routing.Ignore, true
		}
		return routing.Failure, true
	}
	return routing.Ignore, false
}

// observe feeds a txn's result to the router.
func (s *Service) observe(t *pay.Txn, res connector.Result) {
	outcome, ok := routingOutcome(t, res)
	if !ok || outcome == routing.Ignore {
		return
	}
	s.router.Observe(routing.Feedback{MerchantID: t.MerchantID, Gateway: t.Gateway,
		MethodType: t.PaymentMethodType, Method: t.PaymentMethod, Outcome: outcome, Sent: t.CreatedAt}, s.db.Now())
}

// SaveRouting persists the router's estimates, so a restart starts warm.
func (s *Service) SaveRouting(ctx context.Context) error {
	b, err := json.Marshal(s.router.Snapshot())
	if err != nil {
		return err
	}
	return s.db.SaveRoutingSnapshot(ctx, b)
}

// LoadRouting restores the router's estimates saved by SaveRouting, if any.
func (s *Service) LoadRouting(ctx context.Context) error {
	b, err := s.db.RoutingSnapshot(ctx)
	if err != nil || b == nil {
		return err
	}
	var snap routing.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return err
	}
	return s.router.Restore(snap)
}
