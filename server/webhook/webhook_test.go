package webhook_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
	"switchyard/server/webhook"
)

func TestParseSchedule(t *testing.T) {
	got, err := webhook.ParseSchedule("1s, 2s,4s")
	if err != nil || len(got) != 3 || got[0] != time.Second || got[2] != 4*time.Second {
		t.Fatalf("ParseSchedule(1s,2s,4s) = %v, %v", got, err)
	}
	got, err = webhook.ParseSchedule("10ms,5m*2")
	if err != nil || len(got) != 3 || got[1] != 5*time.Minute || got[2] != 5*time.Minute {
		t.Fatalf("ParseSchedule(10ms,5m*2) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1s,,2s", "0s", "-1s", "5", "1s*0", "1s*x", "abc"} {
		if _, err := webhook.ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}

	// The default: 60 s, 5 min ×2, 10 min ×5, 1 h ×5, 6 h ×3.
	d := webhook.DefaultSchedule
	var total time.Duration
	for _, w := range d {
		total += w
	}
	if len(d) != 16 || d[0] != time.Minute || d[1] != 5*time.Minute || d[3] != 10*time.Minute ||
		d[8] != time.Hour || d[15] != 6*time.Hour || total != 24*time.Hour+time.Minute {
		t.Errorf("DefaultSchedule = %v (total %s)", d, total)
	}
}

// A delivery carries Basic auth and a signature the receiver verifies with
// its own HMAC, and the log records it.
func TestDeliverySignedWithBasicAuth(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	rc := newReceiver(t, nil, nil)
	m := newMerchant(t, db, "shop", rc.URL+"/hooks/juspay", "shop_user", "s3cret-pass")
	rc.expect(m)
	ids := insertEvents(t, db, m.ID, 3)

	startRelay(t, db, webhook.Config{})
	waitFor(t, 10*time.Second, "3 deliveries", func() bool { return rc.delivered() == 3 })
	requests, _, bad := rc.counts()
	if len(bad) > 0 {
		t.Fatalf("receiver refused requests: %v", bad)
	}
	for _, id := range ids {
		if requests[id] != 1 {
			t.Errorf("event %s received %d times", id, requests[id])
		}
		waitFor(t, 5*time.Second, "delivered state", func() bool {
			s, _ := eventState(t, db, id)
			return s == store.EventDelivered
		})
		if _, attempts := eventState(t, db, id); attempts != 1 {
			t.Errorf("event %s: attempts = %d, want 1", id, attempts)
		}
		log, err := db.Deliveries(context.Background(), m.ID, id)
		if err != nil || len(log) != 1 {
			t.Fatalf("Deliveries(%s) = %v, %v", id, log, err)
		}
		d := log[0]
		if d.Attempt != 1 || d.StatusCode != 200 || d.Error != "" || d.URL != rc.URL+"/hooks/juspay" {
			t.Errorf("delivery log = %+v", d)
		}
	}

	// The delivery log and the event list are per merchant.
	if _, err := db.Deliveries(context.Background(), "other", ids[0]); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Errorf("another merchant's deliveries: err = %v, want ENOTFOUND", err)
	}
	recent, err := db.RecentEvents(context.Background(), m.ID, 0, 2)
	if err != nil || len(recent) != 2 || recent[0].EventID != ids[2] || recent[0].Payload != "" {
		t.Errorf("RecentEvents = %+v, %v", recent, err)
	}
	if more, err := db.RecentEvents(context.Background(), m.ID, recent[1].ID, 10); err != nil || len(more) != 1 || more[0].EventID != ids[0] {
		t.Errorf("RecentEvents page 2 = %+v, %v", more, err)
	}
	ev, err := db.OutboxEventByID(context.Background(), m.ID, ids[0])
	if err != nil || !strings.Contains(ev.Payload, `"content":{"order":`) || ev.State != store.EventDelivered {
		t.Errorf("OutboxEventByID = %+v, %v", ev, err)
	}
}

