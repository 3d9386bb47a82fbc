// Package storetest hands tests a fresh, migrated Switchyard database.
//
// By default each database lives in its own in-memory engine
// (store.StartEmbedded), so `go test ./...` needs nothing installed. Set
// SWITCHYARD_TEST_DATABASE_URL to a go-sql-driver DSN of a MySQL or MariaDB
// server whose user may create and drop databases, e.g.
//
//	SWITCHYARD_TEST_DATABASE_URL='root@tcp(127.0.0.1:3306)/mysql' go test ./...
//
// and each test gets its own sy_test_<random> database on that server
// instead, dropped when the test ends. The embedded engine has no row locks
// and weaker transaction isolation than InnoDB; tests of concurrency
// behaviour should check Backend and skip, saying why.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// EnvDatabaseURL names the environment variable holding the DSN of the
// MySQL/MariaDB server to test against; empty or unset means the embedded
// engine.
const EnvDatabaseURL = "SWITCHYARD_TEST_DATABASE_URL"

// Backend names, as returned by Backend.
const (
	BackendMySQL    = "mysql"
	BackendEmbedded = "embedded"
)

// MasterKeyVersion is the version under which MasterKey is registered in
// Sealer.
const MasterKeyVersion = 1

// masterKey is the fixed test master key: 32 bytes, so AES-256. Fixed so a
// sealed value written by one pool (say, a booted app) opens in another.
const masterKey = "switchyard-test-master-key-0001!"

// embeddedDBName is the database created inside each embedded engine; the
// engine is per test, so the name needn't be unique.
const embeddedDBName = "switchyard"

// setupTimeout bounds creating and migrating one database, and dropping it.
const setupTimeout = time.Minute

// Backend reports which kind of server the databases of this test process
// come from: BackendMySQL when EnvDatabaseURL is set (MariaDB included), else
// BackendEmbedded.
func Backend() string {
	if os.Getenv(EnvDatabaseURL) != "" {
		return BackendMySQL
	}
	return BackendEmbedded
}

// MasterKey returns a copy of the fixed 32-byte test master key, for tests
// that configure a whole app (e.g. through its master-key setting) and must
// seal and open the same values as Sealer.
func MasterKey() []byte { return []byte(masterKey) }

// Sealer returns a pay.Sealer over the fixed test master key (version
// MasterKeyVersion), the one every database from Open is given.
func Sealer() *pay.Sealer {
	s, err := pay.NewSealer(map[int][]byte{MasterKeyVersion: MasterKey()})
	if err != nil {
		// The key is a constant of the right length; this cannot happen.
		panic("storetest: " + err.Error())
	}
	return s
}

// Open returns a handle on a fresh, empty, fully migrated database whose
// Sealer is Sealer(). The database and the handle are closed, and on MySQL
// dropped, when the test and its subtests end. Call it from the test's own
// goroutine: it fails the test with t.Fatal.
func Open(t testing.TB) *store.DB {
	t.Helper()
	_, db := fresh(t)
	return db
}

// DSN returns the go-sql-driver DSN of a fresh, empty, fully migrated
// database, for tests that boot the whole app and let it open its own pool.
// Close that pool in a t.Cleanup registered after DSN returns, so it closes
// before the database goes away. Call it from the test's own goroutine.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, db := fresh(t)
	// Only the migrations needed this pool.
	db.Close()
	return dsn
}

// fresh creates a database on the configured backend, migrates it, and
// returns its DSN and an open, migrated handle on it, both torn down in
// t.Cleanup.
func fresh(t testing.TB) (string, *store.DB) {
	t.Helper()
	var dsn string
	if url := os.Getenv(EnvDatabaseURL); url != "" {
		dsn = createMySQL(t, url)
	} else {
		dsn = startEmbedded(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := store.Open(ctx, dsn, Sealer())
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	// Registered after the database's own teardown, so it runs before it.
	t.Cleanup(func() { db.Close() })
	// Each test migrates from scratch; goose's per-file log lines would
	// only bury the test's own output.
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dsn, db
}

// startEmbedded starts an engine for this test alone, so it starts empty and
// nothing in it outlives the test.
func startEmbedded(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	e, err := store.StartEmbedded(ctx, embeddedDBName)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("storetest: closing embedded engine: %v", err)
		}
	})
	t.Logf("storetest: embedded engine (%s)", e.DSN())
	return e.DSN()
}

// createMySQL creates an uniquely named database on the server named by url,
// drops it in t.Cleanup, and returns the DSN of that database with url's
// credentials and parameters.
func createMySQL(t testing.TB, url string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(url)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvDatabaseURL, err)
	}
	// The admin connection must not depend on url's database existing.
	admin := cfg.Clone()
	admin.DBName = ""
	connector, err := mysql.NewConnector(admin)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvDatabaseURL, err)
	}
	pool := sql.OpenDB(connector)

	var b [8]byte
	rand.Read(b[:])
	name := "sy_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	// utf8mb4 explicitly: the server default may still be latin1 (MariaDB).
	_, err = pool.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4")
	if err != nil {
		pool.Close()
		t.Fatalf("storetest: MySQL at %s: create database: %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		defer pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := pool.ExecContext(ctx, "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("storetest: MySQL at %s: drop database %s: %v", cfg.Addr, name, err)
		}
	})
	t.Logf("storetest: MySQL at %s (database %s)", cfg.Addr, name)

	cfg.DBName = name
	return cfg.FormatDSN()
}
