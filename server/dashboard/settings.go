package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// settingsForm is the settings form as the merchant typed it: a refused
// form is shown back with what was entered, not with what is stored.
type settingsForm struct {
	Name                       string
	PaymentRedirectURL         string
	AllowedReturnHosts         string // one per line
	WebhookURL                 string
	WebhookUsername            string
	WebhookPasswordSet         bool
	OrderTimeoutMinutes        string
	AutoRefundConflicted       bool
	AutoRefundThresholdMinutes string
	AutoRefundMultipleCharged  bool
}

func newSettingsForm(m *pay.Merchant) settingsForm {
	return settingsForm{
		Name: m.Name, PaymentRedirectURL: m.PaymentRedirectURL,
		AllowedReturnHosts: strings.Join(m.AllowedReturnHosts, "\n"),
		WebhookURL:         m.WebhookURL, WebhookUsername: m.WebhookUsername, WebhookPasswordSet: m.WebhookPassword != "",
		OrderTimeoutMinutes:        strconv.Itoa(int(m.OrderTimeout / time.Minute)),
		AutoRefundConflicted:       m.AutoRefundConflicted,
		AutoRefundThresholdMinutes: strconv.Itoa(m.AutoRefundThresholdMinutes),
		AutoRefundMultipleCharged:  m.AutoRefundMultipleCharged,
	}
}

func (s *Server) handleSettings(c echo.Context) error {
	return s.render(c, http.StatusOK, "dashboard_settings.html", view{Title: "Settings", Data: newSettingsForm(merchant(c))})
}

// handleSaveSettings stores the settings form through the same service call
// as the admin API's PATCH. The webhook password is write-only: left empty
// it stays as it is; "clear_webhook_password" removes it.
func (s *Server) handleSaveSettings(c echo.Context) error {
	m := merchant(c)
	f := settingsForm{
		Name:                       strings.TrimSpace(c.FormValue("name")),
		PaymentRedirectURL:         strings.TrimSpace(c.FormValue("payment_redirect_url")),
		AllowedReturnHosts:         c.FormValue("allowed_return_hosts"),
		WebhookURL:                 strings.TrimSpace(c.FormValue("webhook_url")),
		WebhookUsername:            strings.TrimSpace(c.FormValue("webhook_username")),
		WebhookPasswordSet:         m.WebhookPassword != "",
		OrderTimeoutMinutes:        strings.TrimSpace(c.FormValue("order_timeout_minutes")),
		AutoRefundConflicted:       c.FormValue("auto_refund_conflicted") == "on",
		AutoRefundThresholdMinutes: strings.TrimSpace(c.FormValue("auto_refund_threshold_minutes")),
		AutoRefundMultipleCharged:  c.FormValue("auto_refund_multiple_charged") == "on",
	}
	password, clearPassword := c.FormValue("webhook_password"), c.FormValue("clear_webhook_password") == "on"
	_, err := s.svc.UpdateMerchant(c.Request().Context(), m.ID, func(m *pay.Merchant) error {
		var p pay.Problems
		m.Name = f.Name
		m.PaymentRedirectURL = f.PaymentRedirectURL
		m.AllowedReturnHosts = lines(f.AllowedReturnHosts)
		m.WebhookURL, m.WebhookUsername = f.WebhookURL, f.WebhookUsername
		switch {
		case clearPassword:
			m.WebhookPassword = ""
		case password != "":
			m.WebhookPassword = password
		}
		if n, ok := formInt(f.OrderTimeoutMinutes); ok {
			m.OrderTimeout = time.Duration(n) * time.Minute
		} else {
			p.Add("order_timeout_minutes", "must be a whole number of minutes")
		}
		if n, ok := formInt(f.AutoRefundThresholdMinutes); ok {
			m.AutoRefundThresholdMinutes = n
		} else {
			p.Add("auto_refund_threshold_minutes", "must be a whole number of minutes")
		}
		m.AutoRefundConflicted, m.AutoRefundMultipleCharged = f.AutoRefundConflicted, f.AutoRefundMultipleCharged
		if err := m.ValidateSettings(); err != nil {
			p = append(p, err.(*pay.Error).Fields...)
		}
		return p.Err()
	})
	if err != nil {
		return s.refuse(c, "dashboard_settings.html", view{Title: "Settings", Data: f}, err)
	}
	s.log.Info("dashboard: settings saved", "merchant_id", m.ID, "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/settings", "Settings saved.")
}

// lines splits a textarea into its non-empty trimmed lines (commas also
// separate, as merchants paste lists either way).
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formInt parses a form's whole number; ok is false for anything else.
func formInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && len(s) <= 9
}
