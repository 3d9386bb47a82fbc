package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"switchyard/server/storetest"
)

// benchParallelism multiplies GOMAXPROCS into the number of concurrent
// clients: with only one request in flight per core, the benchmarks would
// measure round-trip latency rather than what the server sustains.
const benchParallelism = 4

// BenchmarkCreateOrder measures POST /orders over HTTP against a booted app
// (one new order per operation). ns/op is wall time per order with
// benchParallelism×GOMAXPROCS concurrent clients, so its inverse is the
// throughput. The sub-benchmark names the database backend.
func BenchmarkCreateOrder(b *testing.B) {
	s := boot(b)
	key := basic(s.createMerchant(b, "bench").APIKey)
	var n atomic.Int64
	b.Run(storetest.Backend(), func(b *testing.B) {
		b.SetParallelism(benchParallelism)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				form := url.Values{
					"order_id": {fmt.Sprintf("bench_%d", n.Add(1))}, "amount": {"100.00"},
					"currency": {"INR"}, "customer_id": {"bench_customer"},
				}.Encode()
				r, err := s.send(http.MethodPost, "/orders", key, "application/x-www-form-urlencoded", form)
				if err != nil || r.Code != http.StatusOK {
					b.Errorf("POST /orders: %v %d %s", err, r.Code, r.Body)
					return
				}
			}
		})
	})
}

// BenchmarkGetOrder measures the Order Status API, GET /orders/{order_id},
// over HTTP, reading benchOrders orders in turn.
func BenchmarkGetOrder(b *testing.B) {
	const benchOrders = 64
	s := boot(b)
	key := basic(s.createMerchant(b, "bench").APIKey)
	for i := range benchOrders {
		s.postForm(b, "/orders", key, url.Values{
			"order_id": {fmt.Sprintf("bench_%d", i)}, "amount": {"100.00"},
			"currency": {"INR"}, "customer_id": {"bench_customer"},
		}).want(b, http.StatusOK)
	}
	var n atomic.Int64
	b.Run(storetest.Backend(), func(b *testing.B) {
		b.SetParallelism(benchParallelism)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				path := fmt.Sprintf("/orders/bench_%d", n.Add(1)%benchOrders)
				r, err := s.send(http.MethodGet, path, key, "", "")
				if err != nil || r.Code != http.StatusOK {
					b.Errorf("GET %s: %v %d %s", path, err, r.Code, r.Body)
					return
				}
			}
		})
	})
}
