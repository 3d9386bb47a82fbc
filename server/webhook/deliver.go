package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// maxResponseRead is how much of an answer's body is read (and discarded)
// so the connection can be reused; a longer body costs the connection.
const maxResponseRead = 64 << 10

// deliver POSTs one event and returns its outcome: delivered on any 2xx,
// otherwise pending at the schedule's next step or dead. cancelled reports
// that ctx (Close) cut the request short; the outcome is then meaningless.
func (r *Relay) deliver(ctx context.Context, j job, now time.Time) (res store.DeliveryResult, cancelled bool) {
	ev, m := j.ev, j.m
	// An event may carry its own destination (a payout fulfillment's
	// webhookDetails); it is still signed with the merchant's key.
	target, username, password := m.WebhookURL, m.WebhookUsername, m.WebhookPassword
	if ev.DestURL != "" {
		target, username, password = ev.DestURL, ev.DestUsername, ev.DestPassword
	}
	d := &store.Delivery{
		EventID: ev.EventID, MerchantID: ev.MerchantID, Attempt: ev.Attempts + 1,
		URL: redactURL(target), CreatedAt: now,
	}
	res = store.DeliveryResult{EventID: ev.EventID, ClaimedAttempts: ev.Attempts, Delivery: d}

	body := []byte(ev.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		d.Error = "invalid webhook URL"
	} else {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", UserAgent)
		req.Header.Set(HeaderEventID, ev.EventID)
		req.Header.Set(HeaderSignature, pay.WebhookSignature(m.ResponseKey, now.Unix(), body))
		if username != "" {
			req.SetBasicAuth(username, password)
		}
		start := time.Now()
		resp, err := r.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
			resp.Body.Close()
		}
		d.Duration = time.Since(start)
		switch {
		case err != nil && ctx.Err() != nil:
			return res, true
		case err != nil:
			d.Error = r.describe(err)
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			d.StatusCode = resp.StatusCode
			d.Error = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		default:
			d.StatusCode = resp.StatusCode
			res.State = store.EventDelivered
			r.metrics.attempt(true, d.Duration)
			r.metrics.finished(store.EventDelivered)
			return res, false
		}
	}
	r.metrics.attempt(false, d.Duration)
	next, ok := nextAttempt(r.schedule, d.Attempt-ev.RetryBase, r.now())
	if !ok {
		res.State = store.EventDead
		r.metrics.finished(store.EventDead)
		r.log.Warn("webhook: event dead, every attempt failed", "event_id", ev.EventID,
			"merchant_id", ev.MerchantID, "event_name", ev.Name, "attempts", d.Attempt, "last_error", d.Error)
		return res, false
	}
	res.State, res.Next = store.EventPending, next
	r.log.Debug("webhook: attempt failed", "event_id", ev.EventID, "merchant_id", ev.MerchantID,
		"attempt", d.Attempt, "error", d.Error, "next_attempt_at", next)
	return res, false
}

// describe says why a request got no answer, without the URL (which may
// carry credentials) or anything else of the request.
func (r *Relay) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timeout: no complete answer within %s", r.timeout)
		}
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("timeout: no complete answer within %s", r.timeout)
	}
	return err.Error()
}

// redactURL is the webhook URL as the delivery log keeps it: scheme, host
// and path, without userinfo or query (either may carry a secret).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := clean.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}
