package webhook

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the wait before each retry after a failed attempt
// (DESIGN §10, Juspay's and Hyperswitch's schedule): 60 s, 5 min ×2,
// 10 min ×5, 1 h ×5, 6 h ×3. With the first attempt that is 17 attempts
// over about 24 hours; after the last the event is dead.
var DefaultSchedule = mustParseSchedule("60s,5m*2,10m*5,1h*5,6h*3")

// EnvSchedule names the environment variable that overrides the schedule,
// in ParseSchedule's syntax; tests use short ones such as "1s,2s,4s".
const EnvSchedule = "SWITCHYARD_WEBHOOK_RETRY_SCHEDULE"

// ParseSchedule reads a retry schedule: comma-separated Go durations, each
// optionally repeated with "*n", e.g. "1s,2s,4s" or "60s,5m*2,10m*5,1h*5,6h*3".
// Every wait must be positive; the list must not be empty.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("retry schedule: step %d is empty", i+1)
		}
		n := 1
		if d, times, ok := strings.Cut(part, "*"); ok {
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(times)); err != nil || n < 1 || n > 100 {
				return nil, fmt.Errorf("retry schedule: step %d (%q): the repeat count must be 1 to 100", i+1, part)
			}
			part = strings.TrimSpace(d)
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule: step %d (%q) is not a positive duration such as 30s or 5m", i+1, part)
		}
		for range n {
			out = append(out, d)
		}
	}
	if len(out) > 1000 {
		return nil, fmt.Errorf("retry schedule: %d steps is too many", len(out))
	}
	return out, nil
}

func mustParseSchedule(s string) []time.Duration {
	d, err := ParseSchedule(s)
	if err != nil {
		panic(err)
	}
	return d
}

// nextAttempt returns when to try again after the n-th failed attempt of the
// current schedule (n from 1), or ok=false when the schedule is used up and
// the event is dead. The wait gets up to 10% of jitter, never less than the
// schedule says, so a receiver coming back from an outage is not hit by
// every event at the same instant.
func nextAttempt(schedule []time.Duration, n int, now time.Time) (time.Time, bool) {
	if n < 1 || n > len(schedule) {
		return time.Time{}, false
	}
	d := schedule[n-1]
	if j := int64(d / 10); j > 0 {
		d += time.Duration(rand.Int64N(j + 1))
	}
	return now.Add(d), true
}
