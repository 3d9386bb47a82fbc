// Package dashboard serves the merchant dashboard under /dashboard:
// server-rendered pages (html/template from templates.FS, styles from
// static.FS) where a merchant's staff log in and manage settings, payment
// methods, gateways, routing, API keys and webhooks, orders and analytics.
//
// Every page and action runs for the merchant of the logged-in session
// (merchant(c)); anything named by id that belongs to another merchant is
// not found. Sessions live in the database, so logout and expiry hold on
// every replica. Every state-changing request passes the CSRF check: the
// session's token in the form and a same-origin Origin (or Referer).
//
// Pages call the same orchestrator.Service methods the admin API does, so
// the dashboard and the API cannot disagree about what a setting means.
package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/webhook"
	"switchyard/templates"
)

// Config is what New needs.
type Config struct {
	Service *orchestrator.Service
	// DB keeps the sessions and the failed-login counts.
	DB  *store.DB
	Log *slog.Logger
	// Hub carries live status changes to pages that update themselves
	// (analytics).
	Hub *live.Hub
	// PublicURL is the base URL the server is reached at. With https the
	// session cookie is Secure and __Host- prefixed, and HSTS is sent.
	PublicURL string
	// AssetURL returns the versioned URL of a static.FS file; the hosted
	// checkout serves /static/ (checkout.Server.AssetURL).
	AssetURL func(name string) (string, error)
	// Lockout is the failed-login policy; 5 failures within 15 minutes
	// lock a login for 15 minutes if zero.
	Lockout store.Lockout
	// SessionTTL is how long a login lasts; DefaultSessionTTL if zero.
	SessionTTL time.Duration
}

// DefaultSessionTTL is a working day.
const DefaultSessionTTL = 8 * time.Hour

// Server is the dashboard surface; it implements api.Surface.
type Server struct {
	svc        *orchestrator.Service
	db         *store.DB
	log        *slog.Logger
	hub        *live.Hub
	origin     string // scheme://host of PublicURL, for the CSRF origin check
	secure     bool   // PublicURL is https
	lockout    store.Lockout
	sessionTTL time.Duration
	tmpl       *template.Template
	// webhookClient sends test webhooks; it follows no redirects.
	webhookClient *http.Client
	// dummyHash is compared against when a login does not exist, so that
	// a wrong login takes as long as a wrong password and logins cannot be
	// enumerated by timing.
	dummyHash []byte
}

// New parses the dashboard templates; a missing or broken one is an error.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.DB == nil || cfg.Log == nil || cfg.AssetURL == nil || cfg.Hub == nil {
		return nil, errors.New("dashboard.New: Service, DB, Log, Hub and AssetURL are required")
	}
	s := &Server{svc: cfg.Service, db: cfg.DB, log: cfg.Log, hub: cfg.Hub, lockout: cfg.Lockout, sessionTTL: cfg.SessionTTL,
		webhookClient: webhook.DefaultClient()}
	var err error
	if s.dummyHash, err = bcrypt.GenerateFromPassword([]byte(pay.RandomHex(16)), bcrypt.DefaultCost); err != nil {
		return nil, fmt.Errorf("dashboard.New: %w", err)
	}
	if s.lockout.MaxFailures <= 0 {
		// Slow enough to stop guessing, short enough that a merchant who
		// mistyped does not need the operator.
		s.lockout = store.Lockout{MaxFailures: 5, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = DefaultSessionTTL
	}
	if u, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/")); err == nil && u.Host != "" {
		s.origin = strings.ToLower(u.Scheme + "://" + u.Host)
		s.secure = u.Scheme == "https"
	}
	s.tmpl, err = template.New("").Funcs(template.FuncMap{
		"asset": cfg.AssetURL, "ferr": fieldErr, "invalid": invalidAttrs, "rf": ruleFieldName, "time": formatTime,
	}).ParseFS(templates.FS, "dashboard_*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard.New: parsing templates: %w", err)
	}
	if err := s.checkTemplates(); err != nil {
		return nil, fmt.Errorf("dashboard.New: %w", err)
	}
	return s, nil
}

