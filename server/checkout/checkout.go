// Package checkout serves the hosted payment page and everything around it:
// the page itself (/pay/{id}), the shopper's return from a gateway's
// authentication page, the waiting page of server-to-server txns, inbound
// gateway notifications, the demo merchant's result page, and the static
// assets under /static/.
//
// Pages are rendered with html/template from templates.FS, parsed once in
// New: a missing or broken template stops the binary from starting. Every
// page response carries a strict Content-Security-Policy whose script-src is
// a fresh nonce, so the one script a page loads is the only one that runs.
package checkout

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/static"
	"switchyard/templates"
)

// DefaultDemoMerchantID is the merchant whose Payment Redirect URL is
// /demo/result in sandbox mode.
const DefaultDemoMerchantID = "demo"

// Config is what New needs.
type Config struct {
	Service *orchestrator.Service
	Log     *slog.Logger
	// PublicURL is the base URL the server is reached at, without a
	// trailing slash; it decides the websocket origin the page may talk to
	// and whether HSTS is sent.
	PublicURL string
	// Sandbox shows the sandbox's test instruments on the page and mounts
	// /demo/result.
	Sandbox bool
	// DemoMerchantID is the merchant /demo/result verifies signatures for;
	// DefaultDemoMerchantID if empty.
	DemoMerchantID string
	// Now is the clock deciding whether an order has expired; time.Now if
	// nil.
	Now func() time.Time

	// templates and assets replace the embedded files in tests.
	templates fs.FS
	assets    fs.FS
}

// Server is the hosted checkout surface; it implements api.Surface.
type Server struct {
	svc       *orchestrator.Service
	log       *slog.Logger
	publicURL string
	sandbox   bool
	demoID    string
	now       func() time.Time
	// wsOrigin is the websocket origin of PublicURL (ws://host or
	// wss://host), allowed in connect-src; "" if PublicURL is unusable.
	wsOrigin string
	hsts     bool
	tmpl     *template.Template
	assets   *assets
}

// pageTemplates are the templates the package renders; New refuses to start
// when one is missing.
var pageTemplates = []string{
	"checkout.html", "pay_paid.html", "pay_wait.html", "pay_result.html", "pay_demo_result.html", "error.html",
}

// New parses the templates and fingerprints the static assets. It fails if a
// template is missing or does not parse.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Log == nil {
		return nil, errors.New("checkout.New: Service and Log are required")
	}
	s := &Server{
		svc: cfg.Service, log: cfg.Log, publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		sandbox: cfg.Sandbox, demoID: cfg.DemoMerchantID, now: cfg.Now,
	}
	if s.demoID == "" {
		s.demoID = DefaultDemoMerchantID
	}
	if s.now == nil {
		s.now = time.Now
	}
	if u, err := url.Parse(s.publicURL); err == nil && u.Host != "" && cspHostPort.MatchString(u.Host) {
		switch u.Scheme {
		case "https":
			s.wsOrigin, s.hsts = "wss://"+u.Host, true
		case "http":
			s.wsOrigin = "ws://" + u.Host
		}
	}
	tfs, afs := cfg.templates, cfg.assets
	if tfs == nil {
		tfs = templates.FS
	}
	if afs == nil {
		afs = static.FS
	}
	var err error
	if s.assets, err = loadAssets(afs); err != nil {
		return nil, fmt.Errorf("checkout.New: %w", err)
	}
	s.tmpl, err = template.New("").Funcs(template.FuncMap{"asset": s.assets.url}).
		ParseFS(tfs, "checkout*.html", "pay_*.html", "error.html")
	if err != nil {
		return nil, fmt.Errorf("checkout.New: parsing templates: %w", err)
	}
	if err := s.checkTemplates(); err != nil {
		return nil, fmt.Errorf("checkout.New: %w", err)
	}
	return s, nil
}

