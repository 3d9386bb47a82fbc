package dashboard

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// methodChoice is one payment method type on the payment methods page.
type methodChoice struct {
	Type    string
	Label   string
	Enabled bool
	// Options are the instruments of the type (brands, banks, wallets)
	// with whether each is on; UPI has none to choose.
	Options []optionChoice
	// Unserved is true when no enabled gateway account takes the type: it
	// stays off the hosted page even when enabled here.
	Unserved bool
}

// optionChoice is one instrument on the payment methods page.
type optionChoice struct {
	pay.PaymentMethod
	Enabled bool
}

var methodLabels = map[string]string{
	pay.MethodCard: "Cards", pay.MethodUPI: "UPI", pay.MethodNB: "Netbanking", pay.MethodWallet: "Wallets",
}

func (s *Server) handlePaymentMethods(c echo.Context) error {
	m := merchant(c)
	choices, err := s.methodChoices(c, m, m.EnabledPaymentMethods, m.DisabledPaymentMethods)
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dashboard_payment_methods.html", view{Title: "Payment methods", Data: choices})
}

func (s *Server) methodChoices(c echo.Context, m *pay.Merchant, enabled, disabled []string) ([]methodChoice, error) {
	served, err := s.svc.AvailableMethods(c.Request().Context(), &pay.Merchant{ID: m.ID, EnabledPaymentMethods: pay.PaymentMethodTypes}, "")
	if err != nil {
		return nil, err
	}
	on := func(list []string, t string) bool {
		for _, v := range list {
			if v == t {
				return true
			}
		}
		return false
	}
	out := make([]methodChoice, 0, len(pay.PaymentMethodTypes))
	for _, t := range pay.PaymentMethodTypes {
		mc := methodChoice{Type: t, Label: methodLabels[t], Enabled: on(enabled, t), Unserved: !on(served, t)}
		for _, pm := range pay.Catalog {
			if pm.Type == t && t != pay.MethodUPI {
				mc.Options = append(mc.Options, optionChoice{PaymentMethod: pm, Enabled: !on(disabled, pm.Code)})
			}
		}
		out = append(out, mc)
	}
	return out, nil
}

// handleSavePaymentMethods stores the enabled types (checkboxes
// name="payment_methods") and, when the form has them, the instruments
// within (name="payment_method_options": brands, banks, wallets). What is
// off disappears from the hosted page and the SDKs' list at once, and a txn
// with it is refused.
func (s *Server) handleSavePaymentMethods(c echo.Context) error {
	m := merchant(c)
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, pay.Errorf(pay.EINVALID, "malformed form"))
	}
	enabled, disabled := form["payment_methods"], m.DisabledPaymentMethods
	// A form without the instrument checkboxes (a client posting only the
	// types) leaves the instruments as they are.
	if form.Get("options_present") == "1" {
		disabled = []string{}
		for _, pm := range pay.Catalog {
			if pm.Type != pay.MethodUPI && !slices.Contains(form["payment_method_options"], pm.Code) {
				disabled = append(disabled, pm.Code)
			}
		}
	}
	_, err = s.svc.UpdateMerchant(c.Request().Context(), m.ID, func(m *pay.Merchant) error {
		m.EnabledPaymentMethods, m.DisabledPaymentMethods = enabled, disabled
		return nil
	})
	if err != nil {
		choices, cerr := s.methodChoices(c, m, enabled, disabled)
		if cerr != nil {
			return s.fail(c, cerr)
		}
		return s.refuse(c, "dashboard_payment_methods.html", view{Title: "Payment methods", Data: choices}, err)
	}
	s.log.Info("dashboard: payment methods saved", "merchant_id", m.ID, "enabled", enabled, "disabled", disabled, "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/payment-methods", "Payment methods saved.")
}
