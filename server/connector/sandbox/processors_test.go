package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"switchyard/server/connector/sandbox"
	"switchyard/server/storetest"
)

func TestControlAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)

	t.Run("ErrUnauthorized", func(t *testing.T) {
		for _, token := range []string{"", "wrong", adminToken + "x"} {
			for _, method := range []string{http.MethodPut, http.MethodGet} {
				if status, _ := h.admin(method, "A", `{"down":true}`, token); status != http.StatusUnauthorized {
					t.Errorf("%s with token %q: %d, want 401", method, token, status)
				}
			}
		}
		if h.processor("A").Down {
			t.Error("an unauthorized PUT took effect")
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tc := range []struct{ body, field string }{
			{`{"success_rate":1.5}`, "success_rate"},
			{`{"success_rate":-0.1}`, "success_rate"},
			{`{"three_ds":"sometimes"}`, "three_ds"},
			{`{"latency_ms":-1}`, "latency_ms"},
			{`{"latency_ms":"fast"}`, "latency_ms"},
			{`{"late_success_after_ms":-5}`, "late_success_after_ms"},
			{`{"success_rate_by_method":{"CASH":0.5}}`, "success_rate_by_method.CASH"},
			{`{"success_rate_by_method":{"UPI":2}}`, "success_rate_by_method.UPI"},
			{`{"down":"yes"}`, "down"},
			{`{"sucess_rate":0.5}`, "sucess_rate"},
		} {
			status, out := h.admin(http.MethodPut, "A", tc.body, adminToken)
			var e struct {
				ErrorCode    string `json:"error_code"`
				ErrorMessage string `json:"error_message"`
				Fields       []struct{ Field, Reason string }
			}
			json.Unmarshal(out, &e)
			if status != http.StatusBadRequest || len(e.Fields) == 0 || e.Fields[0].Field != tc.field ||
				!strings.Contains(e.ErrorMessage, tc.field) {
				t.Errorf("PUT %s: %d %s, want 400 naming %s", tc.body, status, out, tc.field)
			}
		}
		if status, _ := h.admin(http.MethodPut, "bad%20name", `{}`, adminToken); status != http.StatusBadRequest {
			t.Errorf("bad processor name: %d, want 400", status)
		}
		if v := h.processor("A"); v.SuccessRate != 1 || v.ThreeDS != "by_card" {
			t.Errorf("a refused PUT took effect: %+v", v)
		}
	})

	t.Run("defaults and partial updates", func(t *testing.T) {
		v := h.processor("Fresh")
		if v.SuccessRate != 1 || v.LatencyMS != 0 || v.ThreeDS != "by_card" || v.Down || v.Timeout ||
			v.LateSuccessAfterMS != 0 || len(v.SuccessRateByMethod) != 0 || v.Counters != (counters{}) {
			t.Errorf("new processor %+v, want the defaults", v)
		}
		h.configure("Fresh", `{"success_rate":0.25,"success_rate_by_method":{"UPI":0.5,"NB":0.75},"latency_ms":5,"three_ds":"never"}`)
		h.configure("Fresh", `{"latency_ms":7,"success_rate_by_method":{"NB":null}}`)
		v = h.processor("Fresh")
		if v.SuccessRate != 0.25 || v.LatencyMS != 7 || v.ThreeDS != "never" ||
			len(v.SuccessRateByMethod) != 1 || v.SuccessRateByMethod["UPI"] != 0.5 {
			t.Errorf("after partial updates %+v", v)
		}
	})

	t.Run("processors are created on first payment", func(t *testing.T) {
		c := h.connector("Implicit")
		c.Authorize(t.Context(), cardPayment("4242424242424242"))
		if cnt := h.processor("Implicit").Counters; cnt.Attempts != 1 || cnt.Charged != 1 || cnt.AmountCharged != 10050 {
			t.Errorf("counters %+v", cnt)
		}
	})
}

func TestNewServiceErrors(t *testing.T) {
	if _, err := sandbox.NewService(sandbox.ServiceConfig{AdminToken: "x"}); err == nil {
		t.Error("no DB: accepted")
	}
	db, err := sqlx.Open("mysql", storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sandbox.NewService(sandbox.ServiceConfig{DB: db}); err == nil {
		t.Error("no admin token: accepted")
	}
	svc, err := sandbox.NewService(sandbox.ServiceConfig{DB: db, AdminToken: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Close without Start, twice, and Start after Close: all harmless.
	svc.Close()
	svc.Close()
	svc.Start(t.Context())
}
