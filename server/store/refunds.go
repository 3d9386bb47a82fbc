package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type refundRow struct {
	ID              string    `db:"id"`
	OrderUUID       string    `db:"order_uuid"`
	TxnUUID         string    `db:"txn_uuid"`
	MerchantID      string    `db:"merchant_id"`
	UniqueRequestID string    `db:"unique_request_id"`
	Amount          int64     `db:"amount"`
	Currency        string    `db:"currency"`
	Status          string    `db:"status"`
	GatewayRef      string    `db:"gateway_ref"`
	ErrorCode       string    `db:"error_code"`
	ErrorMessage    string    `db:"error_message"`
	InitiatedBy     string    `db:"initiated_by"`
	CreatedAt       time.Time `db:"created_at"`
	UpdatedAt       time.Time `db:"updated_at"`
}

const refundColumns = `id, order_uuid, txn_uuid, merchant_id, unique_request_id, amount, currency, status,
	gateway_ref, error_code, error_message, initiated_by, created_at, updated_at`

func refundToRow(r *pay.Refund) *refundRow {
	return &refundRow{
		ID: r.ID, OrderUUID: r.OrderUUID, TxnUUID: r.TxnUUID, MerchantID: r.MerchantID,
		UniqueRequestID: r.UniqueRequestID, Amount: r.Amount.Amount, Currency: r.Amount.Currency,
		Status: string(r.Status), GatewayRef: r.GatewayRef, ErrorCode: r.ErrorCode,
		ErrorMessage: r.ErrorMessage, InitiatedBy: r.InitiatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func (r *refundRow) refund() *pay.Refund {
	return &pay.Refund{
		ID: r.ID, OrderUUID: r.OrderUUID, TxnUUID: r.TxnUUID, MerchantID: r.MerchantID,
		UniqueRequestID: r.UniqueRequestID, Amount: pay.Money{Amount: r.Amount, Currency: r.Currency},
		Status: pay.RefundStatus(r.Status), GatewayRef: r.GatewayRef, ErrorCode: r.ErrorCode,
		ErrorMessage: r.ErrorMessage, InitiatedBy: r.InitiatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func selectRefunds(ctx context.Context, q sqlx.QueryerContext, orderUUID string) ([]*pay.Refund, error) {
	var rows []refundRow
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT `+refundColumns+` FROM refunds WHERE order_uuid = ? ORDER BY created_at, id`, orderUUID); err != nil {
		return nil, fmt.Errorf("store.selectRefunds(%s): %w", orderUUID, err)
	}
	out := make([]*pay.Refund, len(rows))
	for i := range rows {
		out[i] = rows[i].refund()
	}
	return out, nil
}

// Refunds returns an order's refunds, oldest first.
func (db *DB) Refunds(ctx context.Context, orderUUID string) ([]*pay.Refund, error) {
	return selectRefunds(ctx, db.db, orderUUID)
}

// writeRefunds inserts a new refund and updates changed ones (inside
// ChangeOrder's transaction).
func writeRefunds(ctx context.Context, tx *sqlx.Tx, ch OrderChange, now time.Time) error {
	for _, r := range ch.UpdatedRefunds {
		r.UpdatedAt = now
		_, err := tx.NamedExecContext(ctx, `
			UPDATE refunds SET status = :status, gateway_ref = :gateway_ref, error_code = :error_code,
				error_message = :error_message, updated_at = :updated_at
			WHERE id = :id`, refundToRow(r))
		if err != nil {
			return fmt.Errorf("store: update refund %s: %w", r.ID, err)
		}
	}
	if r := ch.NewRefund; r != nil {
		r.CreatedAt, r.UpdatedAt = now, now
		_, err := tx.NamedExecContext(ctx, `
			INSERT INTO refunds (`+refundColumns+`)
			VALUES (:id, :order_uuid, :txn_uuid, :merchant_id, :unique_request_id, :amount, :currency, :status,
				:gateway_ref, :error_code, :error_message, :initiated_by, :created_at, :updated_at)`, refundToRow(r))
		if isDuplicate(err) {
			return pay.Errorf(pay.ECONFLICT, "a refund with unique_request_id %q was created at the same time; retry", r.UniqueRequestID)
		}
		if err != nil {
			return fmt.Errorf("store: insert refund: %w", err)
		}
	}
	return nil
}

// PendingRefunds returns refunds still PENDING that were last updated before
// `before`, oldest first, for reconciliation.
func (db *DB) PendingRefunds(ctx context.Context, before time.Time, limit int) ([]*pay.Refund, error) {
	var rows []refundRow
	if err := db.db.SelectContext(ctx, &rows, `
		SELECT `+refundColumns+` FROM refunds WHERE status = 'PENDING' AND updated_at < ?
		ORDER BY updated_at LIMIT ?`, before, limit); err != nil {
		return nil, fmt.Errorf("store.PendingRefunds: %w", err)
	}
	out := make([]*pay.Refund, len(rows))
	for i := range rows {
		out[i] = rows[i].refund()
	}
	return out, nil
}
