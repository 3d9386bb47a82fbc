package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type txnRow struct {
	ID                string    `db:"id"`
	TxnID             string    `db:"txn_id"`
	OrderUUID         string    `db:"order_uuid"`
	MerchantID        string    `db:"merchant_id"`
	Seq               int       `db:"seq"`
	Status            string    `db:"status"`
	Amount            int64     `db:"amount"`
	Currency          string    `db:"currency"`
	Gateway           string    `db:"gateway"`
	Connector         string    `db:"connector"`
	PaymentMethodType string    `db:"payment_method_type"`
	PaymentMethod     string    `db:"payment_method"`
	Details           string    `db:"details"`
	Routing           string    `db:"routing"`
	Conflicted        bool      `db:"conflicted"`
	ErrorCode         string    `db:"error_code"`
	ErrorMessage      string    `db:"error_message"`
	Version           int       `db:"version"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
}

const txnColumns = `id, txn_id, order_uuid, merchant_id, seq, status, amount, currency, gateway, connector,
	payment_method_type, payment_method, details, routing, conflicted, error_code, error_message, version,
	created_at, updated_at`

func txnToRow(t *pay.Txn) *txnRow {
	return &txnRow{
		ID: t.ID, TxnID: t.TxnID, OrderUUID: t.OrderUUID, MerchantID: t.MerchantID, Seq: t.Seq,
		Status: string(t.Status), Amount: t.Amount.Amount, Currency: t.Amount.Currency,
		Gateway: t.Gateway, Connector: t.Connector, PaymentMethodType: t.PaymentMethodType,
		PaymentMethod: t.PaymentMethod, Details: mustJSON(t.Details), Routing: t.Routing, Conflicted: t.Conflicted,
		ErrorCode: t.ErrorCode, ErrorMessage: t.ErrorMessage, Version: t.Version,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func rowToTxn(r *txnRow) (*pay.Txn, error) {
	t := &pay.Txn{
		ID: r.ID, TxnID: r.TxnID, OrderUUID: r.OrderUUID, MerchantID: r.MerchantID, Seq: r.Seq,
		Status: pay.Status(r.Status), Amount: pay.Money{Amount: r.Amount, Currency: r.Currency},
		Gateway: r.Gateway, Connector: r.Connector, PaymentMethodType: r.PaymentMethodType,
		PaymentMethod: r.PaymentMethod, Routing: r.Routing, Conflicted: r.Conflicted, ErrorCode: r.ErrorCode,
		ErrorMessage: r.ErrorMessage, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := unmarshalColumns(r.Details, &t.Details); err != nil {
		return nil, fmt.Errorf("txn %s: %w", r.ID, err)
	}
	return t, nil
}

// Event is an outbox row: a webhook or live-status event written in the same
// transaction as the state change it reports.
type Event struct {
	ID         string
	Name       string
	MerchantID string
	OrderUUID  string
	// Payload is the event body as JSON text.
	Payload string
	// Dest, when set, is where this event goes instead of the merchant's
	// webhook URL.
	Dest *pay.WebhookDetails
}

func (db *DB) insertEvents(ctx context.Context, tx *sqlx.Tx, events []Event, now time.Time) error {
	for _, e := range events {
		if e.ID == "" {
			e.ID = pay.NewID("evt_")
		}
		var destURL, destUser string
		var sealed []byte
		var version int
		if e.Dest != nil {
			destURL, destUser = e.Dest.URL, e.Dest.Username
			if e.Dest.Password != "" {
				var err error
				if sealed, version, err = db.Sealer.Seal([]byte(e.Dest.Password), aadDestPassword(e.ID)); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO outbox (event_id, merchant_id, order_uuid, event_name, payload, state,
				next_attempt_at, created_at, updated_at, dest_url, dest_username, dest_password_sealed, dest_key_version)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.MerchantID, e.OrderUUID, e.Name, e.Payload, now, now, now, destURL, destUser, sealed, version)
		if err != nil {
			return fmt.Errorf("store.insertEvents(%s): %w", e.Name, err)
		}
	}
	return nil
}

// OrderChange is what a transactional order update hands back to the store:
// the txns to insert or update and the events to write.
type OrderChange struct {
	// NewTxn, when set, is inserted.
	NewTxn *pay.Txn
	// Updated are existing txns whose new state must be stored; each is
	// written only if its version is still the one read (compare-and-set).
	Updated []*pay.Txn
	// NewRefund, when set, is inserted; UpdatedRefunds are stored.
	NewRefund      *pay.Refund
	UpdatedRefunds []*pay.Refund
	Events         []Event
}

// ChangeOrder is the transaction boundary of every payment state change. It
// locks the order row (serializing all changes of one order), loads its txns
// oldest first, and lets decide look at them and return the change. The
// store then writes the txns with compare-and-set, recomputes the order's
// status from its txns (pay.OrderStatus), bumps txn_count and version, and
// writes the events, all in one transaction. decide must not do I/O: it may
// be run again when the transaction is retried after a deadlock.
func (db *DB) ChangeOrder(ctx context.Context, orderUUID string,
	decide func(o *pay.Order, txns []*pay.Txn, now time.Time) (OrderChange, error)) (*pay.Order, []*pay.Txn, error) {
	var outOrder *pay.Order
	var outTxns []*pay.Txn
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		var or orderRow
		if err := tx.GetContext(ctx, &or, `SELECT `+orderColumns+` FROM orders WHERE id = ? FOR UPDATE`, orderUUID); err != nil {
			return notFound(err, "order not found")
		}
		o, err := rowToOrder(&or)
		if err != nil {
			return err
		}
		txns, err := selectTxns(ctx, tx, orderUUID)
		if err != nil {
			return err
		}
		if o.Refunds, err = selectRefunds(ctx, tx, orderUUID); err != nil {
			return err
		}
		ch, err := decide(o, txns, now)
		if err != nil {
			return err
		}
		if ch.NewTxn == nil && ch.NewRefund == nil && len(ch.Updated) == 0 &&
			len(ch.UpdatedRefunds) == 0 && len(ch.Events) == 0 {
			// Nothing changed (a replay, a stale result): leave the order
			// and its last_updated alone.
			outOrder, outTxns = o, txns
			return nil
		}
		for _, t := range ch.Updated {
			t.UpdatedAt = now
			r := txnToRow(t)
			res, err := tx.ExecContext(ctx, `
				UPDATE txns SET status = ?, gateway = ?, connector = ?, details = ?, routing = ?, conflicted = ?,
					error_code = ?, error_message = ?, version = version + 1, updated_at = ?
				WHERE id = ? AND version = ?`,
				r.Status, r.Gateway, r.Connector, r.Details, r.Routing, r.Conflicted, r.ErrorCode, r.ErrorMessage,
				now, r.ID, r.Version)
			if isDuplicate(err) {
				// txns_one_charge: the orchestrator's own check should
				// have flagged this charge conflicted first.
				return fmt.Errorf("store.ChangeOrder: second kept charge on order %s refused: %w", orderUUID, err)
			}
			if err != nil {
				return fmt.Errorf("store.ChangeOrder: update txn %s: %w", t.TxnID, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return pay.Errorf(pay.ECONFLICT, "txn %s changed concurrently; retry", t.TxnID)
			}
			t.Version++
			for i, old := range txns {
				if old.ID == t.ID {
					txns[i] = t
				}
			}
		}
		if t := ch.NewTxn; t != nil {
			t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1
			_, err := tx.NamedExecContext(ctx, `
				INSERT INTO txns (`+txnColumns+`)
				VALUES (:id, :txn_id, :order_uuid, :merchant_id, :seq, :status, :amount, :currency, :gateway,
					:connector, :payment_method_type, :payment_method, :details, :routing, :conflicted, :error_code,
					:error_message, :version, :created_at, :updated_at)`, txnToRow(t))
			if isDuplicate(err) {
				return pay.Errorf(pay.ECONFLICT, "another payment attempt on this order was started at the same time; retry")
			}
			if err != nil {
				return fmt.Errorf("store.ChangeOrder: insert txn: %w", err)
			}
			txns = append(txns, t)
			o.TxnCount = len(txns)
		}
		if err := writeRefunds(ctx, tx, ch, now); err != nil {
			return err
		}
		o.Refunds = mergeRefunds(o.Refunds, ch)
		o.AmountRefunded = pay.RefundedAmount(o.Refunds, txns)
		o.Status = pay.OrderStatus(txns)
		o.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, `
			UPDATE orders SET status = ?, txn_count = ?, amount_refunded = ?, version = version + 1, updated_at = ?
			WHERE id = ?`, string(o.Status), o.TxnCount, o.AmountRefunded, now, o.ID); err != nil {
			return fmt.Errorf("store.ChangeOrder: update order: %w", err)
		}
		o.Version++
		if err := db.insertEvents(ctx, tx, ch.Events, now); err != nil {
			return err
		}
		outOrder, outTxns = o, txns
		return nil
	})
	return outOrder, outTxns, err
}

func selectTxns(ctx context.Context, q sqlx.QueryerContext, orderUUID string) ([]*pay.Txn, error) {
	var rows []txnRow
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT `+txnColumns+` FROM txns WHERE order_uuid = ? ORDER BY seq`, orderUUID); err != nil {
		return nil, fmt.Errorf("store.selectTxns(%s): %w", orderUUID, err)
	}
	txns := make([]*pay.Txn, 0, len(rows))
	for i := range rows {
		t, err := rowToTxn(&rows[i])
		if err != nil {
			return nil, err
		}
		txns = append(txns, t)
	}
	return txns, nil
}

