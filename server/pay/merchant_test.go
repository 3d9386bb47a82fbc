package pay_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/pay"
)

// validMerchant returns settings ValidateSettings accepts; cases change one
// thing.
func validMerchant() *pay.Merchant {
	return &pay.Merchant{
		ID: "shop_1", Name: "Shop", PaymentRedirectURL: "https://shop.example.com/done",
		AllowedReturnHosts: []string{"shop.example.com", "*.example.org", "127.0.0.1"},
		WebhookURL:         "https://shop.example.com/hooks", WebhookUsername: "hook", WebhookPassword: "secret",
		DefaultCurrency: "INR", OrderTimeout: 30 * time.Minute, AutoRefundThresholdMinutes: 10,
		EnabledPaymentMethods: []string{"CARD", "UPI", "NB", "WALLET"},
	}
}

func TestMerchantValidateSettings(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *pay.Merchant)
		want   []string
	}{
		{"OK", func(m *pay.Merchant) {}, nil},
		{"OK/minimal", func(m *pay.Merchant) {
			m.PaymentRedirectURL, m.AllowedReturnHosts, m.WebhookURL, m.WebhookUsername, m.WebhookPassword = "", nil, "", "", ""
			m.EnabledPaymentMethods = nil
		}, nil},
		{"OK/two characters id", func(m *pay.Merchant) { m.ID = "ab" }, nil},
		{"OK/order timeout bounds", func(m *pay.Merchant) { m.OrderTimeout = 30 * 24 * time.Hour }, nil},
		{"OK/upper-case host", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{"Shop.Example.COM"} }, nil},

		{"ErrIDShort", func(m *pay.Merchant) { m.ID = "a" }, []string{"merchant_id"}},
		{"ErrIDLong", func(m *pay.Merchant) { m.ID = strings.Repeat("m", 65) }, []string{"merchant_id"}},
		{"ErrIDSpace", func(m *pay.Merchant) { m.ID = "my shop" }, []string{"merchant_id"}},
		{"ErrIDDot", func(m *pay.Merchant) { m.ID = "shop.1" }, []string{"merchant_id"}},
		{"ErrNameEmpty", func(m *pay.Merchant) { m.Name = "  " }, []string{"name"}},
		{"ErrNameLong", func(m *pay.Merchant) { m.Name = strings.Repeat("n", 256) }, []string{"name"}},
		{"ErrRedirectURL", func(m *pay.Merchant) { m.PaymentRedirectURL = "shop.example.com/done" }, []string{"payment_redirect_url"}},
		{"ErrRedirectURLCredentials", func(m *pay.Merchant) { m.PaymentRedirectURL = "https://u:p@shop.example.com/" }, []string{"payment_redirect_url"}},
		{"ErrHostWithScheme", func(m *pay.Merchant) {
			m.AllowedReturnHosts = []string{"shop.example.com", "https://shop.example.com"}
		}, []string{"allowed_return_hosts[1]"}},
		{"ErrHostBareWildcard", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{"*"} }, []string{"allowed_return_hosts[0]"}},
		{"ErrHostInnerWildcard", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{"shop.*.com"} }, []string{"allowed_return_hosts[0]"}},
		{"ErrHostWithPort", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{"shop.example.com:443"} }, []string{"allowed_return_hosts[0]"}},
		{"ErrHostUnderscore", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{"my_shop.example.com"} }, []string{"allowed_return_hosts[0]"}},
		{"ErrHostEmpty", func(m *pay.Merchant) { m.AllowedReturnHosts = []string{""} }, []string{"allowed_return_hosts[0]"}},
		{"ErrWebhookURL", func(m *pay.Merchant) { m.WebhookURL = "ftp://shop.example.com" }, []string{"webhook_url"}},
		{"ErrWebhookUsernameColon", func(m *pay.Merchant) { m.WebhookUsername = "a:b" }, []string{"webhook_username"}},
		{"ErrWebhookUsernameNewline", func(m *pay.Merchant) { m.WebhookUsername = "a\r\nX-Evil: 1" }, []string{"webhook_username"}},
		// The webhook password is sealed into a VARBINARY(512) column: an
		// unbounded password must be refused here, naming it, not fail the
		// INSERT as an internal error.
		{"ErrWebhookPasswordLong", func(m *pay.Merchant) { m.WebhookPassword = strings.Repeat("p", 1000) }, []string{"webhook_password"}},
		{"ErrCurrency", func(m *pay.Merchant) { m.DefaultCurrency = "XYZ" }, []string{"default_currency"}},
		{"ErrCurrencyLower", func(m *pay.Merchant) { m.DefaultCurrency = "inr" }, []string{"default_currency"}},
		{"ErrTimeoutZero", func(m *pay.Merchant) { m.OrderTimeout = 0 }, []string{"order_timeout_minutes"}},
		{"ErrTimeoutLong", func(m *pay.Merchant) { m.OrderTimeout = 30*24*time.Hour + time.Minute }, []string{"order_timeout_minutes"}},
		{"ErrThreshold", func(m *pay.Merchant) { m.AutoRefundThresholdMinutes = -1 }, []string{"auto_refund_threshold_minutes"}},
		{"ErrMethodUnknown", func(m *pay.Merchant) { m.EnabledPaymentMethods = []string{"CARD", "BITCOIN"} }, []string{"enabled_payment_methods"}},
		{"ErrMethodLowerCase", func(m *pay.Merchant) { m.EnabledPaymentMethods = []string{"card"} }, []string{"enabled_payment_methods"}},
		{"ErrMethodTwice", func(m *pay.Merchant) { m.EnabledPaymentMethods = []string{"UPI", "UPI"} }, []string{"enabled_payment_methods"}},
		{"ErrSeveral", func(m *pay.Merchant) { m.ID, m.Name, m.DefaultCurrency = "!", "", "" }, []string{"merchant_id", "name", "default_currency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMerchant()
			tt.change(m)
			err := m.ValidateSettings()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateSettings accepted the settings; want an error naming %q", tt.want)
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestMerchantReturnHostAllowed(t *testing.T) {
	m := validMerchant()
	m.PaymentRedirectURL = "https://pay.merchant.example.net/r"
	for raw, want := range map[string]bool{
		"https://shop.example.com/x":         true,
		"https://shop.example.com:8443/x":    true,
		"http://SHOP.EXAMPLE.COM/x":          true,
		"https://a.example.org/":             true,
		"https://a.b.example.org/":           true,
		"https://pay.merchant.example.net/z": true, // the Payment Redirect URL's host
		"https://127.0.0.1:9/":               true,
		"https://example.org/":               false, // a wildcard does not cover the apex
		"https://badexample.org/":            false,
		"https://shop.example.com.evil.net/": false,
		"https://evil.net/shop.example.com":  false,
		"https://merchant.example.net/":      false,
		"/relative":                          false,
		"":                                   false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ReturnHostAllowed(u); got != want {
			t.Errorf("ReturnHostAllowed(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestValidMerchantID(t *testing.T) {
	for id, want := range map[string]bool{"demo": true, "a1": true, "A_b-C": true, "a": false, "a b": false, "a.b": false, "a:b": false} {
		if got := pay.ValidMerchantID(id); got != want {
			t.Errorf("ValidMerchantID(%q) = %v, want %v", id, got, want)
		}
	}
}
