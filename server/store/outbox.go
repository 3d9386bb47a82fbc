package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// The states of an outbox event. Only pending events are ever due; the
// others change only through ResendEvent.
const (
	// EventPending: to be delivered at next_attempt_at (which a claim pushes
	// a lease ahead while a relay works on it).
	EventPending = "pending"
	// EventDelivered: the merchant answered 2xx.
	EventDelivered = "delivered"
	// EventDead: every attempt of the retry schedule failed.
	EventDead = "dead"
	// EventSkipped: the merchant had no webhook URL when the event came due.
	EventSkipped = "skipped"
)

// OutboxEvent is an outbox row as the webhook relay and the dashboard see it.
type OutboxEvent struct {
	// ID is the row's internal sequence number; EventID is the public id
	// (the payload's "id").
	ID         int64  `db:"id"`
	EventID    string `db:"event_id"`
	MerchantID string `db:"merchant_id"`
	OrderUUID  string `db:"order_uuid"`
	Name       string `db:"event_name"`
	// Payload is the complete webhook body, {id, event_name, date_created,
	// content{order}}, sent byte for byte. RecentEvents leaves it empty.
	Payload string `db:"payload"`
	State   string `db:"state"`
	// Attempts counts HTTP attempts ever made, across resends; RetryBase is
	// Attempts when the current retry schedule started (0 or the count at
	// the last resend), so Attempts-RetryBase is the step of the schedule.
	Attempts      int       `db:"attempts"`
	RetryBase     int       `db:"retry_base"`
	NextAttemptAt time.Time `db:"next_attempt_at"`
	CreatedAt     time.Time `db:"created_at"`
	UpdatedAt     time.Time `db:"updated_at"`
	// LeaseUntil is set on events returned by a claim: the claim holds the
	// event until then, after which any relay may claim it again.
	LeaseUntil time.Time `db:"-"`
	// DestURL, when set, replaces the merchant's webhook URL for this event
	// (a payout fulfillment's own webhookDetails), with DestUsername and
	// DestPassword (opened by a claim; sealed at rest) as its Basic auth.
	DestURL            string `db:"dest_url"`
	DestUsername       string `db:"dest_username"`
	DestPasswordSealed []byte `db:"dest_password_sealed"`
	DestKeyVersion     int    `db:"dest_key_version"`
	DestPassword       string `db:"-"`
}

const outboxColumns = `id, event_id, merchant_id, order_uuid, event_name, payload, state, attempts, retry_base,
	next_attempt_at, created_at, updated_at, dest_url, dest_username, dest_password_sealed, dest_key_version`

// aadDestPassword binds a sealed destination password to its event.
func aadDestPassword(eventID string) string { return "outbox:" + eventID + ":dest_password" }

// openDest opens the destination password of a claimed event.
func (db *DB) openDest(e *OutboxEvent) error {
	if len(e.DestPasswordSealed) == 0 {
		return nil
	}
	pw, err := db.Sealer.Open(e.DestPasswordSealed, e.DestKeyVersion, aadDestPassword(e.EventID))
	if err != nil {
		return fmt.Errorf("event %s destination password: %w", e.EventID, err)
	}
	e.DestPassword = string(pw)
	return nil
}

// Claim says which due events ClaimEvents takes.
type Claim struct {
	// Limit is the most events taken in one claim.
	Limit int
	// Lease is how long the claim holds the events: their next_attempt_at
	// moves that far ahead, so if the claimer dies without recording a
	// result, another relay (or the restarted one) retries them after it.
	Lease time.Duration
	// PerMerchant caps the events of one merchant the claimer holds; 0 means
	// no cap. Held counts what the claimer already holds per merchant, so a
	// merchant gets at most PerMerchant-Held[merchant] events (none at the
	// cap); its other due events stay due and unclaimed.
	PerMerchant int
	Held        map[string]int
}

// ClaimDueEvents claims up to limit due pending events, oldest due first,
// for lease; see ClaimEvents.
func (db *DB) ClaimDueEvents(ctx context.Context, limit int, lease time.Duration) ([]OutboxEvent, error) {
	return db.ClaimEvents(ctx, Claim{Limit: limit, Lease: lease})
}

