package sdkapi

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// timeFormat is the API's timestamp format: UTC, whole seconds.
const timeFormat = "2006-01-02T15:04:05Z"

// handleSession serves GET /sdk/v1/session: the order, the payment methods
// the shopper can use, and where the live status is.
func (s *Server) handleSession(c echo.Context) error {
	o, m := authed(c)
	types, err := s.svc.AvailableMethods(c.Request().Context(), m, o.Amount.Currency)
	if err != nil {
		return err
	}
	groups := make([]PaymentMethodGroup, 0, len(types))
	for _, t := range types {
		g := PaymentMethodGroup{PaymentMethodType: t, PaymentMethods: []PaymentMethod{}}
		for _, pm := range m.Instruments(t) {
			g.PaymentMethods = append(g.PaymentMethods, PaymentMethod{PaymentMethod: pm.Code, Description: pm.Description})
		}
		groups = append(groups, g)
	}
	return c.JSON(http.StatusOK, Session{
		Order:          newOrder(o, m),
		PaymentMethods: groups,
		Live:           LiveEndpoint{URL: s.liveURL, Protocol: Protocol},
	})
}

// handleCreateTxn serves POST /sdk/v1/txns: a payment attempt on the
// token's order. A txn that was created answers 200 whatever its outcome.
func (s *Server) handleCreateTxn(c echo.Context) error {
	o, m := authed(c)
	in, err := readTxnRequest(c, o)
	if err != nil {
		return err
	}
	out, err := s.svc.StartTxn(c.Request().Context(), m, o.ID, in)
	if err != nil {
		return err
	}
	t := out.Txn
	return c.JSON(http.StatusOK, TxnResponse{
		OrderID: out.Order.OrderID, TxnID: t.TxnID, TxnUUID: t.ID,
		Status: string(t.Status), StatusID: t.Status.ID(),
		ErrorCode: t.ErrorCode, ErrorMessage: t.ErrorMessage,
		Next: newNextAction(out.Next, t),
	})
}

// handleStatus serves GET /sdk/v1/status: the order's status, the txn that
// decides it and that txn's next action.
func (s *Server) handleStatus(c echo.Context) error {
	ctx := c.Request().Context()
	o, m := authed(c)
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return err
	}
	resp := StatusResponse{OrderID: o.OrderID, Status: string(o.Status), StatusID: o.Status.ID()}
	if t := statusTxn(o, txns); t != nil {
		out, err := s.svc.TxnStatus(ctx, m, t)
		if err != nil {
			return err
		}
		next := newNextAction(out.Next, t)
		resp.Status, resp.StatusID = string(out.Order.Status), out.Order.Status.ID()
		resp.TxnID, resp.TxnStatus, resp.Next = t.TxnID, string(t.Status), &next
	}
	return c.JSON(http.StatusOK, resp)
}

// CurrentEvent returns the live.CurrentFunc of svc: an order's status now,
// with the txn that decides it, as the first message of every websocket.
func CurrentEvent(svc *orchestrator.Service) live.CurrentFunc {
	return func(ctx context.Context, orderUUID string) (orchestrator.OrderEvent, error) {
		o, err := svc.OrderByID(ctx, orderUUID)
		if err != nil {
			return orchestrator.OrderEvent{}, err
		}
		txns, err := svc.OrderTxns(ctx, o)
		if err != nil {
			return orchestrator.OrderEvent{}, err
		}
		ev := orchestrator.OrderEvent{MerchantID: o.MerchantID, OrderUUID: o.ID, OrderID: o.OrderID,
			Status: o.Status, At: o.UpdatedAt}
		if t := statusTxn(o, txns); t != nil {
			ev.TxnID = t.TxnID
		}
		return ev, nil
	}
}

// statusTxn returns the txn that decides order o's status: the latest whose
// status is the order's (its charged txn, or the one in flight), else the
// latest; nil when there is none.
func statusTxn(o *pay.Order, txns []*pay.Txn) *pay.Txn {
	for i := len(txns) - 1; i >= 0; i-- {
		if txns[i].Status == o.Status {
			return txns[i]
		}
	}
	if len(txns) == 0 {
		return nil
	}
	return txns[len(txns)-1]
}

func newOrder(o *pay.Order, m *pay.Merchant) Order {
	return Order{
		ID: o.ID, OrderID: o.OrderID, MerchantID: m.ID, MerchantName: m.Name,
		Amount: formatMajor(o.Amount), Currency: o.Amount.Currency,
		Status: string(o.Status), StatusID: o.Status.ID(),
		Description: o.Description, ExpiresAt: o.ExpiresAt.UTC().Format(timeFormat),
	}
}

func newNextAction(n pay.NextAction, t *pay.Txn) NextAction {
	out := NextAction{Kind: n.Kind, Method: n.Method, URL: n.URL, Params: map[string]string{}}
	maps.Copy(out.Params, n.Params)
	if t.Status.Pending() {
		out.IntentLink = t.Details.IntentLink
	}
	return out
}

// formatMajor renders m in major units with exactly its currency's
// decimals ("100.00", "1500", "1.250"), the form a page shows.
func formatMajor(m pay.Money) string {
	exp, _ := pay.CurrencyExponent(m.Currency)
	if exp == 0 {
		return strconv.FormatInt(m.Amount, 10)
	}
	sign, v := "", m.Amount
	if v < 0 {
		sign, v = "-", -v
	}
	digits := strconv.FormatInt(v, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}
