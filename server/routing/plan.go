package routing

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"switchyard/server/pay"
)

// MaxGateways bounds the gateway accounts of one Plan; Decide works on
// fixed-size arrays of this length so that it never allocates.
const MaxGateways = 64

// Limits narrows what a gateway account takes beyond its payment method
// types and currencies: the connector's or the merchant's restrictions.
type Limits struct {
	// Methods lists the card brands, bank codes and wallet codes the account
	// takes ("VISA", "NB_HDFC", "PAYTM"); empty takes every one of its
	// payment method types. UPI txns have the method "UPI".
	Methods []string
	// AmountMin and AmountMax bound the txn amount, inclusive, as exact
	// decimals in major units of the txn currency ("" is unbounded).
	AmountMin, AmountMax string
}

// Setup is what a Plan is compiled from.
type Setup struct {
	MerchantID string
	Routing    *pay.RoutingConfig
	Gateways   []*pay.GatewayAccount
	// FeeCurrency is the currency of the accounts' FeeFixed: the merchant's
	// default currency. A txn in another currency is costed by FeePercent
	// alone.
	FeeCurrency string
	// Limits narrows accounts, by account name.
	Limits map[string]Limits
}

// Plan is one merchant's gateway accounts and routing config, validated and
// compiled for Decide. It is immutable and safe for concurrent use; build it
// again when the accounts or the config change. It keeps the accounts (for
// Candidate.Account): don't modify them afterwards.
type Plan struct {
	merchant    string
	shard       uint32
	srMode      bool
	costWeight  float64
	elim        pay.Elimination
	feeCurrency string
	gws         []gateway // in default order: config priority, then account priority, then name
	byName      map[string]int
	rules       []rule
}

type gateway struct {
	acct       *pay.GatewayAccount
	name       string
	enabled    bool
	types      uint8 // bit set of methodBit
	currencies []string
	methods    []string // empty: any
	amtMin     int64    // thousandths of a major unit; -1: unbounded
	amtMax     int64
	feeRate    float64 // fee_percent / 100
	feeFixed   int64   // minor units of feeCurrency
}

// Rule actions, compiled.
const (
	actPriority = iota + 1
	actEnforce
	actSplit
)

type rule struct {
	name       string
	types      uint8 // 0: any
	methods    []string
	bins       []binRange
	amtMin     int64 // -1: unbounded
	amtMax     int64
	currencies []string
	udfSet     uint16 // bit i: udf(i+1) is a condition
	udf        [10]string
	action     int
	gws        []int // PRIORITY, ENFORCE: plan gateway indexes in list order
	split      []share
}

type share struct {
	gw      int
	percent int
}

type binRange struct{ lo, hi string }

// methodBit maps a payment method type to its bit; unknown types get 0.
func methodBit(t string) uint8 {
	switch t {
	case pay.MethodCard:
		return 1
	case pay.MethodUPI:
		return 2
	case pay.MethodNB:
		return 4
	case pay.MethodWallet:
		return 8
	}
	return 0
}

// NewPlan validates s and compiles it. The error of an invalid routing config
// is the *pay.Error that RoutingConfig.Validate returns.
func NewPlan(s Setup) (*Plan, error) {
	if s.Routing == nil {
		return nil, errors.New("routing.NewPlan: no routing config")
	}
	if len(s.Gateways) > MaxGateways {
		return nil, fmt.Errorf("routing.NewPlan(%s): %d gateway accounts, at most %d", s.MerchantID, len(s.Gateways), MaxGateways)
	}
	cfg := s.Routing
	names := make([]string, len(s.Gateways))
	for i, g := range s.Gateways {
		names[i] = g.Name
	}
	if err := cfg.Validate(names); err != nil {
		return nil, err
	}
	p := &Plan{
		merchant: s.MerchantID, shard: hashString(s.MerchantID), srMode: cfg.Mode != pay.RoutingPriority,
		costWeight: cfg.CostWeight, elim: cfg.Elimination, feeCurrency: s.FeeCurrency,
		byName: make(map[string]int, len(s.Gateways)),
	}
	if p.elim.MinSamples > 64 {
		p.elim.MinSamples = 64 // the recent-outcome window holds 64
	}

	// Default order: the config's priority list, then the accounts'
	// priority and name (the order the store lists them in).
	rank := map[string]int{}
	for i, n := range cfg.Priority {
		rank[n] = i + 1
	}
	accts := append([]*pay.GatewayAccount(nil), s.Gateways...)
	sort.SliceStable(accts, func(i, j int) bool {
		ri, rj := rank[accts[i].Name], rank[accts[j].Name]
		switch {
		case ri != rj && ri != 0 && rj != 0:
			return ri < rj
		case ri != rj:
			return ri != 0
		case accts[i].Priority != accts[j].Priority:
			return accts[i].Priority < accts[j].Priority
		}
		return accts[i].Name < accts[j].Name
	})
	for _, a := range accts {
		if _, dup := p.byName[a.Name]; dup {
			return nil, fmt.Errorf("routing.NewPlan(%s): two gateway accounts named %q", s.MerchantID, a.Name)
		}
		g := gateway{acct: a, name: a.Name, enabled: a.Enabled, currencies: a.Currencies, amtMin: -1, amtMax: -1, feeFixed: a.FeeFixed}
		for _, t := range a.PaymentMethods {
			g.types |= methodBit(t)
		}
		fee := a.FeePercent
		if fee == "" {
			fee = "0"
		}
		f, err := strconv.ParseFloat(fee, 64)
		if err != nil || f < 0 || f >= 100 || math.IsNaN(f) {
			return nil, fmt.Errorf("routing.NewPlan(%s): gateway %q: fee_percent %q is not a percentage", s.MerchantID, a.Name, a.FeePercent)
		}
		g.feeRate = f / 100
		if l, ok := s.Limits[a.Name]; ok {
			g.methods = normalizeMethods(l.Methods)
			if g.amtMin, err = limitAmount(l.AmountMin); err != nil {
				return nil, fmt.Errorf("routing.NewPlan(%s): gateway %q: amount_min: %w", s.MerchantID, a.Name, err)
			}
			if g.amtMax, err = limitAmount(l.AmountMax); err != nil {
				return nil, fmt.Errorf("routing.NewPlan(%s): gateway %q: amount_max: %w", s.MerchantID, a.Name, err)
			}
		}
		p.byName[a.Name] = len(p.gws)
		p.gws = append(p.gws, g)
	}

	for i, r := range cfg.Rules {
		name := r.Name
		if name == "" {
			name = "rules[" + strconv.Itoa(i) + "]"
		}
		cr := rule{name: name, methods: normalizeMethods(r.When.PaymentMethod), currencies: r.When.Currency}
		for _, t := range r.When.PaymentMethodType {
			cr.types |= methodBit(t)
		}
		for _, b := range r.When.BINRanges {
			lo, hi, _ := strings.Cut(b, "-") // Validate checked the form
			cr.bins = append(cr.bins, binRange{lo, hi})
		}
		var err error
		if cr.amtMin, err = limitAmount(r.When.AmountMin); err != nil {
			return nil, fmt.Errorf("routing.NewPlan(%s): rule %q: amount_min: %w", s.MerchantID, r.Name, err)
		}
		if cr.amtMax, err = limitAmount(r.When.AmountMax); err != nil {
			return nil, fmt.Errorf("routing.NewPlan(%s): rule %q: amount_max: %w", s.MerchantID, r.Name, err)
		}
		for k, v := range r.When.UDF {
			n, _ := strconv.Atoi(strings.TrimPrefix(k, "udf")) // Validate checked udf1..udf10
			cr.udfSet |= 1 << (n - 1)
			cr.udf[n-1] = v
		}
		switch r.Then.Type {
		case pay.ActionPriority, pay.ActionEnforce:
			cr.action = actPriority
			if r.Then.Type == pay.ActionEnforce {
				cr.action = actEnforce
			}
			for _, n := range r.Then.Gateways {
				cr.gws = append(cr.gws, p.byName[n])
			}
		case pay.ActionSplit:
			cr.action = actSplit
			for _, sh := range r.Then.Split {
				cr.split = append(cr.split, share{p.byName[sh.Gateway], sh.Percent})
			}
		}
		p.rules = append(p.rules, cr)
	}
	return p, nil
}

