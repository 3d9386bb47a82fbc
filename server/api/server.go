// Package api serves Switchyard over HTTP: it owns the echo instance, the
// middleware every request passes (request id, logs, metrics, panics), the
// one error renderer, the operational endpoints, and the route tables of the
// merchant API (Juspay Express Checkout compatible) and the admin API. Other
// surfaces (hosted checkout, SDK API, dashboard, sandbox) mount themselves
// through Surface.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchyard/server/orchestrator"
	"switchyard/server/payout"
	"switchyard/server/store"
)

// Surface is another HTTP surface sharing the server: it adds its routes.
type Surface interface {
	Routes(e *echo.Echo)
}

// Config is what the API server needs.
type Config struct {
	Service *orchestrator.Service
	// DB keeps Idempotency-Key records.
	DB  *store.DB
	Log *slog.Logger
	// AdminToken authorises the admin API (Bearer).
	AdminToken string
	// Sandbox marks a sandbox deployment ("environment": "sandbox").
	Sandbox bool
	// Ready reports whether the service can take traffic (/readyz).
	Ready func(ctx context.Context) error
	// Metrics is the registry /metrics serves; the server registers its
	// HTTP metrics there.
	Metrics *prometheus.Registry
	// Payouts, if set, serves the payout API (payouts.go).
	Payouts  *payout.Service
	Surfaces []Surface
	// Mounts are plain http.Handlers served under a path prefix ending in
	// "/" (the sandbox processors, which stand in for an external gateway
	// and so do not use echo).
	Mounts map[string]http.Handler
}

// Server is the HTTP server of every surface.
type Server struct {
	cfg  Config
	svc  *orchestrator.Service
	log  *slog.Logger
	echo *echo.Echo
}

// maxBodyBytes bounds request bodies; no API request needs more.
const maxBodyBytes = 1 << 20

// New builds the server and registers every route.
func New(cfg Config) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Log, echo: e}
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe(newHTTPMetrics(cfg.Metrics)))
	// echo reads "1M" as 10^6 bytes; the limit is 1 MiB.
	e.Use(middleware.BodyLimit(strconv.Itoa(maxBodyBytes)))
	s.routes()
	s.payoutRoutes()
	for _, sf := range cfg.Surfaces {
		sf.Routes(e)
	}
	for prefix, h := range cfg.Mounts {
		e.Any(prefix+"*", echo.WrapHandler(h))
	}
	return s
}

// Handler returns the http.Handler serving every surface.
func (s *Server) Handler() http.Handler { return s.echo }

// routes is the route table of the operational endpoints, the merchant API
// and the admin API.
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{})))

	// The payment-methods listing is public, as at Juspay: the checkout and
	// SDKs read it with no secret.
	e.GET("/merchants/:merchant_id/paymentmethods", s.handlePaymentMethods)

	// Middleware per route, not on a root group: echo answers unmatched
	// paths through a group's middleware, which would turn a 404 into a
	// 401 Basic challenge.
	mw := []echo.MiddlewareFunc{s.merchantAuth, s.idempotency}
	e.POST("/session", s.handleCreateSession, mw...)
	e.POST("/orders", s.handleCreateOrder, mw...)
	e.GET("/orders/:order_id", s.handleGetOrder, mw...)
	e.POST("/orders/:order_id", s.handleUpdateOrder, mw...)
	e.POST("/txns", s.handleCreateTxn, mw...)
	e.POST("/orders/:order_id/refunds", s.handleOrderRefund, mw...)
	e.POST("/refunds", s.handleRefund, mw...)
	e.POST("/customers", s.handleCreateCustomer, mw...)
	e.GET("/customers/:customer_id", s.handleGetCustomer, mw...)

	a := e.Group("/admin/v1", s.adminAuth, s.idempotency)
	a.POST("/merchants", s.handleAdminCreateMerchant)
	a.GET("/merchants/:id", s.handleAdminGetMerchant)
	a.PATCH("/merchants/:id", s.handleAdminUpdateMerchant)
	a.GET("/merchants/:id/gateways", s.handleAdminListGateways)
	a.GET("/merchants/:id/gateways/:name", s.handleAdminGetGateway)
	a.PUT("/merchants/:id/gateways/:name", s.handleAdminPutGateway)
	a.GET("/merchants/:id/routing", s.handleAdminGetRouting)
	a.PUT("/merchants/:id/routing", s.handleAdminPutRouting)
	a.GET("/merchants/:id/api-keys", s.handleAdminListAPIKeys)
	a.POST("/merchants/:id/api-keys", s.handleAdminCreateAPIKey)
	a.DELETE("/merchants/:id/api-keys/:key_id", s.handleAdminRevokeAPIKey)
	a.POST("/merchants/:id/response-key", s.handleAdminRotateResponseKey)
	a.GET("/merchants/:id/webhooks", s.handleAdminListWebhooks)
	a.GET("/merchants/:id/webhooks/:event_id", s.handleAdminGetWebhook)
	a.POST("/merchants/:id/webhooks/:event_id/resend", s.handleAdminResendWebhook)
}

func (s *Server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
