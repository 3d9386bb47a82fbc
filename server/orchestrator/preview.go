package orchestrator

import (
	"context"
	"errors"
	"slices"

	"switchyard/server/pay"
	"switchyard/server/routing"
)

// PreviewPayment is a sample payment to preview routing with.
type PreviewPayment struct {
	MethodType string // CARD, UPI, NB, WALLET
	Method     string // card brand, bank or wallet code; optional
	CardBIN    string // first 6-8 digits; optional
	Amount     string // decimal major units
	Currency   string
	UDF        [10]string
}

// PreviewRouting answers which of merchant m's gateway accounts a payment
// like p would be sent to under routing config cfg (the stored one, or a
// draft being edited), and why: the same plan and router a txn uses, on the
// current estimates. It changes nothing: elimination is left out, because
// judging it paces the probes of eliminated gateways, and a preview must not
// use up a real payment's probe.
func (s *Service) PreviewRouting(ctx context.Context, m *pay.Merchant, cfg pay.RoutingConfig, p PreviewPayment) (*routing.Decision, error) {
	var problems pay.Problems
	if !slices.Contains(pay.PaymentMethodTypes, p.MethodType) {
		problems.Add("sample.payment_method_type", "choose CARD, UPI, NB or WALLET")
	}
	amount, err := pay.ParseAmount(p.Amount, p.Currency)
	var pe *pay.Error
	if errors.As(err, &pe) {
		for _, f := range pe.Fields {
			problems.Add("sample."+f.Field, f.Reason)
		}
	} else if err != nil {
		return nil, err
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	gateways, err := s.db.Gateways(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	cfg.Elimination.Enabled = false
	plan, err := routing.NewPlan(routing.Setup{MerchantID: m.ID, Routing: &cfg, Gateways: gateways, FeeCurrency: m.DefaultCurrency})
	if err != nil {
		return nil, err
	}
	in := routing.Input{
		TxnID: m.ID + "-preview", MethodType: p.MethodType, Method: p.Method, CardBIN: p.CardBIN,
		Amount: amount, Currency: p.Currency, UDF: p.UDF,
	}
	d := new(routing.Decision)
	if err := s.router.Decide(plan, &in, s.db.Now(), d); err != nil && !errors.Is(err, routing.ErrNoGateway) {
		return nil, err
	}
	return d, nil
}
