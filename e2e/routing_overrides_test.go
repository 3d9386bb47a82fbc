package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestRoutingOverrides: gateway_id and order.metadata.JUSPAY:gateway_reference_id
// force one gateway account — the worst one here, last in the merchant's
// priority — which is then the only candidate: no rule or estimate applies,
// and when it is down the txn fails rather than go to another account.
// An unknown or disabled account is refused with 400 naming gateway_id,
// before any gateway is called.
func TestRoutingOverrides(t *testing.T) {
	t.Parallel()
	s := bootRouting(t)
	sh := newRoutingShop(t, s, "rt_ovr", routingGW{"ovr_a", 0.9}, routingGW{"ovr_b", 0.6}, routingGW{"ovr_c", 0.3})
	sh.putRouting(t, `{"mode": "PRIORITY", "priority": ["ovr_a", "ovr_b", "ovr_c"],
		"elimination": {"enabled": true, "threshold": 0.05, "min_samples": 20}}`).want(t, http.StatusOK)
	const worst = "ovr_c"
	byGatewayID := url.Values{"gateway_id": {worst}}
	byReference := url.Values{"order.metadata.JUSPAY:gateway_reference_id": {worst}}

	// Unforced, the merchant's priority leads with ovr_a.
	x := sh.one(t, "ovr_plain", routingCardByRate, nil)
	if want := []string{"ovr_a", "ovr_b", "ovr_c"}; !slices.Equal(x.Candidates(), want) || x.Routing.Decision.Reason != "PRIORITY_LOGIC" {
		t.Fatalf("unforced txn: decision %s %v, want PRIORITY_LOGIC %v", x.Routing.Decision.Reason, x.Candidates(), want)
	}
	var txns []routingTxn
	txns = append(txns, x)

	wantForced := func(x routingTxn, how string) {
		t.Helper()
		d := &x.Routing.Decision
		if d.Reason != "FORCED_GATEWAY" || !slices.Equal(x.Candidates(), []string{worst}) || x.Gateway != worst ||
			len(x.Routing.Attempts) != 1 {
			t.Errorf("txn forced to %s by %s: %s; want FORCED_GATEWAY, %s the only candidate and the only attempt", worst, how, &x, worst)
		}
	}
	for i := range 4 {
		x := sh.one(t, fmt.Sprintf("ovr_gid_%d", i), routingCardByRate, byGatewayID)
		wantForced(x, "gateway_id")
		txns = append(txns, x)
		x = sh.one(t, fmt.Sprintf("ovr_ref_%d", i), routingCardByRate, byReference)
		wantForced(x, "metadata.JUSPAY:gateway_reference_id")
		txns = append(txns, x)
	}

	// Forced to a down account, the txn fails: the override enforces one
	// account, there is no fallback.
	sh.configure(t, worst, `{"down": true}`)
	var failed []routingTxn
	for _, c := range []struct {
		how   string
		extra url.Values
	}{{"gateway_id", byGatewayID}, {"metadata.JUSPAY:gateway_reference_id", byReference}} {
		x := sh.one(t, "ovr_down_"+strings.ReplaceAll(c.how, ":", "_"), routingCardOK, c.extra)
		wantForced(x, c.how)
		if x.Status != "AUTHORIZATION_FAILED" || x.ErrorCode != "GATEWAY_UNAVAILABLE" || !slices.Equal(x.Tried(), []string{worst + ":UNAVAILABLE"}) {
			t.Errorf("txn forced by %s to a down account: %s; want AUTHORIZATION_FAILED (GATEWAY_UNAVAILABLE) after one attempt at %s", c.how, &x, worst)
		}
		failed = append(failed, x)
	}
	sh.configure(t, worst, `{"down": false}`)
	for _, x := range failed {
		if at := sh.knownAt(t, x.TxnID); len(at) != 0 {
			t.Errorf("txn %s, forced to a down account, is known at %v", x.TxnID, at)
		}
	}
	txns = append(txns, failed...)

	// Unknown and disabled accounts are refused before any gateway call.
	before := sh.allCounters(t)
	refused := func(orderID string, extra url.Values, name string) {
		t.Helper()
		r, err := sh.payRaw(nil, orderID, routingCardOK, extra)
		if err != nil {
			t.Fatal(err)
		}
		e := wantError(t, r, http.StatusBadRequest)
		fields := routingFields(t, r)
		if _, ok := fields["gateway_id"]; !ok || !strings.Contains(e.ErrorMessage, name) {
			t.Errorf("forcing %q: error %s (fields %v), want one naming gateway_id and %q", name, e.ErrorMessage, fields, name)
		}
		var o struct {
			Status string `json:"status"`
			TxnID  string `json:"txn_id"`
		}
		sh.s.get(t, "/orders/"+orderID, sh.key).want(t, http.StatusOK).decode(t, &o)
		if o.Status != "NEW" || o.TxnID != "" {
			t.Errorf("order %s after a refused override: %s with txn %q, want NEW without a txn", orderID, o.Status, o.TxnID)
		}
	}
	refused("ovr_unknown_gid", url.Values{"gateway_id": {"ovr_nope"}}, "ovr_nope")
	refused("ovr_unknown_ref", url.Values{"order.metadata.JUSPAY:gateway_reference_id": {"ovr_nope"}}, "ovr_nope")
	sh.s.do(t, http.MethodPut, "/admin/v1/merchants/"+sh.id+"/gateways/ovr_b", bearer(adminToken), "application/json",
		`{"connector": "sandbox", "enabled": false, "credentials": {"processor": "`+sh.proc["ovr_b"]+`"},
		  "payment_methods": ["CARD"], "currencies": ["INR"], "priority": 1}`).want(t, http.StatusOK)
	refused("ovr_disabled", url.Values{"gateway_id": {"ovr_b"}}, "ovr_b")
	if after := sh.allCounters(t); after != before {
		t.Errorf("refused overrides reached a processor: counters %+v, before %+v", after, before)
	}
	// The disabled account is no candidate of unforced txns either.
	x = sh.one(t, "ovr_after_disable", routingCardByRate, nil)
	if want := []string{"ovr_a", "ovr_c"}; !slices.Equal(x.Candidates(), want) {
		t.Errorf("txn after ovr_b was disabled: candidates %v, want %v", x.Candidates(), want)
	}
	txns = append(txns, x)
	sh.checkBooks(t, txns)
}