// checkTemplates renders every page once with sample data, every branch
// taken, so a missing partial, a misspelt field or an unknown asset stops
// the binary at start instead of failing a shopper's payment.
func (s *Server) checkTemplates() error {
	methods := make([]methodView, 0, len(pay.PaymentMethodTypes))
	for _, t := range pay.PaymentMethodTypes {
		mv := methodView{Type: t, Label: methodLabels[t], Amount: "₹1.00"}
		for _, pm := range pay.Catalog {
			if pm.Type == t {
				mv.Options = append(mv.Options, pm)
			}
		}
		methods = append(methods, mv)
	}
	p := page{Nonce: "check", Layout: "iframe", Title: "check"}
	samples := map[string]any{
		"checkout.html": checkoutPage{page: p, Token: "t", MerchantName: "m", Amount: "₹1.00", Description: "d",
			OrderID: "o", MerchantOrigin: "https://example.com", Status: "NEW", Notice: "n", Methods: methods, Sandbox: true},
		"pay_paid.html": paidPage{page: p, MerchantName: "m", Amount: "₹1.00", OrderID: "o", ReturnURL: "https://example.com/"},
		"pay_wait.html": waitPage{page: p, Token: "t", MerchantName: "m", Amount: "₹1.00", OrderID: "o", TxnID: "x",
			Status: "AUTHORIZING", FinishURL: "/pay/o/finish/x", MerchantOrigin: "https://example.com"},
		"pay_result.html": resultPage{page: p, MerchantName: "m", Amount: "₹1.00", OrderID: "o", TxnID: "x",
			Status: "CHARGED", Charged: true, ReturnURL: "https://example.com/r", MerchantOrigin: "https://example.com"},
		"pay_demo_result.html": demoResultPage{page: p, MerchantName: "m", OrderID: "o", Status: "CHARGED",
			StatusID: "21", Signed: true, Params: []demoParam{{"order_id", "o"}}},
		"error.html": errorPage{page: p, Message: "m"},
	}
	for _, name := range pageTemplates {
		if s.tmpl.Lookup(name) == nil {
			return fmt.Errorf("template %q is not defined", name)
		}
		var buf bytes.Buffer
		if err := s.tmpl.ExecuteTemplate(&buf, name, samples[name]); err != nil {
			return fmt.Errorf("template %q: %w", name, err)
		}
		if len(bytes.TrimSpace(buf.Bytes())) == 0 {
			return fmt.Errorf("template %q renders nothing", name)
		}
	}
	return nil
}

// Routes registers the checkout's routes.
func (s *Server) Routes(e *echo.Echo) {
	e.GET("/pay/:id", s.handlePage)
	// Link checkers and unfurlers probe with HEAD.
	e.HEAD("/pay/:id", s.handlePage)
	e.GET("/pay/:id/return/:txn_id", s.handleReturn)
	e.POST("/pay/:id/return/:txn_id", s.handleReturn)
	e.GET("/pay/:id/finish/:txn_id", s.handleFinish)
	e.POST("/webhooks/gateway/:merchant_id/:gateway", s.handleGatewayNotification)
	if s.sandbox {
		e.GET("/demo/result", s.handleDemoResult)
	}
	e.GET("/static/*", s.handleStatic)
	e.HEAD("/static/*", s.handleStatic)
}

// AssetURL returns the cache-busting URL of a file of static.FS ("css/x.css"
// → "/static/css/x.css?v=<hash>"), for other surfaces' templates.
func (s *Server) AssetURL(name string) (string, error) { return s.assets.url(name) }

// page is what every page template gets.
type page struct {
	// Nonce is the CSP nonce of this response's script tag.
	Nonce string
	// Layout is "iframe", "mobile" or "": a layout variant only.
	Layout string
	Title  string
}

func (s *Server) newPage(c echo.Context, title string) page {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	p := page{Nonce: base64.StdEncoding.EncodeToString(b[:]), Title: title}
	q := c.QueryParams()
	switch {
	case q.Get("iframe") == "true":
		p.Layout = "iframe"
	case q.Get("mobile") == "true":
		p.Layout = "mobile"
	}
	return p
}

// errorPage is the data of error.html.
type errorPage struct {
	page
	Message string
}

// render writes template name with data and the page security headers. It
// renders to a buffer first, so a template failure becomes a clean 500
// instead of half a page.
func (s *Server) render(c echo.Context, status int, name string, nonce string, ancestors []string, data any) error {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("rendering template", "template", name, "err", err, "request_id", requestID(c))
		if name == "error.html" {
			return c.String(http.StatusInternalServerError, "Internal error")
		}
		return s.renderError(c, http.StatusInternalServerError, "Something went wrong",
			"We could not show this page. Please try again in a moment.", nil)
	}
	s.setSecurityHeaders(c, nonce, ancestors)
	return c.HTMLBlob(status, buf.Bytes())
}

// renderError shows error.html with status. ancestors are the pages allowed
// to frame it (nil: only Switchyard itself).
func (s *Server) renderError(c echo.Context, status int, title, message string, ancestors []string) error {
	p := s.newPage(c, title)
	return s.render(c, status, "error.html", p.Nonce, ancestors, errorPage{page: p, Message: message})
}