// Routes is the dashboard's route table. Pages take the page middleware
// (a session), actions the action middleware (a session and the CSRF
// check). Middleware is per route, as in api: unmatched paths stay 404.
func (s *Server) Routes(e *echo.Echo) {
	page := []echo.MiddlewareFunc{s.requireSession}
	action := []echo.MiddlewareFunc{s.requireSession, s.checkCSRF}

	e.GET("/dashboard", s.handleLoginPage)
	e.POST("/dashboard", s.handleLogin)
	e.POST("/dashboard/logout", s.handleLogout, action...)

	// Orders and analytics (dash-orders).
	e.GET("/dashboard/orders", s.handleOrders, page...)
	e.GET("/dashboard/orders/:order_id", s.handleOrder, page...)
	e.POST("/dashboard/orders/:order_id/refunds", s.handleRefund, action...)
	e.POST("/dashboard/orders/:order_id/events/:event_id/resend", s.handleResendEvent, action...)
	e.GET("/dashboard/analytics", s.handleAnalytics, page...)
	e.GET("/dashboard/analytics/charts", s.handleAnalyticsCharts, page...)
	e.GET("/dashboard/live", s.handleLive, page...)

	e.GET("/dashboard/settings", s.handleSettings, page...)
	e.POST("/dashboard/settings", s.handleSaveSettings, action...)
	e.GET("/dashboard/payment-methods", s.handlePaymentMethods, page...)
	e.POST("/dashboard/payment-methods", s.handleSavePaymentMethods, action...)
	e.GET("/dashboard/gateways", s.handleGateways, page...)
	e.GET("/dashboard/gateways/new", s.handleNewGateway, page...)
	e.POST("/dashboard/gateways", s.handleCreateGateway, action...)
	e.GET("/dashboard/gateways/:name", s.handleGateway, page...)
	e.POST("/dashboard/gateways/:name", s.handleUpdateGateway, action...)
	e.POST("/dashboard/gateways/:name/enabled", s.handleToggleGateway, action...)
	e.GET("/dashboard/routing", s.handleRouting, page...)
	e.POST("/dashboard/routing", s.handleSaveRouting, action...)
	e.GET("/dashboard/developers", s.handleDevelopers, page...)
	e.POST("/dashboard/developers/api-keys", s.handleCreateAPIKey, action...)
	e.POST("/dashboard/developers/api-keys/:key_id/revoke", s.handleRevokeAPIKey, action...)
	e.POST("/dashboard/developers/response-key", s.handleRotateResponseKey, action...)
	e.POST("/dashboard/developers/webhook-test", s.handleTestWebhook, action...)
	e.GET("/dashboard/developers/webhooks/:event_id", s.handleWebhookEvent, page...)
	e.POST("/dashboard/developers/webhooks/:event_id/resend", s.handleResendWebhook, action...)

	// Any other dashboard page: the HTML not-found page (or the login).
	e.GET("/dashboard/*", s.handleNotFound, page...)
}

func (s *Server) handleNotFound(c echo.Context) error {
	return s.fail(c, pay.Errorf(pay.ENOTFOUND, "page not found"))
}

// homePath is where a login lands.
const homePath = "/dashboard/orders"

// view is what every dashboard template gets. Handlers fill Title, Data and,
// for a refused form, Error and Errors; render fills the rest.
type view struct {
	Title string
	// Section is the nav item of the current page ("settings", ...).
	Section string
	// Merchant is the logged-in merchant; nil on the login page.
	Merchant *pay.Merchant
	// CSRF is the token every form carries (template "dash_csrf").
	CSRF string
	// Flash is a one-time notice from the previous request (saved, ...).
	Flash string
	// Error is a message about the whole form; Errors maps a field's name
	// to why its value was refused.
	Error  string
	Errors map[string]string
	// Data is the page's own data.
	Data any
}

// render writes the page template name with v and the dashboard's security
// headers. It renders into a buffer first, so a template failure is a clean
// 500 instead of half a page.
func (s *Server) render(c echo.Context, status int, name string, v view) error {
	if sess := session(c); sess != nil {
		v.Merchant, v.CSRF = merchant(c), sess.CSRFToken
	} else if v.CSRF == "" {
		v.CSRF, _ = c.Get(ctxLoginCSRF).(string)
	}
	v.Section = section(c.Request().URL.Path)
	if v.Flash == "" {
		v.Flash = s.takeFlash(c)
	}
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.Error("dashboard: rendering template", "template", name, "err", err, "request_id", requestID(c))
		return c.String(http.StatusInternalServerError, "Internal error")
	}
	s.setSecurityHeaders(c)
	return c.HTMLBlob(status, buf.Bytes())
}

// fieldError is one field's refusal, for template "dash_ferr".
type fieldError struct {
	ID      string
	Message string
}

// fieldErr is the refusal of field in v ("" message when none):
// {{template "dash_ferr" (ferr $ "webhook_url")}}.
func fieldErr(v view, field string) fieldError {
	return fieldError{ID: field + "-error", Message: v.Errors[field]}
}

// invalidAttrs marks a refused input for assistive technology and ties it
// to its message: <input ... {{invalid $ "webhook_url"}}>. field is a
// literal of the template, never input.
func invalidAttrs(v view, field string) template.HTMLAttr {
	if v.Errors[field] == "" {
		return ""
	}
	return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(field) + `-error"`)
}

