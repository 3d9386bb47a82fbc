package storetest_test

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"switchyard/server/store"
	"switchyard/server/storetest"
)

func TestBackend(t *testing.T) {
	want := storetest.BackendEmbedded
	if os.Getenv(storetest.EnvDatabaseURL) != "" {
		want = storetest.BackendMySQL
	}
	if got := storetest.Backend(); got != want {
		t.Errorf("Backend() = %q, want %q", got, want)
	}
}

func TestOpen(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// Every table the migrations create.
	for _, table := range []string{
		"merchants", "api_keys", "gateway_accounts", "customers",
		"orders", "txns", "refunds",
		"outbox", "idempotency_keys", "signing_keys",
	} {
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Errorf("%s: %v", table, err)
		} else if n != 0 {
			t.Errorf("%s has %d rows in a fresh database", table, n)
		}
	}

	// The handle's Sealer and storetest.Sealer() share the master key.
	sealed, version, err := db.Sealer.Seal([]byte("secret"), "aad")
	if err != nil {
		t.Fatal(err)
	}
	if version != storetest.MasterKeyVersion {
		t.Errorf("sealed under key version %d, want %d", version, storetest.MasterKeyVersion)
	}
	plain, err := storetest.Sealer().Open(sealed, version, "aad")
	if err != nil || string(plain) != "secret" {
		t.Errorf("storetest.Sealer().Open = %q, %v", plain, err)
	}
	if len(storetest.MasterKey()) != 32 {
		t.Errorf("MasterKey is %d bytes, want 32", len(storetest.MasterKey()))
	}
}

// TestFreshPerTest inserts the same primary key in parallel tests: any
// database shared between them would answer 1062.
func TestFreshPerTest(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t)
			_, err := db.SQL().ExecContext(t.Context(),
				`INSERT INTO signing_keys (id, secret_sealed, secrets_key_version, created_at) VALUES ('same', '', 1, ?)`,
				time.Now().UTC())
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM signing_keys`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("signing_keys has %d rows, want 1", n)
			}
		})
	}
}

func TestDSN(t *testing.T) {
	dsn := storetest.DSN(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("DSN %q: %v", dsn, err)
	}
	if storetest.Backend() == storetest.BackendMySQL && !strings.HasPrefix(cfg.DBName, "sy_test_") {
		t.Errorf("database %q, want sy_test_*", cfg.DBName)
	}
	// As the app would: its own pool, closed before the database goes.
	db, err := store.Open(t.Context(), dsn, storetest.Sealer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ready(t.Context()); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestTeardown checks that a test's database is gone once the test is.
func TestTeardown(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) { dsn = storetest.DSN(t) })
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}

	if storetest.Backend() == storetest.BackendEmbedded {
		if c, err := net.DialTimeout("tcp", cfg.Addr, time.Second); err == nil {
			c.Close()
			t.Errorf("embedded engine at %s still listening after its test ended", cfg.Addr)
		}
		return
	}
	admin, err := mysql.ParseDSN(os.Getenv(storetest.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	connector, err := mysql.NewConnector(admin)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(connector)
	defer pool.Close()
	var n int
	err = pool.QueryRowContext(t.Context(),
		`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, cfg.DBName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", cfg.DBName)
	}
}