// ClaimEvents claims due pending events for one relay, in one short
// transaction that commits before any of them is sent.
//
// It first lists the merchants with due events, oldest due first (a loose
// scan of the outbox_claim index: one probe per merchant with pending
// events, however long their backlogs). Then, merchant by merchant and within
// each merchant's room, it selects due rows with FOR UPDATE SKIP LOCKED, so
// concurrent claimers (replicas) each get different rows without waiting on
// each other, and pushes their next_attempt_at to now+lease. A claimed event
// stays invisible to other claims until its lease runs out, when it is due
// again: delivery is at least once, and exactly once as long as every
// claimer records its result within the lease. Claiming merchant by merchant
// is what keeps one merchant's backlog (or one at its cap) from hiding the
// others' events.
//
// The transaction runs at READ COMMITTED so the locking reads take no gap
// locks, which would block the outbox inserts every payment state change
// makes.
//
// On the embedded engine FOR UPDATE SKIP LOCKED parses but locks nothing;
// it is still correct there because store.Open gives that engine a single
// connection, so claims are serialized, and the engine serves one process.
func (db *DB) ClaimEvents(ctx context.Context, c Claim) ([]OutboxEvent, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	var out []OutboxEvent
	err := db.readCommittedTx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		out = nil
		var due []dueMerchant
		// "state >= 'pending' AND state <= 'pending'" rather than "=": with
		// an equality MariaDB scans every pending entry instead of jumping
		// from merchant to merchant ("Using index for group-by").
		if err := tx.SelectContext(ctx, &due, `
			SELECT merchant_id, MIN(next_attempt_at) AS due FROM outbox
			WHERE state >= 'pending' AND state <= 'pending' AND next_attempt_at <= ?
			GROUP BY state, merchant_id`, now); err != nil {
			return fmt.Errorf("store.ClaimEvents: due merchants: %w", err)
		}
		slices.SortFunc(due, func(a, b dueMerchant) int { return a.Due.Compare(b.Due) })
		ids := []int64{}
		leaseUntil := now.Add(c.Lease)
		for _, d := range due {
			room := c.Limit - len(out)
			if room <= 0 {
				break
			}
			if c.PerMerchant > 0 {
				room = min(room, c.PerMerchant-c.Held[d.MerchantID])
			}
			if room <= 0 {
				continue
			}
			var events []OutboxEvent
			if err := tx.SelectContext(ctx, &events, `
				SELECT `+outboxColumns+` FROM outbox
				WHERE state = 'pending' AND merchant_id = ? AND next_attempt_at <= ?
				ORDER BY next_attempt_at
				LIMIT ?
				FOR UPDATE SKIP LOCKED`, d.MerchantID, now, room); err != nil {
				return fmt.Errorf("store.ClaimEvents: select: %w", err)
			}
			for _, e := range events {
				if err := db.openDest(&e); err != nil {
					return err
				}
				e.NextAttemptAt, e.LeaseUntil = leaseUntil, leaseUntil
				out = append(out, e)
				ids = append(ids, e.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		query, args, err := sqlx.In(`UPDATE outbox SET next_attempt_at = ? WHERE id IN (?)`, leaseUntil, ids)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("store.ClaimEvents: lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dueMerchant is a merchant with due events and when the oldest came due.
type dueMerchant struct {
	MerchantID string    `db:"merchant_id"`
	Due        time.Time `db:"due"`
}

// readCommittedTx is Tx at the READ COMMITTED isolation level, with the same
// retry on deadlock and lock-wait timeout.
func (db *DB) readCommittedTx(ctx context.Context, fn func(tx *sqlx.Tx, now time.Time) error) error {
	run := func() error {
		tx, err := db.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx, db.micros()); err != nil {
			return err
		}
		return tx.Commit()
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		if err = run(); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

// micros is Now at the DATETIME(6) precision the outbox stores, so the
// times a claim hands back equal what a later read returns.
func (db *DB) micros() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Delivery is one logged HTTP attempt at delivering an event. It holds no
// secret: no body, no password, no signature; URL has any userinfo password
// redacted and Error is a description, not a dump.
type Delivery struct {
	ID         int64  `db:"id"`
	EventID    string `db:"event_id"`
	MerchantID string `db:"merchant_id"`
	// Attempt numbers the event's attempts from 1, across resends.
	Attempt int    `db:"attempt"`
	URL     string `db:"url"`
	// StatusCode is the HTTP status of the answer, 0 when there was none
	// (timeout, connection refused, ...).
	StatusCode int           `db:"status_code"`
	Error      string        `db:"error_message"`
	Duration   time.Duration `db:"-"`
	CreatedAt  time.Time     `db:"created_at"`
}

// maxDeliveryError bounds Delivery.Error as stored (the column's width).
const maxDeliveryError = 1024

// DeliveryResult is what became of one claimed event: the attempt made, if
// any, and the event's new state.
type DeliveryResult struct {
	EventID string
	// ClaimedAttempts is the event's Attempts as claimed. The row is updated
	// only if it still has that many, so a late result (the claim's lease
	// ran out and another relay has moved on) never overwrites a newer one;
	// its attempt is still logged.
	ClaimedAttempts int
	// Delivery is the attempt; nil when none was made (State skipped).
	Delivery *Delivery
	// State is EventDelivered, EventPending (retry at Next), EventDead or
	// EventSkipped.
	State string
	Next  time.Time
}

// RecordDelivery logs one attempt at delivering an event and moves the event
// on, in one transaction: to delivered, to dead, or (next non-nil) back to
// pending at *next. d.Attempt must be the event's claimed Attempts plus one.
func (db *DB) RecordDelivery(ctx context.Context, eventID string, d Delivery, next *time.Time, state string) error {
	r := DeliveryResult{EventID: eventID, ClaimedAttempts: d.Attempt - 1, Delivery: &d, State: state}
	if next != nil {
		r.Next = *next
	}
	return db.RecordDeliveries(ctx, []DeliveryResult{r})
}

// RecordDeliveries records many results in one transaction: a multi-row
// insert into the delivery log and one update per distinct outcome group, so
// the relay's bookkeeping costs a commit per batch rather than per event.
func (db *DB) RecordDeliveries(ctx context.Context, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	for _, r := range results {
		switch r.State {
		case EventDelivered, EventDead, EventSkipped:
		case EventPending:
			if r.Next.IsZero() {
				return fmt.Errorf("store.RecordDeliveries(%s): pending without a next attempt time", r.EventID)
			}
		default:
			return fmt.Errorf("store.RecordDeliveries(%s): unknown state %q", r.EventID, r.State)
		}
		if r.State != EventSkipped && r.Delivery == nil {
			return fmt.Errorf("store.RecordDeliveries(%s): %s without an attempt", r.EventID, r.State)
		}
	}
	// READ COMMITTED, as ClaimEvents: updates that move rows within the
	// outbox's (state, ...) indexes would otherwise take gap locks there and
	// stall the outbox inserts of payments in progress (measured: p99 of
	// those inserts 300 ms under load).
	return db.readCommittedTx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		now = now.UTC().Truncate(time.Microsecond)
		if err := insertDeliveries(ctx, tx, results, now); err != nil {
			return err
		}
		// Successes of one claim batch share their attempt number, so they
		// go out as one UPDATE per number (usually one).
		delivered := map[int][]string{}
		for _, r := range results {
			if r.State == EventDelivered {
				delivered[r.ClaimedAttempts] = append(delivered[r.ClaimedAttempts], r.EventID)
			}
		}
		for claimed, ids := range delivered {
			query, args, err := sqlx.In(`
				UPDATE outbox SET state = 'delivered', attempts = ?, updated_at = ?
				WHERE event_id IN (?) AND state = 'pending' AND attempts = ?`, claimed+1, now, ids, claimed)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return fmt.Errorf("store.RecordDeliveries: delivered: %w", err)
			}
		}
		for _, r := range results {
			var err error
			switch r.State {
			case EventPending:
				_, err = tx.ExecContext(ctx, `
					UPDATE outbox SET attempts = ?, next_attempt_at = ?, updated_at = ?
					WHERE event_id = ? AND state = 'pending' AND attempts = ?`,
					r.ClaimedAttempts+1, r.Next.UTC(), now, r.EventID, r.ClaimedAttempts)
			case EventDead:
				_, err = tx.ExecContext(ctx, `
					UPDATE outbox SET state = 'dead', attempts = ?, updated_at = ?
					WHERE event_id = ? AND state = 'pending' AND attempts = ?`,
					r.ClaimedAttempts+1, now, r.EventID, r.ClaimedAttempts)
			case EventSkipped:
				_, err = tx.ExecContext(ctx, `
					UPDATE outbox SET state = 'skipped', updated_at = ?
					WHERE event_id = ? AND state = 'pending' AND attempts = ?`,
					now, r.EventID, r.ClaimedAttempts)
			}
			if err != nil {
				return fmt.Errorf("store.RecordDeliveries(%s): %w", r.EventID, err)
			}
		}
		return nil
	})
}

func insertDeliveries(ctx context.Context, tx *sqlx.Tx, results []DeliveryResult, now time.Time) error {
	var q strings.Builder
	var args []any
	q.WriteString(`INSERT INTO webhook_deliveries
		(event_id, merchant_id, attempt, url, status_code, error_message, duration_ms, created_at) VALUES `)
	for _, r := range results {
		d := r.Delivery
		if d == nil {
			continue
		}
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		created := d.CreatedAt
		if created.IsZero() {
			created = now
		}
		args = append(args, r.EventID, d.MerchantID, d.Attempt, d.URL, d.StatusCode,
			truncateUTF8(d.Error, maxDeliveryError), d.Duration.Milliseconds(), created.UTC().Truncate(time.Microsecond))
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("store.RecordDeliveries: log: %w", err)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ReleaseEvents gives claimed events back unattempted, due now, so another
// relay need not wait for the lease; the relay calls it for events it holds
// but will not send (it is shutting down). Events are matched with their
// claimed attempts, as in RecordDeliveries.
func (db *DB) ReleaseEvents(ctx context.Context, events []OutboxEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.readCommittedTx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		now = now.UTC().Truncate(time.Microsecond)
		for _, e := range events {
			_, err := tx.ExecContext(ctx, `
				UPDATE outbox SET next_attempt_at = ?
				WHERE event_id = ? AND state = 'pending' AND attempts = ?`, now, e.EventID, e.Attempts)
			if err != nil {
				return fmt.Errorf("store.ReleaseEvents(%s): %w", e.EventID, err)
			}
		}
		return nil
	})
}

// ResendEvent makes one of the merchant's events due now with a fresh retry
// schedule, whatever its state: a delivered or dead event is sent again, a
// skipped one is tried now (after the merchant configured a webhook URL),
// and a pending one in back-off is brought forward (should an attempt be in
// flight at that moment, the merchant may receive it twice, as at-least-once
// delivery allows). An event of another merchant is ENOTFOUND.
func (db *DB) ResendEvent(ctx context.Context, merchantID, eventID string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		now = now.UTC().Truncate(time.Microsecond)
		var id int64
		err := tx.GetContext(ctx, &id, `
			SELECT id FROM outbox WHERE event_id = ? AND merchant_id = ? FOR UPDATE`, eventID, merchantID)
		if err != nil {
			return notFound(err, "event not found")
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE outbox SET state = 'pending', retry_base = attempts, next_attempt_at = ?, updated_at = ?
			WHERE id = ?`, now, now, id)
		if err != nil {
			return fmt.Errorf("store.ResendEvent(%s): %w", eventID, err)
		}
		return nil
	})
}

// OutboxEventByID returns one of the merchant's events with its payload, or
// ENOTFOUND (also for another merchant's event).
func (db *DB) OutboxEventByID(ctx context.Context, merchantID, eventID string) (*OutboxEvent, error) {
	var e OutboxEvent
	err := db.db.GetContext(ctx, &e, `
		SELECT `+outboxColumns+` FROM outbox WHERE event_id = ? AND merchant_id = ?`, eventID, merchantID)
	if err != nil {
		return nil, notFound(err, "event not found")
	}
	return &e, nil
}

// RecentEvents lists the merchant's newest events first, at most limit of
// them, with beforeID (an OutboxEvent.ID; 0 for the newest) as the cursor of
// the next page. Payloads are left out; OutboxEventByID has them.
func (db *DB) RecentEvents(ctx context.Context, merchantID string, beforeID int64, limit int) ([]OutboxEvent, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	events := []OutboxEvent{}
	err := db.db.SelectContext(ctx, &events, `
		SELECT id, event_id, merchant_id, order_uuid, event_name, '' AS payload, state, attempts, retry_base,
			next_attempt_at, created_at, updated_at
		FROM outbox WHERE merchant_id = ? AND id < ?
		ORDER BY id DESC LIMIT ?`, merchantID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store.RecentEvents(%s): %w", merchantID, err)
	}
	return events, nil
}

// deliveryRow is a webhook_deliveries row; the duration is stored in ms.
type deliveryRow struct {
	Delivery
	DurationMS int64 `db:"duration_ms"`
}

// Deliveries returns the logged attempts of one of the merchant's events,
// oldest first, or ENOTFOUND if the merchant has no such event.
func (db *DB) Deliveries(ctx context.Context, merchantID, eventID string) ([]Delivery, error) {
	var n int
	if err := db.db.GetContext(ctx, &n, `
		SELECT COUNT(*) FROM outbox WHERE event_id = ? AND merchant_id = ?`, eventID, merchantID); err != nil {
		return nil, fmt.Errorf("store.Deliveries(%s): %w", eventID, err)
	}
	if n == 0 {
		return nil, pay.Errorf(pay.ENOTFOUND, "event not found")
	}
	var rows []deliveryRow
	err := db.db.SelectContext(ctx, &rows, `
		SELECT id, event_id, merchant_id, attempt, url, status_code, error_message, duration_ms, created_at
		FROM webhook_deliveries WHERE event_id = ? AND merchant_id = ? ORDER BY id`, eventID, merchantID)
	if err != nil {
		return nil, fmt.Errorf("store.Deliveries(%s): %w", eventID, err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.Delivery
		out[i].Duration = time.Duration(r.DurationMS) * time.Millisecond
	}
	return out, nil
}