// The log keeps neither the URL's userinfo nor its query, and a failed
// attempt's error names no part of the request.
func TestDeliveryLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	// Nothing listens on port 1 of the loopback address.
	m := newMerchant(t, db, "leaky", "http://user:hunter2@127.0.0.1:1/hook?token=tok_secret", "u", "pw-secret")
	ids := insertEvents(t, db, m.ID, 1)
	sched, _ := webhook.ParseSchedule("1h")
	startRelay(t, db, webhook.Config{Schedule: sched})
	var log []store.Delivery
	waitFor(t, 10*time.Second, "a logged attempt", func() bool {
		var err error
		log, err = db.Deliveries(context.Background(), m.ID, ids[0])
		return err == nil && len(log) == 1
	})
	d := log[0]
	if d.URL != "http://127.0.0.1:1/hook?…" || d.StatusCode != 0 || d.Error == "" {
		t.Errorf("delivery = %+v", d)
	}
	for _, secret := range []string{"hunter2", "tok_secret", "pw-secret", m.ResponseKey, "user:"} {
		if strings.Contains(d.URL+d.Error, secret) {
			t.Errorf("delivery log leaks %q: %+v", secret, d)
		}
	}
	if s, attempts := eventState(t, db, ids[0]); s != store.EventPending || attempts != 1 {
		t.Errorf("after a failed attempt: %s, %d attempts; want pending, 1", s, attempts)
	}
}

