package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

const requestIDKey = "request_id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID returns the id of the request being served.
func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// observe gives each request an id (the caller's X-Request-Id when it is
// sane), turns a panic into a 500, logs one line per request and records
// metrics. It logs the route pattern, never the URL's query, headers or body,
// which may carry card data or secrets.
func (s *Server) observe(m *httpMetrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			start := time.Now()
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !requestIDPattern.MatchString(id) {
				id = pay.RandomHex(12)
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			ctx, timing := orchestrator.WithTiming(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			// Server-Timing reports the orchestrator's own time: the
			// whole request minus the time spent waiting for gateways.
			c.Response().Before(func() {
				gw := timing.Gateway()
				self := time.Since(start) - gw
				c.Response().Header().Set("Server-Timing", fmt.Sprintf("self;dur=%.3f, gateway;dur=%.3f",
					float64(self.Microseconds())/1000, float64(gw.Microseconds())/1000))
			})

			func() {
				defer func() {
					if r := recover(); r != nil {
						if r == http.ErrAbortHandler {
							panic(r)
						}
						err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
					}
				}()
				err = next(c)
			}()
			if err != nil {
				c.Error(err)
			}

			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := c.Response().Status
			elapsed := time.Since(start)
			m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(route, c.Request().Method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", id), slog.String("method", c.Request().Method),
				slog.String("route", route), slog.Int("status", status),
				slog.Duration("duration", elapsed))
			return nil
		}
	}
}
