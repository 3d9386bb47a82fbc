package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"switchyard/server/pay"
	"switchyard/server/storetest"
)

// The database itself refuses a second kept charge on one order, whatever
// the code above it does; a conflicted charge (to be refunded) is allowed.
func TestOneKeptChargePerOrder(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	q := db.SQL()
	now := time.Now().UTC()
	insert := func(id string, seq int, status pay.Status, conflicted bool) error {
		_, err := q.ExecContext(ctx, `
			INSERT INTO txns (id, txn_id, order_uuid, merchant_id, seq, status, amount, currency,
				payment_method_type, details, routing, conflicted, created_at, updated_at)
			VALUES (?, ?, 'ordeh_1', 'm', ?, ?, 100, 'INR', 'CARD', '{}', '{}', ?, ?, ?)`,
			id, "m-o-"+id, seq, string(status), conflicted, now, now)
		return err
	}
	if err := insert("t1", 1, pay.StatusCharged, false); err != nil {
		t.Fatal(err)
	}
	if err := insert("t2", 2, pay.StatusAuthorizationFailed, false); err != nil {
		t.Fatal(err)
	}
	var me *mysql.MySQLError
	if err := insert("t3", 3, pay.StatusCharged, false); !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("second kept charge: err = %v, want 1062", err)
	}
	if err := insert("t4", 4, pay.StatusCharged, true); err != nil {
		t.Fatalf("conflicted charge refused: %v", err)
	}
	// Promoting the failed txn to a kept charge is refused too.
	_, err := q.ExecContext(ctx, `UPDATE txns SET status = 'CHARGED' WHERE id = 't2'`)
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("update to second kept charge: err = %v, want 1062", err)
	}
}
