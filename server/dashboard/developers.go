package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/webhook"
)

// developersPage is the Developers page: API keys, the response key, the
// webhook endpoint and its delivery log. NewAPIKey and NewResponseKey are
// set only in the response that created them: secrets are shown once.
type developersPage struct {
	APIKeys        []store.APIKey
	NewAPIKey      string
	NewResponseKey string
	WebhookURL     string
	Test           *webhook.TestResult
	Events         []store.OutboxEvent
	// NextBefore pages the delivery log (0: no older events).
	NextBefore int64
}

// eventsPerPage is how many webhook events the log shows at once.
const eventsPerPage = 25

func (s *Server) developersPage(c echo.Context, before int64) (developersPage, error) {
	ctx := c.Request().Context()
	m := merchant(c)
	p := developersPage{WebhookURL: m.WebhookURL}
	var err error
	if p.APIKeys, err = s.svc.APIKeys(ctx, m.ID); err != nil {
		return p, err
	}
	if p.Events, err = s.db.RecentEvents(ctx, m.ID, before, eventsPerPage); err != nil {
		return p, err
	}
	if len(p.Events) == eventsPerPage {
		p.NextBefore = p.Events[len(p.Events)-1].ID
	}
	return p, nil
}

func (s *Server) renderDevelopers(c echo.Context, status int, p developersPage, flash string) error {
	return s.render(c, status, "dashboard_developers.html", view{Title: "Developers", Data: p, Flash: flash})
}

func (s *Server) handleDevelopers(c echo.Context) error {
	var before int64
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return s.fail(c, pay.Invalid("before", "must be the link of the previous page"))
		}
		before = n
	}
	p, err := s.developersPage(c, before)
	if err != nil {
		return s.fail(c, err)
	}
	return s.renderDevelopers(c, http.StatusOK, p, "")
}

// handleCreateAPIKey creates a key and shows it in this response only.
func (s *Server) handleCreateAPIKey(c echo.Context) error {
	m := merchant(c)
	key, err := s.svc.AddAPIKey(c.Request().Context(), m.ID)
	if err != nil {
		return s.fail(c, err)
	}
	s.log.Info("dashboard: API key created", "merchant_id", m.ID, "request_id", requestID(c))
	p, err := s.developersPage(c, 0)
	if err != nil {
		return s.fail(c, err)
	}
	p.NewAPIKey = key
	return s.renderDevelopers(c, http.StatusOK, p, "API key created. Copy it now: it will not be shown again.")
}

// handleRevokeAPIKey revokes one of the merchant's keys; another
// merchant's key id is not found.
func (s *Server) handleRevokeAPIKey(c echo.Context) error {
	m := merchant(c)
	if err := s.svc.RevokeAPIKey(c.Request().Context(), m.ID, c.Param("key_id")); err != nil {
		return s.fail(c, err)
	}
	s.log.Info("dashboard: API key revoked", "merchant_id", m.ID, "key_id", c.Param("key_id"), "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/developers", "API key revoked: requests with it are refused from now on.")
}

// handleRotateResponseKey replaces the response key and shows the new one
// in this response only.
func (s *Server) handleRotateResponseKey(c echo.Context) error {
	m := merchant(c)
	key, err := s.svc.RotateResponseKey(c.Request().Context(), m.ID)
	if err != nil {
		return s.fail(c, err)
	}
	s.log.Info("dashboard: response key rotated", "merchant_id", m.ID, "request_id", requestID(c))
	p, err := s.developersPage(c, 0)
	if err != nil {
		return s.fail(c, err)
	}
	p.NewResponseKey = key
	return s.renderDevelopers(c, http.StatusOK, p, "Response key rotated. Copy it now: it will not be shown again.")
}

// handleTestWebhook sends a test event to the webhook URL now and shows how
// the endpoint answered.
func (s *Server) handleTestWebhook(c echo.Context) error {
	m := merchant(c)
	res := webhook.SendTest(c.Request().Context(), s.webhookClient, m, time.Now())
	p, err := s.developersPage(c, 0)
	if err != nil {
		return s.fail(c, err)
	}
	p.Test = &res
	return s.renderDevelopers(c, http.StatusOK, p, "")
}

// eventPage is one webhook event with its delivery attempts.
type eventPage struct {
	Event      *store.OutboxEvent
	Deliveries []store.Delivery
}

func (s *Server) handleWebhookEvent(c echo.Context) error {
	ctx := c.Request().Context()
	m := merchant(c)
	e, err := s.db.OutboxEventByID(ctx, m.ID, c.Param("event_id"))
	if err != nil {
		return s.fail(c, err)
	}
	ds, err := s.db.Deliveries(ctx, m.ID, e.EventID)
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dashboard_webhook_event.html", view{Title: "Webhook " + e.Name, Data: eventPage{Event: e, Deliveries: ds}})
}

// handleResendWebhook makes the event due now (store.ResendEvent); the
// relay sends it within its poll interval.
func (s *Server) handleResendWebhook(c echo.Context) error {
	m := merchant(c)
	id := c.Param("event_id")
	if err := s.db.ResendEvent(c.Request().Context(), m.ID, id); err != nil {
		return s.fail(c, err)
	}
	s.log.Info("dashboard: webhook resend", "merchant_id", m.ID, "event_id", id, "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/developers/webhooks/"+id, "The event will be sent again in a moment.")
}
