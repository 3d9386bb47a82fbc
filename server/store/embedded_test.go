package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"switchyard/server/store"
	"switchyard/server/storetest"
)

// TestEmbeddedLifecycle starts an engine, migrates it through store.Open,
// and checks that Close ends everything, even with a client still connected.
func TestEmbeddedLifecycle(t *testing.T) {
	ctx := t.Context()
	before := engineGoroutines()

	e, err := store.StartEmbedded(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(e.DSN())
	if err != nil {
		t.Fatalf("DSN %q: %v", e.DSN(), err)
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	if cfg.User != "root" || cfg.Passwd != "" || cfg.Net != "tcp" || host != "127.0.0.1" || cfg.DBName != "lifecycle" {
		t.Errorf("DSN %q: want root, no password, tcp(127.0.0.1:port)/lifecycle", e.DSN())
	}

	db, err := store.Open(ctx, e.DSN(), storetest.Sealer())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Errorf("Ready before Migrate = %v, want migrations pending", err)
	}
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Errorf("Ready after Migrate: %v", err)
	}
	// Migrating again is a no-op.
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("second Migrate: %v", err)
	}

	// A connection left open, mid-transaction, must not keep the server up.
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}

	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	conn.Close()
	db.Close()

	if c, err := net.DialTimeout("tcp", cfg.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", cfg.Addr)
	}
	// Close waits for its handlers, so nothing should linger; allow only
	// for goroutines that are returning.
	deadline := time.Now().Add(2 * time.Second)
	for engineGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("go-mysql-server goroutines still running after Close:\n%s", allStacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartEmbeddedEmptyName(t *testing.T) {
	if e, err := store.StartEmbedded(t.Context(), ""); err == nil {
		e.Close()
		t.Fatal("StartEmbedded with empty name succeeded")
	}
}

// TestEngineCompat pins down the behaviour the store relies on. It runs on
// whatever storetest gives it, so the same assertions hold on the embedded
// engine and, with SWITCHYARD_TEST_DATABASE_URL, on MySQL or MariaDB.
func TestEngineCompat(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	q := sqlx.NewDb(db.SQL(), "mysql")
	now := time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)

	insertKey := func(ex sqlx.ExecerContext, id, hash string) error {
		_, err := ex.ExecContext(ctx, `INSERT INTO api_keys (id, merchant_id, prefix, key_hash, created_at)
			VALUES (?, 'm1', 'sk_', ?, ?)`, id, hash, now)
		return err
	}
	count := func(t *testing.T, where string, args ...any) int {
		t.Helper()
		var n int
		if err := q.GetContext(ctx, &n, `SELECT COUNT(*) FROM api_keys WHERE `+where, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("duplicate key is 1062", func(t *testing.T) {
		if err := insertKey(q, "k1", "hash-1"); err != nil {
			t.Fatal(err)
		}
		for name, args := range map[string][2]string{
			"primary key": {"k1", "hash-other"},
			"unique key":  {"k2", "hash-1"},
		} {
			err := insertKey(q, args[0], args[1])
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1062 {
				t.Errorf("%s violation: err = %v (%T), want *mysql.MySQLError 1062", name, err, err)
			}
		}
	})

	t.Run("rollback discards, commit keeps", func(t *testing.T) {
		errBoom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sqlx.Tx, _ time.Time) error {
			if err := insertKey(tx, "rolled-back", "hash-rb"); err != nil {
				return err
			}
			if n := countIn(t, tx, "rolled-back"); n != 1 {
				t.Errorf("own uncommitted row: count %d, want 1", n)
			}
			// The embedded engine gets one connection (see store.Open), so
			// there is no other connection to look from.
			if storetest.Backend() != storetest.BackendEmbedded {
				if n := count(t, "id = ?", "rolled-back"); n != 0 {
					t.Errorf("uncommitted row seen from another connection: count %d", n)
				}
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v, want errBoom", err)
		}
		if n := count(t, "id = ?", "rolled-back"); n != 0 {
			t.Errorf("rolled-back row present: count %d", n)
		}
		err = db.Tx(ctx, func(tx *sqlx.Tx, _ time.Time) error { return insertKey(tx, "committed", "hash-c") })
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, "id = ?", "committed"); n != 1 {
			t.Errorf("committed row: count %d, want 1", n)
		}
	})

	t.Run("SELECT FOR UPDATE", func(t *testing.T) {
		for _, query := range []string{
			`SELECT id FROM api_keys WHERE id = ? FOR UPDATE`,
			`SELECT id FROM api_keys WHERE id = ? ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED`,
		} {
			err := db.Tx(ctx, func(tx *sqlx.Tx, _ time.Time) error {
				var ids []string
				if err := tx.SelectContext(ctx, &ids, query, "k1"); err != nil {
					return err
				}
				if len(ids) != 1 {
					t.Errorf("%s: got %v, want [k1]", query, ids)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", query, err)
			}
		}
	})

	t.Run("DATETIME(6) round-trips", func(t *testing.T) {
		var got struct {
			Created time.Time    `db:"created_at"`
			Revoked sql.NullTime `db:"revoked_at"`
		}
		if err := q.GetContext(ctx, &got, `SELECT created_at, revoked_at FROM api_keys WHERE id = 'k1'`); err != nil {
			t.Fatal(err)
		}
		if !got.Created.Equal(now) || got.Created.Location() != time.UTC {
			t.Errorf("created_at = %v, want %v in UTC", got.Created, now)
		}
		if got.Revoked.Valid {
			t.Errorf("revoked_at = %v, want NULL", got.Revoked)
		}
		later := now.Add(1500 * time.Microsecond)
		if _, err := q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = 'k1'`, later); err != nil {
			t.Fatal(err)
		}
		if n := count(t, "revoked_at = ?", later); n != 1 {
			t.Errorf("WHERE revoked_at = %v matched %d rows, want 1", later, n)
		}
	})

	t.Run("rows affected counts changed rows", func(t *testing.T) {
		// Compare-and-set code reads RowsAffected; MySQL without
		// CLIENT_FOUND_ROWS reports rows changed, not rows matched.
		for _, c := range []struct {
			stmt string
			want int64
		}{
			{`UPDATE api_keys SET prefix = 'sk_' WHERE id = 'k1'`, 0},
			{`UPDATE api_keys SET prefix = 'pk_' WHERE id = 'k1' AND prefix = 'sk_'`, 1},
			{`UPDATE api_keys SET prefix = 'xx_' WHERE id = 'k1' AND prefix = 'sk_'`, 0},
		} {
			res, err := q.ExecContext(ctx, c.stmt)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != c.want {
				t.Errorf("%s: RowsAffected %d, want %d", c.stmt, n, c.want)
			}
		}
	})

	t.Run("AUTO_INCREMENT and upsert", func(t *testing.T) {
		ins := `INSERT INTO outbox (event_id, merchant_id, event_name, payload, state, next_attempt_at, created_at, updated_at)
			VALUES (?, 'm1', 'order.created', '{}', 'pending', ?, ?, ?)`
		var ids []int64
		for _, ev := range []string{"ev1", "ev2"} {
			res, err := q.ExecContext(ctx, ins, ev, now, now, now)
			if err != nil {
				t.Fatal(err)
			}
			id, err := res.LastInsertId()
			if err != nil || id == 0 {
				t.Fatalf("LastInsertId = %d, %v", id, err)
			}
			ids = append(ids, id)
		}
		if ids[1] <= ids[0] {
			t.Errorf("AUTO_INCREMENT ids %v not increasing", ids)
		}
		res, err := q.ExecContext(ctx, ins+` ON DUPLICATE KEY UPDATE attempts = attempts + 1`, "ev1", now, now, now)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 2 {
			t.Errorf("upsert of existing row: RowsAffected %d, want 2", n)
		}
		res, err = q.ExecContext(ctx, `UPDATE outbox SET state = 'sent' WHERE state = 'pending' ORDER BY id LIMIT 1`)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("UPDATE ... ORDER BY ... LIMIT 1: RowsAffected %d, want 1", n)
		}
	})

	t.Run("SKIP LOCKED skips a locked row", func(t *testing.T) {
		if storetest.Backend() == storetest.BackendEmbedded {
			t.Skip("the embedded engine has no row locks: SKIP LOCKED parses but skips nothing")
		}
		holder, err := q.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		var id string
		if err := holder.GetContext(ctx, &id, `SELECT id FROM api_keys WHERE id = 'k1' FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		other, err := q.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Rollback()
		var ids []string
		if err := other.SelectContext(ctx, &ids, `SELECT id FROM api_keys WHERE id = 'k1' FOR UPDATE SKIP LOCKED`); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 0 {
			t.Errorf("SKIP LOCKED returned the locked row: %v", ids)
		}
	})
}

func countIn(t *testing.T, tx *sqlx.Tx, id string) int {
	t.Helper()
	var n int
	if err := tx.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM api_keys WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	return n
}

// engineGoroutines counts goroutines running go-mysql-server or vitess code.
func engineGoroutines() int {
	n := 0
	for g := range strings.SplitSeq(allStacks(), "\n\n") {
		if strings.Contains(g, "github.com/dolthub/") {
			n++
		}
	}
	return n
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(bytes.TrimSpace(buf[:n]))
		}
		buf = make([]byte, 2*len(buf))
	}
}
