package pay_test

import (
	"slices"
	"strings"
	"testing"

	"switchyard/server/pay"
)

func validGateway() *pay.GatewayAccount {
	return &pay.GatewayAccount{
		MerchantID: "shop", Name: "sandbox_eu", Connector: "sandbox", Enabled: true,
		Credentials:    map[string]string{"secret_key": "sk_test_1"},
		PaymentMethods: []string{"CARD"}, Currencies: []string{"EUR", "INR"},
		FeePercent: "1.9", FeeFixed: 25, Priority: 10,
	}
}

func TestGatewayAccountValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(g *pay.GatewayAccount)
		want   []string
	}{
		{"OK", func(g *pay.GatewayAccount) {}, nil},
		{"OK/fee 99.9999", func(g *pay.GatewayAccount) { g.FeePercent = "99.9999" }, nil},
		{"OK/no credentials", func(g *pay.GatewayAccount) { g.Credentials = nil }, nil},
		{"OK/several credentials of the largest size", func(g *pay.GatewayAccount) {
			g.Credentials = map[string]string{"a": strings.Repeat("x", 1024), "b": strings.Repeat("y", 1024)}
		}, nil},
		{"ErrName", func(g *pay.GatewayAccount) { g.Name = "sandbox eu" }, []string{"name"}},
		{"ErrNameEmpty", func(g *pay.GatewayAccount) { g.Name = "" }, []string{"name"}},
		{"ErrConnector", func(g *pay.GatewayAccount) { g.Connector = "paypal" }, []string{"connector"}},
		{"ErrConnectorEmpty", func(g *pay.GatewayAccount) { g.Connector = "" }, []string{"connector"}},
		{"ErrConnectorCase", func(g *pay.GatewayAccount) { g.Connector = "SANDBOX" }, []string{"connector"}},
		{"ErrNoMethods", func(g *pay.GatewayAccount) { g.PaymentMethods = nil }, []string{"payment_methods"}},
		{"ErrMethod", func(g *pay.GatewayAccount) { g.PaymentMethods = []string{"CARD", "CASH"} }, []string{"payment_methods"}},
		{"ErrNoCurrencies", func(g *pay.GatewayAccount) { g.Currencies = []string{} }, []string{"currencies"}},
		{"ErrCurrency", func(g *pay.GatewayAccount) { g.Currencies = []string{"EURO"} }, []string{"currencies"}},
		{"ErrFeeHundred", func(g *pay.GatewayAccount) { g.FeePercent = "100" }, []string{"fee_percent"}},
		{"ErrFeeNegative", func(g *pay.GatewayAccount) { g.FeePercent = "-1" }, []string{"fee_percent"}},
		{"ErrFeeExponent", func(g *pay.GatewayAccount) { g.FeePercent = "1e1" }, []string{"fee_percent"}},
		{"ErrFeeDecimals", func(g *pay.GatewayAccount) { g.FeePercent = "1.23456" }, []string{"fee_percent"}},
		{"ErrFeeFixed", func(g *pay.GatewayAccount) { g.FeeFixed = -1 }, []string{"fee_fixed"}},
		{"ErrPriority", func(g *pay.GatewayAccount) { g.Priority = 1001 }, []string{"priority"}},
		{"ErrCredentialValue", func(g *pay.GatewayAccount) {
			g.Credentials = map[string]string{"k": strings.Repeat("x", 1025)}
		}, []string{"credentials"}},
		// Credentials are sealed into a VARBINARY(4096) column; a set that
		// cannot fit must be refused here, naming credentials, rather than
		// fail the INSERT as an internal error.
		{"ErrCredentialsTotal", func(g *pay.GatewayAccount) {
			g.Credentials = map[string]string{}
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				g.Credentials[k] = strings.Repeat("x", 1000)
			}
		}, []string{"credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := validGateway()
			tt.change(g)
			err := g.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the account; want an error naming %q", tt.want)
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
	t.Run("empty fee means 0", func(t *testing.T) {
		g := validGateway()
		g.FeePercent = ""
		if err := g.Validate(); err != nil || g.FeePercent != "0" {
			t.Errorf("Validate = %v, FeePercent = %q", err, g.FeePercent)
		}
	})
}

func TestGatewayAccountSupports(t *testing.T) {
	g := validGateway()
	for _, tt := range []struct {
		method, currency string
		want             bool
	}{{"CARD", "INR", true}, {"CARD", "EUR", true}, {"UPI", "INR", false}, {"CARD", "USD", false}} {
		if got := g.Supports(tt.method, tt.currency); got != tt.want {
			t.Errorf("Supports(%s, %s) = %v, want %v", tt.method, tt.currency, got, tt.want)
		}
	}
	g.Enabled = false
	if g.Supports("CARD", "INR") {
		t.Error("a disabled account supports nothing")
	}
}

func TestRoutingConfigValidate(t *testing.T) {
	gateways := []string{"A", "B", "C"}
	rule := func(r pay.RoutingRule) pay.RoutingConfig {
		c := pay.DefaultRouting()
		c.Rules = []pay.RoutingRule{r}
		return c
	}
	enforceA := pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"A"}}
	tests := []struct {
		name string
		cfg  pay.RoutingConfig
		want []string
	}{
		{"OK/default", pay.DefaultRouting(), nil},
		{"OK/priority", pay.RoutingConfig{Mode: pay.RoutingPriority, Priority: []string{"B", "A"}}, nil},
		{"OK/every kind of rule", pay.RoutingConfig{Mode: pay.RoutingSuccessRate, CostWeight: 0.5, Rules: []pay.RoutingRule{
			{Name: "amex", When: pay.RuleCondition{PaymentMethod: []string{"AMEX"}}, Then: enforceA},
			{Name: "bins", When: pay.RuleCondition{BINRanges: []string{"459000-460000", "45900000-45999999"}},
				Then: pay.RuleAction{Type: pay.ActionPriority, Gateways: []string{"B", "A"}}},
			{Name: "split", When: pay.RuleCondition{PaymentMethodType: []string{"UPI"}, Currency: []string{"INR"},
				AmountMin: "1", AmountMax: "1000.50", UDF: map[string]string{"udf1": "x", "udf10": "y"}},
				Then: pay.RuleAction{Type: pay.ActionSplit, Split: []pay.SplitShare{{"A", 70}, {"B", 30}}}},
			{When: pay.RuleCondition{AmountMin: "5", AmountMax: "5"}, Then: enforceA},
		}}, nil},

		{"ErrMode", pay.RoutingConfig{Mode: "RANDOM"}, []string{"mode"}},
		{"ErrPriorityUnknownGateway", pay.RoutingConfig{Mode: pay.RoutingPriority, Priority: []string{"A", "Z"}}, []string{"priority"}},
		{"ErrPriorityTwice", pay.RoutingConfig{Mode: pay.RoutingPriority, Priority: []string{"A", "A"}}, []string{"priority"}},
		{"ErrCostWeight", pay.RoutingConfig{Mode: pay.RoutingSuccessRate, CostWeight: -1}, []string{"cost_weight"}},
		{"ErrEliminationThreshold", pay.RoutingConfig{Mode: pay.RoutingSuccessRate,
			Elimination: pay.Elimination{Enabled: true, Threshold: 1}}, []string{"elimination.threshold"}},
		{"ErrEliminationSamples", pay.RoutingConfig{Mode: pay.RoutingSuccessRate,
			Elimination: pay.Elimination{MinSamples: -1}}, []string{"elimination.min_samples"}},
		{"ErrRuleUnknownGateway", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"Z"}}}),
			[]string{"rules[0].then.gateways"}},
		{"ErrNamedRuleUnknownGateway", rule(pay.RoutingRule{Name: "cards", Then: pay.RuleAction{Type: pay.ActionPriority, Gateways: []string{"A", "Z"}}}),
			[]string{"rules[0] (cards).then.gateways"}},
		{"ErrRuleNoGateways", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionPriority}}), []string{"rules[0].then.gateways"}},
		{"ErrSplitBelow100", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionSplit,
			Split: []pay.SplitShare{{"A", 50}, {"B", 40}}}}), []string{"rules[0].then.split"}},
		{"ErrSplitAbove100", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionSplit,
			Split: []pay.SplitShare{{"A", 60}, {"B", 60}}}}), []string{"rules[0].then.split"}},
		{"ErrSplitEmpty", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionSplit}}), []string{"rules[0].then.split"}},
		{"ErrSplitZeroShare", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionSplit,
			Split: []pay.SplitShare{{"A", 100}, {"B", 0}}}}), []string{"rules[0].then.split"}},
		{"ErrSplitUnknownGateway", rule(pay.RoutingRule{Then: pay.RuleAction{Type: pay.ActionSplit,
			Split: []pay.SplitShare{{"A", 50}, {"Z", 50}}}}), []string{"rules[0].then.split"}},
		{"ErrActionType", rule(pay.RoutingRule{Then: pay.RuleAction{Type: "ROUND_ROBIN"}}), []string{"rules[0].then.type"}},
		{"ErrBINShort", rule(pay.RoutingRule{When: pay.RuleCondition{BINRanges: []string{"4590-4600"}}, Then: enforceA}),
			[]string{"rules[0].when.bin_ranges"}},
		{"ErrBINReversed", rule(pay.RoutingRule{When: pay.RuleCondition{BINRanges: []string{"460000-459000"}}, Then: enforceA}),
			[]string{"rules[0].when.bin_ranges"}},
		{"ErrBINUnequalLengths", rule(pay.RoutingRule{When: pay.RuleCondition{BINRanges: []string{"459000-4600000"}}, Then: enforceA}),
			[]string{"rules[0].when.bin_ranges"}},
		{"ErrBINNotARange", rule(pay.RoutingRule{When: pay.RuleCondition{BINRanges: []string{"459000"}}, Then: enforceA}),
			[]string{"rules[0].when.bin_ranges"}},
		{"ErrAmountMinAboveMax", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMin: "500", AmountMax: "100"}, Then: enforceA}),
			[]string{"rules[0].when"}},
		{"ErrAmountMinNegative", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMin: "-1"}, Then: enforceA}),
			[]string{"rules[0].when.amount_min"}},
		{"ErrAmountMaxExponent", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMax: "1e3"}, Then: enforceA}),
			[]string{"rules[0].when.amount_max"}},
		// Amount bounds are decimal amounts; float syntax that is not a
		// decimal must be refused like "1e3" is.
		{"ErrAmountMinNaN", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMin: "NaN"}, Then: enforceA}),
			[]string{"rules[0].when.amount_min"}},
		{"ErrAmountMaxInf", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMax: "Inf"}, Then: enforceA}),
			[]string{"rules[0].when.amount_max"}},
		{"ErrAmountMaxHex", rule(pay.RoutingRule{When: pay.RuleCondition{AmountMax: "0x1p4"}, Then: enforceA}),
			[]string{"rules[0].when.amount_max"}},
		{"ErrMethodType", rule(pay.RoutingRule{When: pay.RuleCondition{PaymentMethodType: []string{"COD"}}, Then: enforceA}),
			[]string{"rules[0].when.payment_method_type"}},
		{"ErrCurrency", rule(pay.RoutingRule{When: pay.RuleCondition{Currency: []string{"XYZ"}}, Then: enforceA}),
			[]string{"rules[0].when.currency"}},
		{"ErrUDF", rule(pay.RoutingRule{When: pay.RuleCondition{UDF: map[string]string{"udf11": "x"}}, Then: enforceA}),
			[]string{"rules[0].when.udf"}},
		{"ErrDuplicateRuleName", pay.RoutingConfig{Mode: pay.RoutingSuccessRate, Rules: []pay.RoutingRule{
			{Name: "r", Then: enforceA}, {Name: "r", Then: enforceA},
		}}, []string{"rules[1] (r).name"}},
		{"ErrSecondRule", pay.RoutingConfig{Mode: pay.RoutingSuccessRate, Rules: []pay.RoutingRule{
			{Then: enforceA}, {Then: pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"Q"}}},
		}}, []string{"rules[1].then.gateways"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(gateways)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the config; want an error naming %q", tt.want)
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
	t.Run("no gateways", func(t *testing.T) {
		c := pay.RoutingConfig{Mode: pay.RoutingPriority, Priority: []string{"A"}}
		if got := fieldsOf(t, c.Validate(nil)); !slices.Equal(got, []string{"priority"}) {
			t.Errorf("fields = %q", got)
		}
	})
}
