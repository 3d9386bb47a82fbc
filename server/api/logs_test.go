package api_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLines waits until the log has at least n request lines: the line
// of a request is written after its response may have reached the client.
func waitForLines(t *testing.T, logs *syncBuffer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), `"msg":"request"`) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d request lines logged, want %d:\n%s", strings.Count(logs.String(), `"msg":"request"`), n, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLogsHoldNoSecrets: requests carrying card data, customer details and
// the API key (in bodies, query strings and headers) leave none of them in
// the logs, at the most verbose level, while the requests are logged.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	ts := newTestServer(t, withLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	creds := ts.createMerchant(t, "m1", map[string]any{"webhook_password": "hook-password-1234"})
	key := creds.APIKey

	const (
		pan   = "4242424242424242"
		cvv   = "987"
		email = "secret.shopper@example.com"
		phone = "9876501234"
	)
	secrets := map[string]string{
		"PAN": pan, "CVV field": "card_security_code=" + cvv, "email": email, "phone": phone,
		"API key": key, "Basic credentials": base64.StdEncoding.EncodeToString([]byte(key + ":")),
		"admin token": adminToken, "response key": creds.ResponseKey, "dashboard password": creds.DashboardPassword,
		"webhook password": "hook-password-1234",
	}
	card := "&card_number=" + pan + "&card_exp_month=12&card_exp_year=2030&card_security_code=" + cvv +
		"&customer_email=" + email + "&customer_phone=" + phone
	requests := []req{
		formReq(key, http.MethodPost, "/orders", "order_id=o1&amount=10"+card, "x-merchantid", "m1"),
		jsonReq(key, http.MethodPost, "/session", map[string]any{"order_id": "o2", "amount": "10",
			"card_number": pan, "card_security_code": cvv, "customer_email": email, "customer_phone": phone}),
		// Refused requests, on each path that refuses.
		formReq(key, http.MethodPost, "/orders", "order_id=bad+id&amount=0"+card),
		formReq(key, http.MethodPost, "/orders", "order_id=o1&amount=10"+card+"&amount=11"),
		formReq(key, http.MethodPost, "/orders", "order_id=o3&amount=10"+card, "x-merchantid", "m2"),
		formReq(pan, http.MethodPost, "/orders", "order_id=o4&amount=10"+card),
		getReq(key, "/orders/o1?card_number="+pan+"&customer_email="+email),
		getReq(key, "/orders/"+pan),
		formReq(key, http.MethodPost, "/orders", "order_id=o5&amount=10"+card, "Idempotency-Key", "idem-"+pan),
		adminReq(http.MethodPost, "/admin/v1/merchants/m1/api-keys", nil),
		adminReq(http.MethodPatch, "/admin/v1/merchants/m1", map[string]any{"webhook_password": "hook-password-1234", "name": pan}),
	}
	for _, r := range requests {
		resp := ts.send(t, r)
		if resp.Code >= 500 {
			t.Errorf("%s %s: status %d", r.method, r.path, resp.Code)
		}
		if resp.Code == http.StatusCreated {
			secrets["new API key"] = resp.str(t, "api_key")
		}
	}
	// The admin create of createMerchant plus each request.
	waitForLines(t, logs, len(requests)+1)

	out := logs.String()
	for name, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds the %s %q", name, s)
		}
	}
	for _, want := range []string{`"route":"/orders"`, `"route":"/session"`, `"status":400`, `"status":401`, `"status":403`, `"request_id":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %s: requests are not logged as expected", want)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}
