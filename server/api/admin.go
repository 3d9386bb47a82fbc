package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// decodeStrict decodes a JSON admin request into v, refusing unknown fields
// and wrong types with the field named: a typo in a setting must not be
// silently ignored.
func decodeStrict(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		if _, err := dec.Token(); err != io.EOF {
			return pay.Errorf(pay.EINVALID, "malformed JSON body: data after the top-level object")
		}
		return nil
	case errors.Is(err, io.EOF):
		return pay.Errorf(pay.EINVALID, "request body is empty; send a JSON object")
	case errors.As(err, &typeErr):
		return pay.Invalid(typeErr.Field, "must be a JSON "+typeErr.Type.String())
	case errors.As(err, &syntaxErr):
		return pay.Errorf(pay.EINVALID, "malformed JSON body at byte %d", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return pay.Invalid(field, "unknown field")
	}
	return pay.Errorf(pay.EINVALID, "malformed JSON body")
}

// merchantSettings are the settable fields of a merchant; nil leaves a
// setting as it is.
type merchantSettings struct {
	MerchantID                 *string   `json:"merchant_id"`
	Name                       *string   `json:"name"`
	PaymentRedirectURL         *string   `json:"payment_redirect_url"`
	AllowedReturnHosts         *[]string `json:"allowed_return_hosts"`
	WebhookURL                 *string   `json:"webhook_url"`
	WebhookUsername            *string   `json:"webhook_username"`
	WebhookPassword            *string   `json:"webhook_password"`
	DefaultCurrency            *string   `json:"default_currency"`
	OrderTimeoutMinutes        *int      `json:"order_timeout_minutes"`
	AutoRefundConflicted       *bool     `json:"auto_refund_conflicted"`
	AutoRefundThresholdMinutes *int      `json:"auto_refund_threshold_minutes"`
	AutoRefundMultipleCharged  *bool     `json:"auto_refund_multiple_charged"`
	EnabledPaymentMethods      *[]string `json:"enabled_payment_methods"`
	DisabledPaymentMethods     *[]string `json:"disabled_payment_methods"`
}

