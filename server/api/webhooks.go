package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// webhookEventJSON is an outbox event as the admin API shows it.
type webhookEventJSON struct {
	EventID       string          `json:"event_id"`
	EventName     string          `json:"event_name"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *string         `json:"next_attempt_at"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

func newWebhookEventJSON(e *store.OutboxEvent) webhookEventJSON {
	out := webhookEventJSON{
		EventID: e.EventID, EventName: e.Name, State: e.State, Attempts: e.Attempts,
		CreatedAt: formatTime(e.CreatedAt), UpdatedAt: formatTime(e.UpdatedAt),
	}
	if e.State == store.EventPending {
		next := formatTime(e.NextAttemptAt)
		out.NextAttemptAt = &next
	}
	if e.Payload != "" {
		out.Payload = json.RawMessage(e.Payload)
	}
	return out
}

// webhookDeliveryJSON is one logged attempt.
type webhookDeliveryJSON struct {
	Attempt    int    `json:"attempt"`
	URL        string `json:"url"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
	DurationMS int64  `json:"duration_ms"`
	CreatedAt  string `json:"created_at"`
}

// handleAdminListWebhooks serves GET /admin/v1/merchants/{id}/webhooks: the
// merchant's events, newest first; ?limit= (1-200, default 50) and
// ?before= (the next_before of the previous page).
func (s *Server) handleAdminListWebhooks(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.svc.Merchant(ctx, c.Param("id")); err != nil {
		return err
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return pay.Invalid("limit", "must be a number from 1 to 200")
		}
		limit = n
	}
	var before int64
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return pay.Invalid("before", "must be the next_before of the previous page")
		}
		before = n
	}
	events, err := s.cfg.DB.RecentEvents(ctx, c.Param("id"), before, limit)
	if err != nil {
		return err
	}
	out := make([]webhookEventJSON, len(events))
	for i := range events {
		out[i] = newWebhookEventJSON(&events[i])
	}
	var next *string
	if len(events) == limit {
		n := strconv.FormatInt(events[len(events)-1].ID, 10)
		next = &n
	}
	return c.JSON(http.StatusOK, map[string]any{"events": out, "next_before": next})
}

// handleAdminGetWebhook serves GET /admin/v1/merchants/{id}/webhooks/{event_id}:
// the event with its body and every logged attempt.
func (s *Server) handleAdminGetWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.cfg.DB.OutboxEventByID(ctx, c.Param("id"), c.Param("event_id"))
	if err != nil {
		return err
	}
	log, err := s.cfg.DB.Deliveries(ctx, c.Param("id"), c.Param("event_id"))
	if err != nil {
		return err
	}
	deliveries := make([]webhookDeliveryJSON, len(log))
	for i, d := range log {
		deliveries[i] = webhookDeliveryJSON{
			Attempt: d.Attempt, URL: d.URL, StatusCode: d.StatusCode, Error: d.Error,
			DurationMS: d.Duration.Milliseconds(), CreatedAt: formatTime(d.CreatedAt),
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"event": newWebhookEventJSON(e), "deliveries": deliveries})
}

// handleAdminResendWebhook serves
// POST /admin/v1/merchants/{id}/webhooks/{event_id}/resend: the event is due
// now with a fresh retry schedule (store.ResendEvent); 202, since the relay
// sends it asynchronously.
func (s *Server) handleAdminResendWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.cfg.DB.ResendEvent(ctx, c.Param("id"), c.Param("event_id")); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"event_id": c.Param("event_id"), "state": store.EventPending})
}
