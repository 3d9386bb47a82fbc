package dashboard

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"switchyard/server/store"
)

// analyticsRange is a period the analytics page can show: Buckets buckets
// of Width, ending with the bucket that holds now.
type analyticsRange struct {
	Key     string
	Label   string
	Width   time.Duration
	Buckets int
	// Format labels a bucket by its start (UTC).
	Format string
}

var analyticsRanges = []analyticsRange{
	{Key: "1h", Label: "Last hour", Width: 5 * time.Minute, Buckets: 12, Format: "15:04"},
	{Key: "24h", Label: "Last 24 hours", Width: time.Hour, Buckets: 24, Format: "15:04"},
	{Key: "7d", Label: "Last 7 days", Width: 6 * time.Hour, Buckets: 28, Format: "Jan 2 15h"},
	{Key: "30d", Label: "Last 30 days", Width: 24 * time.Hour, Buckets: 30, Format: "Jan 2"},
}

// defaultRange is the range shown when none is asked for.
const defaultRange = "24h"

// findRange returns the range named key, or false.
func findRange(key string) (analyticsRange, bool) {
	for _, r := range analyticsRanges {
		if r.Key == key {
			return r, true
		}
	}
	return analyticsRange{}, false
}

// window returns the range's time span at now: whole buckets (aligned to
// multiples of Width since Go's zero time, so whole UTC hours and days),
// the last one holding now.
func (r analyticsRange) window(now time.Time) (from, to time.Time) {
	to = now.UTC().Truncate(r.Width).Add(r.Width)
	return to.Add(-r.Width * time.Duration(r.Buckets)), to
}

// labels names the range's buckets starting at from.
func (r analyticsRange) labels(from time.Time) []string {
	out := make([]string, r.Buckets)
	for i := range out {
		out[i] = from.Add(r.Width * time.Duration(i)).Format(r.Format)
	}
	return out
}

// breakdown is the txns of one gateway or payment method type per bucket.
type breakdown struct {
	Name      string
	Attempts  []int
	Successes []int
	Failures  []int
	// Totals over the range.
	TotalAttempts, TotalSuccesses, TotalFailures int
}

// SuccessRate is successes over finished txns (successes and failures) as
// a percentage with one decimal, or "–" when none finished.
func (b breakdown) SuccessRate() string {
	return rateText(b.TotalSuccesses, b.TotalFailures)
}

func rateText(successes, failures int) string {
	if successes+failures == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(successes)/float64(successes+failures), 'f', 1, 64) + "%"
}

// noGateway names the txns that found no gateway.
const noGateway = "(none)"

// rollUp sums stats into one breakdown per key (gateway or method type),
// the busiest first, ties by name.
func rollUp(stats []store.TxnStat, buckets int, key func(store.TxnStat) string) []breakdown {
	byName := map[string]*breakdown{}
	for _, s := range stats {
		if s.Bucket < 0 || s.Bucket >= buckets {
			continue
		}
		name := key(s)
		if name == "" {
			name = noGateway
		}
		b := byName[name]
		if b == nil {
			b = &breakdown{Name: name, Attempts: make([]int, buckets), Successes: make([]int, buckets), Failures: make([]int, buckets)}
			byName[name] = b
		}
		b.Attempts[s.Bucket] += s.Attempts
		b.Successes[s.Bucket] += s.Successes
		b.Failures[s.Bucket] += s.Failures
		b.TotalAttempts += s.Attempts
		b.TotalSuccesses += s.Successes
		b.TotalFailures += s.Failures
	}
	out := make([]breakdown, 0, len(byName))
	for _, b := range byName {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b breakdown) int {
		return cmp.Or(cmp.Compare(b.TotalAttempts, a.TotalAttempts), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// volumeChart draws attempts per bucket, a line per breakdown.
func volumeChart(id, by string, r analyticsRange, labels []string, bs []breakdown) lineChart {
	c := lineChart{ID: id, Title: "Payment attempts by " + by, Labels: labels, Unit: "attempts"}
	desc := fmt.Sprintf("Payment attempts per %s by %s, %s.", widthText(r.Width), by, lowerFirst(r.Label))
	for _, b := range bs {
		vals := make([]float64, len(b.Attempts))
		for i, v := range b.Attempts {
			vals[i] = float64(v)
		}
		c.Series = append(c.Series, chartSeries{Name: b.Name, Values: vals})
		desc += fmt.Sprintf(" %s: %d.", b.Name, b.TotalAttempts)
	}
	if len(bs) == 0 {
		desc += " No payment attempts."
	}
	c.Desc = desc
	return c
}

// rateChart draws the success rate per bucket, a line per breakdown, with
// gaps where nothing finished.
func rateChart(id, by string, r analyticsRange, labels []string, bs []breakdown) lineChart {
	c := lineChart{ID: id, Title: "Success rate by " + by, Labels: labels, Percent: true, Unit: "success rate"}
	desc := fmt.Sprintf("Share of finished payment attempts that succeeded, per %s by %s, %s.", widthText(r.Width), by, lowerFirst(r.Label))
	for _, b := range bs {
		vals := make([]float64, len(b.Successes))
		for i := range vals {
			vals[i] = math.NaN()
			if done := b.Successes[i] + b.Failures[i]; done > 0 {
				vals[i] = math.Round(1000*float64(b.Successes[i])/float64(done)) / 10
			}
		}
		c.Series = append(c.Series, chartSeries{Name: b.Name, Values: vals})
		desc += fmt.Sprintf(" %s: %s overall.", b.Name, b.SuccessRate())
	}
	if len(bs) == 0 {
		desc += " No finished payment attempts."
	}
	c.Desc = desc
	return c
}

func widthText(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == 24*time.Hour:
		return "day"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	default:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}
