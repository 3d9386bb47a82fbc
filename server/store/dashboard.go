package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DashboardSession is a merchant's logged-in dashboard session. The session
// id itself lives only in the browser's cookie; IDHash is its SHA-256.
type DashboardSession struct {
	IDHash     string    `db:"id_hash"`
	MerchantID string    `db:"merchant_id"`
	CSRFToken  string    `db:"csrf_token"`
	CreatedAt  time.Time `db:"created_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

// sessionSweep bounds how many expired sessions one login deletes, so the
// sweep never turns a login into a long transaction.
const sessionSweep = 100

// CreateDashboardSession stores a new session (its CreatedAt is set here) and
// sweeps a few expired ones, which is all the cleanup sessions need.
func (db *DB) CreateDashboardSession(ctx context.Context, s *DashboardSession) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		s.CreatedAt = now
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE expires_at <= ? LIMIT `+fmt.Sprint(sessionSweep), now); err != nil {
			return fmt.Errorf("store.CreateDashboardSession: sweeping: %w", err)
		}
		_, err := tx.NamedExecContext(ctx, `
			INSERT INTO dashboard_sessions (id_hash, merchant_id, csrf_token, created_at, expires_at)
			VALUES (:id_hash, :merchant_id, :csrf_token, :created_at, :expires_at)`, s)
		if err != nil {
			return fmt.Errorf("store.CreateDashboardSession: %w", err)
		}
		return nil
	})
}

// DashboardSession returns the unexpired session with the given id hash, or
// ENOTFOUND.
func (db *DB) DashboardSession(ctx context.Context, idHash string) (*DashboardSession, error) {
	var s DashboardSession
	err := db.db.GetContext(ctx, &s, `
		SELECT id_hash, merchant_id, csrf_token, created_at, expires_at
		FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?`, idHash, db.Now())
	if err != nil {
		return nil, notFound(err, "session not found")
	}
	return &s, nil
}

// DeleteDashboardSession ends a session (logout). Deleting one that is
// already gone is not an error.
func (db *DB) DeleteDashboardSession(ctx context.Context, idHash string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store.DeleteDashboardSession: %w", err)
	}
	return nil
}

// Lockout is the policy for repeated failed dashboard logins: MaxFailures
// failures within Window lock the login for LockFor.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
}

// DashboardLoginLockedUntil returns when the lock on login ends, or the zero
// time when it is not locked.
func (db *DB) DashboardLoginLockedUntil(ctx context.Context, login string) (time.Time, error) {
	var until []time.Time
	err := db.db.SelectContext(ctx, &until, `
		SELECT locked_until FROM dashboard_login_failures
		WHERE login = ? AND locked_until IS NOT NULL AND locked_until > ?`, login, db.Now())
	if err != nil || len(until) == 0 {
		return time.Time{}, err
	}
	return until[0], nil
}

// RecordDashboardLoginFailure counts a failed login and returns when the
// login is locked until, or the zero time if this failure did not lock it.
// Failures older than the policy's window are forgotten; locking restarts
// the count.
func (db *DB) RecordDashboardLoginFailure(ctx context.Context, login string, p Lockout) (time.Time, error) {
	var lockedUntil time.Time
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		lockedUntil = time.Time{}
		// The row is created first so that concurrent first failures queue
		// on its lock instead of colliding on the insert.
		if _, err := tx.ExecContext(ctx, `
			INSERT IGNORE INTO dashboard_login_failures (login, failures, first_at) VALUES (?, 0, ?)`, login, now); err != nil {
			return fmt.Errorf("store.RecordDashboardLoginFailure: %w", err)
		}
		var r struct {
			Failures int       `db:"failures"`
			FirstAt  time.Time `db:"first_at"`
		}
		if err := tx.GetContext(ctx, &r, `
			SELECT failures, first_at FROM dashboard_login_failures WHERE login = ? FOR UPDATE`, login); err != nil {
			return fmt.Errorf("store.RecordDashboardLoginFailure: %w", err)
		}
		if now.Sub(r.FirstAt) > p.Window {
			r.Failures, r.FirstAt = 0, now
		}
		r.Failures++
		var until *time.Time
		if r.Failures >= p.MaxFailures {
			lockedUntil = now.Add(p.LockFor)
			until = &lockedUntil
			r.Failures, r.FirstAt = 0, now
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE dashboard_login_failures SET failures = ?, first_at = ?, locked_until = COALESCE(?, locked_until)
			WHERE login = ?`, r.Failures, r.FirstAt, until, login)
		if err != nil {
			return fmt.Errorf("store.RecordDashboardLoginFailure: %w", err)
		}
		return nil
	})
	return lockedUntil, err
}

// ClearDashboardLoginFailures forgets a login's failures after it logs in.
func (db *DB) ClearDashboardLoginFailures(ctx context.Context, login string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM dashboard_login_failures WHERE login = ?`, login); err != nil {
		return fmt.Errorf("store.ClearDashboardLoginFailures: %w", err)
	}
	return nil
}
