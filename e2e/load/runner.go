package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The three steps of a payment.
const (
	stepOrder = iota
	stepTxn
	stepGet
	numSteps
)

var stepNames = [numSteps]string{"POST /orders", "POST /txns", "GET /orders/{id}"}

// The order every payment makes: 1.00 INR, 100 in minor units.
const (
	orderAmount      = "1.00"
	orderAmountMinor = 100
	orderCurrency    = "INR"
	successCard      = "4242424242424242"
	formContentType  = "application/x-www-form-urlencoded"
)

// runner runs the shoppers and remembers every order they created, for the
// final check.
type runner struct {
	cl   *client
	tg   *target
	shop *shop
	o    *options

	tag     string
	seq     atomic.Int64
	txnForm string

	mu     sync.Mutex
	orders []string
	// paid and failed count payments in every phase, warmup included.
	paid, failed int64
}

func newRunner(cl *client, tg *target, s *shop, o *options) *runner {
	r := &runner{cl: cl, tg: tg, shop: s, o: o, tag: "ld" + randHex(3)}
	r.txnForm = url.Values{
		"merchant_id":         {s.merchantID},
		"payment_method_type": {"CARD"},
		"payment_method":      {"VISA"},
		"card_number":         {successCard},
		"card_exp_month":      {"12"},
		"card_exp_year":       {strconv.Itoa(time.Now().Year() + 5)},
		"card_security_code":  {"123"},
		"name_on_card":        {"Load Shopper"},
		"format":              {"json"},
	}.Encode()
	return r
}

// stats are one shopper's measurements, merged at the end of a phase.
type stats struct {
	lat, self, gw [numSteps][]time.Duration
	// payment is the whole payment's latency (from when it was due, in the
	// open model); paySelf the sum of its steps' self time.
	payment, paySelf []time.Duration
	// startLag is how late payments started in the open model.
	startLag   []time.Duration
	noTiming   [numSteps]int64
	errs       map[string]int64
	samples    []string
	ok, failed int64
	// stepSQL are statement counts per step (counting proxy, c=1 only).
	stepSQL [numSteps]map[string]int64
}

func newStats() *stats { return &stats{errs: map[string]int64{}} }

func (s *stats) merge(o *stats) {
	for i := range numSteps {
		s.lat[i] = append(s.lat[i], o.lat[i]...)
		s.self[i] = append(s.self[i], o.self[i]...)
		s.gw[i] = append(s.gw[i], o.gw[i]...)
		s.noTiming[i] += o.noTiming[i]
		if o.stepSQL[i] != nil {
			if s.stepSQL[i] == nil {
				s.stepSQL[i] = map[string]int64{}
			}
			for k, v := range o.stepSQL[i] {
				s.stepSQL[i][k] += v
			}
		}
	}
	s.payment = append(s.payment, o.payment...)
	s.paySelf = append(s.paySelf, o.paySelf...)
	s.startLag = append(s.startLag, o.startLag...)
	for k, v := range o.errs {
		s.errs[k] += v
	}
	for _, smp := range o.samples {
		if len(s.samples) < 5 {
			s.samples = append(s.samples, smp)
		}
	}
	s.ok += o.ok
	s.failed += o.failed
}

// phaseResult is a phase's merged measurements.
type phaseResult struct {
	*stats
	elapsed time.Duration
}

