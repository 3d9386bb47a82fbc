package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// ordersPageSize is how many orders one page of the list shows.
const ordersPageSize = 25

// dateLayout is the filters' date format (what <input type="date"> sends).
const dateLayout = "2006-01-02"

// timeLayout shows times in the dashboard, in UTC like the API.
const timeLayout = "2006-01-02 15:04:05 UTC"

// orderStatuses are the statuses an order can be filtered by.
var orderStatuses = []pay.Status{
	pay.StatusNew, pay.StatusPendingVBV, pay.StatusAuthorizing, pay.StatusCharged,
	pay.StatusAuthenticationFailed, pay.StatusAuthorizationFailed, pay.StatusJuspayDeclined, pay.StatusAutoRefunded,
}

// orderFilters is the order list's query string, as typed.
type orderFilters struct {
	Q, Status, From, To, Gateway, Method, Before string
}

// query returns the filters as a query string, without the page cursor.
func (f orderFilters) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "status": f.Status, "from": f.From, "to": f.To, "gateway": f.Gateway, "method": f.Method} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// option is a <select>'s option.
type option struct {
	Value, Label string
	Selected     bool
}

// ordersPage is the data of dashboard_orders.html.
type ordersPage struct {
	Filters  orderFilters
	Statuses []option
	Gateways []option
	Methods  []option
	Rows     []orderRow
	// Searched is set when any filter is applied.
	Searched bool
	// NextURL is the next (older) page, FirstURL the first page when not
	// on it.
	NextURL, FirstURL string
}

// orderRow is one line of the order list.
type orderRow struct {
	OrderID, URL, Amount, Status, Method, Gateway, Created string
}

// parseOrderQuery validates the list's query string into a store query;
// problems are reported per field.
func parseOrderQuery(merchantID string, f orderFilters) (store.OrderQuery, error) {
	q := store.OrderQuery{MerchantID: merchantID, Q: strings.TrimSpace(f.Q), Limit: ordersPageSize,
		Gateway: f.Gateway, MethodType: f.Method}
	var p pay.Problems
	if len(q.Q) > 64 {
		p.Add("q", "must be at most 64 characters (order ids are)")
	}
	if f.Status != "" {
		if st := pay.Status(f.Status); st.Valid() {
			q.Status = st
		} else {
			p.Add("status", "is not an order status")
		}
	}
	if f.Method != "" && !slices.Contains(pay.PaymentMethodTypes, f.Method) {
		p.Add("method", "must be one of "+strings.Join(pay.PaymentMethodTypes, ", "))
	}
	if len(f.Gateway) > 64 {
		p.Add("gateway", "is not a gateway name")
	}
	if f.From != "" {
		d, err := time.Parse(dateLayout, f.From)
		if err != nil {
			p.Add("from", "must be a date as YYYY-MM-DD")
		}
		q.From = d
	}
	if f.To != "" {
		d, err := time.Parse(dateLayout, f.To)
		if err != nil {
			p.Add("to", "must be a date as YYYY-MM-DD")
		}
		// The "to" day is included: orders up to its end.
		q.To = d.AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		p.Add("to", "must not be before the from date")
	}
	if f.Before != "" {
		c, ok := parseCursor(f.Before)
		if !ok {
			p.Add("before", "is not a page of this list; start from the first page")
		}
		q.Before = c
	}
	return q, p.Err()
}

// formatCursor and parseCursor write a page position into a link:
// "<created_at in unix µs>.<order uuid>".
func formatCursor(c *store.OrderCursor) string {
	return strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID
}

func parseCursor(s string) (*store.OrderCursor, bool) {
	micros, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 40 {
		return nil, false
	}
	return &store.OrderCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, true
}