// Txns returns an order's txns, oldest first.
func (db *DB) Txns(ctx context.Context, orderUUID string) ([]*pay.Txn, error) {
	return selectTxns(ctx, db.db, orderUUID)
}

// TxnByTxnID returns a txn by its "<merchant>-<order_id>-<n>" id, or ENOTFOUND.
func (db *DB) TxnByTxnID(ctx context.Context, txnID string) (*pay.Txn, error) {
	var r txnRow
	if err := db.db.GetContext(ctx, &r, `SELECT `+txnColumns+` FROM txns WHERE txn_id = ?`, txnID); err != nil {
		return nil, notFound(err, "transaction not found")
	}
	return rowToTxn(&r)
}

// mergeRefunds returns refunds with a change's updates and new refund applied.
func mergeRefunds(refunds []*pay.Refund, ch OrderChange) []*pay.Refund {
	out := make([]*pay.Refund, 0, len(refunds)+1)
	for _, r := range refunds {
		for _, u := range ch.UpdatedRefunds {
			if u.ID == r.ID {
				r = u
			}
		}
		out = append(out, r)
	}
	if ch.NewRefund != nil {
		out = append(out, ch.NewRefund)
	}
	return out
}

// StaleTxns returns txns still in flight (STARTED, PENDING_VBV,
// VBV_SUCCESSFUL, AUTHORIZING) last updated before `before`, oldest first.
func (db *DB) StaleTxns(ctx context.Context, before time.Time, limit int) ([]*pay.Txn, error) {
	return db.selectTxnsWhere(ctx, `status IN ('STARTED', 'PENDING_VBV', 'VBV_SUCCESSFUL', 'AUTHORIZING')
		AND updated_at < ? ORDER BY updated_at LIMIT ?`, before, limit)
}

