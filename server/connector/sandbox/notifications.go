package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Notification states.
const (
	noteDue  = "due"
	noteSent = "sent"
	noteDead = "dead"
)

// Worker tuning.
const (
	pollInterval = 100 * time.Millisecond
	// claimBatch bounds the rows claimed per poll.
	claimBatch = 16
	// maxInFlight bounds concurrent deliveries.
	maxInFlight = 8
	// lease is how long a claimed row is hidden from other workers; if the
	// worker dies mid-delivery it becomes due again after it.
	lease = time.Minute
	// maxAttempts bounds deliveries of one notification, after which it is
	// given up (state dead) and logged.
	maxAttempts = 6
	// firstBackoff doubles after every failed attempt.
	firstBackoff = time.Second
)

// notificationRow is a scheduled asynchronous event of a payment: when due,
// the payment moves from FromStatus to ToStatus (if ToStatus is set, by
// compare-and-set) and its current state is POSTed to its webhook_url.
// Rows survive a restart; the worker retries failed deliveries with backoff.
type notificationRow struct {
	ID          int64     `db:"id"`
	PaymentID   string    `db:"payment_id"`
	FromStatus  string    `db:"from_status"`
	ToStatus    string    `db:"to_status"`
	DeclineCode string    `db:"decline_code"`
	Message     string    `db:"message"`
	Attempts    int       `db:"attempts"`
	Version     int       `db:"version"`
	DueAt       time.Time `db:"-"`
}

// schedule stores a notification due at n.DueAt.
func (s *Service) schedule(ctx context.Context, n notificationRow) error {
	defer s.db.lock()()
	return s.scheduleIn(ctx, s.db.x, n)
}

// scheduleIn is schedule within a transaction the caller holds (ex).
func (s *Service) scheduleIn(ctx context.Context, ex sqlx.ExecerContext, n notificationRow) error {
	now := s.utcNow()
	_, err := ex.ExecContext(ctx, `INSERT INTO sandbox_notifications
		(payment_id, from_status, to_status, decline_code, message, state, due_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.PaymentID, n.FromStatus, n.ToStatus, n.DeclineCode, n.Message, noteDue, n.DueAt.UTC(), now, now)
	if err != nil {
		return fmt.Errorf("schedule notification of %s: %w", n.PaymentID, err)
	}
	return nil
}

// runWorker polls for due notifications until ctx ends, then waits for the
// deliveries it started.
func (s *Service) runWorker(ctx context.Context) {
	sem := make(chan struct{}, maxInFlight)
	var deliveries sync.WaitGroup
	defer deliveries.Wait()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if err := s.poll(ctx, sem, &deliveries); err != nil && ctx.Err() == nil {
			s.log.Error("sandbox: polling notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll claims due notifications, as many as there is room to deliver, and
// starts their deliveries.
//
// A row is claimed by a compare-and-set on its version that also pushes its
// due_at a lease ahead, so of several workers (replicas) exactly one gets
// it, on every engine; FOR UPDATE SKIP LOCKED would need a transaction held
// across the claim, which the embedded engine cannot isolate.
func (s *Service) poll(ctx context.Context, sem chan struct{}, deliveries *sync.WaitGroup) error {
	room := cap(sem) - len(sem)
	if room == 0 {
		return nil
	}
	now := s.utcNow()
	var due []notificationRow
	err := s.db.selectRows(ctx, &due, `SELECT id, payment_id, from_status, to_status, decline_code, message, attempts, version
		FROM sandbox_notifications WHERE state = ? AND due_at <= ? ORDER BY due_at LIMIT ?`,
		noteDue, now, min(room, claimBatch))
	if err != nil {
		return err
	}
	for _, n := range due {
		claimed, err := s.db.execCAS(ctx, `UPDATE sandbox_notifications
			SET version = version + 1, attempts = attempts + 1, due_at = ?, updated_at = ?
			WHERE id = ? AND version = ? AND state = ?`, now.Add(lease), now, n.ID, n.Version, noteDue)
		if err != nil {
			return err
		}
		if !claimed {
			continue
		}
		n.Version++
		n.Attempts++
		sem <- struct{}{}
		deliveries.Go(func() {
			defer func() { <-sem }()
			s.deliver(ctx, n)
		})
	}
	return nil
}

// deliver applies a claimed notification's transition and POSTs the
// payment's state, then records the result: sent, due again after a backoff,
// or dead after maxAttempts.
func (s *Service) deliver(ctx context.Context, n notificationRow) {
	err := s.send(ctx, &n)
	// Record the result even when ctx ended (Close) meanwhile.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := s.utcNow()
	state, due := noteSent, now
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// Interrupted by Close: due again at once, attempt not counted.
		state, due = noteDue, now
		n.Attempts--
	case n.Attempts >= maxAttempts:
		state = noteDead
		s.log.Warn("sandbox: giving up on notification", "payment_id", n.PaymentID, "attempts", n.Attempts, "err", err)
	default:
		state, due = noteDue, now.Add(firstBackoff<<(n.Attempts-1))
		s.log.Info("sandbox: notification failed, will retry", "payment_id", n.PaymentID, "attempt", n.Attempts, "err", err)
	}
	_, uerr := s.db.exec(rctx, `UPDATE sandbox_notifications SET state = ?, due_at = ?, attempts = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, state, due, n.Attempts, now, n.ID, n.Version)
	if uerr != nil {
		s.log.Error("sandbox: recording notification result", "payment_id", n.PaymentID, "err", uerr)
	}
}

// errNoPayment reports a notification whose payment is not (yet) there:
// an orphan of a payment insert that lost a race or failed.
var errNoPayment = errors.New("payment not found")

func (s *Service) send(ctx context.Context, n *notificationRow) error {
	if n.ToStatus != "" {
		// A no-op when already applied, or when the payment has moved on.
		o := outcome{n.ToStatus, n.DeclineCode, n.Message, false}
		if _, err := s.transition(ctx, n.PaymentID, n.FromStatus, o); err != nil {
			return err
		}
	}
	p, err := s.paymentByID(ctx, n.PaymentID)
	if isNoRows(err) {
		return errNoPayment
	}
	if err != nil {
		return err
	}
	if p.WebhookURL == "" {
		return nil
	}
	body, err := json.Marshal(notificationBody{TxnID: p.TxnID, PaymentID: p.ID, Status: p.Status,
		DeclineCode: p.DeclineCode, Message: p.Message, Retryable: p.Retryable})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchyard-Sandbox/1")
	req.Header.Set(SignatureHeader, sign(p.NotifySecret, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// sign is the hex HMAC-SHA256 of body keyed with secret.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