// A receiver failing 30% of requests still gets every event.
func TestFlakyReceiverGetsEverything(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	rc := newReceiver(t, nil, func(string) int {
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() < 0.3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	var ids []string
	for _, id := range []string{"flaky_a", "flaky_b", "flaky_c"} {
		m := newMerchant(t, db, id, rc.URL, "", "")
		ids = append(ids, insertEvents(t, db, m.ID, 60)...)
	}
	// 17 attempts per event: a dead one would take 0.3^17.
	sched, err := webhook.ParseSchedule("10ms,20ms,40ms,80ms,100ms*12")
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, db, webhook.Config{Schedule: sched})
	waitFor(t, 60*time.Second, "every event delivered", func() bool {
		return countStates(t, db)[store.EventDelivered] == len(ids)
	})
	requests, successes, bad := rc.counts()
	if len(bad) > 0 {
		t.Fatalf("receiver refused requests: %v", bad)
	}
	failures := 0
	for _, id := range ids {
		if successes[id] != 1 {
			t.Errorf("event %s succeeded %d times", id, successes[id])
		}
		failures += requests[id] - 1
		log, err := db.Deliveries(context.Background(), merchantOfEvent(t, db, id), id)
		if err != nil || len(log) != requests[id] {
			t.Errorf("event %s: %d logged attempts, %d requests (%v)", id, len(log), requests[id], err)
			continue
		}
		for i, d := range log {
			if d.Attempt != i+1 || (i < len(log)-1) != (d.StatusCode == 500) {
				t.Errorf("event %s attempt %d logged as %+v", id, i+1, d)
			}
		}
	}
	if failures == 0 {
		t.Error("the receiver never failed; the test proves nothing")
	}
	t.Logf("%d events, %d failed attempts", len(ids), failures)
}

func merchantOfEvent(t testing.TB, db *store.DB, eventID string) string {
	t.Helper()
	var m string
	if err := db.SQL().QueryRowContext(context.Background(),
		`SELECT merchant_id FROM outbox WHERE event_id = ?`, eventID).Scan(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// An event whose every attempt fails is dead after the schedule; a resend
// starts a fresh schedule and delivers it once the receiver recovers.
func TestDeadAfterScheduleThenResend(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	rc := newReceiver(t, nil, func(string) int {
		mu.Lock()
		defer mu.Unlock()
		return status
	})
	m := newMerchant(t, db, "dying", rc.URL, "", "")
	rc.expect(m)
	id := insertEvents(t, db, m.ID, 1)[0]
	sched, _ := webhook.ParseSchedule("10ms,20ms")
	startRelay(t, db, webhook.Config{Schedule: sched})

	waitFor(t, 10*time.Second, "dead", func() bool { s, _ := eventState(t, db, id); return s == store.EventDead })
	if _, attempts := eventState(t, db, id); attempts != 3 {
		t.Errorf("dead after %d attempts, want 3 (the first and 2 retries)", attempts)
	}
	time.Sleep(100 * time.Millisecond)
	if requests, _, _ := rc.counts(); requests[id] != 3 {
		t.Errorf("a dead event was sent again: %d requests", requests[id])
	}

	// Resending someone else's event is not found, and changes nothing.
	if err := db.ResendEvent(context.Background(), "someone_else", id); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Errorf("ResendEvent by another merchant: err = %v, want ENOTFOUND", err)
	}
	if err := db.ResendEvent(context.Background(), m.ID, "evt_nope"); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Errorf("ResendEvent of an unknown event: err = %v, want ENOTFOUND", err)
	}
	if s, _ := eventState(t, db, id); s != store.EventDead {
		t.Errorf("state after refused resends = %s", s)
	}

	// The resend gets a fresh schedule: two failures are retried ...
	if err := db.ResendEvent(context.Background(), m.ID, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "2 more attempts", func() bool { _, a := eventState(t, db, id); return a >= 5 })
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	// ... and the third attempt of the new schedule succeeds.
	waitFor(t, 10*time.Second, "delivered", func() bool { s, _ := eventState(t, db, id); return s == store.EventDelivered })
	log, err := db.Deliveries(context.Background(), m.ID, id)
	if err != nil || len(log) != 6 {
		t.Fatalf("Deliveries = %d rows, %v; want 6", len(log), err)
	}
	for i, d := range log {
		if d.Attempt != i+1 {
			t.Errorf("log row %d has attempt %d", i, d.Attempt)
		}
	}
	if log[5].StatusCode != 200 || log[4].StatusCode != 503 {
		t.Errorf("last attempts: %+v, %+v", log[4], log[5])
	}

	// A delivered event can be resent too.
	if err := db.ResendEvent(context.Background(), m.ID, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "sent again", func() bool { _, s, _ := rc.counts(); return s[id] == 2 })
}

// A merchant without a webhook URL has its events skipped, not retried; a
// resend after configuring the URL delivers.
func TestSkippedWithoutURLThenResend(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := newMerchant(t, db, "nourl", "", "", "")
	id := insertEvents(t, db, m.ID, 1)[0]
	startRelay(t, db, webhook.Config{})
	waitFor(t, 10*time.Second, "skipped", func() bool { s, _ := eventState(t, db, id); return s == store.EventSkipped })
	if _, attempts := eventState(t, db, id); attempts != 0 {
		t.Errorf("a skipped event counts %d attempts", attempts)
	}

	rc := newReceiver(t, m, nil)
	if _, err := db.UpdateMerchant(context.Background(), m.ID, func(m *pay.Merchant) error {
		m.WebhookURL = rc.URL
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.ResendEvent(context.Background(), m.ID, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "delivered", func() bool { s, _ := eventState(t, db, id); return s == store.EventDelivered })
	if _, s, bad := rc.counts(); s[id] != 1 || len(bad) > 0 {
		t.Errorf("successes %v, refused %v", s, bad)
	}
}

// A merchant whose endpoint takes 10 s does not hold up another merchant's
// deliveries.
func TestSlowMerchantDoesNotDelayOthers(t *testing.T) {
	db := storetest.Open(t)
	unblock := make(chan struct{})
	slow := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		// With the body read, the server notices the client hanging up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(10 * time.Second):
		case <-unblock:
		case <-r.Context().Done():
		}
	})
	fast := newReceiver(t, nil, nil)
	a := newMerchant(t, db, "slow_a", slow.URL, "", "")
	b := newMerchant(t, db, "fast_b", fast.URL, "", "")
	// A's events are older, so they are first in line.
	insertEvents(t, db, a.ID, 40)
	time.Sleep(2 * time.Millisecond)
	bIDs := insertEvents(t, db, b.ID, 20)

	r := startRelay(t, db, webhook.Config{Workers: 8})
	start := time.Now()
	waitFor(t, 5*time.Second, "B's events", func() bool { return fast.delivered() == len(bIDs) })
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("B's 20 events took %s behind A's slow endpoint, want < 500ms", took)
	} else {
		t.Logf("B's 20 events delivered in %s while A's requests hang", took)
	}

	// More of B's events keep flowing while A's requests still hang.
	more := insertEvents(t, db, b.ID, 10)
	r.Notify()
	start = time.Now()
	waitFor(t, 5*time.Second, "B's later events", func() bool { return fast.delivered() == len(bIDs)+len(more) })
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("B's later events took %s", took)
	}
	close(unblock)
}

func httptestServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Close cuts requests in flight short; the events of those are handed back
// due now (as are the claimed ones not sent), and Close does not wait for
// the slow endpoint.
func TestCloseHandsBackWhatItHolds(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	slow := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		// With the body read, the server notices the client hanging up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
		}
	})
	m := newMerchant(t, db, "hang", slow.URL, "", "")
	ids := insertEvents(t, db, m.ID, 10)
	r, err := webhook.New(webhook.Config{DB: db, CloseGrace: 200 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Start(context.Background())
	// Wait until the claim is made (leases pushed ahead).
	waitFor(t, 5*time.Second, "claimed", func() bool {
		ev, err := db.OutboxEventByID(context.Background(), m.ID, ids[9])
		return err == nil && ev.NextAttemptAt.After(time.Now().Add(time.Minute))
	})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	r.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %s", took)
	}
	now := time.Now()
	for _, id := range ids {
		ev, err := db.OutboxEventByID(context.Background(), m.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.State != store.EventPending || ev.Attempts != 0 || ev.NextAttemptAt.After(now) {
			t.Errorf("after Close: %s %s attempts %d next %s; want pending, 0, due", id, ev.State, ev.Attempts, ev.NextAttemptAt)
		}
	}
}

// A claim that is never recorded (its relay crashed) expires with its lease,
// and the event is delivered then.
func TestCrashedClaimRetriedAfterLease(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	rc := newReceiver(t, nil, nil)
	m := newMerchant(t, db, "crashy", rc.URL, "", "")
	id := insertEvents(t, db, m.ID, 1)[0]
	ctx := context.Background()

	claimed, err := db.ClaimDueEvents(ctx, 10, time.Second)
	if err != nil || len(claimed) != 1 || claimed[0].EventID != id {
		t.Fatalf("ClaimDueEvents = %+v, %v", claimed, err)
	}
	if again, err := db.ClaimDueEvents(ctx, 10, time.Second); err != nil || len(again) != 0 {
		t.Fatalf("a leased event was claimed again: %+v, %v", again, err)
	}
	// The "crashed" relay never records; a live one picks the event up once
	// the lease has run out, not before.
	start := time.Now()
	startRelay(t, db, webhook.Config{})
	waitFor(t, 10*time.Second, "delivered", func() bool { return rc.delivered() == 1 })
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("delivered %s after start, before the 1 s lease ran out", took)
	}
	waitFor(t, 5*time.Second, "recorded", func() bool { s, _ := eventState(t, db, id); return s == store.EventDelivered })
}

