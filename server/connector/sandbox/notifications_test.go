package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/pay"
)

// delivery is one notification as a webhook receiver got it.
type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a webhook endpoint recording what it is sent; the first
// failFirst deliveries are answered 500.
type receiver struct {
	srv       *httptest.Server
	got       chan delivery
	failFirst int64
	calls     atomic.Int64
}

func newReceiver(t *testing.T, failFirst int64) *receiver {
	rc := &receiver{got: make(chan delivery, 64), failFirst: failFirst}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if rc.calls.Add(1) <= rc.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rc.got <- delivery{header: r.Header.Clone(), body: body, at: time.Now()}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) next(t *testing.T, within time.Duration) delivery {
	t.Helper()
	select {
	case d := <-rc.got:
		return d
	case <-time.After(within):
		t.Fatalf("no notification within %v", within)
		return delivery{}
	}
}

// parse authenticates a delivery the way Switchyard's webhook endpoint does.
func parse(c *sandbox.Connector, d delivery) (connector.Notification, error) {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sandbox", bytes.NewReader(d.body))
	req.Header = d.header
	return c.ParseNotification(req, d.body)
}

func upiPayment(vpa, flow string, webhook string) connector.Payment {
	return connector.Payment{TxnID: newTxnID(), Amount: pay.Money{Amount: 10050, Currency: "INR"},
		MethodType: pay.MethodUPI, Method: "UPI", VPA: vpa, UPIFlow: flow, WebhookURL: webhook}
}

func TestUPINotifications(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()

	t.Run("collect success", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		p := upiPayment("success@upi", "COLLECT", rc.srv.URL+"/hook")
		start := time.Now()
		res := c.Authorize(ctx, p)
		wantOutcome(t, "Authorize", res, connector.Pending, "pending")
		wantOutcome(t, "Sync before approval", c.Sync(ctx, p.TxnID, ""), connector.Pending, "")

		d := rc.next(t, 5*time.Second)
		if wait := d.at.Sub(start); wait < 900*time.Millisecond || wait > 4*time.Second {
			t.Errorf("notification after %v, want about 1s", wait)
		}
		n, err := parse(c, d)
		if err != nil {
			t.Fatalf("ParseNotification refused a genuine notification: %v", err)
		}
		if n.TxnID != p.TxnID || n.Result.Outcome != connector.Charged || n.Result.GatewayRef != res.GatewayRef {
			t.Errorf("notification %+v, want %s charged as %s", n, p.TxnID, res.GatewayRef)
		}
		wantOutcome(t, "Sync after approval", c.Sync(ctx, p.TxnID, ""), connector.Charged, "")

		// Tampering with the body, or a signature made with another key,
		// is refused.
		var body map[string]any
		json.Unmarshal(d.body, &body)
		body["status"] = "failed"
		tampered := d
		tampered.body, _ = json.Marshal(body)
		if _, err := parse(c, tampered); err == nil {
			t.Error("ParseNotification accepted a tampered body")
		}
		unsigned := delivery{header: http.Header{}, body: d.body}
		if _, err := parse(c, unsigned); err == nil {
			t.Error("ParseNotification accepted an unsigned notification")
		}
		otherKey, _ := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: h.srv.URL + "/sandbox", NotifyKey: []byte("other")}, account("A"))
		if _, err := parse(otherKey, d); err == nil {
			t.Error("a connector with another key accepted the notification")
		}
	})
	t.Run("collect failure", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		p := upiPayment("failure@upi", "", rc.srv.URL)
		wantOutcome(t, "Authorize", c.Authorize(ctx, p), connector.Pending, "")
		n, err := parse(c, rc.next(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "notification", n.Result, connector.DeclinedHard, "payer_declined")
	})
	t.Run("collect pending", func(t *testing.T) {
		t.Parallel()
		h.configure("P", `{"late_success_after_ms":300}`)
		cp := h.connector("P")
		rc := newReceiver(t, 0)
		p := upiPayment("pending@upi", "COLLECT", rc.srv.URL)
		wantOutcome(t, "Authorize", cp.Authorize(ctx, p), connector.Pending, "")
		n, err := parse(cp, rc.next(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "notification", n.Result, connector.Charged, "")
	})
	t.Run("intent", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		p := upiPayment("", "INTENT", rc.srv.URL)
		res := c.Authorize(ctx, p)
		wantOutcome(t, "Authorize", res, connector.Pending, "")
		want := "upi://pay?pa=sandbox@upi&pn=Switchyard%20Sandbox&tr=" + p.TxnID + "&am=100.50&cu=INR"
		if res.IntentLink != want {
			t.Errorf("IntentLink %q, want %q", res.IntentLink, want)
		}
		n, err := parse(c, rc.next(t, 6*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "notification", n.Result, connector.Charged, "")
	})
	t.Run("ACS decision is notified too", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		p := cardPayment("4000000000003220")
		p.WebhookURL = rc.srv.URL
		res := c.Authorize(ctx, p)
		resp, err := noRedirects.PostForm(res.Action.URL, map[string][]string{"decision": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		n, err := parse(c, rc.next(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "notification", n.Result, connector.Charged, "")
	})
	t.Run("retried with backoff", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 1)
		p := upiPayment("success@upi", "COLLECT", rc.srv.URL)
		start := time.Now()
		c.Authorize(ctx, p)
		d := rc.next(t, 8*time.Second)
		if rc.calls.Load() != 2 {
			t.Errorf("%d delivery attempts, want 2", rc.calls.Load())
		}
		if wait := d.at.Sub(start); wait < 1900*time.Millisecond {
			t.Errorf("redelivered after %v, want the 1s backoff after the 1s delay", wait)
		}
		if _, err := parse(c, d); err != nil {
			t.Error(err)
		}
	})
}

func TestWebhookSecretCredential(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	acct := account("A")
	acct.Credentials["webhook_secret"] = "per-account-secret"
	c, err := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: h.srv.URL + "/sandbox", NotifyKey: notifyKey}, acct)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, 0)
	c.Authorize(t.Context(), upiPayment("success@upi", "COLLECT", rc.srv.URL))
	d := rc.next(t, 5*time.Second)
	if _, err := parse(c, d); err != nil {
		t.Errorf("the account's connector refused it: %v", err)
	}
	if _, err := parse(h.connector("A"), d); err == nil {
		t.Error("a connector keyed with the deployment NotifyKey accepted a notification signed for webhook_secret")
	}
}

func TestNewConnector(t *testing.T) {
	cfg := sandbox.ConnectorConfig{BaseURL: "http://127.0.0.1:1/sandbox", NotifyKey: notifyKey}
	if _, err := sandbox.NewConnector(cfg, &pay.GatewayAccount{MerchantID: "m1", Name: "x", Credentials: map[string]string{}}); err == nil {
		t.Error("no processor: accepted")
	}
	if _, err := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: cfg.BaseURL}, account("A")); err == nil {
		t.Error("no notification key: accepted")
	}
	if _, err := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: "/sandbox", NotifyKey: notifyKey}, account("A")); err == nil {
		t.Error("relative BaseURL: accepted")
	}
	reg := connector.Registry{"sandbox": sandbox.Factory(cfg)}
	a := account("A")
	if c, err := reg.For(a); err != nil || c == nil {
		t.Errorf("Registry.For: %v, %v", c, err)
	}
}
