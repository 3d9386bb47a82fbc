package webhook

import (
	"context"
	"time"

	"switchyard/server/store"
)

// recordTimeout bounds one write of outcomes (or of released events).
const recordTimeout = 10 * time.Second

// maxRecordBatch bounds the outcomes written in one transaction.
const maxRecordBatch = 500

// recordAttempts is how often a failed batch write is tried before its
// outcomes are given up: their events are then sent again when their leases
// end (a duplicate, which at-least-once delivery allows).
const recordAttempts = 3

// recordLoop writes outcomes until the results channel is closed and
// drained. It batches whatever has queued up while the previous write ran,
// so under load one transaction records hundreds of deliveries and when idle
// each outcome is written at once.
func (r *Relay) recordLoop() {
	defer close(r.recordDone)
	batch := make([]store.DeliveryResult, 0, maxRecordBatch)
	for first := range r.results {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxRecordBatch {
			select {
			case res, ok := <-r.results:
				if !ok {
					break fill
				}
				batch = append(batch, res)
			default:
				break fill
			}
		}
		r.record(batch)
	}
}

func (r *Relay) record(batch []store.DeliveryResult) {
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		err := r.db.RecordDeliveries(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		if attempt == recordAttempts {
			r.log.Error("webhook: recording delivery outcomes failed; those events will be sent again after their lease",
				"outcomes", len(batch), "err", err)
			return
		}
		r.log.Warn("webhook: recording delivery outcomes failed; retrying", "outcomes", len(batch), "err", err)
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}
