package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchyard/server/pay"
)

// dashHookSite is the merchant's webhook endpoint: it records what it gets and
// answers with status.
type dashHookSite struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []dashHookRequest
}

type dashHookRequest struct {
	EventName string
	User      string
	Password  string
	Signature string
	Body      []byte
}

func newDashHookSite(t *testing.T) *dashHookSite {
	s := &dashHookSite{}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hooks" {
			w.Write([]byte(`<!doctype html><title>Shop</title><p id="shop">Thanks</p>`))
			return
		}
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			EventName string `json:"event_name"`
		}
		json.Unmarshal(body, &ev)
		user, pw, _ := r.BasicAuth()
		s.mu.Lock()
		s.got = append(s.got, dashHookRequest{ev.EventName, user, pw, r.Header.Get("X-Switchyard-Signature"), body})
		s.mu.Unlock()
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *dashHookSite) requests() []dashHookRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dashHookRequest(nil), s.got...)
}

// dashSignedWith reports whether a webhook signature header was made with key.
func dashSignedWith(header string, body []byte, key string) bool {
	m := regexp.MustCompile(`^t=(\d+),`).FindStringSubmatch(header)
	if m == nil {
		return false
	}
	ts, _ := strconv.ParseInt(m[1], 10, 64)
	return header == pay.WebhookSignature(key, ts, body)
}