// handleOrders serves GET /dashboard/orders: the merchant's orders, newest
// first, searched by order id and filtered by status, dates, gateway and
// payment method, a page at a time.
func (s *Server) handleOrders(c echo.Context) error {
	ctx := c.Request().Context()
	m := merchant(c)
	f := orderFilters{Q: c.QueryParam("q"), Status: c.QueryParam("status"), From: c.QueryParam("from"),
		To: c.QueryParam("to"), Gateway: c.QueryParam("gateway"), Method: c.QueryParam("method"), Before: c.QueryParam("before")}
	page := ordersPage{Filters: f, Searched: len(f.query()) > 0}
	page.Statuses = []option{{Value: "", Label: "Any status"}}
	for _, st := range orderStatuses {
		page.Statuses = append(page.Statuses, option{Value: string(st), Label: string(st), Selected: string(st) == f.Status})
	}
	page.Methods = []option{{Value: "", Label: "Any method"}}
	for _, t := range pay.PaymentMethodTypes {
		page.Methods = append(page.Methods, option{Value: t, Label: t, Selected: t == f.Method})
	}
	gateways, err := s.svc.Gateways(ctx, m.ID)
	if err != nil {
		return s.fail(c, err)
	}
	page.Gateways = []option{{Value: "", Label: "Any gateway"}}
	for _, g := range gateways {
		page.Gateways = append(page.Gateways, option{Value: g.Name, Label: g.Name, Selected: g.Name == f.Gateway})
	}
	v := view{Title: "Orders", Data: &page}

	q, err := parseOrderQuery(m.ID, f)
	if err != nil {
		return s.refuse(c, "dashboard_orders.html", v, err)
	}
	items, next, err := s.db.SearchOrders(ctx, q)
	if err != nil {
		return s.fail(c, err)
	}
	for _, it := range items {
		o := it.Order
		row := orderRow{OrderID: o.OrderID, URL: orderURL(o.OrderID), Status: string(o.Status),
			Amount:  formatMoney(o.Amount.Amount, o.Amount.Currency),
			Created: o.CreatedAt.UTC().Format(timeLayout), Method: "–", Gateway: "–"}
		if t := pay.ReportedTxn(it.Txns); t != nil {
			row.Method = methodText(t)
			row.Gateway = orDash(t.Gateway)
		}
		page.Rows = append(page.Rows, row)
	}
	if next != nil {
		qs := f.query()
		qs.Set("before", formatCursor(next))
		page.NextURL = "/dashboard/orders?" + qs.Encode()
	}
	if f.Before != "" {
		page.FirstURL = "/dashboard/orders"
		if qs := f.query(); len(qs) > 0 {
			page.FirstURL += "?" + qs.Encode()
		}
	}
	return s.render(c, http.StatusOK, "dashboard_orders.html", v)
}

// orderURL is the dashboard page of an order.
func orderURL(orderID string) string { return "/dashboard/orders/" + url.PathEscape(orderID) }

// methodText describes a txn's instrument: "CARD VISA ····4242",
// "UPI success@upi", "NB NB_HDFC".
func methodText(t *pay.Txn) string {
	parts := []string{t.PaymentMethodType}
	if t.PaymentMethod != "" && t.PaymentMethod != t.PaymentMethodType {
		parts = append(parts, t.PaymentMethod)
	}
	if t.Details.CardLast4 != "" {
		parts = append(parts, "····"+t.Details.CardLast4)
	}
	if t.Details.PayerVPA != "" {
		parts = append(parts, t.Details.PayerVPA)
	}
	return strings.Join(parts, " ")
}

// formatMoney shows an amount with its currency: "100.00 INR".
func formatMoney(minor int64, currency string) string {
	return displayAmount(minor, currency) + " " + currency
}

