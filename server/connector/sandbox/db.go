package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// db runs the sandbox's statements. Most are single statements in autocommit
// mode, every change a compare-and-set UPDATE or an INSERT guarded by a
// unique key, which MySQL and MariaDB execute atomically (an UPDATE locks the
// row it changes and re-checks its WHERE on the latest version). A change
// that spans rows which must agree after a crash (a refund and the amount it
// reserves on its payment) is one short transaction (tx).
//
// The embedded engine (go-mysql-server's memory engine) does not support
// concurrency at all: each statement works on a session copy of every table
// it touches and puts those copies back when it commits, so two concurrent
// statements on one table lose writes, and even a concurrent SELECT can put
// back a stale copy. On that engine db therefore runs one statement at a
// time. That is enough because nothing but this package touches the
// sandbox_* tables and the engine replaces tables one by one.
type db struct {
	x *sqlx.DB
	// serial is set on the embedded engine.
	serial bool
	mu     sync.Mutex
}

func newDB(ctx context.Context, x *sqlx.DB) (*db, error) {
	var comment string
	if err := x.QueryRowContext(ctx, `SELECT @@version_comment`).Scan(&comment); err != nil {
		return nil, err
	}
	// go-mysql-server reports "Dolt"; MySQL and MariaDB their distribution.
	return &db{x: x, serial: strings.Contains(strings.ToLower(comment), "dolt")}, nil
}

func (d *db) lock() func() {
	if !d.serial {
		return func() {}
	}
	d.mu.Lock()
	return d.mu.Unlock
}

func (d *db) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer d.lock()()
	return d.x.ExecContext(ctx, query, args...)
}

// execCAS runs a compare-and-set statement and reports whether it changed a
// row.
func (d *db) execCAS(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := d.exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// tx runs fn in one transaction, committed if fn returns nil.
func (d *db) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	defer d.lock()()
	tx, err := d.x.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (d *db) get(ctx context.Context, dest any, query string, args ...any) error {
	defer d.lock()()
	return d.x.GetContext(ctx, dest, query, args...)
}

func (d *db) selectRows(ctx context.Context, dest any, query string, args ...any) error {
	defer d.lock()()
	return d.x.SelectContext(ctx, dest, query, args...)
}

// isDuplicate reports a unique-key violation (1062).
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
