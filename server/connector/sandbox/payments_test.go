package sandbox_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/pay"
)

func TestCards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		number  string
		outcome connector.Outcome
		code    string
		unified string
	}{
		{"success", "4242424242424242", connector.Charged, "succeeded", ""},
		{"3DS challenge", "4000000000003220", connector.RequiresAction, "requires_action", ""},
		{"declined", "4000000000000002", connector.DeclinedHard, "do_not_honor", "UE_1000"},
		{"insufficient funds", "4000000000009995", connector.DeclinedHard, "insufficient_funds", "UE_1000"},
		{"processing error", "4000000000000119", connector.DeclinedSoft, "processing_error", "UE_3000"},
		{"success rate 1", "4111111111111111", connector.Charged, "succeeded", ""},
		{"other valid card", "5555555555554444", connector.Charged, "succeeded", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Authorize(ctx, cardPayment(tc.number))
			wantOutcome(t, "Authorize", got, tc.outcome, tc.code)
			if got.UnifiedCode != tc.unified {
				t.Errorf("UnifiedCode %q, want %q", got.UnifiedCode, tc.unified)
			}
			if !strings.HasPrefix(got.GatewayRef, "pay_") {
				t.Errorf("GatewayRef %q, want a payment id", got.GatewayRef)
			}
			if tc.outcome == connector.RequiresAction {
				want := h.srv.URL + "/sandbox/acs/" + got.GatewayRef
				if got.Action == nil || got.Action.Method != http.MethodGet || got.Action.URL != want {
					t.Errorf("Action %+v, want GET %s", got.Action, want)
				}
			} else if got.Action != nil {
				t.Errorf("Action %+v, want none", got.Action)
			}
		})
	}

	t.Run("expired card", func(t *testing.T) {
		p := cardPayment("4242424242424242")
		p.Card.ExpYear = "2020"
		wantOutcome(t, "Authorize", c.Authorize(ctx, p), connector.DeclinedHard, "expired_card")
	})
	t.Run("txn id with URL-special characters", func(t *testing.T) {
		p := cardPayment("4242424242424242")
		p.TxnID = "m1-ord:1+x@y?z=%#-1"
		res := c.Authorize(ctx, p)
		wantOutcome(t, "Authorize", res, connector.Charged, "succeeded")
		if got := c.Sync(ctx, p.TxnID, ""); got.Outcome != connector.Charged || got.GatewayRef != res.GatewayRef {
			t.Errorf("Sync: %+v, want %s charged", got, res.GatewayRef)
		}
	})
	t.Run("invalid card is refused, not processed", func(t *testing.T) {
		got := c.Authorize(ctx, cardPayment("4242424242424241"))
		wantOutcome(t, "Authorize", got, connector.DeclinedHard, "invalid_request")
		if got.UnifiedCode != "UE_4000" || !strings.Contains(got.RespMessage, "card.number") {
			t.Errorf("got %+v, want UE_4000 naming card.number", got)
		}
	})

	// 7 cases + expired + odd txn id = 9 processed; the invalid card is
	// not counted. Charged: 4242, 4111, 5555, odd txn id at 10050 each.
	cnt := h.processor("A").Counters
	if cnt.Attempts != 9 || cnt.Charged != 4 || cnt.AmountCharged != 4*10050 {
		t.Errorf("counters %+v, want 9 attempts, 4 charged, amount 40200", cnt)
	}

	t.Run("three_ds never", func(t *testing.T) {
		h.configure("N", `{"three_ds":"never"}`)
		wantOutcome(t, "3220", h.connector("N").Authorize(ctx, cardPayment("4000000000003220")), connector.Charged, "succeeded")
	})
	t.Run("three_ds always", func(t *testing.T) {
		h.configure("Y", `{"three_ds":"always"}`)
		ca := h.connector("Y")
		for _, number := range []string{"4242424242424242", "4000000000000002"} {
			wantOutcome(t, number, ca.Authorize(ctx, cardPayment(number)), connector.RequiresAction, "requires_action")
		}
	})
}

