package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
)

// dashFixture writes orders and txns at chosen times.
type dashFixture struct {
	t   *testing.T
	db  *store.DB
	ctx context.Context
}

func (f dashFixture) at(at time.Time) { f.db.Now = func() time.Time { return at } }

func (f dashFixture) order(merchant, orderID string, created time.Time) *pay.Order {
	f.t.Helper()
	f.at(created)
	o := &pay.Order{
		ID: pay.NewID("ordeh_"), MerchantID: merchant, OrderID: orderID,
		Amount: pay.Money{Amount: 10000, Currency: "INR"}, Status: pay.StatusNew, Version: 1,
		Metadata: map[string]string{}, Details: map[string]string{},
		ExpiresAt: created.Add(time.Hour), CreatedAt: created, UpdatedAt: created,
	}
	if _, _, err := f.db.CreateOrder(f.ctx, o); err != nil {
		f.t.Fatal(err)
	}
	return o
}

// txn adds a txn to o at time at, with an outbox event.
func (f dashFixture) txn(o *pay.Order, at time.Time, status pay.Status, gateway, method, unified string) *pay.Txn {
	f.t.Helper()
	f.at(at)
	var txn *pay.Txn
	_, _, err := f.db.ChangeOrder(f.ctx, o.ID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		seq := len(txns) + 1
		txn = &pay.Txn{
			ID: pay.NewID("txnu_"), TxnID: fmt.Sprintf("%s-%s-%d", o.MerchantID, o.OrderID, seq),
			OrderUUID: o.ID, MerchantID: o.MerchantID, Seq: seq, Status: status, Amount: o.Amount,
			Gateway: gateway, PaymentMethodType: method, Routing: "{}",
			Details: pay.TxnDetails{UnifiedCode: unified},
		}
		if status.Failed() {
			txn.ErrorCode, txn.ErrorMessage = "DECLINED", "card declined"
		}
		ev := store.Event{Name: "TXN_CREATED", MerchantID: o.MerchantID, OrderUUID: o.ID, Payload: "{}"}
		return store.OrderChange{NewTxn: txn, Events: []store.Event{ev}}, nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return txn
}

func orderIDs(items []store.OrderListItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Order.OrderID)
	}
	return out
}