// phase runs the shoppers until n payments have started (0: no limit) or d
// has passed, and returns their merged measurements (if record).
func (r *runner) phase(ctx context.Context, record bool, n int64, d time.Duration) *phaseResult {
	all := newStats()
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(d)
	var end time.Time
	pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
		var wg sync.WaitGroup
		var tickets chan time.Time
		if r.o.rate > 0 {
			// The open model: payments are due on a fixed schedule,
			// whoever is free takes the next one.
			tickets = make(chan time.Time, r.o.c)
			wg.Go(func() {
				defer close(tickets)
				interval := time.Duration(float64(time.Second) / r.o.rate)
				for i := int64(0); n == 0 || i < n; i++ {
					due := start.Add(time.Duration(i) * interval)
					if !due.Before(deadline) {
						return
					}
					if wait := time.Until(due); wait > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(wait):
						}
					}
					select {
					case <-ctx.Done():
						return
					case tickets <- due:
					}
				}
			})
		}
		var issued atomic.Int64
		for range r.o.c {
			wg.Go(func() {
				st := newStats()
				w := &shopper{r: r, st: st, record: record}
				for ctx.Err() == nil {
					var due time.Time
					if tickets != nil {
						var ok bool
						if due, ok = <-tickets; !ok {
							break
						}
					} else {
						if n > 0 && issued.Add(1) > n || !time.Now().Before(deadline) {
							break
						}
						due = time.Now()
					}
					w.pay(ctx, due)
				}
				mu.Lock()
				all.merge(st)
				if t := time.Now(); t.After(end) {
					end = t
				}
				mu.Unlock()
			})
		}
		wg.Wait()
	})
	return &phaseResult{stats: all, elapsed: end.Sub(start)}
}

// shopper makes payments one after the other.
type shopper struct {
	r      *runner
	st     *stats
	record bool
	buf    bytes.Buffer
}

// pay makes one payment: create the order, pay it, read it back.
func (w *shopper) pay(ctx context.Context, due time.Time) {
	r := w.r
	started := time.Now()
	orderID := r.tag + "_" + strconv.FormatInt(r.seq.Add(1), 10)
	var selfSum time.Duration
	ok := w.step(ctx, stepOrder, http.MethodPost, "/orders",
		"order_id="+orderID+"&amount="+orderAmount+"&currency="+orderCurrency+"&customer_id=load_shopper",
		"NEW", &selfSum, func() {
			r.mu.Lock()
			r.orders = append(r.orders, orderID)
			r.mu.Unlock()
		})
	ok = ok && w.step(ctx, stepTxn, http.MethodPost, "/txns", "order_id="+orderID+"&"+r.txnForm, "CHARGED", &selfSum, nil)
	ok = ok && w.step(ctx, stepGet, http.MethodGet, "/orders/"+orderID, "", "CHARGED", &selfSum, nil)
	end := time.Now()
	r.mu.Lock()
	if ok {
		r.paid++
	} else {
		r.failed++
	}
	r.mu.Unlock()
	if !w.record {
		return
	}
	if ok {
		w.st.ok++
		w.st.payment = append(w.st.payment, end.Sub(due))
		w.st.paySelf = append(w.st.paySelf, selfSum)
	} else {
		w.st.failed++
	}
	if r.o.rate > 0 {
		w.st.startLag = append(w.st.startLag, started.Sub(due))
	}
}

// step sends one request and checks its status code and the order or txn
// status in the answer. created runs when the server accepted the request.
func (w *shopper) step(ctx context.Context, step int, method, path, form, wantStatus string, selfSum *time.Duration, created func()) bool {
	r := w.r
	ct := ""
	if form != "" && method != http.MethodGet {
		ct = formContentType
	}
	var sqlBefore map[string]int64
	if w.record && r.tg.proxy != nil && r.o.c == 1 {
		sqlBefore = r.tg.proxy.snapshot()
	}
	t0 := time.Now()
	res, err := r.cl.do(ctx, method, r.tg.url+path, r.shop.auth, ct, form, &w.buf)
	lat := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			w.fail(step, "interrupted", "")
			return false
		}
		w.fail(step, "transport error", err.Error())
		return false
	}
	if res.code == http.StatusOK && created != nil {
		created()
	}
	if res.code != http.StatusOK {
		w.fail(step, strconv.Itoa(res.code), truncate(res.body, 300))
		return false
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil || body.Status != wantStatus {
		w.fail(step, "200 but status "+strconv.Quote(body.Status), truncate(res.body, 300))
		return false
	}
	self, gw, ok := serverTiming(res.header.Get("Server-Timing"))
	if !w.record {
		return true
	}
	if sqlBefore != nil {
		after := r.tg.proxy.snapshot()
		if w.st.stepSQL[step] == nil {
			w.st.stepSQL[step] = map[string]int64{}
		}
		for k, v := range after {
			if dv := v - sqlBefore[k]; dv != 0 {
				w.st.stepSQL[step][k] += dv
			}
		}
	}
	w.st.lat[step] = append(w.st.lat[step], lat)
	if ok {
		w.st.self[step] = append(w.st.self[step], self)
		w.st.gw[step] = append(w.st.gw[step], gw)
		*selfSum += self
	} else {
		w.st.noTiming[step]++
	}
	return true
}

