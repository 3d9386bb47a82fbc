package pay

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GatewayAccount is one merchant's account at one gateway (a connector plus
// the credentials and limits of that account). A merchant may hold several
// accounts of the same connector under different names.
type GatewayAccount struct {
	MerchantID string
	// Name identifies the account within the merchant ("stripe_eu", "A").
	Name      string
	Connector string
	Enabled   bool
	// Credentials are connector-specific; sealed at rest, never shown back.
	Credentials    map[string]string
	PaymentMethods []string
	Currencies     []string
	// FeePercent is a decimal percentage ("1.9") kept as text: it is a rate,
	// not money, and a string keeps it exact.
	FeePercent string
	// FeeFixed is a fixed fee in minor units of the merchant's default currency.
	FeeFixed  int64
	Priority  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Connectors Switchyard ships. A gateway account names one of them.
var Connectors = []string{"sandbox"}

var gatewayNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxCredentialsJSON bounds an account's credentials as JSON: sealing adds
// 28 bytes, and the column holds 4096.
const maxCredentialsJSON = 4000

var feePercentPattern = regexp.MustCompile(`^[0-9]{1,2}(\.[0-9]{1,4})?$`)

// Validate checks the account's settings, naming each bad field.
func (g *GatewayAccount) Validate() error {
	var p Problems
	if !gatewayNamePattern.MatchString(g.Name) {
		p.Add("name", "must be 1-64 letters, digits, '_' or '-'")
	}
	known := false
	for _, c := range Connectors {
		known = known || c == g.Connector
	}
	if !known {
		p.Add("connector", "unknown connector "+strconv.Quote(g.Connector)+"; use one of "+strings.Join(Connectors, ", "))
	}
	if len(g.PaymentMethods) == 0 {
		p.Add("payment_methods", "must list at least one of CARD, UPI, NB, WALLET")
	}
	for _, m := range g.PaymentMethods {
		if !knownMethodType(m) {
			p.Add("payment_methods", "unknown payment method type "+strconv.Quote(m))
		}
	}
	if len(g.Currencies) == 0 {
		p.Add("currencies", "must list at least one ISO 4217 currency")
	}
	for _, c := range g.Currencies {
		if _, ok := CurrencyExponent(c); !ok {
			p.Add("currencies", "unknown currency "+strconv.Quote(c))
		}
	}
	if g.FeePercent == "" {
		g.FeePercent = "0"
	}
	if !feePercentPattern.MatchString(g.FeePercent) {
		p.Add("fee_percent", "must be a percentage between 0 and 99.9999 with at most 4 decimals")
	}
	if g.FeeFixed < 0 {
		p.Add("fee_fixed", "must not be negative")
	}
	if g.Priority < 0 || g.Priority > 1000 {
		p.Add("priority", "must be between 0 and 1000")
	}
	for k, v := range g.Credentials {
		if len(k) > 64 || len(v) > 1024 {
			p.Add("credentials", "keys at most 64 and values at most 1024 characters")
			break
		}
	}
	// Sealed, the credentials must fit their VARBINARY(4096) column.
	if b, _ := json.Marshal(g.Credentials); len(b) > maxCredentialsJSON {
		p.Add("credentials", "must be at most "+strconv.Itoa(maxCredentialsJSON)+" bytes as JSON in all")
	}
	return p.Err()
}

// Supports reports whether the account can take payment method type method in
// currency.
func (g *GatewayAccount) Supports(method, currency string) bool {
	if !g.Enabled {
		return false
	}
	okMethod, okCurrency := false, false
	for _, m := range g.PaymentMethods {
		okMethod = okMethod || m == method
	}
	for _, c := range g.Currencies {
		okCurrency = okCurrency || c == currency
	}
	return okMethod && okCurrency
}

// Routing modes.
const (
	RoutingSuccessRate = "SUCCESS_RATE"
	RoutingPriority    = "PRIORITY"
)

// RoutingConfig is a merchant's gateway-selection policy.
type RoutingConfig struct {
	Mode string `json:"mode"`
	// Priority orders gateway account names for PRIORITY mode and breaks
	// ties otherwise.
	Priority []string `json:"priority"`
	// Rules are evaluated in order; the first match decides.
	Rules []RoutingRule `json:"rules"`
	// CostWeight trades success rate against fees: 0 ignores fees.
	CostWeight  float64     `json:"cost_weight"`
	Elimination Elimination `json:"elimination"`
}

// Elimination takes gateways whose recent success collapsed out of rotation
// (except for probe traffic) until they recover.
type Elimination struct {
	Enabled bool `json:"enabled"`
	// Threshold is the success rate below which a gateway is eliminated.
	Threshold float64 `json:"threshold"`
	// MinSamples is how many recent outcomes are needed before judging.
	MinSamples int `json:"min_samples"`
}

// RoutingRule is one merchant rule: when the conditions hold, the action
// orders or restricts the candidate gateways.
type RoutingRule struct {
	Name string        `json:"name"`
	When RuleCondition `json:"when"`
	Then RuleAction    `json:"then"`
}

// RuleCondition holds the conditions of a rule; all set ones must hold.
type RuleCondition struct {
	PaymentMethodType []string          `json:"payment_method_type,omitempty"`
	PaymentMethod     []string          `json:"payment_method,omitempty"`
	BINRanges         []string          `json:"bin_ranges,omitempty"` // "459000-460000"
	AmountMin         string            `json:"amount_min,omitempty"`
	AmountMax         string            `json:"amount_max,omitempty"`
	Currency          []string          `json:"currency,omitempty"`
	UDF               map[string]string `json:"udf,omitempty"` // "udf1" -> value
}

// Rule action types.
const (
	ActionPriority = "PRIORITY"
	ActionEnforce  = "ENFORCE"
	ActionSplit    = "SPLIT"
)

// RuleAction is what a matching rule does.
type RuleAction struct {
	Type     string       `json:"type"`
	Gateways []string     `json:"gateways,omitempty"`
	Split    []SplitShare `json:"split,omitempty"`
}

// SplitShare sends Percent of matching traffic to Gateway.
type SplitShare struct {
	Gateway string `json:"gateway"`
	Percent int    `json:"percent"`
}

// DefaultRouting is a new merchant's routing: success-rate based, no rules.
func DefaultRouting() RoutingConfig {
	return RoutingConfig{Mode: RoutingSuccessRate, Priority: []string{}, Rules: []RoutingRule{},
		Elimination: Elimination{Enabled: true, Threshold: 0.05, MinSamples: 20}}
}

var binRangePattern = regexp.MustCompile(`^([0-9]{6,8})-([0-9]{6,8})$`)

// Validate checks the config against the merchant's gateway account names,
// naming the rule at fault.
func (r *RoutingConfig) Validate(gateways []string) error {
	var p Problems
	known := map[string]bool{}
	for _, g := range gateways {
		known[g] = true
	}
	if r.Mode != RoutingSuccessRate && r.Mode != RoutingPriority {
		p.Add("mode", "must be SUCCESS_RATE or PRIORITY")
	}
	checkNames := func(field string, names []string) {
		seen := map[string]bool{}
		for _, g := range names {
			if !known[g] {
				p.Add(field, "unknown gateway "+strconv.Quote(g))
			} else if seen[g] {
				p.Add(field, "lists gateway "+strconv.Quote(g)+" twice")
			}
			seen[g] = true
		}
	}
	checkNames("priority", r.Priority)
	if r.CostWeight < 0 || r.CostWeight > 100 {
		p.Add("cost_weight", "must be between 0 and 100")
	}
	if r.Elimination.Threshold < 0 || r.Elimination.Threshold >= 1 {
		p.Add("elimination.threshold", "must be at least 0 and below 1")
	}
	if r.Elimination.MinSamples < 0 || r.Elimination.MinSamples > 64 {
		// The router judges a gateway on its last 64 outcomes at most.
		p.Add("elimination.min_samples", "must be between 0 and 64")
	}
	names := map[string]bool{}
	for i, rule := range r.Rules {
		field := "rules[" + strconv.Itoa(i) + "]"
		if rule.Name != "" {
			field += " (" + rule.Name + ")"
			if names[rule.Name] {
				p.Add(field+".name", "is used by another rule")
			}
			names[rule.Name] = true
		}
		for _, t := range rule.When.PaymentMethodType {
			if !knownMethodType(t) {
				p.Add(field+".when.payment_method_type", "unknown payment method type "+strconv.Quote(t))
			}
		}
		for _, c := range rule.When.Currency {
			if _, ok := CurrencyExponent(c); !ok {
				p.Add(field+".when.currency", "unknown currency "+strconv.Quote(c))
			}
		}
		// Conditions that cannot hold together make a rule that never
		// matches: a method of another type than the rule's, BINs on a rule
		// for no card.
		types := rule.When.PaymentMethodType
		for _, m := range rule.When.PaymentMethod {
			t := methodTypeOf(m)
			switch {
			case t == "":
				p.Add(field+".when.payment_method", "unknown payment method "+strconv.Quote(m))
			case len(types) > 0 && !slices.Contains(types, t):
				p.Add(field+".when.payment_method", strconv.Quote(m)+" is a "+t+" method, not of the rule's payment_method_type, so the rule can never match")
			}
		}
		if len(rule.When.BINRanges) > 0 && len(types) > 0 && !slices.Contains(types, MethodCard) {
			p.Add(field+".when.bin_ranges", "only cards have BINs and the rule's payment_method_type has no CARD, so the rule can never match")
		}
		for _, b := range rule.When.BINRanges {
			m := binRangePattern.FindStringSubmatch(b)
			if m == nil || len(m[1]) != len(m[2]) || m[1] > m[2] {
				p.Add(field+".when.bin_ranges", strconv.Quote(b)+" must be LOW-HIGH with equal-length 6-8 digit BINs, LOW ≤ HIGH")
			}
		}
		min, max := ruleAmount(rule.When.AmountMin), ruleAmount(rule.When.AmountMax)
		if min < 0 {
			p.Add(field+".when.amount_min", "must be a non-negative decimal")
		}
		if max < 0 {
			p.Add(field+".when.amount_max", "must be a non-negative decimal")
		}
		if rule.When.AmountMin != "" && rule.When.AmountMax != "" && min >= 0 && max >= 0 && min > max {
			p.Add(field+".when", "amount_min is above amount_max, so the rule can never match")
		}
		for k := range rule.When.UDF {
			n, err := strconv.Atoi(strings.TrimPrefix(k, "udf"))
			if !strings.HasPrefix(k, "udf") || err != nil || n < 1 || n > 10 {
				p.Add(field+".when.udf", strconv.Quote(k)+" is not one of udf1..udf10")
			}
		}
		switch rule.Then.Type {
		case ActionPriority, ActionEnforce:
			if len(rule.Then.Gateways) == 0 {
				p.Add(field+".then.gateways", "must list at least one gateway")
			}
			checkNames(field+".then.gateways", rule.Then.Gateways)
		case ActionSplit:
			total := 0
			var splitNames []string
			for _, s := range rule.Then.Split {
				if s.Percent <= 0 || s.Percent > 100 {
					p.Add(field+".then.split", "percent of "+strconv.Quote(s.Gateway)+" must be 1-100")
				}
				total += s.Percent
				splitNames = append(splitNames, s.Gateway)
			}
			checkNames(field+".then.split", splitNames)
			if total != 100 {
				p.Add(field+".then.split", "percentages sum to "+strconv.Itoa(total)+", must sum to 100")
			}
		default:
			p.Add(field+".then.type", "must be PRIORITY, ENFORCE or SPLIT")
		}
	}
	return p.Err()
}

// ruleAmountPattern is a rule's amount bound: a plain decimal in major
// units, at most 3 decimals (the most any currency has).
var ruleAmountPattern = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,3})?$`)

// ruleAmount reads a rule's amount bound in thousandths of a major unit,
// exactly (no float): 0 when empty, -1 when malformed.
func ruleAmount(s string) int64 {
	if s == "" {
		return 0
	}
	if !ruleAmountPattern.MatchString(s) {
		return -1
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	return w*1000 + f
}

// methodTypeOf returns the payment method type of a payment method code as
// rules write it (any case; Juspay's MASTER for MASTERCARD), "" when the
// catalog has no such method.
func methodTypeOf(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "MASTER" {
		code = "MASTERCARD"
	}
	for _, pm := range Catalog {
		if pm.Code == code {
			return pm.Type
		}
	}
	return ""
}