func (ms *merchantSettings) apply(m *pay.Merchant) {
	setIf(&m.Name, ms.Name)
	setIf(&m.PaymentRedirectURL, ms.PaymentRedirectURL)
	setIf(&m.AllowedReturnHosts, ms.AllowedReturnHosts)
	setIf(&m.WebhookURL, ms.WebhookURL)
	setIf(&m.WebhookUsername, ms.WebhookUsername)
	setIf(&m.WebhookPassword, ms.WebhookPassword)
	setIf(&m.AutoRefundConflicted, ms.AutoRefundConflicted)
	setIf(&m.AutoRefundThresholdMinutes, ms.AutoRefundThresholdMinutes)
	setIf(&m.AutoRefundMultipleCharged, ms.AutoRefundMultipleCharged)
	setIf(&m.EnabledPaymentMethods, ms.EnabledPaymentMethods)
	setIf(&m.DisabledPaymentMethods, ms.DisabledPaymentMethods)
	if ms.DefaultCurrency != nil {
		m.DefaultCurrency = strings.ToUpper(*ms.DefaultCurrency)
	}
	if ms.OrderTimeoutMinutes != nil {
		m.OrderTimeout = time.Duration(*ms.OrderTimeoutMinutes) * time.Minute
	}
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// merchantJSON is a merchant's settings as the admin API shows them: secrets
// are never shown back, only whether they are set.
type merchantJSON struct {
	MerchantID                 string             `json:"merchant_id"`
	Name                       string             `json:"name"`
	PaymentRedirectURL         string             `json:"payment_redirect_url"`
	AllowedReturnHosts         []string           `json:"allowed_return_hosts"`
	WebhookURL                 string             `json:"webhook_url"`
	WebhookUsername            string             `json:"webhook_username"`
	WebhookPasswordSet         bool               `json:"webhook_password_set"`
	DefaultCurrency            string             `json:"default_currency"`
	OrderTimeoutMinutes        int                `json:"order_timeout_minutes"`
	AutoRefundConflicted       bool               `json:"auto_refund_conflicted"`
	AutoRefundThresholdMinutes int                `json:"auto_refund_threshold_minutes"`
	AutoRefundMultipleCharged  bool               `json:"auto_refund_multiple_charged"`
	EnabledPaymentMethods      []string           `json:"enabled_payment_methods"`
	DisabledPaymentMethods     []string           `json:"disabled_payment_methods"`
	DashboardLogin             string             `json:"dashboard_login"`
	Routing                    *pay.RoutingConfig `json:"routing"`
	CreatedAt                  string             `json:"created_at"`
	UpdatedAt                  string             `json:"updated_at"`
}

func newMerchantJSON(m *pay.Merchant) merchantJSON {
	return merchantJSON{
		MerchantID: m.ID, Name: m.Name, PaymentRedirectURL: m.PaymentRedirectURL,
		AllowedReturnHosts: m.AllowedReturnHosts, WebhookURL: m.WebhookURL,
		WebhookUsername: m.WebhookUsername, WebhookPasswordSet: m.WebhookPassword != "",
		DefaultCurrency: m.DefaultCurrency, OrderTimeoutMinutes: int(m.OrderTimeout / time.Minute),
		AutoRefundConflicted: m.AutoRefundConflicted, AutoRefundThresholdMinutes: m.AutoRefundThresholdMinutes,
		AutoRefundMultipleCharged: m.AutoRefundMultipleCharged, EnabledPaymentMethods: m.EnabledPaymentMethods,
		DisabledPaymentMethods: nonNil(m.DisabledPaymentMethods),
		DashboardLogin:         m.DashboardLogin, Routing: &m.Routing,
		CreatedAt: formatTime(m.CreatedAt), UpdatedAt: formatTime(m.UpdatedAt),
	}
}

// handleAdminCreateMerchant serves POST /admin/v1/merchants; the response is
// the only time the merchant's secrets are shown.
func (s *Server) handleAdminCreateMerchant(c echo.Context) error {
	var req merchantSettings
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	var p pay.Problems
	if req.MerchantID == nil || *req.MerchantID == "" {
		p.Add("merchant_id", "is required")
	}
	if req.Name == nil || *req.Name == "" {
		p.Add("name", "is required")
	}
	if err := p.Err(); err != nil {
		return err
	}
	m := orchestrator.NewMerchant(*req.MerchantID, *req.Name)
	req.apply(m)
	creds, err := s.svc.CreateMerchant(c.Request().Context(), m)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{
		"merchant_id": creds.MerchantID, "api_key": creds.APIKey, "response_key": creds.ResponseKey,
		"dashboard_login": creds.DashboardLogin, "dashboard_password": creds.DashboardPassword,
	})
}

func (s *Server) handleAdminGetMerchant(c echo.Context) error {
	m, err := s.svc.Merchant(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMerchantJSON(m))
}