// TestDashboardDevelopers: API keys (shown once; a revoked key is refused by the
// API), response key rotation (the next webhook is signed with the new
// key), the webhook test button, and the delivery log with resend.
func TestDashboardDevelopers(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_dev")
	site := newDashHookSite(t)
	h.admin(http.MethodPatch, "/merchants/shop_dev", map[string]any{
		"webhook_url": site.URL + "/hooks", "webhook_username": "shop", "webhook_password": "hook-pw",
		"payment_redirect_url": site.URL + "/back",
	}).want(t, http.StatusOK)
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	text := func(t *testing.T, sel string) string {
		t.Helper()
		return dashEval[string](t, ctx, `(function () { var e = document.querySelector(`+browserJS(sel)+`); return e ? e.textContent.trim() : '<none>'; })()`)
	}

	var newKey string
	t.Run("create an API key, shown once", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/developers"), dashWaitPath("/dashboard/developers"))
		dashCheckPage(t, ctx)
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#api-keys tbody tr').length`); n != 1 {
			t.Errorf("%d keys listed at first", n)
		}
		dashDo(t, ctx, dashSubmit(`#create-api-key`, "/dashboard/developers/api-keys"))
		dashCheckPage(t, ctx)
		newKey = text(t, "#new-api-key code")
		if !strings.HasPrefix(newKey, "sk_") || len(newKey) < 20 {
			t.Fatalf("new key shown as %q", newKey)
		}
		h.merchantAPI(newKey, http.MethodGet, "/customers/nobody", nil).want(t, http.StatusNotFound)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/developers"), dashWaitPath("/dashboard/developers"))
		if strings.Contains(dashEval[string](t, ctx, `document.documentElement.outerHTML`), newKey) {
			t.Errorf("the key is shown again")
		}
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#api-keys tbody tr').length`); n != 2 {
			t.Errorf("%d keys listed after creating one", n)
		}
	})

	t.Run("revoke it: the API refuses it", func(t *testing.T) {
		prefix := newKey[:12]
		sel := `//tr[th/span[starts-with(., "` + prefix + `")]]`
		id := dashEval[string](t, ctx, `document.evaluate(`+browserJS(sel)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.id`)
		dashDo(t, ctx, dashSubmit(`#`+id+` button.danger`, "/dashboard/developers"))
		if f := text(t, "[role=status]"); !strings.HasPrefix(f, "API key revoked") {
			t.Errorf("flash %q", f)
		}
		if s := text(t, "#"+id+" .key-status"); !strings.HasPrefix(s, "Revoked") {
			t.Errorf("status %q", s)
		}
		h.merchantAPI(newKey, http.MethodGet, "/customers/nobody", nil).want(t, http.StatusUnauthorized)
		h.merchantAPI(shop.APIKey, http.MethodGet, "/customers/nobody", nil).want(t, http.StatusNotFound)
	})

	t.Run("webhook test", func(t *testing.T) {
		dashDo(t, ctx, dashSubmit(`#test-webhook`, "/dashboard/developers/webhook-test"))
		dashCheckPage(t, ctx)
		if r := text(t, "#webhook-test-result"); !strings.HasPrefix(r, "Your endpoint answered HTTP 200") {
			t.Errorf("test result %q", r)
		}
		got := site.requests()
		if len(got) != 1 || got[0].EventName != "WEBHOOK_TEST" || got[0].User != "shop" || got[0].Password != "hook-pw" ||
			!dashSignedWith(got[0].Signature, got[0].Body, shop.ResponseKey) {
			t.Fatalf("the endpoint got %+v", got)
		}
		site.status.Store(http.StatusServiceUnavailable)
		dashDo(t, ctx, dashSubmit(`#test-webhook`, "/dashboard/developers/webhook-test"))
		if r := text(t, "#webhook-test-result"); !strings.Contains(r, "HTTP 503 Service Unavailable") {
			t.Errorf("failed test result %q", r)
		}
	})

	t.Run("rotate the response key", func(t *testing.T) {
		dashDo(t, ctx, dashSubmit(`#rotate-response-key`, "/dashboard/developers/response-key"))
		key := text(t, "#new-response-key code")
		if len(key) != 64 || key == shop.ResponseKey {
			t.Fatalf("new response key %q", key)
		}
		site.status.Store(http.StatusOK)
		dashDo(t, ctx, dashSubmit(`#test-webhook`, "/dashboard/developers/webhook-test"))
		got := site.requests()
		last := got[len(got)-1]
		if !dashSignedWith(last.Signature, last.Body, key) || dashSignedWith(last.Signature, last.Body, shop.ResponseKey) {
			t.Errorf("the next webhook is not signed with the new key")
		}
	})

	t.Run("delivery log and resend", func(t *testing.T) {
		site.status.Store(http.StatusInternalServerError)
		link := h.createOrder(shop, "ord_dev_1", "10.00")
		dashDo(t, ctx, chromedp.Navigate(link))
		dashPayByCard(t, ctx)
		dashDo(t, ctx, browserUntil(`location.pathname === "/back"`))
		deadline := time.Now().Add(20 * time.Second)
		for {
			n := 0
			for _, r := range site.requests() {
				if r.EventName == "ORDER_SUCCEEDED" {
					n++
				}
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no ORDER_SUCCEEDED delivery attempt; got %d requests", len(site.requests()))
			}
			time.Sleep(100 * time.Millisecond)
		}
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/developers"), dashWaitPath("/dashboard/developers"))
		dashCheckPage(t, ctx)
		sel := `//tr[th/a[. = "ORDER_SUCCEEDED"]]`
		row := dashEval[string](t, ctx, `document.evaluate(`+browserJS(sel)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.id`)
		eventID := strings.TrimPrefix(row, "event-")
		dashDo(t, ctx, browserUntil(`document.querySelector('#`+row+` .event-state').textContent === 'pending'`),
			chromedp.Click(chromedp.CSS(`#`+row+` a`)), dashWaitPath("/dashboard/developers/webhooks/"+eventID))
		dashCheckPage(t, ctx)
		if r := text(t, "#deliveries .delivery-result"); r != "HTTP 500 Internal Server Error" {
			t.Errorf("first attempt shown as %q", r)
		}
		if !strings.Contains(text(t, ".dash-payload"), `"ord_dev_1"`) {
			t.Errorf("the body does not show the order")
		}

		site.status.Store(http.StatusOK)
		dashDo(t, ctx, dashSubmit(`#resend`, "/dashboard/developers/webhooks/"+eventID))
		if f := text(t, "[role=status]"); f != "The event will be sent again in a moment." {
			t.Errorf("flash %q", f)
		}
		deadline = time.Now().Add(20 * time.Second)
		for text(t, "#event-state") != "delivered" {
			if time.Now().After(deadline) {
				t.Fatalf("event state %q after resend", text(t, "#event-state"))
			}
			time.Sleep(300 * time.Millisecond)
			dashDo(t, ctx, chromedp.Reload(), dashWaitPath("/dashboard/developers/webhooks/"+eventID))
		}
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#deliveries tbody tr').length`); n != 2 {
			t.Errorf("%d attempts listed after the resend", n)
		}
	})
}
