package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/pay"
)

func (h *harness) rails() connector.PayoutRails {
	h.t.Helper()
	r, err := sandbox.PayoutRails(sandbox.ConnectorConfig{BaseURL: h.srv.URL + "/sandbox"})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) putRail(name, body string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+"/sandbox/v1/payout-rails/"+name, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type railView struct {
	SuccessRate float64 `json:"success_rate"`
	Down        bool    `json:"down"`
	PendingMS   int     `json:"pending_ms"`
	Counters    struct {
		Attempts   int64 `json:"attempts"`
		Succeeded  int64 `json:"succeeded"`
		AmountPaid int64 `json:"amount_paid"`
		Failed     int64 `json:"failed"`
		Pending    int64 `json:"pending"`
	} `json:"counters"`
}

func (h *harness) rail(name string) railView {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/sandbox/v1/payout-rails/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var v railView
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
		h.t.Fatalf("GET rail %s: %d %v", name, res.StatusCode, err)
	}
	return v
}

var account1 = pay.Beneficiary{Type: pay.BeneficiaryAccountIFSC,
	Details: map[string]string{"name": "A", "account": "026291800001191", "ifsc": "YESB0000262"}}

// A rail pays an attempt once however often it is asked, reveals a pending
// outcome when it is due, and counts what it paid.
func TestPayoutRailIdempotentAndPending(t *testing.T) {
	h := newHarness(t, 1)
	rails := h.rails()
	if code, body := h.putRail("SANDBOX_IMPS", `{"pending_ms": 300}`); code != 200 {
		t.Fatalf("configure: %d %s", code, body)
	}
	imps := rails["SANDBOX_IMPS"]
	p := connector.Payout{AttemptID: "po1-f1-t1", Amount: pay.Money{Amount: 1500, Currency: "INR"}, Beneficiary: account1}
	if r := imps.Initiate(t.Context(), p); r.Outcome != connector.PayoutPending || r.GatewayRef == "" {
		t.Fatalf("initiate: %+v", r)
	}
	if r := imps.Initiate(t.Context(), p); r.Outcome != connector.PayoutPending {
		t.Fatalf("initiate again: %+v", r)
	}
	if r := imps.Status(t.Context(), "po1-f1-t1"); r.Outcome != connector.PayoutPending {
		t.Fatalf("status before due: %+v", r)
	}
	time.Sleep(350 * time.Millisecond)
	if r := imps.Status(t.Context(), "po1-f1-t1"); r.Outcome != connector.PayoutSucceeded || r.RespCode != "00" {
		t.Fatalf("status when due: %+v", r)
	}
	if r := imps.Status(t.Context(), "po1-f1-t9"); r.Outcome != connector.PayoutNotFound {
		t.Fatalf("status of an unknown attempt: %+v", r)
	}
	c := h.rail("SANDBOX_IMPS").Counters
	if c.Attempts != 1 || c.Succeeded != 1 || c.AmountPaid != 1500 {
		t.Fatalf("counters %+v", c)
	}
	// The same attempt id with another amount is refused, not paid.
	p.Amount.Amount = 9999
	if r := imps.Initiate(t.Context(), p); r.Outcome == connector.PayoutSucceeded || r.Outcome == connector.PayoutPending {
		t.Fatalf("a reused attempt id with another amount: %+v", r)
	}
}

// A rail refuses beneficiaries it cannot credit, before paying anything.
func TestPayoutRailValidatesBeneficiary(t *testing.T) {
	h := newHarness(t, 1)
	rails := h.rails()
	cases := []struct {
		rail string
		b    pay.Beneficiary
	}{
		{"SANDBOX_IMPS", pay.Beneficiary{Type: pay.BeneficiaryAccountIFSC, Details: map[string]string{"account": "026291800001191", "ifsc": "YESB000026"}}},
		{"SANDBOX_NEFT", pay.Beneficiary{Type: pay.BeneficiaryAccountIFSC, Details: map[string]string{"account": "12-34", "ifsc": "YESB0000262"}}},
		{"SANDBOX_UPI", pay.Beneficiary{Type: pay.BeneficiaryUPI, Details: map[string]string{"vpa": "no-handle"}}},
		{"SANDBOX_UPI", account1},
	}
	for i, c := range cases {
		r := rails[c.rail].Initiate(t.Context(), connector.Payout{AttemptID: "bad-" + string(rune('a'+i)),
			Amount: pay.Money{Amount: 100, Currency: "INR"}, Beneficiary: c.b})
		if r.Outcome != connector.PayoutFailed || r.RespCode != "INVALID_BENEFICIARY" {
			t.Errorf("%s %+v: %+v, want FAILURE INVALID_BENEFICIARY", c.rail, c.b, r)
		}
	}
	for _, name := range []string{"SANDBOX_IMPS", "SANDBOX_NEFT", "SANDBOX_UPI"} {
		if c := h.rail(name).Counters; c.Attempts != 0 {
			t.Errorf("%s recorded refused payouts: %+v", name, c)
		}
	}
}

// A rail that is down processes nothing (UNAVAILABLE); its control API
// refuses bad settings naming the field.
func TestPayoutRailControl(t *testing.T) {
	h := newHarness(t, 1)
	rails := h.rails()
	if code, _ := h.putRail("SANDBOX_NEFT", `{"down": true, "success_rate": 0.25}`); code != 200 {
		t.Fatal(code)
	}
	r := rails["SANDBOX_NEFT"].Initiate(t.Context(), connector.Payout{AttemptID: "d1", Amount: pay.Money{Amount: 100, Currency: "INR"}, Beneficiary: account1})
	if r.Outcome != connector.PayoutUnavailable || r.RespCode != "rail_down" {
		t.Fatalf("initiate on a down rail: %+v", r)
	}
	if v := h.rail("SANDBOX_NEFT"); !v.Down || v.SuccessRate != 0.25 || v.Counters.Attempts != 0 {
		t.Fatalf("rail %+v", v)
	}
	for _, c := range []struct{ body, field string }{
		{`{"success_rate": 1.5}`, "success_rate"},
		{`{"latency_ms": -1}`, "latency_ms"},
		{`{"pending_ms": 100000000}`, "pending_ms"},
		{`{"flaky": true}`, "flaky"},
	} {
		if code, body := h.putRail("SANDBOX_NEFT", c.body); code != 400 || !strings.Contains(body, c.field) {
			t.Errorf("PUT %s: %d %s", c.body, code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/sandbox/v1/payout-rails/SANDBOX_NEFT", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without the admin token: %d", res.StatusCode)
	}
}
