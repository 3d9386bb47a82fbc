package checkout

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// orderIDPattern bounds what may be an order's id before it reaches the
// database; anything else is simply not found.
var orderIDPattern = regexp.MustCompile(`^[a-z]{3,8}_[A-Za-z0-9]{1,64}$`)

// checkoutPage is the data of checkout.html.
type checkoutPage struct {
	page
	// Token is the client auth token the page's script uses with the SDK API.
	Token        string
	MerchantName string
	Amount       string
	Description  string
	OrderID      string
	// MerchantOrigin is where the result is posted when the page runs in a
	// popup or an iframe ("" when unknown).
	MerchantOrigin string
	// Status is the order's status when the page was rendered.
	Status string
	// Notice is a message shown at once in the live region (the reason of
	// the last failed attempt).
	Notice  string
	Methods []methodView
	Sandbox bool
}

// methodView is one payment method type on the page.
type methodView struct {
	Type  string
	Label string
	// Amount is the order's amount, for the pay button.
	Amount string
	// Options are the banks (NB) or wallets (WALLET) to choose from.
	Options []pay.PaymentMethod
}

// methodLabels are the tab labels of the payment method types.
var methodLabels = map[string]string{
	pay.MethodCard:   "Card",
	pay.MethodUPI:    "UPI",
	pay.MethodNB:     "Netbanking",
	pay.MethodWallet: "Wallet",
}

// paidPage is the data of pay_paid.html.
type paidPage struct {
	page
	MerchantName string
	Amount       string
	Description  string
	OrderID      string
	ReturnURL    string
}

// waitPage is the data of pay_wait.html.
type waitPage struct {
	page
	Token          string
	MerchantName   string
	Amount         string
	Description    string
	OrderID        string
	TxnID          string
	Status         string
	FinishURL      string
	MerchantOrigin string
}

// resultPage is the data of pay_result.html.
type resultPage struct {
	page
	MerchantName   string
	Amount         string
	Description    string
	OrderID        string
	TxnID          string
	Status         string
	Charged        bool
	ReturnURL      string
	MerchantOrigin string
}

// orderAndMerchant loads the order a payment link names and its merchant.
func (s *Server) orderAndMerchant(ctx context.Context, id string) (*pay.Order, *pay.Merchant, error) {
	if !orderIDPattern.MatchString(id) {
		return nil, nil, pay.Errorf(pay.ENOTFOUND, "order not found")
	}
	o, err := s.svc.OrderByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.svc.Merchant(ctx, o.MerchantID)
	if err != nil {
		return nil, nil, err
	}
	return o, m, nil
}

// handlePage serves the hosted payment page of an order.
func (s *Server) handlePage(c echo.Context) error {
	ctx := c.Request().Context()
	o, m, err := s.orderAndMerchant(ctx, c.Param("id"))
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	ancestors := frameAncestors(m)
	if paid(o.Status) {
		return s.renderPaid(c, m, o, ancestors)
	}
	if o.Expired(s.now()) {
		return s.renderError(c, http.StatusGone, "Payment link expired",
			"This payment link has expired. Please return to "+m.Name+" to start again.", ancestors)
	}
	types, err := s.svc.AvailableMethods(ctx, m, o.Amount.Currency)
	if err != nil {
		return s.renderFailure(c, err, ancestors)
	}
	tok, err := s.svc.IssueClientToken(o)
	if err != nil {
		return s.renderFailure(c, err, ancestors)
	}
	p := checkoutPage{
		page:  s.newPage(c, "Pay "+m.Name),
		Token: tok.Token, MerchantName: m.Name, Amount: displayAmount(o.Amount),
		Description: o.Description, OrderID: o.OrderID, MerchantOrigin: merchantOrigin(m, o),
		Status: string(o.Status), Sandbox: s.sandbox,
	}
	for _, t := range types {
		mv := methodView{Type: t, Label: methodLabels[t], Amount: p.Amount}
		if t == pay.MethodNB || t == pay.MethodWallet {
			mv.Options = m.Instruments(t)
		}
		p.Methods = append(p.Methods, mv)
	}
	if o.Status.Failed() {
		if p.Notice, err = s.lastFailure(ctx, o); err != nil {
			return s.renderFailure(c, err, ancestors)
		}
	}
	return s.render(c, http.StatusOK, "checkout.html", p.Nonce, ancestors, p)
}

// paid reports whether an order in status st has been paid for.
func paid(st pay.Status) bool {
	return st == pay.StatusCharged || st == pay.StatusCODInitiated
}

// lastFailure describes the most recent failed attempt of order o, for the
// shopper.
func (s *Server) lastFailure(ctx context.Context, o *pay.Order) (string, error) {
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return "", err
	}
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		if !t.Status.Failed() {
			continue
		}
		msg := "Your last payment attempt did not go through"
		if t.Status == pay.StatusAuthenticationFailed {
			msg = "Your last payment attempt could not be authenticated"
		}
		if reason := strings.TrimSpace(t.ErrorMessage); reason != "" && t.ErrorCode != "SUPERSEDED" {
			msg += " (" + reason + ")"
		}
		return msg + ". You can try again with any payment method.", nil
	}
	return "", nil
}