// LeftTxns returns txns Switchyard failed on its own — superseded by a new
// attempt or expired with their order, error_code SUPERSEDED or EXPIRED —
// last updated within one of the half-open ranges (from, to], oldest first.
func (db *DB) LeftTxns(ctx context.Context, ranges [][2]time.Time, limit int) ([]*pay.Txn, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	var conds []string
	var args []any
	for _, r := range ranges {
		conds = append(conds, `(updated_at > ? AND updated_at <= ?)`)
		args = append(args, r[0], r[1])
	}
	return db.selectTxnsWhere(ctx, `status IN ('AUTHENTICATION_FAILED', 'AUTHORIZATION_FAILED')
		AND error_code IN ('SUPERSEDED', 'EXPIRED') AND (`+strings.Join(conds, ` OR `)+`)
		ORDER BY updated_at LIMIT ?`, append(args, limit)...)
}

// ConflictedCharges returns charged txns flagged conflicted, which are to be
// refunded, in (updated_at, id) order after the cursor (after, afterID); a
// zero after starts at the oldest. Callers page through all of them: some
// stay conflicted for good (a merchant refunding duplicates itself), and
// must not hide the others.
func (db *DB) ConflictedCharges(ctx context.Context, after time.Time, afterID string, limit int) ([]*pay.Txn, error) {
	return db.selectTxnsWhere(ctx, `status = 'CHARGED' AND conflicted = TRUE
		AND (updated_at > ? OR (updated_at = ? AND id > ?)) ORDER BY updated_at, id LIMIT ?`, after, after, afterID, limit)
}

func (db *DB) selectTxnsWhere(ctx context.Context, where string, args ...any) ([]*pay.Txn, error) {
	var rows []txnRow
	if err := db.db.SelectContext(ctx, &rows, `SELECT `+txnColumns+` FROM txns WHERE `+where, args...); err != nil {
		return nil, fmt.Errorf("store.selectTxnsWhere: %w", err)
	}
	out := make([]*pay.Txn, len(rows))
	for i := range rows {
		t, err := rowToTxn(&rows[i])
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}
