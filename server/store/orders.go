package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type orderRow struct {
	ID             string    `db:"id"`
	MerchantID     string    `db:"merchant_id"`
	OrderID        string    `db:"order_id"`
	Amount         int64     `db:"amount"`
	Currency       string    `db:"currency"`
	Status         string    `db:"status"`
	CustomerID     string    `db:"customer_id"`
	CustomerEmail  string    `db:"customer_email"`
	CustomerPhone  string    `db:"customer_phone"`
	ProductID      string    `db:"product_id"`
	Description    string    `db:"description"`
	ReturnURL      string    `db:"return_url"`
	UDF            string    `db:"udf"`
	Metadata       string    `db:"metadata"`
	Details        string    `db:"details"`
	AmountRefunded int64     `db:"amount_refunded"`
	TxnCount       int       `db:"txn_count"`
	Version        int       `db:"version"`
	ExpiresAt      time.Time `db:"expires_at"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

const orderColumns = `id, merchant_id, order_id, amount, currency, status, customer_id, customer_email,
	customer_phone, product_id, description, return_url, udf, metadata, details, amount_refunded,
	txn_count, version, expires_at, created_at, updated_at`

func orderToRow(o *pay.Order) *orderRow {
	return &orderRow{
		ID: o.ID, MerchantID: o.MerchantID, OrderID: o.OrderID,
		Amount: o.Amount.Amount, Currency: o.Amount.Currency, Status: string(o.Status),
		CustomerID: o.CustomerID, CustomerEmail: o.CustomerEmail, CustomerPhone: o.CustomerPhone,
		ProductID: o.ProductID, Description: o.Description, ReturnURL: o.ReturnURL,
		UDF: mustJSON(o.UDF), Metadata: mustJSON(o.Metadata), Details: mustJSON(o.Details),
		AmountRefunded: o.AmountRefunded, TxnCount: o.TxnCount, Version: o.Version,
		ExpiresAt: o.ExpiresAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

func rowToOrder(r *orderRow) (*pay.Order, error) {
	o := &pay.Order{
		ID: r.ID, MerchantID: r.MerchantID, OrderID: r.OrderID,
		Amount: pay.Money{Amount: r.Amount, Currency: r.Currency}, Status: pay.Status(r.Status),
		CustomerID: r.CustomerID, CustomerEmail: r.CustomerEmail, CustomerPhone: r.CustomerPhone,
		ProductID: r.ProductID, Description: r.Description, ReturnURL: r.ReturnURL,
		AmountRefunded: r.AmountRefunded, TxnCount: r.TxnCount, Version: r.Version,
		ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := unmarshalColumns(r.UDF, &o.UDF, r.Metadata, &o.Metadata, r.Details, &o.Details); err != nil {
		return nil, fmt.Errorf("order %s: %w", r.ID, err)
	}
	return o, nil
}

// CreateOrder stores a new order unless the merchant already has one with the
// same order_id. Then the existing order is returned with created=false when
// its amount and currency match (so a retried create is harmless), and an
// EINVALID error naming amount otherwise. The unique key on (merchant_id,
// order_id) settles concurrent creates: exactly one insert wins.
func (db *DB) CreateOrder(ctx context.Context, o *pay.Order) (out *pay.Order, created bool, err error) {
	_, err = db.db.NamedExecContext(ctx, `
		INSERT INTO orders (`+orderColumns+`)
		VALUES (:id, :merchant_id, :order_id, :amount, :currency, :status, :customer_id, :customer_email,
			:customer_phone, :product_id, :description, :return_url, :udf, :metadata, :details,
			:amount_refunded, :txn_count, :version, :expires_at, :created_at, :updated_at)`, orderToRow(o))
	if err == nil {
		return o, true, nil
	}
	if !isDuplicate(err) {
		return nil, false, fmt.Errorf("store.CreateOrder(%s/%s): %w", o.MerchantID, o.OrderID, err)
	}
	existing, err := db.Order(ctx, o.MerchantID, o.OrderID)
	if err != nil {
		return nil, false, err
	}
	if existing.Amount != o.Amount {
		return nil, false, &pay.Error{Code: pay.EINVALID,
			Message: fmt.Sprintf("order_id %s already exists with amount %s %s", o.OrderID,
				pay.FormatAmount(existing.Amount.Amount, existing.Amount.Currency), existing.Amount.Currency),
			Fields: []pay.FieldError{{Field: "amount", Reason: "differs from the existing order with this order_id"}}}
	}
	return existing, false, nil
}

// Order returns a merchant's order by the merchant's order_id, or ENOTFOUND.
func (db *DB) Order(ctx context.Context, merchantID, orderID string) (*pay.Order, error) {
	var r orderRow
	err := db.db.GetContext(ctx, &r, `
		SELECT `+orderColumns+` FROM orders WHERE merchant_id = ? AND order_id = ?`, merchantID, orderID)
	if err != nil {
		return nil, notFound(err, "order not found")
	}
	return rowToOrder(&r)
}

// OrderByID returns an order by Switchyard's id ("ordeh_…"), or ENOTFOUND.
func (db *DB) OrderByID(ctx context.Context, id string) (*pay.Order, error) {
	var r orderRow
	if err := db.db.GetContext(ctx, &r, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "order not found")
	}
	return rowToOrder(&r)
}

// UpdateOrder loads a merchant's order under a row lock, lets fn change it and
// stores the changed amount and udfs, bumping the version.
func (db *DB) UpdateOrder(ctx context.Context, merchantID, orderID string, fn func(o *pay.Order, now time.Time) error) (*pay.Order, error) {
	var out *pay.Order
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		var r orderRow
		err := tx.GetContext(ctx, &r, `
			SELECT `+orderColumns+` FROM orders WHERE merchant_id = ? AND order_id = ? FOR UPDATE`,
			merchantID, orderID)
		if err != nil {
			return notFound(err, "order not found")
		}
		o, err := rowToOrder(&r)
		if err != nil {
			return err
		}
		if err := fn(o, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE orders SET amount = ?, udf = ?, version = version + 1, updated_at = ?
			WHERE id = ?`, o.Amount.Amount, mustJSON(o.UDF), now, o.ID)
		if err != nil {
			return fmt.Errorf("store.UpdateOrder(%s): %w", o.ID, err)
		}
		o.Version++
		out = o
		return nil
	})
	return out, err
}
