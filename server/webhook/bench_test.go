package webhook_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchyard/server/storetest"
	"switchyard/server/webhook"
)

// BenchmarkRelay measures deliveries per second, bookkeeping included: b.N
// events are inserted due, then timed from Start until the last one is
// recorded delivered, against a local receiver answering 200. Run it on
// MySQL/MariaDB with a fixed count, e.g.
//
//	SWITCHYARD_TEST_DATABASE_URL='root@tcp(127.0.0.1:3306)/switchyard_test' \
//	  go test -run '^$' -bench BenchmarkRelay -benchtime 20000x ./server/webhook
//
// The embedded engine serializes every statement on one connection; its
// numbers only say that it works.
func BenchmarkRelay(b *testing.B) {
	for _, tc := range []struct{ merchants, perMerchant int }{{1, 4}, {8, 4}, {1, 32}} {
		b.Run(fmt.Sprintf("merchants=%d/per_merchant=%d", tc.merchants, tc.perMerchant), func(b *testing.B) {
			db := storetest.Open(b)
			rc := newReceiver(b, nil, nil)
			n := b.N
			for i := range tc.merchants {
				m := newMerchant(b, db, fmt.Sprintf("bench_%d", i), rc.URL, "bench", "bench-password")
				insertEvents(b, db, m.ID, (n+i)/tc.merchants)
			}
			r, err := webhook.New(webhook.Config{DB: db, PerMerchant: tc.perMerchant})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			r.Start(ctx)
			// The receiver's count first: counting pending rows over and
			// over would load the database being measured.
			for rc.delivered() < n {
				time.Sleep(5 * time.Millisecond)
			}
			for {
				var pending int
				if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE state = 'pending'`).Scan(&pending); err != nil {
					b.Fatal(err)
				}
				if pending == 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			r.Close()
			if got := rc.delivered(); got != n {
				b.Fatalf("receiver got %d distinct events, want %d", got, n)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
		})
	}
}
