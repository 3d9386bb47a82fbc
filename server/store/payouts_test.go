package store_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
)

func newPayout(t *testing.T, orderID string, fulfillments int, due time.Time) *pay.PayoutOrder {
	t.Helper()
	in := pay.PayoutInput{OrderID: orderID, Type: "FULFILL_ONLY", CustomerID: "c1"}
	for range fulfillments {
		in.Fulfillments = append(in.Fulfillments, pay.FulfillmentInput{
			Methods: []string{"SANDBOX_IMPS"}, Amount: "10",
			Beneficiary: pay.Beneficiary{Type: pay.BeneficiaryAccountIFSC,
				Details: map[string]string{"name": "A", "account": "026291800001191", "ifsc": "YESB0000262"}},
			Info: pay.AdditionalInfo{Webhook: &pay.WebhookDetails{URL: "https://hooks.example/p", Username: "u", Password: "s3cret"}},
		})
	}
	in.Amount = pay.FormatAmount(int64(fulfillments)*1000, "INR")
	o, err := pay.NewPayoutOrder("m1", in, pay.DefaultRetryPolicy(), pay.Rails{"SANDBOX_IMPS": {pay.BeneficiaryAccountIFSC}},
		time.Now().UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range o.Fulfillments {
		f.DueAt = due
	}
	return o
}

// A payout order is stored whole, its webhook password sealed and given
// back; an orderId is the merchant's once.
func TestPayoutOrderRoundTrip(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	o := newPayout(t, "po_rt_1", 2, time.Time{})
	if err := db.CreatePayoutOrder(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.PayoutOrder(ctx, "m1", "po_rt_1")
	if err != nil {
		t.Fatal(err)
	}
	f := got.Fulfillments[1]
	if got.ID != o.ID || len(got.Fulfillments) != 2 || f.Info.Webhook == nil || f.Info.Webhook.Password != "s3cret" ||
		f.Beneficiary.Details["ifsc"] != "YESB0000262" || !slices.Equal(f.Methods, []string{"SANDBOX_IMPS"}) ||
		!slices.Equal(got.Policy.RetryOn, []string{"FAILURE", "TIMEOUT"}) {
		t.Fatalf("read back %+v / %+v", got, f)
	}
	var sealed []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT webhook_password_sealed FROM payout_fulfillments WHERE id = ?`, f.ID).
		Scan(&sealed); err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatalf("stored password %q, %v", sealed, err)
	}
	again := newPayout(t, "po_rt_1", 1, time.Time{})
	if err := db.CreatePayoutOrder(ctx, again, nil); pay.ErrorCode(err) != pay.ECONFLICT {
		t.Fatalf("a reused orderId: %v, want ECONFLICT", err)
	}
	if _, err := db.PayoutOrderByID(ctx, again.ID); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Fatalf("the refused order was stored: %v", err)
	}
}

// Concurrent claims never hand out the same fulfillment twice, and a claim
// holds what it took for the lease.
func TestClaimDueFulfillmentsConcurrently(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	past := time.Now().UTC().Add(-time.Minute)
	for i := range 4 {
		if err := db.CreatePayoutOrder(ctx, newPayout(t, "po_claim_"+string(rune('a'+i)), 10, past), nil); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				got, err := db.ClaimDueFulfillments(ctx, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.FulfillmentID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("claimed %d fulfillments, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
}

// An event may carry its own destination; its password is sealed at rest
// and opened by the claim.
func TestOutboxEventDestination(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	o := newPayout(t, "po_dest_1", 1, time.Time{})
	ev := store.Event{ID: "evt_dest_1", Name: "PAYOUT_ORDER_READY_FOR_FULFILLMENT", MerchantID: "m1", OrderUUID: o.ID,
		Payload: `{"id":"evt_dest_1"}`, Dest: &pay.WebhookDetails{URL: "https://own.example/h", Username: "own", Password: "pw-1"}}
	if err := db.CreatePayoutOrder(ctx, o, []store.Event{ev, {ID: "evt_plain", Name: "X", MerchantID: "m1", Payload: "{}"}}); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimDueEvents(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.OutboxEvent{}
	for _, e := range claimed {
		byID[e.EventID] = e
	}
	d, plain := byID["evt_dest_1"], byID["evt_plain"]
	if d.DestURL != "https://own.example/h" || d.DestUsername != "own" || d.DestPassword != "pw-1" {
		t.Fatalf("claimed destination %q %q %q", d.DestURL, d.DestUsername, d.DestPassword)
	}
	if plain.DestURL != "" || plain.DestPassword != "" {
		t.Fatalf("an event without a destination got one: %+v", plain)
	}
	var raw []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT dest_password_sealed FROM outbox WHERE event_id = 'evt_dest_1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 || string(raw) == "pw-1" {
		t.Fatalf("destination password stored as %q", raw)
	}
}