// displayAmount writes an amount in major units with all of the currency's
// decimals ("100.00", where the API writes 100), as people read prices and
// as the refund form's amount field takes it.
func displayAmount(minor int64, currency string) string {
	s := pay.FormatAmount(minor, currency)
	exp, _ := pay.CurrencyExponent(currency)
	if exp == 0 {
		return s
	}
	whole, frac, _ := strings.Cut(s, ".")
	return whole + "." + frac + strings.Repeat("0", exp-len(frac))
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// orderPage is the data of dashboard_order.html.
type orderPage struct {
	OrderID, UUID, Status, Amount, Refunded, Created, Updated, Expires string
	Customer, Description                                              string
	Txns                                                               []txnView
	Refunds                                                            []refundView
	Events                                                             []eventView
	// Refund is the refund form; nil when nothing can be refunded, and
	// then RefundNote may say why.
	Refund     *refundForm
	RefundNote string
	// StatusAPI is the merchant API path of the order.
	StatusAPI string
}

// txnView is one txn of the order's timeline.
type txnView struct {
	Seq                                  int
	TxnID, Status, Method, Gateway, When string
	Failed, Charged, Conflicted          bool
	// Routing: why the gateway was chosen, the candidates, the attempts.
	Reason, Rule string
	Probe        bool
	Candidates   []candidateView
	Attempts     []attemptView
	// The gateway's answer.
	RespCode, RespMessage, GatewayRef, UnifiedCode, ErrorCode, ErrorMessage string
}

type candidateView struct {
	Gateway, Score string
	Eliminated     bool
}

type attemptView struct {
	Gateway, Outcome, Code, At string
}

type refundView struct {
	ID, UniqueRequestID, Amount, Status, InitiatedBy, Created, GatewayRef, Error string
}

type eventView struct {
	EventID, Name, State, Created, Next, ResendURL string
	Deliveries                                     []deliveryView
}

type deliveryView struct {
	Attempt               int
	At, URL, Result, Took string
	OK                    bool
}

// refundForm is the refund form: the amount (prefilled with everything
// still refundable) and a unique_request_id made for this rendering, so a
// double submit of one form is one refund.
type refundForm struct {
	Action, Amount, Refundable, Currency, UniqueRequestID string
}

func newTxnView(t *pay.Txn) txnView {
	d := t.Details
	v := txnView{Seq: t.Seq, TxnID: t.TxnID, Status: string(t.Status), Method: methodText(t), Gateway: orDash(t.Gateway),
		When: t.CreatedAt.UTC().Format(timeLayout), Failed: t.Status.Failed(), Conflicted: t.Conflicted,
		Charged:  t.Status == pay.StatusCharged && !t.Conflicted,
		RespCode: d.RespCode, RespMessage: d.RespMessage, GatewayRef: d.GatewayRef, UnifiedCode: d.UnifiedCode,
		ErrorCode: t.ErrorCode, ErrorMessage: t.ErrorMessage}
	var rec orchestrator.TxnRouting
	// A txn whose routing cannot be read still shows everything else.
	if json.Unmarshal([]byte(t.Routing), &rec) == nil {
		v.Reason, v.Rule, v.Probe = string(rec.Decision.Reason), rec.Decision.Rule, rec.Decision.Probe
		for _, c := range rec.Decision.Candidates {
			v.Candidates = append(v.Candidates, candidateView{Gateway: c.Gateway,
				Score: strconv.FormatFloat(c.Score, 'f', 3, 64), Eliminated: c.Eliminated})
		}
		for _, a := range rec.Attempts {
			v.Attempts = append(v.Attempts, attemptView{Gateway: a.Gateway, Outcome: a.Outcome, Code: a.Code,
				At: a.At.UTC().Format(timeLayout)})
		}
	}
	return v
}

// refundable is what can still be refunded of the order's kept charge, or
// -1 when it has none.
func refundable(o *pay.Order, txns []*pay.Txn) int64 {
	for _, t := range txns {
		if t.Status != pay.StatusCharged || t.Conflicted {
			continue
		}
		left := t.Amount.Amount
		for _, r := range o.Refunds {
			if r.TxnUUID == t.ID && r.Counts() {
				left -= r.Amount.Amount
			}
		}
		return left
	}
	return -1
}

// handleOrder serves GET /dashboard/orders/{order_id}: the order, its txn
// timeline with routing and gateway answers, its refunds with the refund
// form, and its webhook events with their deliveries. Another merchant's
// order id is not found.
func (s *Server) handleOrder(c echo.Context) error {
	page, err := s.orderPage(c)
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dashboard_order.html", view{Title: "Order " + page.OrderID, Data: page})
}

// orderPage loads the order of the path's order_id for the session's
// merchant.
func (s *Server) orderPage(c echo.Context) (*orderPage, error) {
	ctx := c.Request().Context()
	m := merchant(c)
	o, err := s.svc.Order(ctx, m, c.Param("order_id"))
	if err != nil {
		return nil, err
	}
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return nil, err
	}
	events, err := s.db.OrderEvents(ctx, m.ID, o.ID)
	if err != nil {
		return nil, err
	}
	cur := o.Amount.Currency
	p := &orderPage{OrderID: o.OrderID, UUID: o.ID, Status: string(o.Status),
		Amount: formatMoney(o.Amount.Amount, cur), Refunded: formatMoney(o.AmountRefunded, cur),
		Created: o.CreatedAt.UTC().Format(timeLayout), Updated: o.UpdatedAt.UTC().Format(timeLayout),
		Expires: o.ExpiresAt.UTC().Format(timeLayout), Description: o.Description,
		Customer:  strings.TrimSpace(strings.Join([]string{o.CustomerID, o.CustomerEmail, o.CustomerPhone}, " ")),
		StatusAPI: "/orders/" + url.PathEscape(o.OrderID)}
	for _, t := range txns {
		p.Txns = append(p.Txns, newTxnView(t))
	}
	for _, r := range o.Refunds {
		rv := refundView{ID: r.ID, UniqueRequestID: r.UniqueRequestID, Amount: formatMoney(r.Amount.Amount, r.Amount.Currency),
			Status: string(r.Status), InitiatedBy: r.InitiatedBy, Created: r.CreatedAt.UTC().Format(timeLayout),
			GatewayRef: r.GatewayRef}
		if r.ErrorCode != "" || r.ErrorMessage != "" {
			rv.Error = strings.TrimSpace(r.ErrorCode + " " + r.ErrorMessage)
		}
		p.Refunds = append(p.Refunds, rv)
	}
	switch left := refundable(o, txns); {
	case left > 0:
		p.Refund = &refundForm{Action: orderURL(o.OrderID) + "/refunds", Amount: displayAmount(left, cur),
			Refundable: formatMoney(left, cur), Currency: cur, UniqueRequestID: "dash_" + pay.RandomHex(12)}
	case left == 0:
		p.RefundNote = "Everything charged has been refunded or is being refunded."
	default:
		p.RefundNote = "Only a charged order can be refunded."
	}
	for _, e := range events {
		ev := eventView{EventID: e.EventID, Name: e.Name, State: e.State, Created: e.CreatedAt.UTC().Format(timeLayout),
			ResendURL: orderURL(o.OrderID) + "/events/" + url.PathEscape(e.EventID) + "/resend"}
		if e.State == store.EventPending {
			ev.Next = e.NextAttemptAt.UTC().Format(timeLayout)
		}
		for _, d := range e.Deliveries {
			dv := deliveryView{Attempt: d.Attempt, At: d.CreatedAt.UTC().Format(timeLayout), URL: d.URL,
				Took: strconv.FormatInt(d.Duration.Milliseconds(), 10) + " ms", OK: d.StatusCode >= 200 && d.StatusCode < 300}
			switch {
			case d.StatusCode != 0 && d.Error != "":
				dv.Result = "HTTP " + strconv.Itoa(d.StatusCode) + ": " + d.Error
			case d.StatusCode != 0:
				dv.Result = "HTTP " + strconv.Itoa(d.StatusCode)
			default:
				dv.Result = orDash(d.Error)
			}
			ev.Deliveries = append(ev.Deliveries, dv)
		}
		p.Events = append(p.Events, ev)
	}
	return p, nil
}

