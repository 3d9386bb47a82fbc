// Package store keeps Switchyard's state in MySQL (8.x), MariaDB (≥ 10.6) or
// the embedded go-mysql-server engine, through sqlx and go-sql-driver/mysql.
//
// SQL is written out next to the code that scans it. Exported methods are the
// transaction boundaries: each one either runs a single statement or opens a
// transaction with DB.Tx, which retries the whole closure on deadlock.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"switchyard/migrations"
	"switchyard/server/pay"
)

// DB is the handle every store method hangs off.
type DB struct {
	db *sqlx.DB
	// Now is the clock; tests replace it. Methods read it once per
	// transaction so every row written together carries the same time.
	Now func() time.Time
	// Sealer encrypts secrets at rest.
	Sealer *pay.Sealer
}

// Open connects to the MySQL-compatible server named by dsn (go-sql-driver
// form) and checks that it answers. It does not migrate.
func Open(ctx context.Context, dsn string, sealer *pay.Sealer) (*DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store.Open: parse DSN: %w", err)
	}
	// Times are stored and read as UTC; parseTime gives time.Time values.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// go-sql-driver connects as utf8mb4 by default; setting "charset" as a
	// parameter would be sent as an (unknown) system variable.
	// The driver escapes arguments into the statement itself (safe with
	// utf8mb4, the only charset we connect with) instead of preparing,
	// executing and closing a server-side statement for each query: one
	// round trip instead of three, which halves a payment's round trips.
	cfg.InterpolateParams = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "mysql")
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxLifetime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store.Open: ping: %w", err)
	}
	var comment string
	if err := db.QueryRowContext(pingCtx, `SELECT @@version_comment`).Scan(&comment); err != nil {
		db.Close()
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	if strings.Contains(strings.ToLower(comment), "dolt") {
		// The embedded engine (go-mysql-server's memory engine) does not
		// isolate concurrent statements: each works on a copy of the tables
		// it touches and puts them back on commit, so concurrent writers
		// lose updates. One connection serializes every statement and
		// transaction, which makes it correct (and slow; it is for demos).
		// No store method queries the pool while holding a transaction, so
		// this cannot deadlock.
		db.SetMaxOpenConns(1)
	}
	return &DB{db: db, Now: func() time.Time { return time.Now().UTC() }, Sealer: sealer}, nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.db.Close() }

// SQL exposes the pool for metrics and health checks.
func (db *DB) SQL() *sql.DB { return db.db.DB }

func newGoose(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectMySQL, db, sub)
}

// Migrate applies every pending migration embedded from migrations/.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	p, err := newGoose(db.db.DB)
	if err != nil {
		return fmt.Errorf("store.Migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store.Migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Ready reports whether the database answers and every embedded migration
// has been applied; /readyz serves it.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	p, err := newGoose(db.db.DB)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// maxTxAttempts bounds how often Tx reruns a closure that hit a deadlock or
// a lock-wait timeout; more than a few means contention a retry won't fix.
const maxTxAttempts = 5

// Tx runs fn in one transaction and commits it. When MySQL aborts the
// transaction as a deadlock victim (1213) or on a lock-wait timeout (1205),
// the whole closure runs again, so fn must not have effects outside tx.
func (db *DB) Tx(ctx context.Context, fn func(tx *sqlx.Tx, now time.Time) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = db.tx(ctx, fn)
		if err == nil || !retryable(err) {
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

func (db *DB) tx(ctx context.Context, fn func(tx *sqlx.Tx, now time.Time) error) error {
	tx, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx, db.Now()); err != nil {
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// isDuplicate reports a unique-key violation (1062).
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// notFound maps sql.ErrNoRows to a pay.ENOTFOUND error with msg.
func notFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return pay.Errorf(pay.ENOTFOUND, "%s", msg)
	}
	return err
}