// MerchantID is the merchant the plan routes for.
func (p *Plan) MerchantID() string { return p.merchant }

// normalizeMethods upper-cases method codes and reads Juspay's "MASTER" as
// the card brand MASTERCARD, as pay.ValidateTxn does.
func normalizeMethods(ms []string) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "MASTER" {
			m = "MASTERCARD"
		}
		out[i] = m
	}
	return out
}

// limitAmount reads an amount bound, a decimal in major units with at most
// three decimals, as exact thousandths of a major unit; -1 when empty.
func limitAmount(s string) (int64, error) {
	if s == "" {
		return -1, nil
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || !digits(whole) || (hasDot && (frac == "" || len(frac) > 3 || !digits(frac))) {
		return 0, fmt.Errorf("%q is not a decimal with at most 13 digits and 3 decimals", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	return w*1000 + f, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// thousandths converts minor units of currency to thousandths of a major
// unit, exactly: no currency has more than three decimals. ok is false for
// an unknown currency or an amount out of range.
func thousandths(minor int64, currency string) (int64, bool) {
	exp, ok := pay.CurrencyExponent(currency)
	if !ok || exp > 3 || minor < 0 || minor > math.MaxInt64/1000 {
		return 0, false
	}
	for ; exp < 3; exp++ {
		minor *= 10
	}
	return minor, true
}

// eligible reports whether gateway g can take the txn. amt is the amount in
// thousandths, valid when amtOK.
func (g *gateway) eligible(in *Input, bit uint8, amt int64, amtOK bool) bool {
	if !g.enabled || g.types&bit == 0 || !contains(g.currencies, in.Currency) {
		return false
	}
	if len(g.methods) > 0 && !contains(g.methods, in.Method) {
		return false
	}
	if g.amtMin >= 0 && (!amtOK || amt < g.amtMin) {
		return false
	}
	if g.amtMax >= 0 && (!amtOK || amt > g.amtMax) {
		return false
	}
	return true
}

// matches reports whether every condition rule r sets holds for the txn.
func (r *rule) matches(in *Input, bit uint8, amt int64, amtOK bool) bool {
	if r.types != 0 && r.types&bit == 0 {
		return false
	}
	if len(r.methods) > 0 && !contains(r.methods, in.Method) {
		return false
	}
	if len(r.currencies) > 0 && !contains(r.currencies, in.Currency) {
		return false
	}
	if r.amtMin >= 0 && (!amtOK || amt < r.amtMin) {
		return false
	}
	if r.amtMax >= 0 && (!amtOK || amt > r.amtMax) {
		return false
	}
	if len(r.bins) > 0 {
		hit := false
		for _, b := range r.bins {
			// Equal-length digit strings compare as numbers do.
			if n := len(b.lo); len(in.CardBIN) >= n && digits(in.CardBIN[:n]) && in.CardBIN[:n] >= b.lo && in.CardBIN[:n] <= b.hi {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	for i := 0; r.udfSet>>i != 0; i++ {
		if r.udfSet&(1<<i) != 0 && in.UDF[i] != r.udf[i] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// hashString is FNV-1a, 32 bits: stable across processes and releases, so a
// txn id always falls in the same volume-split bucket.
func hashString(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
