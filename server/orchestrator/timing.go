package orchestrator

import (
	"context"
	"sync/atomic"
	"time"
)

// Timing accumulates how long a request spent waiting for gateways, so the
// HTTP layer can report the orchestrator's own time (Server-Timing) without
// the gateway's latency, which Switchyard does not control.
type Timing struct {
	gatewayNanos atomic.Int64
}

type timingKey struct{}

// WithTiming returns a context carrying a fresh Timing.
func WithTiming(ctx context.Context) (context.Context, *Timing) {
	t := &Timing{}
	return context.WithValue(ctx, timingKey{}, t), t
}

// Gateway returns the time spent in gateway calls so far.
func (t *Timing) Gateway() time.Duration { return time.Duration(t.gatewayNanos.Load()) }

// timeGateway records the duration of a gateway call started at start.
func timeGateway(ctx context.Context, start time.Time) {
	if t, ok := ctx.Value(timingKey{}).(*Timing); ok {
		t.gatewayNanos.Add(int64(time.Since(start)))
	}
}