// renderFailure shows the error page fitting err: not found, expired,
// conflict, or (logged) internal error.
func (s *Server) renderFailure(c echo.Context, err error, ancestors []string) error {
	switch pay.ErrorCode(err) {
	case pay.ENOTFOUND:
		return s.renderError(c, http.StatusNotFound, "Payment not found",
			"This payment link is not valid. Please check the link or ask the merchant for a new one.", nil)
	case pay.EINVALID, pay.ECONFLICT, pay.EUNAUTHENTICATED, pay.EFORBIDDEN:
		var pe *pay.Error
		errors.As(err, &pe)
		return s.renderError(c, statusOf(pe.Code), "We could not process this request", pe.Message, ancestors)
	case pay.EUNAVAILABLE:
		return s.renderError(c, http.StatusServiceUnavailable, "Temporarily unavailable",
			"The payment service is temporarily unavailable. Please try again in a moment.", ancestors)
	}
	s.log.Error("checkout: internal error", "err", err, "request_id", requestID(c), "route", c.Path())
	return s.renderError(c, http.StatusInternalServerError, "Something went wrong",
		"We could not complete this request. Please try again in a moment. Reference: "+requestID(c)+".", ancestors)
}

func statusOf(code string) int {
	switch code {
	case pay.EINVALID:
		return http.StatusBadRequest
	case pay.EUNAUTHENTICATED:
		return http.StatusUnauthorized
	case pay.EFORBIDDEN:
		return http.StatusForbidden
	case pay.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// requestID is the id the api middleware gave the request (it also sets the
// response header).
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// setSecurityHeaders sets the headers every checkout page carries (PCI DSS
// 6.4.3 / ASVS V3.4): a nonce-based CSP that also limits who may frame the
// page, no referrer (payment URLs must not leak to third parties), no MIME
// sniffing, and no caching of a page that embeds a client token.
func (s *Server) setSecurityHeaders(c echo.Context, nonce string, ancestors []string) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", s.csp(nonce, ancestors))
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)")
	if s.hsts {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
}

// csp builds the Content-Security-Policy of a page. Gateways' authentication
// pages are reached by navigation or by a form the script submits, hence
// form-action allows https (and 'self', for the sandbox's pages).
func (s *Server) csp(nonce string, ancestors []string) string {
	if len(ancestors) == 0 {
		ancestors = []string{"'self'"}
	}
	connect := "'self'"
	if s.wsOrigin != "" {
		connect += " " + s.wsOrigin
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'nonce-" + nonce + "'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src " + connect,
		"form-action 'self' https:",
		"frame-ancestors " + strings.Join(ancestors, " "),
		"base-uri 'none'",
		"object-src 'none'",
	}, "; ")
}

var (
	// cspHostPort is a host[:port] safe to put into a CSP source list.
	cspHostPort = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]{1,5})?$`)
	// cspHostPattern is an allowed-return-host entry safe for a CSP
	// source list: a hostname, optionally "*." + hostname.
	cspHostPattern = regexp.MustCompile(`^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$`)
)

// frameAncestors lists who may frame merchant m's pages: Switchyard itself,
// the origin of the Payment Redirect URL and the merchant's allowed return
// hosts (any port, as return hosts are matched without their port).
func frameAncestors(m *pay.Merchant) []string {
	out := []string{"'self'"}
	if o := httpOrigin(m.PaymentRedirectURL); o != "" {
		out = append(out, o)
	}
	for _, h := range m.AllowedReturnHosts {
		if h = strings.ToLower(h); cspHostPattern.MatchString(h) {
			out = append(out, h+":*")
		}
	}
	return out
}

// httpOrigin returns the origin ("https://shop.example:8443") of an absolute
// http(s) URL, or "".
func httpOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	host := strings.ToLower(u.Host)
	if !cspHostPort.MatchString(host) {
		return ""
	}
	return u.Scheme + "://" + host
}

// merchantOrigin is the origin the page may post the payment result to when
// it runs in a popup or an iframe: that of the order's return URL when its
// host is allowed, else of the merchant's Payment Redirect URL. "" when
// neither is known: the page then posts the bare status only.
func merchantOrigin(m *pay.Merchant, o *pay.Order) string {
	if o.ReturnURL != "" {
		if u, err := url.Parse(o.ReturnURL); err == nil && m.ReturnHostAllowed(u) {
			if origin := httpOrigin(o.ReturnURL); origin != "" {
				return origin
			}
		}
	}
	return httpOrigin(m.PaymentRedirectURL)
}