func (w *shopper) fail(step int, kind, detail string) {
	if !w.record {
		// Warmup failures still fail the final check.
		return
	}
	w.st.errs[stepNames[step]+": "+kind]++
	if detail != "" && len(w.st.samples) < 5 {
		w.st.samples = append(w.st.samples, stepNames[step]+": "+kind+": "+detail)
	}
}

// check reads back every order the run created (each must be CHARGED) and
// compares with the sandbox processor's counters. It reports whether all
// agree.
func (r *runner) check(ctx context.Context, out io.Writer) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	r.mu.Lock()
	orders := slices.Clone(r.orders)
	paid, failed := r.paid, r.failed
	r.mu.Unlock()

	var charged atomic.Int64
	var mu sync.Mutex
	bad := map[string]int64{}
	var samples []string
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(r.o.c, 32) {
		wg.Go(func() {
			var buf bytes.Buffer
			for id := range next {
				res, err := r.cl.do(ctx, http.MethodGet, r.tg.url+"/orders/"+id, r.shop.auth, "", "", &buf)
				var body struct {
					Status string `json:"status"`
				}
				kind := ""
				switch {
				case err != nil:
					kind = "transport error"
				case res.code != http.StatusOK:
					kind = "HTTP " + strconv.Itoa(res.code)
				case json.Unmarshal(res.body, &body) != nil:
					kind = "unreadable answer"
				case body.Status != "CHARGED":
					kind = body.Status
				default:
					charged.Add(1)
					continue
				}
				mu.Lock()
				bad[kind]++
				if len(samples) < 5 {
					samples = append(samples, id+": "+kind)
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range orders {
		next <- id
	}
	close(next)
	wg.Wait()

	fmt.Fprintln(out)
	fmt.Fprintln(out, "check")
	ok := true
	fmt.Fprintf(out, "  warmup included: orders created %d, payments completed %d, failed %d; CHARGED on GET /orders: %d\n",
		len(orders), paid, failed, charged.Load())
	if failed > 0 {
		ok = false
	}
	if int64(len(orders)) != charged.Load() {
		ok = false
		fmt.Fprintf(out, "  MISMATCH: %d orders are not CHARGED: %v (e.g. %v)\n", int64(len(orders))-charged.Load(), bad, samples)
	}
	c, err := r.shop.counters(ctx, r.cl, r.tg)
	if err != nil {
		fmt.Fprintf(out, "  reading the sandbox processor's counters: %v\n", err)
		return false
	}
	fmt.Fprintf(out, "  sandbox processor %s: attempts %d, charged %d, amount_charged %d\n", r.shop.processor, c.Attempts, c.Charged, c.AmountCharged)
	if c.Charged != charged.Load() {
		ok = false
		fmt.Fprintf(out, "  MISMATCH: the processor charged %d payments, Switchyard shows %d CHARGED orders\n", c.Charged, charged.Load())
	}
	if c.AmountCharged != c.Charged*orderAmountMinor {
		ok = false
		fmt.Fprintf(out, "  MISMATCH: amount_charged %d, want %d × %d\n", c.AmountCharged, c.Charged, orderAmountMinor)
	}
	if ok {
		fmt.Fprintln(out, "  OK: every order is CHARGED and the processor agrees")
	}
	return ok
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
