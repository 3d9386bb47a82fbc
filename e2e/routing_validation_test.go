package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRoutingValidation: PUT routing refuses configs naming unknown
// gateways, rules that contradict themselves or each other, splits not
// summing to 100 and malformed BIN ranges with 400, error_info.fields naming
// the rule at fault ("rules[1] (name).then.split") and every problem at
// once; a refused config leaves the stored one as it was. Fields a PUT
// leaves out take their defaults.
func TestRoutingValidation(t *testing.T) {
	t.Parallel()
	s := bootRouting(t)
	sh := newRoutingShop(t, s, "rt_val", routingGW{"val_a", 0.9}, routingGW{"val_b", 0.6}, routingGW{"val_c", 0.3})

	// PUT replaces the config; what it leaves out takes the default, so
	// elimination stays on.
	var cfg struct {
		Priority    []string          `json:"priority"`
		Rules       []json.RawMessage `json:"rules"`
		Elimination struct {
			Enabled    bool    `json:"enabled"`
			Threshold  float64 `json:"threshold"`
			MinSamples int     `json:"min_samples"`
		} `json:"elimination"`
	}
	sh.putRouting(t, `{"mode": "PRIORITY"}`).want(t, http.StatusOK).decode(t, &cfg)
	if e := cfg.Elimination; !e.Enabled || e.Threshold != 0.05 || e.MinSamples != 20 || cfg.Priority == nil || cfg.Rules == nil {
		t.Errorf("PUT routing {mode: PRIORITY} stored %+v; want elimination on with its defaults (0.05, 20), no priority, no rules", cfg)
	}

	good := `{"mode": "SUCCESS_RATE", "priority": ["val_a"], "cost_weight": 0.5,
		"elimination": {"enabled": true, "threshold": 0.1, "min_samples": 20},
		"rules": [{"name": "split", "when": {"bin_ranges": ["424242-424242"], "amount_min": "1", "amount_max": "1000.50"},
		           "then": {"type": "SPLIT", "split": [{"gateway": "val_a", "percent": 70}, {"gateway": "val_b", "percent": 30}]}}]}`
	stored := sh.putRouting(t, good).want(t, http.StatusOK).Body
	if got := sh.s.get(t, "/admin/v1/merchants/"+sh.id+"/routing", bearer(adminToken)).want(t, http.StatusOK).Body; !jsonEqual(got, stored) {
		t.Fatalf("GET routing %s, PUT answered %s", got, stored)
	}

	// rule wraps one rule as the second of a config, after a valid one, so
	// that the index in the field names is checked too.
	rule := func(r string) string {
		return `{"mode": "SUCCESS_RATE", "rules": [
		  {"name": "fine", "when": {"payment_method_type": ["CARD"]}, "then": {"type": "PRIORITY", "gateways": ["val_c"]}}, ` + r + `]}`
	}
	for _, c := range []struct {
		name string
		body string
		// want maps field names to a fragment of their reason.
		want map[string]string
	}{
		{"unknown gateway in a rule",
			rule(`{"name": "nowhere", "then": {"type": "ENFORCE", "gateways": ["val_a", "val_nope"]}}`),
			map[string]string{"rules[1] (nowhere).then.gateways": "val_nope"}},
		{"unknown gateway in a split",
			rule(`{"name": "ghost", "then": {"type": "SPLIT", "split": [{"gateway": "val_a", "percent": 50}, {"gateway": "val_ghost", "percent": 50}]}}`),
			map[string]string{"rules[1] (ghost).then.split": "val_ghost"}},
		{"unknown gateway in the priority list",
			`{"mode": "PRIORITY", "priority": ["val_a", "val_nope"]}`,
			map[string]string{"priority": "val_nope"}},
		{"split summing to 90",
			rule(`{"name": "ninety", "then": {"type": "SPLIT", "split": [{"gateway": "val_a", "percent": 60}, {"gateway": "val_b", "percent": 30}]}}`),
			map[string]string{"rules[1] (ninety).then.split": "90"}},
		{"split summing to 110, unnamed rule",
			`{"mode": "SUCCESS_RATE", "rules": [{"then": {"type": "SPLIT", "split": [{"gateway": "val_a", "percent": 80}, {"gateway": "val_b", "percent": 30}]}}]}`,
			map[string]string{"rules[0].then.split": "110"}},
		{"bad BIN range",
			rule(`{"name": "bins", "when": {"bin_ranges": ["123-45"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (bins).when.bin_ranges": "123-45"}},
		{"BIN range low above high",
			rule(`{"name": "upside-down", "when": {"bin_ranges": ["411199-411100"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (upside-down).when.bin_ranges": "411199-411100"}},
		{"BIN range bounds of different lengths",
			rule(`{"name": "lengths", "when": {"bin_ranges": ["411100-41119999"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (lengths).when.bin_ranges": "411100-41119999"}},
		{"amount_min above amount_max",
			rule(`{"name": "amounts", "when": {"amount_min": "500", "amount_max": "100"}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (amounts).when": "amount_min"}},
		{"a gateway listed twice",
			rule(`{"name": "twice", "then": {"type": "PRIORITY", "gateways": ["val_a", "val_a"]}}`),
			map[string]string{"rules[1] (twice).then.gateways": "twice"}},
		{"two rules of one name",
			`{"mode": "SUCCESS_RATE", "rules": [
			  {"name": "dup", "then": {"type": "ENFORCE", "gateways": ["val_a"]}},
			  {"name": "dup", "then": {"type": "ENFORCE", "gateways": ["val_b"]}}]}`,
			map[string]string{"rules[1] (dup).name": "another rule"}},
		{"ENFORCE with no gateway",
			rule(`{"name": "empty", "then": {"type": "ENFORCE", "gateways": []}}`),
			map[string]string{"rules[1] (empty).then.gateways": "at least one"}},
		{"unknown action",
			rule(`{"name": "what", "then": {"type": "ROUND_ROBIN", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (what).then.type": "SPLIT"}},
		// A rule whose conditions cannot hold together never matches, as
		// one with amount_min above amount_max.
		{"unknown payment method",
			rule(`{"name": "typo", "when": {"payment_method": ["VISAA"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (typo).when.payment_method": "VISAA"}},
		{"payment method of another type",
			rule(`{"name": "upi-visa", "when": {"payment_method_type": ["UPI"], "payment_method": ["VISA"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (upi-visa).when.payment_method": "VISA"}},
		{"BIN ranges on a rule for no card",
			rule(`{"name": "upi-bins", "when": {"payment_method_type": ["UPI"], "bin_ranges": ["411100-411199"]}, "then": {"type": "ENFORCE", "gateways": ["val_a"]}}`),
			map[string]string{"rules[1] (upi-bins).when.bin_ranges": "CARD"}},
		{"every problem at once",
			`{"mode": "FASTEST", "rules": [
			  {"name": "one", "when": {"bin_ranges": ["123-45"]}, "then": {"type": "ENFORCE", "gateways": ["val_nope"]}},
			  {"name": "two", "when": {"amount_min": "9", "amount_max": "1"}, "then": {"type": "SPLIT", "split": [{"gateway": "val_a", "percent": 90}]}}]}`,
			map[string]string{"mode": "", "rules[0] (one).when.bin_ranges": "123-45", "rules[0] (one).then.gateways": "val_nope",
				"rules[1] (two).when": "amount_min", "rules[1] (two).then.split": "90"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh.putRouting(t, good).want(t, http.StatusOK)
			r := sh.putRouting(t, c.body)
			e := wantError(t, r, http.StatusBadRequest)
			fields := routingFields(t, r)
			for f, frag := range c.want {
				reason, ok := fields[f]
				if !ok || !strings.Contains(reason, frag) {
					t.Errorf("error_info.fields %v: want %q with a reason mentioning %q", fields, f, frag)
				}
			}
			if len(fields) != len(c.want) {
				t.Errorf("error_info.fields %v, want exactly %d", fields, len(c.want))
			}
			// The message names the rule too.
			first := strings.SplitN(e.ErrorMessage, ":", 2)[0]
			if _, ok := c.want[first]; !ok {
				t.Errorf("error_message %q does not start with a field at fault", e.ErrorMessage)
			}
			// A refused config leaves the stored one as it was.
			if got := sh.s.get(t, "/admin/v1/merchants/"+sh.id+"/routing", bearer(adminToken)).want(t, http.StatusOK).Body; !jsonEqual(got, stored) {
				t.Errorf("after the refused PUT the routing config is %s, want it unchanged: %s", got, stored)
			}
		})
	}
	// Nor does an unknown merchant get one.
	wantError(t, sh.s.do(t, http.MethodPut, "/admin/v1/merchants/rt_val_nope/routing", bearer(adminToken), "application/json", good),
		http.StatusNotFound)
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
