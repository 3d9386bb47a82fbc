package pay

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Payment method types a merchant can enable and a gateway can support.
const (
	MethodCard   = "CARD"
	MethodUPI    = "UPI"
	MethodNB     = "NB"
	MethodWallet = "WALLET"
)

// PaymentMethodTypes lists every payment method type Switchyard knows, in the
// order the hosted page shows them.
var PaymentMethodTypes = []string{MethodCard, MethodUPI, MethodNB, MethodWallet}

// Merchant is a business taking payments through Switchyard, with its settings.
type Merchant struct {
	ID                 string
	Name               string
	PaymentRedirectURL string
	// AllowedReturnHosts are hostnames an order's return_url may point at;
	// "*.example.com" allows any subdomain. The host of PaymentRedirectURL is
	// always allowed.
	AllowedReturnHosts []string
	WebhookURL         string
	WebhookUsername    string
	WebhookPassword    string
	DefaultCurrency    string
	// OrderTimeout is how long a new order stays payable.
	OrderTimeout               time.Duration
	AutoRefundConflicted       bool
	AutoRefundThresholdMinutes int
	AutoRefundMultipleCharged  bool
	EnabledPaymentMethods      []string
	// DisabledPaymentMethods are catalog codes (card brands, banks,
	// wallets) turned off within an enabled type.
	DisabledPaymentMethods []string
	// ResponseKey signs return-URL parameters and webhooks (HMAC-SHA256).
	ResponseKey    string
	DashboardLogin string
	Routing        RoutingConfig
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Defaults of a new merchant's settings.
const (
	DefaultOrderTimeout        = 30 * time.Minute
	DefaultAutoRefundThreshold = 10
)

var merchantIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{2,64}$`)

// ValidMerchantID reports whether id is a usable merchant id: it appears in
// txn ids ("<merchant>-<order_id>-<n>") and URLs, so it is kept plain.
func ValidMerchantID(id string) bool { return merchantIDPattern.MatchString(id) }

// ReturnHostAllowed reports whether the hostname of rawURL (port ignored) is
// one the merchant allows as a return destination.
func (m *Merchant) ReturnHostAllowed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return false
	}
	if r, err := url.Parse(m.PaymentRedirectURL); err == nil && strings.EqualFold(r.Hostname(), host) {
		return true
	}
	for _, h := range m.AllowedReturnHosts {
		h = strings.ToLower(h)
		if h == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(h, "*."); ok && strings.HasSuffix(host, "."+suffix) {
			return true
		}
	}
	return false
}

// MethodEnabled reports whether the merchant accepts payment method type t.
func (m *Merchant) MethodEnabled(t string) bool {
	for _, e := range m.EnabledPaymentMethods {
		if e == t {
			return true
		}
	}
	return false
}

// Instruments returns the catalog instruments of type t the merchant
// accepts: none when the type is off, else those not turned off.
func (m *Merchant) Instruments(t string) []PaymentMethod {
	if !m.MethodEnabled(t) {
		return nil
	}
	var out []PaymentMethod
	for _, pm := range Catalog {
		if pm.Type == t && m.InstrumentEnabled(pm.Code) {
			out = append(out, pm)
		}
	}
	return out
}

// InstrumentEnabled reports whether the merchant has not turned off the
// instrument with catalog code code (its type is checked separately, by
// MethodEnabled).
func (m *Merchant) InstrumentEnabled(code string) bool {
	for _, d := range m.DisabledPaymentMethods {
		if d == code {
			return false
		}
	}
	return true
}

// ValidateSettings checks the merchant's settings, naming each bad field.
func (m *Merchant) ValidateSettings() error {
	var p Problems
	if !ValidMerchantID(m.ID) {
		p.Add("merchant_id", "must be 2-64 letters, digits, '_' or '-'")
	}
	if strings.TrimSpace(m.Name) == "" || len(m.Name) > 255 {
		p.Add("name", "is required, at most 255 characters")
	}
	if m.PaymentRedirectURL != "" {
		if err := checkHTTPURL(m.PaymentRedirectURL); err != "" {
			p.Add("payment_redirect_url", err)
		}
	}
	for i, h := range m.AllowedReturnHosts {
		if !validHostPattern(h) {
			p.Add("allowed_return_hosts["+strconv.Itoa(i)+"]", "must be a hostname such as shop.example.com or *.example.com")
		}
	}
	if m.WebhookURL != "" {
		if err := checkHTTPURL(m.WebhookURL); err != "" {
			p.Add("webhook_url", err)
		}
	}
	if strings.ContainsAny(m.WebhookUsername, ":\r\n") || len(m.WebhookUsername) > 255 {
		p.Add("webhook_username", "must not contain ':' or line breaks, at most 255 characters")
	}
	// Sealed, it must fit its VARBINARY(512) column.
	if len(m.WebhookPassword) > 255 {
		p.Add("webhook_password", "must be at most 255 characters")
	}
	if _, ok := CurrencyExponent(m.DefaultCurrency); !ok {
		p.Add("default_currency", "unknown ISO 4217 currency code")
	}
	if m.OrderTimeout < time.Minute || m.OrderTimeout > 30*24*time.Hour {
		p.Add("order_timeout_minutes", "must be between 1 and 43200")
	}
	if m.AutoRefundThresholdMinutes < 0 || m.AutoRefundThresholdMinutes > 43200 {
		p.Add("auto_refund_threshold_minutes", "must be between 0 and 43200")
	}
	seen := map[string]bool{}
	for _, t := range m.EnabledPaymentMethods {
		if !knownMethodType(t) {
			p.Add("enabled_payment_methods", "unknown payment method type "+strconv.Quote(t)+"; use CARD, UPI, NB or WALLET")
		} else if seen[t] {
			p.Add("enabled_payment_methods", "lists "+t+" twice")
		}
		seen[t] = true
	}
	for _, code := range m.DisabledPaymentMethods {
		if methodTypeOf(code) == "" || code != strings.ToUpper(code) {
			p.Add("disabled_payment_methods", "unknown payment method "+strconv.Quote(code))
		}
	}
	return p.Err()
}

func knownMethodType(t string) bool {
	for _, k := range PaymentMethodTypes {
		if k == t {
			return true
		}
	}
	return false
}

// checkHTTPURL returns why raw is not an absolute http(s) URL, or "".
func checkHTTPURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "must be an absolute http or https URL"
	}
	if u.User != nil {
		return "must not carry credentials"
	}
	if len(raw) > 2048 {
		return "must be at most 2048 characters"
	}
	return ""
}

var hostPattern = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

func validHostPattern(h string) bool {
	return len(h) <= 253 && hostPattern.MatchString(strings.ToLower(h))
}
