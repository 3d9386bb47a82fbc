package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"switchyard/server/pay"
)

// TestEventName is the event_name of a test webhook.
const TestEventName = "WEBHOOK_TEST"

// TestResult is how a merchant's endpoint answered a test webhook.
type TestResult struct {
	// URL is the webhook URL without userinfo or query.
	URL        string
	StatusCode int
	// Error is why the test failed ("" when the endpoint answered 2xx).
	Error    string
	Duration time.Duration
}

// OK reports whether the endpoint accepted the test (2xx).
func (t TestResult) OK() bool { return t.Error == "" }

// SendTest POSTs a test event to merchant m's webhook URL, signed and
// authenticated exactly as real events are, so a merchant can check their
// endpoint from the dashboard. It is not an outbox event: nothing is stored
// or retried. client should not follow redirects (DefaultClient).
func SendTest(ctx context.Context, client *http.Client, m *pay.Merchant, now time.Time) TestResult {
	res := TestResult{URL: redactURL(m.WebhookURL)}
	if m.WebhookURL == "" {
		res.Error = "no webhook URL is set"
		return res
	}
	id := pay.NewID("evt_test_")
	body, _ := json.Marshal(map[string]any{
		"id": id, "event_name": TestEventName, "date_created": now.UTC().Format(time.RFC3339),
		"content": map[string]any{"merchant_id": m.ID},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.WebhookURL, bytes.NewReader(body))
	if err != nil {
		res.Error = "invalid webhook URL"
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderEventID, id)
	req.Header.Set(HeaderSignature, pay.WebhookSignature(m.ResponseKey, now.Unix(), body))
	if m.WebhookUsername != "" {
		req.SetBasicAuth(m.WebhookUsername, m.WebhookPassword)
	}
	start := time.Now()
	resp, err := client.Do(req)
	res.Duration = time.Since(start)
	if err != nil {
		r := Relay{timeout: client.Timeout}
		res.Error = r.describe(err)
		return res
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	res.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.Error = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return res
}