// section is the nav section of a dashboard path: "/dashboard/gateways/x"
// → "gateways".
func section(path string) string {
	rest, _ := strings.CutPrefix(path, "/dashboard/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// fail renders the error page fitting err. Not found covers what belongs to
// another merchant, so ids cannot be probed.
func (s *Server) fail(c echo.Context, err error) error {
	var pe *pay.Error
	errors.As(err, &pe)
	switch pay.ErrorCode(err) {
	case pay.ENOTFOUND:
		return s.render(c, http.StatusNotFound, "dashboard_error.html", view{Title: "Not found", Error: "There is nothing here. It may have been removed, or the link is wrong."})
	case pay.EINVALID:
		return s.render(c, http.StatusBadRequest, "dashboard_error.html", view{Title: "Not accepted", Error: pe.Message})
	case pay.ECONFLICT:
		return s.render(c, http.StatusConflict, "dashboard_error.html", view{Title: "Not possible now", Error: pe.Message})
	case pay.EFORBIDDEN:
		return s.render(c, http.StatusForbidden, "dashboard_error.html", view{Title: "Not allowed", Error: pe.Message})
	case pay.EUNAVAILABLE:
		return s.render(c, http.StatusServiceUnavailable, "dashboard_error.html", view{Title: "Temporarily unavailable", Error: "Please try again in a moment."})
	}
	s.log.Error("dashboard: internal error", "err", err, "request_id", requestID(c), "route", c.Path())
	return s.render(c, http.StatusInternalServerError, "dashboard_error.html", view{Title: "Something went wrong",
		Error: "We could not complete this request. Please try again. Reference: " + requestID(c) + "."})
}

// refuse re-renders a form whose input err refused (EINVALID: 422 with each
// field's reason next to it); any other error goes to fail.
func (s *Server) refuse(c echo.Context, name string, v view, err error) error {
	var pe *pay.Error
	if !errors.As(err, &pe) || pe.Code != pay.EINVALID {
		return s.fail(c, err)
	}
	v.Error = "Nothing was saved. Please correct the fields marked below."
	v.Errors = map[string]string{}
	for _, f := range pe.Fields {
		// "allowed_return_hosts[2]" is reported on its input as well.
		for _, name := range []string{f.Field, strings.SplitN(f.Field, "[", 2)[0]} {
			if v.Errors[name] == "" {
				v.Errors[name] = f.Reason
			}
		}
	}
	if len(pe.Fields) == 0 {
		v.Error = pe.Message
	}
	return s.render(c, http.StatusUnprocessableEntity, name, v)
}

// seeOther ends a successful action: redirect (303, so a reload does not
// post again) with a one-time notice shown on the next page.
func (s *Server) seeOther(c echo.Context, path, flash string) error {
	if flash != "" {
		c.SetCookie(&http.Cookie{Name: s.cookieName(flashCookie), Value: url.QueryEscape(flash), Path: "/",
			HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// takeFlash reads and clears the one-time notice.
func (s *Server) takeFlash(c echo.Context) string {
	ck, err := c.Cookie(s.cookieName(flashCookie))
	if err != nil || ck.Value == "" {
		return ""
	}
	c.SetCookie(&http.Cookie{Name: ck.Name, Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	msg, _ := url.QueryUnescape(ck.Value)
	return msg
}

// setSecurityHeaders: no script but our own files, nothing framed, forms
// posting only here, and no caching of pages showing merchant data. The
// referrer policy is same-origin, not no-referrer: with no-referrer Chrome
// sends "Origin: null" on same-origin form posts, which the CSRF check
// would refuse.
func (s *Server) setSecurityHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
}

// formatTime shows a time in UTC to the minute (templates: {{time .At}}).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// requestID is the id the api middleware gave the request.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// pageTemplates are the pages the package renders; New refuses to start
// when one is missing.
var pageTemplates = []string{"dashboard_login.html", "dashboard_error.html", "dashboard_settings.html", "dashboard_payment_methods.html",
	"dashboard_gateways.html", "dashboard_gateway.html", "dashboard_routing.html",
	"dashboard_developers.html", "dashboard_webhook_event.html",
	// Orders and analytics (dash-orders).
	"dashboard_orders.html", "dashboard_order.html", "dashboard_analytics.html"}

// checkTemplates makes sure every page exists and the layout renders, so a
// broken template stops the binary at start.
func (s *Server) checkTemplates() error {
	for _, name := range pageTemplates {
		if s.tmpl.Lookup(name) == nil {
			return fmt.Errorf("template %s is missing", name)
		}
	}
	var buf bytes.Buffer
	v := view{Title: "check", Merchant: &pay.Merchant{ID: "m", Name: "m"}, CSRF: "t", Flash: "f", Error: "e", Section: "settings"}
	if err := s.tmpl.ExecuteTemplate(&buf, "dashboard_error.html", v); err != nil {
		return fmt.Errorf("rendering the layout: %w", err)
	}
	return nil
}
