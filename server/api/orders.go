package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// orderInput reads the order fields of p (under prefix, "" or "order.").
func orderInput(p params, prefix string) pay.OrderInput {
	in := pay.OrderInput{
		OrderID:       p[prefix+"order_id"],
		Amount:        p[prefix+"amount"],
		Currency:      p[prefix+"currency"],
		CustomerID:    p[prefix+"customer_id"],
		CustomerEmail: p[prefix+"customer_email"],
		CustomerPhone: p[prefix+"customer_phone"],
		ProductID:     p[prefix+"product_id"],
		Description:   p[prefix+"description"],
		ReturnURL:     p[prefix+"return_url"],
		Metadata:      p.withPrefix(prefix + "metadata."),
		Details:       map[string]string{},
	}
	for i := range in.UDF {
		in.UDF[i] = p[prefix+"udf"+strconv.Itoa(i+1)]
	}
	for _, k := range pay.DetailKeys {
		if v, ok := p[prefix+k]; ok && v != "" {
			in.Details[k] = v
		}
	}
	return in
}

// handleCreateOrder serves POST /orders.
func (s *Server) handleCreateOrder(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	wantToken, err := p.bool("options.get_client_auth_token")
	if err != nil {
		return err
	}
	m := merchant(c)
	o, created, err := s.svc.CreateOrder(c.Request().Context(), m, orderInput(p, ""))
	if err != nil {
		return err
	}
	// An order created just now has no txns; an existing one (the same
	// order_id and amount sent again) may.
	var txns []*pay.Txn
	if !created {
		if txns, err = s.svc.OrderTxns(c.Request().Context(), o); err != nil {
			return err
		}
	}
	body := newOrderJSON(o, s.svc.Links(o), txns)
	if wantToken {
		t, err := s.svc.IssueClientToken(o)
		if err != nil {
			return err
		}
		body.Juspay = newClientTokenJSON(t)
	}
	return c.JSON(http.StatusOK, body)
}

// handleGetOrder serves GET /orders/{order_id}, the Order Status API.
func (s *Server) handleGetOrder(c echo.Context) error {
	if !pay.ValidOrderID(c.Param("order_id")) {
		return pay.Errorf(pay.ENOTFOUND, "order not found")
	}
	o, err := s.svc.Order(c.Request().Context(), merchant(c), c.Param("order_id"))
	if err != nil {
		return err
	}
	txns, err := s.svc.OrderTxns(c.Request().Context(), o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderJSON(o, s.svc.Links(o), txns))
}

// handleUpdateOrder serves POST /orders/{order_id}: a NEW order's amount and
// udfs may change before any payment attempt.
func (s *Server) handleUpdateOrder(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := pay.OrderUpdate{Amount: p["amount"]}
	for i := range u.UDF {
		if v, ok := p["udf"+strconv.Itoa(i+1)]; ok {
			u.UDF[i] = &v
		}
	}
	for k := range p {
		if !updatable(k) {
			return pay.Invalid(k, "cannot be changed; only amount and udf1..udf10 can")
		}
	}
	o, err := s.svc.UpdateOrder(c.Request().Context(), merchant(c), c.Param("order_id"), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderJSON(o, s.svc.Links(o), nil))
}

func updatable(k string) bool {
	if k == "amount" || k == "order_id" {
		return true
	}
	for i := 1; i <= 10; i++ {
		if k == "udf"+strconv.Itoa(i) {
			return true
		}
	}
	return false
}

// sessionActions are the HyperCheckout actions Switchyard serves.
var sessionActions = map[string]bool{"paymentPage": true}

// handleCreateSession serves POST /session: it creates (or, for a repeated
// order_id with the same amount, reuses) the order and returns the payment
// link and the SDK payload with a fresh client auth token.
func (s *Server) handleCreateSession(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	action := p["action"]
	if action == "" {
		action = "paymentPage"
	}
	if !sessionActions[action] {
		return pay.Invalid("action", "unsupported action "+strconv.Quote(action)+"; use paymentPage")
	}
	m := merchant(c)
	in := orderInput(p, "")
	in.Details["action"] = action
	o, _, err := s.svc.CreateOrder(c.Request().Context(), m, in)
	if err != nil {
		return err
	}
	if o.Status != pay.StatusNew && o.Status != pay.StatusPendingVBV {
		return pay.Errorf(pay.ECONFLICT, "order %s is already %s; create a new order_id to take another payment", o.OrderID, o.Status)
	}
	t, err := s.svc.IssueClientToken(o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.sessionBody(m, o, t, action))
}

func (s *Server) sessionBody(m *pay.Merchant, o *pay.Order, t orchestrator.ClientToken, action string) sessionJSON {
	links := s.svc.Links(o)
	env := "production"
	if s.cfg.Sandbox {
		env = "sandbox"
	}
	clientID := o.Details["payment_page_client_id"]
	if clientID == "" {
		clientID = m.ID
	}
	payload := map[string]string{
		"clientId": clientID, "merchantId": m.ID, "orderId": o.OrderID,
		"amount": pay.FormatAmount(o.Amount.Amount, o.Amount.Currency), "currency": o.Amount.Currency,
		"clientAuthToken": t.Token, "clientAuthTokenExpiry": formatTime(t.ExpiresAt),
		"environment": env, "action": action,
		"customerId": o.CustomerID, "customerEmail": o.CustomerEmail, "customerPhone": o.CustomerPhone,
		"returnUrl": o.ReturnURL, "description": o.Description,
		"firstName": o.Details["first_name"], "lastName": o.Details["last_name"],
	}
	expiry := formatTime(o.ExpiresAt)
	return sessionJSON{
		Status: string(o.Status), ID: o.ID, OrderID: o.OrderID,
		PaymentLinks: sessionLinksJSON{Web: links.Web, Expiry: expiry},
		SDKPayload: sdkPayloadJSON{
			RequestID: pay.RandomHex(16), Service: "in.juspay.hyperpay", Payload: payload, Expiry: expiry,
		},
		OrderExpiry: expiry,
	}
}

// handleCreateCustomer serves POST /customers.
func (s *Server) handleCreateCustomer(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	cust := &pay.Customer{
		ObjectReferenceID: p["object_reference_id"], MobileNumber: p["mobile_number"],
		MobileCountryCode: p["mobile_country_code"], EmailAddress: p["email_address"],
		FirstName: p["first_name"], LastName: p["last_name"],
	}
	out, _, err := s.svc.CreateCustomer(c.Request().Context(), merchant(c), cust)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCustomerJSON(out))
}

// handleGetCustomer serves GET /customers/{id} (a "cst_" id or the merchant's
// object_reference_id).
func (s *Server) handleGetCustomer(c echo.Context) error {
	cust, err := s.svc.Customer(c.Request().Context(), merchant(c), c.Param("customer_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCustomerJSON(cust))
}

// handlePaymentMethods serves GET /merchants/{merchant_id}/paymentmethods:
// the instruments of every payment method type the merchant enabled and an
// enabled gateway account supports.
func (s *Server) handlePaymentMethods(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := s.svc.Merchant(ctx, c.Param("merchant_id"))
	if err != nil {
		return err
	}
	types, err := s.svc.AvailableMethods(ctx, m, "")
	if err != nil {
		return err
	}
	out := []paymentMethodJSON{}
	for _, pm := range pay.Catalog {
		for _, t := range types {
			if pm.Type == t && m.InstrumentEnabled(pm.Code) {
				out = append(out, paymentMethodJSON{PaymentMethodType: pm.Type, PaymentMethod: pm.Code, Description: pm.Description})
			}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"payment_methods": out})
}