func (s *Server) renderPaid(c echo.Context, m *pay.Merchant, o *pay.Order, ancestors []string) error {
	p := paidPage{
		page: s.newPage(c, "Paid"), MerchantName: m.Name, Amount: displayAmount(o.Amount),
		Description: o.Description, OrderID: o.OrderID, ReturnURL: s.svc.ReturnURL(m, o),
	}
	return s.render(c, http.StatusOK, "pay_paid.html", p.Nonce, ancestors, p)
}

// handleReturn is where gateways send the shopper back after their page
// (3DS, bank, wallet). The outcome is asked of the gateway by the
// orchestrator, never taken from the parameters the browser carried, and a
// replayed return changes nothing. Gateways come back by GET or by a
// cross-site POST, so this route takes both and has no CSRF token: it does
// nothing a third party could abuse.
func (s *Server) handleReturn(c echo.Context) error {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return s.renderError(c, http.StatusBadRequest, "We could not process this request",
			"The payment provider sent back a request we could not read.", nil)
	}
	params := make(map[string]string, len(r.Form))
	for k, v := range r.Form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	id := c.Param("id")
	if !orderIDPattern.MatchString(id) {
		return s.renderFailure(c, pay.Errorf(pay.ENOTFOUND, "order not found"), nil)
	}
	out, m, err := s.svc.CompleteTxn(r.Context(), id, c.Param("txn_id"), params)
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	o := out.Order
	if out.Txn.Status.Pending() && !paid(o.Status) {
		return s.redirect(c, "/pay/"+o.ID)
	}
	to := s.svc.ReturnURL(m, o)
	if to == "" {
		return s.redirect(c, "/pay/"+o.ID)
	}
	// Not a redirect: this window left the payment page for the gateway's,
	// so a merchant page that opened or framed it, or an app's webview,
	// has not heard the result. The page tells them, then goes on to the
	// return URL by itself.
	p := resultPage{
		page: s.newPage(c, "Payment result"), MerchantName: m.Name, Amount: displayAmount(o.Amount),
		Description: o.Description, OrderID: o.OrderID, TxnID: out.Txn.TxnID, Status: string(o.Status),
		Charged: paid(o.Status), ReturnURL: to, MerchantOrigin: merchantOrigin(m, o),
	}
	return s.render(c, http.StatusOK, "pay_result.html", p.Nonce, frameAncestors(m), p)
}

// handleFinish is the page a server-to-server txn's client follows after a
// step: the return URL once the txn is final, else a page that waits for it.
func (s *Server) handleFinish(c echo.Context) error {
	ctx := c.Request().Context()
	o, m, err := s.orderAndMerchant(ctx, c.Param("id"))
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	var t *pay.Txn
	for _, x := range txns {
		if x.TxnID == c.Param("txn_id") {
			t = x
		}
	}
	if t == nil {
		return s.renderFailure(c, pay.Errorf(pay.ENOTFOUND, "transaction not found"), nil)
	}
	if !t.Status.Pending() || paid(o.Status) {
		return s.redirectFinal(c, m, o)
	}
	tok, err := s.svc.IssueClientToken(o)
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	p := waitPage{
		page:  s.newPage(c, "Confirming your payment"),
		Token: tok.Token, MerchantName: m.Name, Amount: displayAmount(o.Amount), Description: o.Description,
		OrderID: o.OrderID, TxnID: t.TxnID, Status: string(t.Status), FinishURL: c.Request().URL.Path,
		MerchantOrigin: merchantOrigin(m, o),
	}
	return s.render(c, http.StatusOK, "pay_wait.html", p.Nonce, frameAncestors(m), p)
}

// redirectFinal sends the shopper of a final txn to the merchant's return
// URL, or, when the merchant has none, to the payment page, which shows the
// result.
func (s *Server) redirectFinal(c echo.Context, m *pay.Merchant, o *pay.Order) error {
	to := s.svc.ReturnURL(m, o)
	if to == "" {
		to = "/pay/" + o.ID
	}
	return s.redirect(c, to)
}

// redirect answers 303 See Other, which turns a gateway's POST into a GET.
func (s *Server) redirect(c echo.Context, to string) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusSeeOther, to)
}

// currencySymbols are the symbols shown for common currencies; others show
// their ISO code.
var currencySymbols = map[string]string{
	"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥",
}

// displayAmount renders money for a shopper: "₹100.00", "SGD 12.50".
func displayAmount(m pay.Money) string {
	s := pay.FormatAmount(m.Amount, m.Currency)
	if exp, _ := pay.CurrencyExponent(m.Currency); exp > 0 {
		whole, frac, _ := strings.Cut(s, ".")
		s = whole + "." + frac + strings.Repeat("0", exp-len(frac))
	}
	if sym, ok := currencySymbols[m.Currency]; ok {
		return sym + s
	}
	return m.Currency + " " + s
}
