package api

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// txnInput reads the payment fields of a /txns request.
func txnInput(p params) pay.TxnInput {
	in := pay.TxnInput{
		PaymentMethodType: p["payment_method_type"], PaymentMethod: p["payment_method"],
		CardNumber: p["card_number"], CardExpMonth: p["card_exp_month"], CardExpYear: p["card_exp_year"],
		CardSecurityCode: p["card_security_code"], NameOnCard: p["name_on_card"],
		UPIVPA: p["upi_vpa"], TxnType: p["txn_type"], Gateway: p["gateway_id"],
	}
	// HyperPG spells the UPI flows as payment methods.
	switch strings.ToUpper(in.PaymentMethod) {
	case "UPI_COLLECT":
		in.TxnType = "UPI_COLLECT"
	case "UPI_PAY":
		in.TxnType = "UPI_PAY"
	}
	return in
}

type txnResponseJSON struct {
	OrderID      string           `json:"order_id"`
	TxnID        string           `json:"txn_id"`
	TxnUUID      string           `json:"txn_uuid"`
	Status       string           `json:"status"`
	StatusID     int              `json:"status_id"`
	ErrorCode    string           `json:"error_code,omitempty"`
	ErrorMessage string           `json:"error_message,omitempty"`
	Payment      txnPaymentJSON   `json:"payment"`
	Juspay       *clientTokenJSON `json:"juspay,omitempty"`
}

type txnPaymentJSON struct {
	Authentication authenticationJSON `json:"authentication"`
	SDKParams      map[string]string  `json:"sdk_params,omitempty"`
}

type authenticationJSON struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Params map[string]string `json:"params,omitempty"`
}

// handleCreateTxn serves POST /txns, the server-to-server payment API. The
// order is named by order_id, or created in the same call from order.*
// fields. The answer always carries payment.authentication: the page the
// shopper must visit (3DS, bank) or, when nothing is left for the shopper to
// do, Switchyard's finish URL, which redirects to the return URL — Juspay
// clients always follow it.
func (s *Server) handleCreateTxn(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := merchant(c)
	if mid := p["merchant_id"]; mid != "" && mid != m.ID {
		return pay.Invalid("merchant_id", "does not match the API key's merchant")
	}
	var o *pay.Order
	var juspay *clientTokenJSON
	if p["order.order_id"] != "" {
		if p["order_id"] != "" && p["order_id"] != p["order.order_id"] {
			return pay.Invalid("order_id", "differs from order.order_id")
		}
		if o, _, err = s.svc.CreateOrder(ctx, m, orderInput(p, "order.")); err != nil {
			return err
		}
		if want, _ := p.bool("order.options.get_client_auth_token"); want {
			t, err := s.svc.IssueClientToken(o)
			if err != nil {
				return err
			}
			juspay = newClientTokenJSON(t)
		}
	} else {
		if p["order_id"] == "" {
			return pay.Invalid("order_id", "is required (or create the order with order.* fields)")
		}
		if o, err = s.svc.Order(ctx, m, p["order_id"]); err != nil {
			return err
		}
	}
	out, err := s.svc.StartTxn(ctx, m, o.ID, txnInput(p))
	if err != nil {
		return err
	}
	body := newTxnResponse(s.svc, out)
	body.Juspay = juspay
	if p["format"] != "json" {
		return redirectTo(c, body.Payment.Authentication)
	}
	return c.JSON(http.StatusOK, body)
}

func newTxnResponse(svc *orchestrator.Service, out *orchestrator.TxnOutcome) txnResponseJSON {
	t := out.Txn
	body := txnResponseJSON{
		OrderID: out.Order.OrderID, TxnID: t.TxnID, TxnUUID: t.ID,
		Status: string(t.Status), StatusID: t.Status.ID(),
		ErrorCode: t.ErrorCode, ErrorMessage: t.ErrorMessage,
		Payment: txnPaymentJSON{Authentication: authenticationJSON{Method: http.MethodGet, URL: svc.FinishURL(out.Order, t)}},
	}
	if out.Next.Kind == "redirect" {
		body.Payment.Authentication = authenticationJSON{Method: out.Next.Method, URL: out.Next.URL, Params: out.Next.Params}
	}
	if t.Details.IntentLink != "" {
		body.Payment.SDKParams = map[string]string{"intent_link": t.Details.IntentLink}
	}
	return body
}

// autoSubmit posts params to a URL from the shopper's browser, for POST
// authentication steps requested without format=json.
var autoSubmit = template.Must(template.New("autosubmit").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting…</title></head>
<body onload="document.forms[0].submit()"><form method="POST" action="{{.URL}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<noscript><button type="submit">Continue</button></noscript></form></body></html>`))

// redirectTo answers without format=json as Juspay does: a 302 to the
// authentication URL, or a self-submitting form when it must be POSTed.
func redirectTo(c echo.Context, a authenticationJSON) error {
	if a.Method == http.MethodPost {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(http.StatusOK)
		return autoSubmit.Execute(c.Response(), a)
	}
	return c.Redirect(http.StatusFound, a.URL)
}