// handleRefund serves POST /dashboard/orders/{order_id}/refunds: the same
// refund as the merchant API's POST /orders/{order_id}/refunds
// (orchestrator.Service.Refund), initiated by DASHBOARD. A refused amount is
// shown next to the field; a repeated submit of the same form (same
// unique_request_id) is the same refund.
func (s *Server) handleRefund(c echo.Context) error {
	ctx := c.Request().Context()
	m := merchant(c)
	o, err := s.svc.Order(ctx, m, c.Param("order_id"))
	if err != nil {
		return s.fail(c, err)
	}
	req := orchestrator.RefundRequest{UniqueRequestID: c.FormValue("unique_request_id"),
		Amount: strings.TrimSpace(c.FormValue("amount")), InitiatedBy: "DASHBOARD"}
	if req.Amount == "" {
		// An empty amount would refund everything; the form always
		// says how much, so an empty one is a mistake.
		err = pay.Invalid("amount", "is required")
	} else {
		_, _, err = s.svc.Refund(ctx, m, o, req)
	}
	if err != nil {
		page, perr := s.orderPage(c)
		if perr != nil {
			return s.fail(c, perr)
		}
		if page.Refund != nil {
			// Keep what was typed. The form gets a fresh request id:
			// the refused one refunded nothing, and may be a replayed
			// old form's, which would be refused again.
			page.Refund.Amount = req.Amount
		}
		return s.refuse(c, "dashboard_order.html", view{Title: "Order " + page.OrderID, Data: page}, err)
	}
	refunded, err := s.svc.Order(ctx, m, o.OrderID)
	if err != nil {
		return s.fail(c, err)
	}
	if _, err := s.svc.OrderTxns(ctx, refunded); err != nil {
		return s.fail(c, err)
	}
	flash := "Refund requested."
	for _, r := range refunded.Refunds {
		if r.UniqueRequestID == req.UniqueRequestID {
			flash = "Refund of " + formatMoney(r.Amount.Amount, r.Amount.Currency) + ": " + string(r.Status) + "."
		}
	}
	return s.seeOther(c, orderURL(o.OrderID), flash)
}

// handleResendEvent serves POST
// /dashboard/orders/{order_id}/events/{event_id}/resend: the event is due
// now with a fresh retry schedule, as the admin API's resend does
// (store.ResendEvent). Another merchant's event is not found.
func (s *Server) handleResendEvent(c echo.Context) error {
	ctx := c.Request().Context()
	m := merchant(c)
	o, err := s.svc.Order(ctx, m, c.Param("order_id"))
	if err != nil {
		return s.fail(c, err)
	}
	if err := s.db.ResendEvent(ctx, m.ID, c.Param("event_id")); err != nil {
		return s.fail(c, err)
	}
	return s.seeOther(c, orderURL(o.OrderID), "Webhook "+c.Param("event_id")+" will be sent again shortly.")
}
