package routing

import (
	"errors"
	"slices"
	"testing"
	"time"

	"switchyard/server/pay"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func account(name string, prio int, methods []string, currencies ...string) *pay.GatewayAccount {
	return &pay.GatewayAccount{MerchantID: "m", Name: name, Connector: "sandbox", Enabled: true,
		PaymentMethods: methods, Currencies: currencies, FeePercent: "2", Priority: prio}
}

func mustPlan(t testing.TB, cfg pay.RoutingConfig, accts []*pay.GatewayAccount, limits map[string]Limits) *Plan {
	t.Helper()
	p, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: accts, FeeCurrency: "INR", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func names(d *Decision) []string {
	var out []string
	for _, c := range d.List() {
		out = append(out, c.Gateway)
	}
	return out
}

// priorityConfig is PRIORITY mode without elimination: Decide then lists
// exactly the eligible gateways in the default order.
func priorityConfig() pay.RoutingConfig {
	cfg := pay.DefaultRouting()
	cfg.Mode = pay.RoutingPriority
	cfg.Elimination.Enabled = false
	return cfg
}

func TestEligibility(t *testing.T) {
	disabled := account("D", 3, []string{"CARD"}, "INR")
	disabled.Enabled = false
	accts := []*pay.GatewayAccount{
		account("A", 0, []string{"CARD", "UPI"}, "INR"),
		account("B", 1, []string{"CARD"}, "INR", "USD"),
		account("C", 2, []string{"NB", "WALLET"}, "INR"),
		disabled,
		account("E", 4, []string{"CARD"}, "JPY", "BHD"),
	}
	limits := map[string]Limits{
		"B": {Methods: []string{"VISA", "master"}, AmountMax: "1000"},
		"C": {Methods: []string{"NB_HDFC", "PAYTM"}, AmountMin: "100.5"},
		"E": {AmountMin: "1000", AmountMax: "1000.005"},
	}
	p := mustPlan(t, priorityConfig(), accts, limits)
	tests := []struct {
		name string
		in   Input
		want []string
	}{
		{"card INR", Input{MethodType: "CARD", Method: "VISA", Amount: 50000, Currency: "INR"}, []string{"A", "B"}},
		{"brand outside B's list", Input{MethodType: "CARD", Method: "AMEX", Amount: 50000, Currency: "INR"}, []string{"A"}},
		{"MASTER in limits is MASTERCARD", Input{MethodType: "CARD", Method: "MASTERCARD", Amount: 50000, Currency: "INR"}, []string{"A", "B"}},
		{"at B's maximum", Input{MethodType: "CARD", Method: "VISA", Amount: 100000, Currency: "INR"}, []string{"A", "B"}},
		{"a paisa above B's maximum", Input{MethodType: "CARD", Method: "VISA", Amount: 100001, Currency: "INR"}, []string{"A"}},
		{"USD only at B", Input{MethodType: "CARD", Method: "VISA", Amount: 100, Currency: "USD"}, []string{"B"}},
		{"UPI", Input{MethodType: "UPI", Method: "UPI", Amount: 100, Currency: "INR"}, []string{"A"}},
		{"NB bank in C's list at its minimum", Input{MethodType: "NB", Method: "NB_HDFC", Amount: 10050, Currency: "INR"}, []string{"C"}},
		{"NB below C's minimum", Input{MethodType: "NB", Method: "NB_HDFC", Amount: 10049, Currency: "INR"}, nil},
		{"NB bank outside C's list", Input{MethodType: "NB", Method: "NB_SBI", Amount: 20000, Currency: "INR"}, nil},
		{"wallet", Input{MethodType: "WALLET", Method: "PAYTM", Amount: 20000, Currency: "INR"}, []string{"C"}},
		{"unknown method type", Input{MethodType: "CASH", Method: "CASH", Amount: 100, Currency: "INR"}, nil},
		{"unknown currency", Input{MethodType: "CARD", Method: "VISA", Amount: 100, Currency: "XXX"}, nil},
		{"JPY has no decimals: 1000 is in [1000, 1000.005]", Input{MethodType: "CARD", Method: "VISA", Amount: 1000, Currency: "JPY"}, []string{"E"}},
		{"JPY 1001 is above", Input{MethodType: "CARD", Method: "VISA", Amount: 1001, Currency: "JPY"}, nil},
		{"BHD has 3 decimals: 1000.005 is in", Input{MethodType: "CARD", Method: "VISA", Amount: 1000005, Currency: "BHD"}, []string{"E"}},
		{"BHD 1000.006 is above", Input{MethodType: "CARD", Method: "VISA", Amount: 1000006, Currency: "BHD"}, nil},
		{"BHD 999.999 is below", Input{MethodType: "CARD", Method: "VISA", Amount: 999999, Currency: "BHD"}, nil},
	}
	r := New(Options{Seed: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decision
			err := r.Decide(p, &tt.in, t0, &d)
			if got := names(&d); !slices.Equal(got, tt.want) {
				t.Errorf("candidates %v, want %v", got, tt.want)
			}
			if (err != nil) != (len(tt.want) == 0) || (err != nil && !errors.Is(err, ErrNoGateway)) {
				t.Errorf("err = %v", err)
			}
			if err != nil && d.Reason != ReasonNone {
				t.Errorf("reason %s, want %s", d.Reason, ReasonNone)
			}
		})
	}
}

func TestDefaultOrder(t *testing.T) {
	accts := []*pay.GatewayAccount{
		account("z", 0, []string{"CARD"}, "INR"),
		account("y", 5, []string{"CARD"}, "INR"),
		account("x", 5, []string{"CARD"}, "INR"),
		account("w", 9, []string{"CARD"}, "INR"),
	}
	cfg := priorityConfig()
	cfg.Priority = []string{"w", "y"}
	p := mustPlan(t, cfg, accts, nil)
	var d Decision
	in := Input{MethodType: "CARD", Method: "VISA", Amount: 100, Currency: "INR"}
	if err := New(Options{}).Decide(p, &in, t0, &d); err != nil {
		t.Fatal(err)
	}
	// The config's list, then the accounts' priority, then name.
	if got, want := names(&d), []string{"w", "y", "z", "x"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if d.Reason != ReasonPriority || d.Rule != "" {
		t.Errorf("reason %s rule %q", d.Reason, d.Rule)
	}
}

func TestRules(t *testing.T) {
	accts := []*pay.GatewayAccount{
		account("A", 0, []string{"CARD", "UPI", "NB"}, "INR", "USD", "JPY", "BHD"),
		account("B", 1, []string{"CARD", "UPI", "NB"}, "INR", "USD", "JPY", "BHD"),
	}
	enforce := pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"B"}}
	rule := func(name string, when pay.RuleCondition) pay.RoutingRule {
		return pay.RoutingRule{Name: name, When: when, Then: enforce}
	}
	card := func(brand, bin string, amount int64, currency string) Input {
		return Input{MethodType: "CARD", Method: brand, CardBIN: bin, Amount: amount, Currency: currency}
	}
	udf := func(in Input, i int, v string) Input { in.UDF[i-1] = v; return in }
	tests := []struct {
		name  string
		rules []pay.RoutingRule
		in    Input
		want  string // the rule that matched, "" for none
	}{
		{"no rules", nil, card("VISA", "411111", 100, "INR"), ""},
		{"empty condition matches all", []pay.RoutingRule{rule("all", pay.RuleCondition{})}, card("VISA", "411111", 100, "INR"), "all"},
		{"first match wins", []pay.RoutingRule{rule("one", pay.RuleCondition{}), rule("two", pay.RuleCondition{})}, card("VISA", "", 100, "INR"), "one"},
		{"unnamed rule is named by position", []pay.RoutingRule{rule("", pay.RuleCondition{Currency: []string{"USD"}}), rule("", pay.RuleCondition{})}, card("VISA", "", 100, "INR"), "rules[1]"},
		{"method type", []pay.RoutingRule{rule("nb", pay.RuleCondition{PaymentMethodType: []string{"NB", "UPI"}})}, Input{MethodType: "UPI", Method: "UPI", Amount: 1, Currency: "INR"}, "nb"},
		{"method type misses", []pay.RoutingRule{rule("nb", pay.RuleCondition{PaymentMethodType: []string{"NB"}})}, card("VISA", "", 1, "INR"), ""},
		{"brand, case-insensitive in the rule", []pay.RoutingRule{rule("amex", pay.RuleCondition{PaymentMethod: []string{"amex"}})}, card("AMEX", "371449", 1, "INR"), "amex"},
		{"MASTER means MASTERCARD", []pay.RoutingRule{rule("mc", pay.RuleCondition{PaymentMethod: []string{"MASTER"}})}, card("MASTERCARD", "510510", 1, "INR"), "mc"},
		{"brand misses", []pay.RoutingRule{rule("amex", pay.RuleCondition{PaymentMethod: []string{"AMEX"}})}, card("VISA", "411111", 1, "INR"), ""},
		{"bank code", []pay.RoutingRule{rule("hdfc", pay.RuleCondition{PaymentMethod: []string{"NB_HDFC"}})}, Input{MethodType: "NB", Method: "NB_HDFC", Amount: 1, Currency: "INR"}, "hdfc"},
		{"6-digit BIN range, low end", []pay.RoutingRule{rule("bin", pay.RuleCondition{BINRanges: []string{"459000-460000"}})}, card("VISA", "45900012", 1, "INR"), "bin"},
		{"6-digit BIN range, high end", []pay.RoutingRule{rule("bin", pay.RuleCondition{BINRanges: []string{"459000-460000"}})}, card("VISA", "460000", 1, "INR"), "bin"},
		{"6-digit BIN range, above", []pay.RoutingRule{rule("bin", pay.RuleCondition{BINRanges: []string{"459000-460000"}})}, card("VISA", "460001", 1, "INR"), ""},
		{"second of two ranges", []pay.RoutingRule{rule("bin", pay.RuleCondition{BINRanges: []string{"400000-400999", "459000-460000"}})}, card("VISA", "459500", 1, "INR"), "bin"},
		{"8-digit range on 8 digits", []pay.RoutingRule{rule("bin8", pay.RuleCondition{BINRanges: []string{"52000000-52000099"}})}, card("MASTERCARD", "52000042", 1, "INR"), "bin8"},
		{"8-digit range outside", []pay.RoutingRule{rule("bin8", pay.RuleCondition{BINRanges: []string{"52000000-52000099"}})}, card("MASTERCARD", "52000100", 1, "INR"), ""},
		{"8-digit range, only 6 digits known", []pay.RoutingRule{rule("bin8", pay.RuleCondition{BINRanges: []string{"52000000-52000099"}})}, card("MASTERCARD", "520000", 1, "INR"), ""},
		{"BIN range, no BIN", []pay.RoutingRule{rule("bin", pay.RuleCondition{BINRanges: []string{"459000-460000"}})}, Input{MethodType: "UPI", Method: "UPI", Amount: 1, Currency: "INR"}, ""},
		{"amount in range", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMin: "1000", AmountMax: "5000.5"})}, card("VISA", "", 500050, "INR"), "amt"},
		{"amount a paisa above", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMin: "1000", AmountMax: "5000.5"})}, card("VISA", "", 500051, "INR"), ""},
		{"amount at minimum", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMin: "1000"})}, card("VISA", "", 100000, "INR"), "amt"},
		{"amount a paisa below minimum", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMin: "1000"})}, card("VISA", "", 99999, "INR"), ""},
		{"decimal bounds compare exactly", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMin: "0.3", AmountMax: "0.3"})}, card("VISA", "", 30, "INR"), "amt"},
		{"amount in JPY (no decimals)", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMax: "999.999"})}, card("VISA", "", 1000, "JPY"), ""},
		{"amount in BHD (3 decimals)", []pay.RoutingRule{rule("amt", pay.RuleCondition{AmountMax: "0.001"})}, card("VISA", "", 1, "BHD"), "amt"},
		{"currency", []pay.RoutingRule{rule("usd", pay.RuleCondition{Currency: []string{"USD"}})}, card("VISA", "", 1, "USD"), "usd"},
		{"currency misses", []pay.RoutingRule{rule("usd", pay.RuleCondition{Currency: []string{"USD"}})}, card("VISA", "", 1, "INR"), ""},
		{"udf", []pay.RoutingRule{rule("vip", pay.RuleCondition{UDF: map[string]string{"udf1": "vip", "udf10": "x"}})}, udf(udf(card("VISA", "", 1, "INR"), 1, "vip"), 10, "x"), "vip"},
		{"udf must all hold", []pay.RoutingRule{rule("vip", pay.RuleCondition{UDF: map[string]string{"udf1": "vip", "udf10": "x"}})}, udf(card("VISA", "", 1, "INR"), 1, "vip"), ""},
		{"udf is case-sensitive", []pay.RoutingRule{rule("vip", pay.RuleCondition{UDF: map[string]string{"udf2": "vip"}})}, udf(card("VISA", "", 1, "INR"), 2, "VIP"), ""},
		{"every condition must hold", []pay.RoutingRule{
			rule("combo", pay.RuleCondition{PaymentMethodType: []string{"CARD"}, PaymentMethod: []string{"VISA"}, Currency: []string{"INR"}, AmountMax: "10"}),
			rule("rest", pay.RuleCondition{}),
		}, card("VISA", "", 1001, "INR"), "rest"},
	}
	r := New(Options{Seed: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := priorityConfig()
			cfg.Rules = tt.rules
			p := mustPlan(t, cfg, accts, nil)
			var d Decision
			if err := r.Decide(p, &tt.in, t0, &d); err != nil {
				t.Fatal(err)
			}
			if d.Rule != tt.want {
				t.Errorf("rule %q, want %q", d.Rule, tt.want)
			}
			if tt.want != "" && (d.Reason != ReasonEnforced || !slices.Equal(names(&d), []string{"B"})) {
				t.Errorf("reason %s, candidates %v; want ENFORCED_RULE to B", d.Reason, names(&d))
			}
		})
	}
}

