package app

import (
	"context"
	"fmt"
	"io"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// DemoMerchantID is the merchant seeded in sandbox mode.
const DemoMerchantID = "demo"

// Demo is what SeedDemo prints: enough to make a first payment.
type Demo struct {
	MerchantID  string
	APIKey      string
	ResponseKey string
	PaymentLink string
	OrderID     string
	// DashboardPassword is set when the merchant was just created: the
	// stored hash cannot be shown again.
	DashboardLogin    string
	DashboardPassword string
}

// SeedDemo makes sure the demo merchant exists with a sandbox gateway
// account, gives it a fresh API key (stored keys are hashed, so an old one
// cannot be shown again) and creates an order to pay.
func (a *App) SeedDemo(ctx context.Context) (Demo, error) {
	svc := a.Service
	d := Demo{MerchantID: DemoMerchantID}
	_, err := svc.Merchant(ctx, DemoMerchantID)
	switch pay.ErrorCode(err) {
	case pay.ENOTFOUND:
		m := orchestrator.NewMerchant(DemoMerchantID, "Demo Store")
		m.PaymentRedirectURL = a.Config.PublicURL + "/demo/result"
		m.AllowedReturnHosts = []string{"localhost", "127.0.0.1"}
		creds, err := svc.CreateMerchant(ctx, m)
		if err != nil {
			return d, err
		}
		d.APIKey, d.ResponseKey = creds.APIKey, creds.ResponseKey
		d.DashboardLogin, d.DashboardPassword = creds.DashboardLogin, creds.DashboardPassword
		_, err = svc.PutGateway(ctx, &pay.GatewayAccount{
			MerchantID: DemoMerchantID, Name: "sandbox_a", Connector: "sandbox", Enabled: true,
			Credentials:    map[string]string{"processor": "A"},
			PaymentMethods: append([]string(nil), pay.PaymentMethodTypes...),
			Currencies:     []string{"INR", "USD", "EUR"}, FeePercent: "2",
		})
		if err != nil {
			return d, err
		}
	case pay.EINTERNAL:
		if err != nil {
			return d, err
		}
		if d.APIKey, err = svc.AddAPIKey(ctx, DemoMerchantID); err != nil {
			return d, err
		}
	default:
		return d, err
	}
	m, err := svc.Merchant(ctx, DemoMerchantID)
	if err != nil {
		return d, err
	}
	o, _, err := svc.CreateOrder(ctx, m, pay.OrderInput{
		OrderID: "demo_" + pay.RandomHex(4), Amount: "100.00", Currency: "INR",
		CustomerID: "demo_customer", CustomerEmail: "shopper@example.com", Description: "Demo order",
	})
	if err != nil {
		return d, err
	}
	d.OrderID, d.PaymentLink = o.OrderID, svc.Links(o).Web
	return d, nil
}

// PrintBanner tells the person who started the server how to use it.
func (a *App) PrintBanner(w io.Writer, d *Demo) {
	fmt.Fprintln(w)
	if a.embedded != nil {
		fmt.Fprintln(w, "  *** DEMO MODE: embedded in-memory database, data is NOT persisted ***")
	}
	fmt.Fprintf(w, "  Switchyard listening on %s\n", a.Config.PublicURL)
	if a.Config.Sandbox {
		fmt.Fprintf(w, "  admin token:       %s\n", a.Config.AdminToken)
	}
	if d != nil {
		fmt.Fprintf(w, "  demo merchant:     %s\n", d.MerchantID)
		fmt.Fprintf(w, "  demo API key:      %s\n", d.APIKey)
		if d.ResponseKey != "" {
			fmt.Fprintf(w, "  demo response key: %s\n", d.ResponseKey)
		}
		fmt.Fprintf(w, "  checkout link:     %s   (order %s)\n", d.PaymentLink, d.OrderID)
		if d.DashboardPassword != "" {
			fmt.Fprintf(w, "  dashboard:         %s/dashboard   (login %s, password %s)\n", a.Config.PublicURL, d.DashboardLogin, d.DashboardPassword)
		}
		fmt.Fprintf(w, "  try:  curl -u %s: %s/orders/%s\n", d.APIKey, a.Config.PublicURL, d.OrderID)
	}
	fmt.Fprintln(w)
}
