package routing

import (
	"strconv"
	"testing"
	"time"

	"switchyard/server/pay"
)

// benchSetup is a merchant with 10 eligible gateways and 20 rules, none of
// which matches the benchmark's txn (so every rule is evaluated), and warm
// estimates.
func benchSetup(b testing.TB) (*Router, *Plan, Input, time.Time) {
	var accts []*pay.GatewayAccount
	var names []string
	for i := 0; i < 10; i++ {
		n := "gw" + strconv.Itoa(i)
		names = append(names, n)
		accts = append(accts, &pay.GatewayAccount{MerchantID: "m", Name: n, Connector: "sandbox", Enabled: true,
			PaymentMethods: []string{"CARD", "UPI", "NB"}, Currencies: []string{"INR", "USD"},
			FeePercent: "1." + strconv.Itoa(i), FeeFixed: int64(i * 100), Priority: i})
	}
	cfg := pay.DefaultRouting()
	cfg.CostWeight = 1
	for i := 0; i < 20; i++ {
		r := pay.RoutingRule{Name: "r" + strconv.Itoa(i), Then: pay.RuleAction{Type: pay.ActionPriority, Gateways: []string{names[i%10], names[(i+3)%10]}}}
		switch i % 5 {
		case 0:
			r.When.PaymentMethodType = []string{"NB"}
		case 1:
			r.When.PaymentMethod = []string{"AMEX", "RUPAY"}
		case 2:
			r.When.BINRanges = []string{"400000-400999", "510000-519999"}
		case 3:
			r.When.AmountMin, r.When.AmountMax = "50000", "100000.50"
		case 4:
			r.When.UDF = map[string]string{"udf1": "vip", "udf3": "x" + strconv.Itoa(i)}
			r.When.Currency = []string{"INR"}
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	p, err := NewPlan(Setup{MerchantID: "m", Routing: &cfg, Gateways: accts, FeeCurrency: "INR"})
	if err != nil {
		b.Fatal(err)
	}
	rt := New(Options{Seed: 1})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i++ {
		g := names[i%10]
		o := Success
		if i%(7+i%10) == 0 {
			o = Failure
		}
		rt.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: "CARD", Method: "VISA", Outcome: o}, now.Add(time.Duration(i)*time.Millisecond))
	}
	in := Input{TxnID: "m-o1-1", MethodType: "CARD", Method: "VISA", CardBIN: "45900012", Amount: 250000, Currency: "INR"}
	in.UDF[0] = "regular"
	return rt, p, in, now.Add(10 * time.Second)
}

func BenchmarkDecide(b *testing.B) {
	rt, p, in, now := benchSetup(b)
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.Decide(p, &in, now, &d); err != nil {
			b.Fatal(err)
		}
	}
	if d.N != 10 {
		b.Fatalf("N = %d, want 10", d.N)
	}
}

func BenchmarkDecideParallel(b *testing.B) {
	rt, p, in, now := benchSetup(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var d Decision
		in := in
		for pb.Next() {
			if err := rt.Decide(p, &in, now, &d); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	rt, _, _, now := benchSetup(b)
	fb := Feedback{MerchantID: "m", Gateway: "gw3", MethodType: "CARD", Method: "VISA", Outcome: Success}
	b.ReportAllocs()
	for b.Loop() {
		rt.Observe(fb, now)
	}
}
