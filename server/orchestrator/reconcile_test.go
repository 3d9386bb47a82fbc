package orchestrator

import (
	"slices"
	"testing"
	"time"
)

// TestLeftRanges pins when the reconciler asks a gateway again about a txn
// Switchyard failed on its own: once as its age crosses each of 1, 2, 4, …
// 64 minutes, whatever the pass interval, and never after the window; the
// first pass of a process takes every left txn of the window once.
func TestLeftRanges(t *testing.T) {
	updated := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	selected := func(ranges [][2]time.Time) bool {
		for _, r := range ranges {
			if updated.After(r[0]) && !updated.After(r[1]) {
				return true
			}
		}
		return false
	}
	points := []time.Duration{1, 2, 4, 8, 16, 32, 64} // minutes
	for _, interval := range []time.Duration{time.Second, 7 * time.Second, 30 * time.Second, 5 * time.Minute} {
		t.Run(interval.String(), func(t *testing.T) {
			// The process started before the txn was left.
			start := updated.Add(-interval / 2)
			var got, want []time.Duration
			prev := start
			for now := start.Add(interval); now.Before(updated.Add(3 * time.Hour)); now = now.Add(interval) {
				if selected(leftRanges(prev, now)) {
					got = append(got, now.Sub(updated))
				}
				// Due: the first pass at or after a sync point (points
				// closer than the interval share a pass).
				for _, p := range points {
					age := now.Sub(updated)
					if age >= p*time.Minute && age-interval < p*time.Minute {
						want = append(want, age)
						break
					}
				}
				prev = now
			}
			if !slices.Equal(got, want) {
				t.Errorf("synced at ages %v, want %v: the first pass after each of %v minutes", got, want, points)
			}
		})
	}

	t.Run("first pass of a process", func(t *testing.T) {
		for _, tc := range []struct {
			age  time.Duration
			want bool
		}{
			{30 * time.Second, false}, // too young: a call may still be on its way
			{time.Minute, true},
			{20 * time.Minute, true},
			{64 * time.Minute, false}, // past the window
			{2 * time.Hour, false},
		} {
			if got := selected(leftRanges(time.Time{}, updated.Add(tc.age))); got != tc.want {
				t.Errorf("left txn %s old on a process's first pass: selected %v, want %v", tc.age, got, tc.want)
			}
		}
	})
}