func TestIdempotentTxnID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()

	p := cardPayment("4242424242424242")
	first := c.Authorize(ctx, p)
	second := c.Authorize(ctx, p)
	wantOutcome(t, "first", first, connector.Charged, "")
	wantOutcome(t, "second", second, connector.Charged, "")
	if first.GatewayRef != second.GatewayRef {
		t.Errorf("two payments for one txn_id: %s, %s", first.GatewayRef, second.GatewayRef)
	}

	// Concurrent retries of another txn: still one payment.
	q := cardPayment("4242424242424242")
	refs := make([]string, 10)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() { refs[i] = c.Authorize(ctx, q).GatewayRef })
	}
	wg.Wait()
	for _, ref := range refs {
		if ref != refs[0] || ref == "" {
			t.Fatalf("concurrent retries got payments %v, want one", refs)
		}
	}
	if cnt := h.processor("A").Counters; cnt.Attempts != 2 || cnt.Charged != 2 {
		t.Errorf("counters %+v, want 2 attempts, 2 charged", cnt)
	}

	// The same txn_id with another amount is refused, not charged.
	p.Amount.Amount++
	wantOutcome(t, "changed amount", c.Authorize(ctx, p), connector.DeclinedHard, "idempotency_mismatch")
	// The same txn_id on another processor is another payment.
	if other := h.connector("B").Authorize(ctx, q); other.GatewayRef == refs[0] || other.Outcome != connector.Charged {
		t.Errorf("processor B: %+v, want its own charged payment", other)
	}
}

func TestAuthenticationPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()

	// authorize starts a payment needing the shopper and checks its page.
	authorize := func(t *testing.T, p connector.Payment, heading string) connector.Result {
		t.Helper()
		res := c.Authorize(ctx, p)
		wantOutcome(t, "Authorize", res, connector.RequiresAction, "")
		if res.Action == nil {
			t.Fatal("no Action")
		}
		resp, err := http.Get(res.Action.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", res.Action.URL, resp.StatusCode)
		}
		for _, want := range []string{
			"<h1>" + heading + "</h1>", "INR 100.50",
			`<button type="submit" name="decision" value="approve" class="approve">Approve</button>`,
			`<button type="submit" name="decision" value="fail" class="fail">Fail</button>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("ACS page lacks %q:\n%s", want, page)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors *"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "src=") {
			t.Errorf("ACS page loads or runs something:\n%s", page)
		}
		return res
	}
	// decide posts the shopper's decision and returns where they are sent.
	decide := func(t *testing.T, res connector.Result, decision string) string {
		t.Helper()
		resp, err := noRedirects.PostForm(res.Action.URL, url.Values{"decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d, want 303", decision, resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}

	t.Run("3DS approve", func(t *testing.T) {
		p := cardPayment("4000000000003220")
		res := authorize(t, p, "Sandbox 3-D Secure")
		loc := decide(t, res, "approve")
		if want := "https://shop.example/pay/return?session=s1&payment_id=" + res.GatewayRef; loc != want {
			t.Errorf("redirect to %q, want %q", loc, want)
		}
		// The browser's params are not trusted: garbage changes nothing.
		got := c.Complete(ctx, p.TxnID, res.GatewayRef, map[string]string{"status": "failed"})
		wantOutcome(t, "Complete", got, connector.Charged, "succeeded")
		// A replayed decision changes nothing.
		if again := decide(t, res, "fail"); again != loc {
			t.Errorf("replay redirected to %q, want %q", again, loc)
		}
		wantOutcome(t, "Sync after replay", c.Sync(ctx, p.TxnID, res.GatewayRef), connector.Charged, "succeeded")
	})
	t.Run("3DS fail", func(t *testing.T) {
		p := cardPayment("4000000000003220")
		res := authorize(t, p, "Sandbox 3-D Secure")
		decide(t, res, "fail")
		wantOutcome(t, "Complete", c.Complete(ctx, p.TxnID, res.GatewayRef, nil), connector.AuthenticationFailed, "authentication_failed")
		decide(t, res, "approve")
		wantOutcome(t, "Sync after replay", c.Sync(ctx, p.TxnID, res.GatewayRef), connector.AuthenticationFailed, "authentication_failed")
	})
	t.Run("3DS abandoned", func(t *testing.T) {
		p := cardPayment("4000000000003220")
		res := authorize(t, p, "Sandbox 3-D Secure")
		wantOutcome(t, "Complete", c.Complete(ctx, p.TxnID, res.GatewayRef, nil), connector.AuthenticationFailed, "authentication_abandoned")
		decide(t, res, "approve")
		wantOutcome(t, "Sync", c.Sync(ctx, p.TxnID, res.GatewayRef), connector.AuthenticationFailed, "authentication_abandoned")
	})
	t.Run("netbanking", func(t *testing.T) {
		p := connector.Payment{TxnID: newTxnID(), Amount: pay.Money{Amount: 10050, Currency: "INR"},
			MethodType: pay.MethodNB, Method: "NB_HDFC", ReturnURL: "https://shop.example/r"}
		res := authorize(t, p, "Sandbox Netbanking — HDFC Bank")
		decide(t, res, "approve")
		wantOutcome(t, "Complete", c.Complete(ctx, p.TxnID, res.GatewayRef, nil), connector.Charged, "succeeded")
	})
	t.Run("wallet", func(t *testing.T) {
		p := connector.Payment{TxnID: newTxnID(), Amount: pay.Money{Amount: 10050, Currency: "INR"},
			MethodType: pay.MethodWallet, Method: "PAYTM", ReturnURL: "https://shop.example/r"}
		res := authorize(t, p, "Sandbox Wallet — Paytm")
		decide(t, res, "fail")
		wantOutcome(t, "Complete", c.Complete(ctx, p.TxnID, res.GatewayRef, nil), connector.AuthenticationFailed, "authentication_failed")
	})
	t.Run("unknown page", func(t *testing.T) {
		resp, err := http.Get(h.srv.URL + "/sandbox/acs/pay_nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET unknown ACS page: %d, want 404", resp.StatusCode)
		}
	})
}

func TestDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()
	h.configure("A", `{"down":true}`)

	p := cardPayment("4242424242424242")
	wantOutcome(t, "Authorize while down", c.Authorize(ctx, p), connector.Unavailable, "processor_down")
	wantOutcome(t, "Sync while down", c.Sync(ctx, p.TxnID, ""), connector.Unavailable, "processor_down")
	if cnt := h.processor("A").Counters; cnt.Attempts != 0 {
		t.Errorf("counters %+v, want nothing recorded", cnt)
	}
	h.configure("A", `{"down":false}`)
	wantOutcome(t, "Sync when up", c.Sync(ctx, p.TxnID, ""), connector.NotFound, "payment_not_found")
	wantOutcome(t, "Authorize when up", c.Authorize(ctx, p), connector.Charged, "succeeded")

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		dead, err := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: "http://" + addr + "/sandbox", NotifyKey: notifyKey}, account("A"))
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "Authorize", dead.Authorize(ctx, cardPayment("4242424242424242")), connector.Unavailable, "gateway_unreachable")
		if r := dead.Refund(ctx, connector.Refund{RefundID: "r1", TxnID: "t1", Amount: pay.Money{Amount: 1, Currency: "INR"}}); r.Outcome != connector.RefundFailed {
			t.Errorf("Refund: %+v, want FAILURE (not processed)", r)
		}
	})
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	ctx := t.Context()
	h.configure("A", `{"timeout":true}`)
	impatient := h.connectorWith("A", &http.Client{Timeout: 300 * time.Millisecond})

	p := cardPayment("4242424242424242")
	got := impatient.Authorize(ctx, p)
	wantOutcome(t, "Authorize", got, connector.Unknown, "gateway_timeout")
	if got.UnifiedCode != "UE_9000" {
		t.Errorf("UnifiedCode %q, want UE_9000", got.UnifiedCode)
	}
	// Status queries still answer: sync reveals that it charged.
	synced := syncProcessed(t, impatient, p.TxnID)
	wantOutcome(t, "Sync", synced, connector.Charged, "succeeded")
	if cnt := h.processor("A").Counters; cnt.Attempts != 1 || cnt.Charged != 1 {
		t.Errorf("counters %+v, want the one charge", cnt)
	}
	// A declined card times out just the same; sync tells it was declined.
	q := cardPayment("4000000000000002")
	wantOutcome(t, "Authorize declined", impatient.Authorize(ctx, q), connector.Unknown, "")
	wantOutcome(t, "Sync declined", syncProcessed(t, impatient, q.TxnID), connector.DeclinedHard, "do_not_honor")

	// A retry of the same txn after the timeout is over gets the same payment.
	h.configure("A", `{"timeout":false}`)
	if again := h.connector("A").Authorize(ctx, p); again.Outcome != connector.Charged || again.GatewayRef != synced.GatewayRef {
		t.Errorf("retry: %+v, want the charged payment %s", again, synced.GatewayRef)
	}

	t.Run("latency", func(t *testing.T) {
		h.configure("L", `{"latency_ms":400}`)
		lc := h.connectorWith("L", &http.Client{Timeout: 150 * time.Millisecond})
		q := cardPayment("4242424242424242")
		wantOutcome(t, "Authorize", lc.Authorize(ctx, q), connector.Unknown, "")
		start := time.Now()
		// The request was given up during the latency, before processing.
		wantOutcome(t, "Sync", h.connector("L").Sync(ctx, q.TxnID, ""), connector.NotFound, "payment_not_found")
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("Sync took %v, want at least the 400ms latency", d)
		}
	})
	t.Run("Close releases held requests", func(t *testing.T) {
		patient := h.connectorWith("A", &http.Client{})
		h.configure("A", `{"timeout":true}`)
		done := make(chan connector.Result)
		go func() { done <- patient.Authorize(context.Background(), cardPayment("4242424242424242")) }()
		time.Sleep(200 * time.Millisecond)
		h.svc.Close()
		select {
		case got := <-done:
			wantOutcome(t, "Authorize", got, connector.Unknown, "")
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not release a held request")
		}
	})
}

func TestSuccessRate(t *testing.T) {
	t.Parallel()
	const n = 200
	run := func(seed int64) []connector.Outcome {
		h := newHarness(t, seed)
		h.configure("A", `{"success_rate":0.3}`)
		c := h.connector("A")
		out := make([]connector.Outcome, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				p := cardPayment("4111111111111111")
				p.TxnID = "rate-txn-" + strconv.Itoa(i)
				out[i] = c.Authorize(t.Context(), p).Outcome
			})
		}
		wg.Wait()
		if cnt := h.processor("A").Counters; cnt.Attempts != n {
			t.Errorf("seed %d: %d attempts, want %d", seed, cnt.Attempts, n)
		}
		return out
	}
	first := run(42)
	charged := 0
	for _, o := range first {
		switch o {
		case connector.Charged:
			charged++
		case connector.DeclinedHard:
		default:
			t.Fatalf("outcome %s, want CHARGED or DECLINED_HARD", o)
		}
	}
	// Binomial(200, 0.3): mean 60, sd 6.5.
	if charged < 40 || charged > 80 {
		t.Errorf("%d of %d charged at success rate 0.3", charged, n)
	}
	second := run(42)
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("same seed, txn %d: %s then %s", i, first[i], second[i])
		}
	}
	t.Logf("%d of %d charged", charged, n)
}

func TestSuccessRateByMethod(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 7)
	ctx := t.Context()
	h.configure("A", `{"success_rate":1,"success_rate_by_method":{"CARD":0}}`)
	c := h.connector("A")
	wantOutcome(t, "card at 0", c.Authorize(ctx, cardPayment("4111111111111111")), connector.DeclinedHard, "issuer_declined")
	wantOutcome(t, "test card unaffected", c.Authorize(ctx, cardPayment("4242424242424242")), connector.Charged, "")

	// A late success turns a drawn decline into a charge later.
	h.configure("A", `{"late_success_after_ms":200}`)
	p := cardPayment("4111111111111111")
	wantOutcome(t, "late", c.Authorize(ctx, p), connector.DeclinedHard, "issuer_declined")
	waitFor(t, 5*time.Second, func() bool { return c.Sync(ctx, p.TxnID, "").Outcome == connector.Charged })

	h.configure("A", `{"success_rate_by_method":{"CARD":null}}`)
	if v := h.processor("A"); len(v.SuccessRateByMethod) != 0 || v.LateSuccessAfterMS != 200 {
		t.Errorf("after clearing CARD: %+v", v)
	}
}

// syncProcessed syncs a txn whose authorization the client gave up on,
// allowing the sandbox (which finishes what it started) a moment to record
// it on a busy database.
func syncProcessed(t *testing.T, c *sandbox.Connector, txnID string) connector.Result {
	t.Helper()
	var res connector.Result
	waitFor(t, 5*time.Second, func() bool {
		res = c.Sync(t.Context(), txnID, "")
		return res.RespCode != "payment_not_found"
	})
	return res
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