// Claims respect each merchant's room and look past a merchant with a long
// backlog.
func TestClaimPerMerchantRoom(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	insertEvents(t, db, "big", 50)
	time.Sleep(2 * time.Millisecond)
	insertEvents(t, db, "small", 3)

	got, err := db.ClaimEvents(ctx, store.Claim{Limit: 100, Lease: time.Minute, PerMerchant: 5, Held: map[string]int{"big": 2}})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, e := range got {
		per[e.MerchantID]++
		if e.LeaseUntil.IsZero() || !e.NextAttemptAt.Equal(e.LeaseUntil) {
			t.Errorf("claimed event without its lease: %+v", e)
		}
	}
	if per["big"] != 3 || per["small"] != 3 {
		t.Errorf("claimed per merchant %v, want big 3 (room 5-2), small 3", per)
	}
	// At its cap, "big" is passed over; "small" has nothing left.
	got, err = db.ClaimEvents(ctx, store.Claim{Limit: 100, Lease: time.Minute, PerMerchant: 5, Held: map[string]int{"big": 5}})
	if err != nil || len(got) != 0 {
		t.Errorf("claim with big at its cap = %d events, %v", len(got), err)
	}
	// Limit bounds the whole claim.
	got, err = db.ClaimEvents(ctx, store.Claim{Limit: 4, Lease: time.Minute})
	if err != nil || len(got) != 4 {
		t.Errorf("claim with limit 4 = %d events, %v", len(got), err)
	}
}

// Two relays (replicas) on one database deliver each event exactly once when
// the receiver succeeds.
func TestTwoRelaysDeliverOnce(t *testing.T) {
	if storetest.Backend() != storetest.BackendMySQL {
		t.Skip("needs row locks (FOR UPDATE SKIP LOCKED) between two connection pools: the embedded engine has none; set " + storetest.EnvDatabaseURL)
	}
	t.Parallel()
	dsn := storetest.DSN(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, dsn, storetest.Sealer())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	rc := newReceiver(t, nil, nil)
	var ids []string
	for i := range 5 {
		m := newMerchant(t, db1, "twin_"+string(rune('a'+i)), rc.URL, "", "")
		ids = append(ids, insertEvents(t, db1, m.ID, 200)...)
	}
	cfg := webhook.Config{BatchSize: 16, PollInterval: 5 * time.Millisecond}
	startRelay(t, db1, cfg)
	startRelay(t, db2, cfg)
	waitFor(t, 60*time.Second, "every event delivered", func() bool {
		return countStates(t, db1)[store.EventDelivered] == len(ids)
	})
	requests, _, bad := rc.counts()
	if len(bad) > 0 {
		t.Fatalf("receiver refused requests: %v", bad)
	}
	dups := 0
	for _, id := range ids {
		if requests[id] != 1 {
			dups++
		}
	}
	if dups > 0 || len(requests) != len(ids) {
		t.Errorf("%d of %d events not received exactly once (%d distinct received)", dups, len(ids), len(requests))
	}
	var logged int
	if err := db1.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries`).Scan(&logged); err != nil || logged != len(ids) {
		t.Errorf("delivery log has %d rows, want %d (%v)", logged, len(ids), err)
	}
}

// After a slow answer the relay keeps no more of that merchant's events
// than it can send at once: the rest go back to the database, due, for any
// replica to take.
func TestSlowMerchantBacklogHandedBack(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	slow := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	m := newMerchant(t, db, "sluggish", slow.URL, "", "")
	insertEvents(t, db, m.ID, 40)
	startRelay(t, db, webhook.Config{CloseGrace: 100 * time.Millisecond})
	leased := func() int {
		var n int
		err := db.SQL().QueryRowContext(context.Background(), `
			SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND next_attempt_at > ?`,
			time.Now().UTC().Add(30*time.Second)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, 5*time.Second, "the first claim", func() bool { return leased() >= 30 })
	// The first answers take 1.5 s; then the relay holds about 2 s of work.
	waitFor(t, 5*time.Second, "the backlog handed back", func() bool { return leased() <= 8 })
}