func (s *Server) handleAdminUpdateMerchant(c echo.Context) error {
	var req merchantSettings
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if req.MerchantID != nil && *req.MerchantID != c.Param("id") {
		return pay.Invalid("merchant_id", "cannot be changed")
	}
	m, err := s.svc.UpdateMerchant(c.Request().Context(), c.Param("id"), func(m *pay.Merchant) error {
		req.apply(m)
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMerchantJSON(m))
}

// gatewayRequest is the body of PUT /admin/v1/merchants/{id}/gateways/{name}.
type gatewayRequest struct {
	Connector      string            `json:"connector"`
	Enabled        *bool             `json:"enabled"`
	Credentials    map[string]string `json:"credentials"`
	PaymentMethods []string          `json:"payment_methods"`
	Currencies     []string          `json:"currencies"`
	// FeePercent is a JSON number or a numeric string, read as written.
	FeePercent json.RawMessage `json:"fee_percent"`
	FeeFixed   int64           `json:"fee_fixed"`
	Priority   int             `json:"priority"`
}

// gatewayJSON shows a gateway account; credentials are write-only, so only
// their names are shown.
type gatewayJSON struct {
	Name           string      `json:"name"`
	Connector      string      `json:"connector"`
	Enabled        bool        `json:"enabled"`
	CredentialKeys []string    `json:"credential_keys"`
	PaymentMethods []string    `json:"payment_methods"`
	Currencies     []string    `json:"currencies"`
	FeePercent     json.Number `json:"fee_percent"`
	FeeFixed       int64       `json:"fee_fixed"`
	Priority       int         `json:"priority"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
}

func newGatewayJSON(g *pay.GatewayAccount) gatewayJSON {
	keys := []string{}
	for k := range g.Credentials {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return gatewayJSON{
		Name: g.Name, Connector: g.Connector, Enabled: g.Enabled, CredentialKeys: keys,
		PaymentMethods: g.PaymentMethods, Currencies: g.Currencies, FeePercent: json.Number(g.FeePercent),
		FeeFixed: g.FeeFixed, Priority: g.Priority,
		CreatedAt: formatTime(g.CreatedAt), UpdatedAt: formatTime(g.UpdatedAt),
	}
}

func (s *Server) handleAdminPutGateway(c echo.Context) error {
	var req gatewayRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	var fee json.Number
	if len(req.FeePercent) > 0 && string(req.FeePercent) != "null" {
		if err := json.Unmarshal(req.FeePercent, &fee); err != nil {
			return pay.Invalid("fee_percent", "must be a number such as 1.9")
		}
	}
	enabled := true
	setIf(&enabled, req.Enabled)
	g := &pay.GatewayAccount{
		MerchantID: c.Param("id"), Name: c.Param("name"), Connector: req.Connector, Enabled: enabled,
		Credentials: req.Credentials, PaymentMethods: req.PaymentMethods, Currencies: upper(req.Currencies),
		FeePercent: fee.String(), FeeFixed: req.FeeFixed, Priority: req.Priority,
	}
	created, err := s.svc.PutGateway(c.Request().Context(), g)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, newGatewayJSON(g))
}

func (s *Server) handleAdminGetGateway(c echo.Context) error {
	g, err := s.svc.Gateway(c.Request().Context(), c.Param("id"), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newGatewayJSON(g))
}

func (s *Server) handleAdminListGateways(c echo.Context) error {
	gs, err := s.svc.Gateways(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]gatewayJSON, len(gs))
	for i, g := range gs {
		out[i] = newGatewayJSON(g)
	}
	return c.JSON(http.StatusOK, map[string]any{"gateways": out})
}

func (s *Server) handleAdminPutRouting(c echo.Context) error {
	// PUT replaces the config; a field left out takes its default (so
	// leaving out elimination keeps it on), not its zero value.
	cfg := pay.DefaultRouting()
	if err := decodeStrict(c, &cfg); err != nil {
		return err
	}
	if cfg.Priority == nil {
		cfg.Priority = []string{}
	}
	if cfg.Rules == nil {
		cfg.Rules = []pay.RoutingRule{}
	}
	m, err := s.svc.PutRouting(c.Request().Context(), c.Param("id"), cfg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Routing)
}

func (s *Server) handleAdminGetRouting(c echo.Context) error {
	m, err := s.svc.Merchant(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Routing)
}

type apiKeyJSON struct {
	ID        string  `json:"id"`
	Prefix    string  `json:"prefix"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
}

func (s *Server) handleAdminListAPIKeys(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.svc.Merchant(ctx, c.Param("id")); err != nil {
		return err
	}
	keys, err := s.svc.APIKeys(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = apiKeyJSON{ID: k.ID, Prefix: k.Prefix, CreatedAt: formatTime(k.CreatedAt)}
		if k.RevokedAt != nil {
			r := formatTime(*k.RevokedAt)
			out[i].RevokedAt = &r
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"api_keys": out})
}

func (s *Server) handleAdminCreateAPIKey(c echo.Context) error {
	key, err := s.svc.AddAPIKey(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"merchant_id": c.Param("id"), "api_key": key})
}

func (s *Server) handleAdminRevokeAPIKey(c echo.Context) error {
	if err := s.svc.RevokeAPIKey(c.Request().Context(), c.Param("id"), c.Param("key_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) handleAdminRotateResponseKey(c echo.Context) error {
	key, err := s.svc.RotateResponseKey(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"merchant_id": c.Param("id"), "response_key": key})
}

// nonNil shows a missing list as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func upper(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToUpper(v)
	}
	return out
}