func TestSearchOrders(t *testing.T) {
	f := dashFixture{t: t, db: storetest.Open(t), ctx: context.Background()}
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	a1 := f.order("ma", "ord_1", day.Add(1*time.Hour))
	a2 := f.order("ma", "ord_10", day.Add(2*time.Hour))
	a3 := f.order("ma", "ordx1", day.Add(26*time.Hour))
	a4 := f.order("ma", "pay-7", day.Add(27*time.Hour))
	f.order("mb", "ord_1b", day.Add(3*time.Hour))
	f.txn(a1, day.Add(1*time.Hour), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_1000")
	f.txn(a1, day.Add(1*time.Hour+time.Minute), pay.StatusCharged, "gw_b", "CARD", "")
	f.txn(a2, day.Add(2*time.Hour), pay.StatusCharged, "gw_a", "UPI", "")
	f.txn(a3, day.Add(26*time.Hour), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_2000")

	for _, tc := range []struct {
		name string
		q    store.OrderQuery
		want []string
	}{
		{"all of the merchant, newest first", store.OrderQuery{}, []string{"pay-7", "ordx1", "ord_10", "ord_1"}},
		{"prefix", store.OrderQuery{Q: "ord_1"}, []string{"ord_10", "ord_1"}},
		// "_" is no wildcard: "ord_" must not match "ordx1".
		{"LIKE wildcards are literal", store.OrderQuery{Q: "ord_"}, []string{"ord_10", "ord_1"}},
		{"exact", store.OrderQuery{Q: "pay-7"}, []string{"pay-7"}},
		{"switchyard id", store.OrderQuery{Q: a2.ID}, []string{"ord_10"}},
		{"another merchant's order is not found", store.OrderQuery{Q: "ord_1b"}, nil},
		{"status", store.OrderQuery{Status: pay.StatusCharged}, []string{"ord_10", "ord_1"}},
		{"failed status", store.OrderQuery{Status: pay.StatusAuthorizationFailed}, []string{"ordx1"}},
		{"from", store.OrderQuery{From: day.Add(24 * time.Hour)}, []string{"pay-7", "ordx1"}},
		{"to is exclusive", store.OrderQuery{To: day.Add(2 * time.Hour)}, []string{"ord_1"}},
		{"any txn at the gateway", store.OrderQuery{Gateway: "gw_b"}, []string{"ord_1"}},
		{"method", store.OrderQuery{MethodType: "UPI"}, []string{"ord_10"}},
		{"gateway and method on one txn", store.OrderQuery{Gateway: "gw_a", MethodType: "CARD"}, []string{"ordx1", "ord_1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.MerchantID, tc.q.Limit = "ma", 10
			items, next, err := f.db.SearchOrders(f.ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := orderIDs(items); !slices.Equal(got, tc.want) {
				t.Errorf("orders %v, want %v", got, tc.want)
			}
			if next != nil {
				t.Errorf("next page %+v on a short list", next)
			}
		})
	}

	t.Run("txns come with their order, oldest first", func(t *testing.T) {
		items, _, err := f.db.SearchOrders(f.ctx, store.OrderQuery{MerchantID: "ma", Q: "ord_1", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var gws []string
		for _, tx := range items[1].Txns {
			gws = append(gws, tx.Gateway)
		}
		if !slices.Equal(gws, []string{"gw_a", "gw_b"}) || len(items[0].Txns) != 1 {
			t.Errorf("ord_1 txns at %v, ord_10 has %d txns", gws, len(items[0].Txns))
		}
	})

	t.Run("pages", func(t *testing.T) {
		var got []string
		var cursor *store.OrderCursor
		for page := 0; ; page++ {
			items, next, err := f.db.SearchOrders(f.ctx, store.OrderQuery{MerchantID: "ma", Limit: 3, Before: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, orderIDs(items)...)
			if next == nil {
				break
			}
			if page > 3 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if want := []string{"pay-7", "ordx1", "ord_10", "ord_1"}; !slices.Equal(got, want) {
			t.Errorf("paged through %v, want %v", got, want)
		}
	})
	_ = a4
}

// Orders created in the same microsecond are still paged through exactly
// once each: the cursor breaks ties by id.
func TestSearchOrdersSameTime(t *testing.T) {
	f := dashFixture{t: t, db: storetest.Open(t), ctx: context.Background()}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		f.order("ma", fmt.Sprintf("o%d", i), at)
	}
	seen := map[string]bool{}
	var cursor *store.OrderCursor
	for {
		items, next, err := f.db.SearchOrders(f.ctx, store.OrderQuery{MerchantID: "ma", Limit: 2, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if seen[it.Order.OrderID] {
				t.Fatalf("%s listed twice", it.Order.OrderID)
			}
			seen[it.Order.OrderID] = true
		}
		if next == nil {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Errorf("listed %d orders, want 5", len(seen))
	}
}

func TestOrderEvents(t *testing.T) {
	f := dashFixture{t: t, db: storetest.Open(t), ctx: context.Background()}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	o := f.order("ma", "o1", at)
	other := f.order("ma", "o2", at)
	f.txn(o, at, pay.StatusStarted, "gw", "CARD", "")
	f.txn(other, at, pay.StatusStarted, "gw", "CARD", "")
	f.txn(o, at.Add(time.Second), pay.StatusStarted, "gw", "CARD", "")

	events, err := f.db.OrderEvents(f.ctx, "ma", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	first := events[0].EventID
	if err := f.db.RecordDelivery(f.ctx, first, store.Delivery{MerchantID: "ma", Attempt: 1,
		URL: "https://m.example/hook", StatusCode: 500, Duration: 30 * time.Millisecond}, &at, store.EventPending); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RecordDelivery(f.ctx, first, store.Delivery{MerchantID: "ma", Attempt: 2,
		URL: "https://m.example/hook", StatusCode: 200, Duration: 20 * time.Millisecond}, nil, store.EventDelivered); err != nil {
		t.Fatal(err)
	}
	events, err = f.db.OrderEvents(f.ctx, "ma", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := events[0].Deliveries
	if len(d) != 2 || d[0].StatusCode != 500 || d[1].StatusCode != 200 || d[1].Duration != 20*time.Millisecond {
		t.Errorf("deliveries of the first event: %+v", d)
	}
	if events[0].State != store.EventDelivered || len(events[1].Deliveries) != 0 {
		t.Errorf("first event %s, second has %d deliveries", events[0].State, len(events[1].Deliveries))
	}
	// Scoped by merchant: another merchant sees nothing of this order.
	if events, err := f.db.OrderEvents(f.ctx, "mb", o.ID); err != nil || len(events) != 0 {
		t.Errorf("merchant mb sees %d events of ma's order (err %v)", len(events), err)
	}
}

func TestTxnStatsAndTopFailures(t *testing.T) {
	f := dashFixture{t: t, db: storetest.Open(t), ctx: context.Background()}
	from := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	o := func(id string) *pay.Order { return f.order("ma", id, from) }
	// Bucket 0 (first hour): gw_a CARD one success one failure; gw_b UPI
	// one pending. Bucket 2: gw_a CARD two failures (one UE_2000, one
	// UE_1000) and one auto-refunded success.
	f.txn(o("a"), from.Add(10*time.Minute), pay.StatusCharged, "gw_a", "CARD", "")
	f.txn(o("b"), from.Add(20*time.Minute), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_1000")
	f.txn(o("c"), from.Add(59*time.Minute), pay.StatusPendingVBV, "gw_b", "UPI", "")
	f.txn(o("d"), from.Add(2*time.Hour), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_2000")
	f.txn(o("e"), from.Add(2*time.Hour+time.Second), pay.StatusJuspayDeclined, "gw_a", "CARD", "UE_1000")
	f.txn(o("f"), from.Add(2*time.Hour+2*time.Second), pay.StatusAutoRefunded, "gw_a", "CARD", "")
	// Outside the range, and another merchant's.
	f.txn(o("g"), from.Add(-time.Second), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_1000")
	f.txn(o("h"), from.Add(3*time.Hour), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_1000")
	f.txn(f.order("mb", "x", from), from.Add(time.Minute), pay.StatusAuthorizationFailed, "gw_a", "CARD", "UE_1000")

	to := from.Add(3 * time.Hour)
	stats, err := f.db.TxnStats(f.ctx, store.StatsQuery{MerchantID: "ma", From: from, To: to, Width: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TxnStat{
		{Bucket: 0, Gateway: "gw_a", MethodType: "CARD", Attempts: 2, Successes: 1, Failures: 1},
		{Bucket: 0, Gateway: "gw_b", MethodType: "UPI", Attempts: 1},
		{Bucket: 2, Gateway: "gw_a", MethodType: "CARD", Attempts: 3, Successes: 1, Failures: 2},
	}
	if !slices.Equal(stats, want) {
		t.Errorf("stats\n got %+v\nwant %+v", stats, want)
	}

	reasons, err := f.db.TopFailures(f.ctx, "ma", from, to, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range reasons {
		got = append(got, fmt.Sprintf("%s×%d", r.UnifiedCode, r.Count))
	}
	if w := []string{"UE_1000×2", "UE_2000×1"}; !slices.Equal(got, w) {
		t.Errorf("top failures %v, want %v", got, w)
	}
	if reasons[0].ExampleCode != "DECLINED" || reasons[0].ExampleMessage != "card declined" {
		t.Errorf("example %q %q", reasons[0].ExampleCode, reasons[0].ExampleMessage)
	}
	// Kept charges only: a, and not f (auto-refunded); g is outside.
	charged, err := f.db.ChargedAmounts(f.ctx, "ma", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []pay.Money{{Amount: 10000, Currency: "INR"}}; !slices.Equal(charged, want) {
		t.Errorf("charged %v, want %v", charged, want)
	}
	if _, err := f.db.TxnStats(f.ctx, store.StatsQuery{MerchantID: "ma", From: to, To: from, Width: time.Hour}); err == nil {
		t.Error("a reversed range was accepted")
	}
}