func TestNewPlanErrors(t *testing.T) {
	accts := []*pay.GatewayAccount{account("A", 0, []string{"CARD"}, "INR")}
	t.Run("ErrInvalidConfig", func(t *testing.T) {
		cfg := pay.DefaultRouting()
		cfg.Rules = []pay.RoutingRule{{Name: "x", Then: pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"nope"}}}}
		_, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: accts})
		if pay.ErrorCode(err) != pay.EINVALID {
			t.Errorf("err = %v, want the config's validation error", err)
		}
	})
	t.Run("ErrNoConfig", func(t *testing.T) {
		if _, err := NewPlan(Setup{MerchantID: "m", Gateways: accts}); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrFee", func(t *testing.T) {
		bad := account("A", 0, []string{"CARD"}, "INR")
		bad.FeePercent = "abc"
		cfg := pay.DefaultRouting()
		if _, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: []*pay.GatewayAccount{bad}}); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrLimits", func(t *testing.T) {
		cfg := pay.DefaultRouting()
		for _, bad := range []string{"-1", "1.2345", "1e3", "1,5", ".5", "5."} {
			if _, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: accts, Limits: map[string]Limits{"A": {AmountMax: bad}}}); err == nil {
				t.Errorf("amount %q: no error", bad)
			}
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		cfg := pay.DefaultRouting()
		two := []*pay.GatewayAccount{accts[0], account("A", 1, []string{"UPI"}, "INR")}
		if _, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: two}); err == nil {
			t.Error("no error")
		}
	})
}

func TestLimitAmount(t *testing.T) {
	for s, want := range map[string]int64{"": -1, "0": 0, "1": 1000, "1.5": 1500, "1.05": 1050, "1.005": 1005, "9999999999999.999": 9999999999999999} {
		if got, err := limitAmount(s); err != nil || got != want {
			t.Errorf("limitAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}
