package sdkapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// Config is what NewServer needs.
type Config struct {
	Service *orchestrator.Service
	// Hub serves GET /sdk/v1/live.
	Hub *live.Hub
	// PublicURL is Switchyard's base URL (SWITCHYARD_PUBLIC_URL): the
	// websocket URL derives from it, and its origin may open websockets.
	PublicURL string
	// AllowedOrigins are further origins ("https://shop.example.com")
	// whose pages may open websockets, e.g. merchants embedding the web
	// SDK. HTTP endpoints need no such list (see doc.go, CORS).
	AllowedOrigins []string
}

// Server is the SDK API surface; it implements api.Surface.
type Server struct {
	svc     *orchestrator.Service
	hub     *live.Hub
	liveURL string
	// origins are the normalised origins allowed to open websockets.
	origins map[string]bool
}

// NewServer checks cfg and returns the SDK API surface.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Hub == nil {
		return nil, errors.New("sdkapi.NewServer: Service and Hub are required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sdkapi.NewServer: public URL %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	s := &Server{svc: cfg.Service, hub: cfg.Hub, origins: map[string]bool{}}
	own, _ := normalizeOrigin(u.Scheme + "://" + u.Host)
	s.origins[own] = true
	for _, o := range cfg.AllowedOrigins {
		n, ok := normalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("sdkapi.NewServer: allowed origin %q is not of the form https://host[:port]", o)
		}
		s.origins[n] = true
	}
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	ws.Path = strings.TrimRight(u.Path, "/") + "/sdk/v1/live"
	s.liveURL = ws.String()
	return s, nil
}

// Routes registers the SDK API (api.Surface).
func (s *Server) Routes(e *echo.Echo) {
	g := e.Group("/sdk/v1")
	g.GET("/session", s.handleSession, cors, s.clientAuth)
	g.POST("/txns", s.handleCreateTxn, cors, s.clientAuth)
	g.GET("/status", s.handleStatus, cors, s.clientAuth)
	for _, p := range []string{"/session", "/txns", "/status"} {
		g.OPTIONS(p, handlePreflight)
	}
	g.GET("/live", s.handleLive)
}

// CORS: every /sdk/v1 HTTP endpoint may be called from any origin. They are
// authenticated only by the bearer token in the Authorization header, never
// by cookies (no Access-Control-Allow-Credentials), so a page on another
// origin can do nothing without a token it was given, and a page that holds
// the token could use it from anywhere anyway. That is what lets app
// webviews and merchant pages embedding the web SDK call the API.
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type, X-Request-Id"
	corsExpose  = "X-Request-Id"
	corsMaxAge  = "600"
)

// cors marks responses (errors included) readable from any origin.
func cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderAccessControlAllowOrigin, "*")
		h.Set(echo.HeaderAccessControlExposeHeaders, corsExpose)
		return next(c)
	}
}

// handlePreflight answers CORS preflight requests.
func handlePreflight(c echo.Context) error {
	h := c.Response().Header()
	h.Set(echo.HeaderAccessControlAllowOrigin, "*")
	h.Set(echo.HeaderAccessControlAllowMethods, corsMethods)
	h.Set(echo.HeaderAccessControlAllowHeaders, corsHeaders)
	h.Set(echo.HeaderAccessControlMaxAge, corsMaxAge)
	return c.NoContent(http.StatusNoContent)
}

const (
	orderKey    = "sdkapi.order"
	merchantKey = "sdkapi.merchant"
)

// clientAuth authenticates a request by its client auth token
// (Authorization: Bearer <token>), loading the order and merchant it grants.
func (s *Server) clientAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="switchyard-sdk"`)
			return pay.Errorf(pay.EUNAUTHENTICATED, "missing or malformed Authorization header: use Bearer with the client auth token")
		}
		o, m, err := s.svc.VerifyClientToken(c.Request().Context(), tok)
		if err != nil {
			if pay.ErrorCode(err) == pay.EUNAUTHENTICATED {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="switchyard-sdk", error="invalid_token"`)
			}
			return err
		}
		c.Set(orderKey, o)
		c.Set(merchantKey, m)
		return next(c)
	}
}

// bearer extracts the token of a Bearer Authorization header; the scheme is
// case-insensitive (RFC 9110).
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// authed returns the order and merchant clientAuth loaded.
func authed(c echo.Context) (*pay.Order, *pay.Merchant) {
	return c.Get(orderKey).(*pay.Order), c.Get(merchantKey).(*pay.Merchant)
}

// handleLive serves GET /sdk/v1/live: the websocket of live order status.
// Requests that are not websocket upgrades, or come from a page of another
// origin, get our JSON error before the hub sees them.
func (s *Server) handleLive(c echo.Context) error {
	r := c.Request()
	if !websocket.IsWebSocketUpgrade(r) {
		return pay.Errorf(pay.EINVALID, "this endpoint speaks websocket: send an Upgrade request")
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin) {
		return pay.Errorf(pay.EFORBIDDEN, "websocket connections from origin %q are not allowed", origin)
	}
	s.hub.ServeWS(c.Response(), r, s.authenticate, s.originAllowed)
	if !c.Response().Committed {
		// Hijacked: the 101 went out on the raw connection. Say so in the
		// request log and metrics.
		c.Response().Status = http.StatusSwitchingProtocols
	}
	return nil
}

// authenticate verifies a websocket's client auth token.
func (s *Server) authenticate(ctx context.Context, token string) (string, error) {
	o, _, err := s.svc.VerifyClientToken(ctx, token)
	if err != nil {
		return "", err
	}
	return o.ID, nil
}

// originAllowed reports whether a page of origin may open a websocket: the
// public URL's origin, or one of Config.AllowedOrigins. Tokens, not
// cookies, authenticate websockets, so this is defence in depth against a
// token lifted into another site's page.
func (s *Server) originAllowed(origin string) bool {
	n, ok := normalizeOrigin(origin)
	return ok && s.origins[n]
}

// normalizeOrigin returns origin as a browser sends it: lower-case
// scheme://host, with the port only when it is not the scheme's default.
func normalizeOrigin(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}
