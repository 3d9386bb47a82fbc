package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// Payout storage (migrations/00010_payouts.sql). A payout order is changed
// only through ChangePayout, which locks its row, so every change of an
// order, its fulfillments and its attempts is serialized per order and
// commits with its callback events.

type payoutOrderRow struct {
	ID               string       `db:"id"`
	MerchantID       string       `db:"merchant_id"`
	OrderID          string       `db:"order_id"`
	Type             string       `db:"type"`
	Status           string       `db:"status"`
	Amount           int64        `db:"amount"`
	Currency         string       `db:"currency"`
	CustomerID       string       `db:"customer_id"`
	CustomerPhone    string       `db:"customer_phone"`
	CustomerEmail    string       `db:"customer_email"`
	UDFs             string       `db:"udfs"`
	RetryPolicy      string       `db:"retry_policy"`
	PaymentOrderUUID string       `db:"payment_order_uuid"`
	PaymentStatus    string       `db:"payment_status"`
	RefundStatus     string       `db:"refund_status"`
	RefundAmount     int64        `db:"refund_amount"`
	NextCheckAt      sql.NullTime `db:"next_check_at"`
	Version          int          `db:"version"`
	CreatedAt        time.Time    `db:"created_at"`
	UpdatedAt        time.Time    `db:"updated_at"`
}

const payoutOrderColumns = `id, merchant_id, order_id, type, status, amount, currency, customer_id, customer_phone,
	customer_email, udfs, retry_policy, payment_order_uuid, payment_status, refund_status, refund_amount,
	next_check_at, version, created_at, updated_at`

type fulfillmentRow struct {
	ID                    string       `db:"id"`
	PayoutOrderID         string       `db:"payout_order_id"`
	MerchantID            string       `db:"merchant_id"`
	Seq                   int          `db:"seq"`
	Status                string       `db:"status"`
	Amount                int64        `db:"amount"`
	Currency              string       `db:"currency"`
	PreferredMethods      string       `db:"preferred_methods"`
	BeneficiaryType       string       `db:"beneficiary_type"`
	BeneficiaryDetails    string       `db:"beneficiary_details"`
	UDFs                  string       `db:"udfs"`
	AdditionalInfo        string       `db:"additional_info"`
	WebhookURL            string       `db:"webhook_url"`
	WebhookUsername       string       `db:"webhook_username"`
	WebhookPasswordSealed []byte       `db:"webhook_password_sealed"`
	SecretsKeyVersion     int          `db:"secrets_key_version"`
	DueAt                 sql.NullTime `db:"due_at"`
	StatusUpdatedAt       time.Time    `db:"status_updated_at"`
	Version               int          `db:"version"`
	CreatedAt             time.Time    `db:"created_at"`
	UpdatedAt             time.Time    `db:"updated_at"`
}

const fulfillmentColumns = `id, payout_order_id, merchant_id, seq, status, amount, currency, preferred_methods,
	beneficiary_type, beneficiary_details, udfs, additional_info, webhook_url, webhook_username,
	webhook_password_sealed, secrets_key_version, due_at, status_updated_at, version, created_at, updated_at`

type payoutAttemptRow struct {
	ID              string    `db:"id"`
	FulfillmentID   string    `db:"fulfillment_id"`
	PayoutOrderID   string    `db:"payout_order_id"`
	Seq             int       `db:"seq"`
	Method          string    `db:"method"`
	Amount          int64     `db:"amount"`
	Currency        string    `db:"currency"`
	Status          string    `db:"status"`
	FailureKind     string    `db:"failure_kind"`
	ResponseCode    string    `db:"response_code"`
	ResponseMessage string    `db:"response_message"`
	GatewayRef      string    `db:"gateway_ref"`
	CreatedAt       time.Time `db:"created_at"`
	UpdatedAt       time.Time `db:"updated_at"`
}

const payoutAttemptColumns = `id, fulfillment_id, payout_order_id, seq, method, amount, currency, status,
	failure_kind, response_code, response_message, gateway_ref, created_at, updated_at`

// additionalInfoColumn is additionalInfo as stored: everything but the
// webhook credentials, which have their own (sealed) columns.
type additionalInfoColumn struct {
	Remark           string `json:"remark,omitempty"`
	IsRetriable      *bool  `json:"isRetriable,omitempty"`
	AttemptThreshold int    `json:"attemptThreshold,omitempty"`
}

func aadFulfillmentPassword(id string) string {
	return "payout_fulfillment:" + id + ":webhook_password"
}

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

func (db *DB) fulfillmentToRow(merchantID string, f *pay.Fulfillment) (*fulfillmentRow, error) {
	r := &fulfillmentRow{
		ID: f.ID, PayoutOrderID: f.PayoutOrderID, MerchantID: merchantID, Seq: f.Seq, Status: string(f.Status),
		Amount: f.Amount.Amount, Currency: f.Amount.Currency, PreferredMethods: mustJSON(nonNilStrings(f.Methods)),
		BeneficiaryType: f.Beneficiary.Type, BeneficiaryDetails: mustJSON(f.Beneficiary.Details),
		UDFs: mustJSON(f.UDF), DueAt: nullTime(f.DueAt), StatusUpdatedAt: f.StatusUpdatedAt,
		AdditionalInfo: mustJSON(additionalInfoColumn{Remark: f.Info.Remark, IsRetriable: f.Info.IsRetriable,
			AttemptThreshold: f.Info.AttemptThreshold}),
		Version: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
	if w := f.Info.Webhook; w != nil {
		r.WebhookURL, r.WebhookUsername = w.URL, w.Username
		if w.Password != "" {
			var err error
			if r.WebhookPasswordSealed, r.SecretsKeyVersion, err = db.Sealer.Seal([]byte(w.Password), aadFulfillmentPassword(f.ID)); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func (db *DB) rowToFulfillment(r *fulfillmentRow) (*pay.Fulfillment, error) {
	f := &pay.Fulfillment{
		ID: r.ID, PayoutOrderID: r.PayoutOrderID, Seq: r.Seq, Status: pay.FulfillmentStatus(r.Status),
		Amount: pay.Money{Amount: r.Amount, Currency: r.Currency}, Beneficiary: pay.Beneficiary{Type: r.BeneficiaryType},
		StatusUpdatedAt: r.StatusUpdatedAt, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.DueAt.Valid {
		f.DueAt = r.DueAt.Time
	}
	var info additionalInfoColumn
	if err := unmarshalColumns(r.PreferredMethods, &f.Methods, r.BeneficiaryDetails, &f.Beneficiary.Details,
		r.UDFs, &f.UDF, r.AdditionalInfo, &info); err != nil {
		return nil, fmt.Errorf("fulfillment %s: %w", r.ID, err)
	}
	f.Info = pay.AdditionalInfo{Remark: info.Remark, IsRetriable: info.IsRetriable, AttemptThreshold: info.AttemptThreshold}
	if r.WebhookURL != "" {
		f.Info.Webhook = &pay.WebhookDetails{URL: r.WebhookURL, Username: r.WebhookUsername}
		if len(r.WebhookPasswordSealed) > 0 {
			pw, err := db.Sealer.Open(r.WebhookPasswordSealed, r.SecretsKeyVersion, aadFulfillmentPassword(r.ID))
			if err != nil {
				return nil, fmt.Errorf("fulfillment %s webhook password: %w", r.ID, err)
			}
			f.Info.Webhook.Password = string(pw)
		}
	}
	return f, nil
}

func attemptToRow(a *pay.PayoutAttempt) *payoutAttemptRow {
	return &payoutAttemptRow{
		ID: a.ID, FulfillmentID: a.FulfillmentID, PayoutOrderID: a.PayoutOrderID, Seq: a.Seq, Method: a.Method,
		Amount: a.Amount.Amount, Currency: a.Amount.Currency, Status: string(a.Status), FailureKind: a.FailureKind,
		ResponseCode: truncateUTF8(a.ResponseCode, 64), ResponseMessage: truncateUTF8(a.ResponseMessage, 255),
		GatewayRef: truncateUTF8(a.GatewayRef, 64), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func (r *payoutAttemptRow) attempt() *pay.PayoutAttempt {
	return &pay.PayoutAttempt{
		ID: r.ID, FulfillmentID: r.FulfillmentID, PayoutOrderID: r.PayoutOrderID, Seq: r.Seq, Method: r.Method,
		Amount: pay.Money{Amount: r.Amount, Currency: r.Currency}, Status: pay.AttemptStatus(r.Status),
		FailureKind: r.FailureKind, ResponseCode: r.ResponseCode, ResponseMessage: r.ResponseMessage,
		GatewayRef: r.GatewayRef, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func rowToPayoutOrder(r *payoutOrderRow) (*pay.PayoutOrder, error) {
	o := &pay.PayoutOrder{
		ID: r.ID, MerchantID: r.MerchantID, OrderID: r.OrderID, Type: pay.PayoutType(r.Type),
		Status: pay.PayoutStatus(r.Status), Amount: pay.Money{Amount: r.Amount, Currency: r.Currency},
		CustomerID: r.CustomerID, CustomerPhone: r.CustomerPhone, CustomerEmail: r.CustomerEmail,
		PaymentOrderUUID: r.PaymentOrderUUID, PaymentStatus: r.PaymentStatus, RefundStatus: r.RefundStatus,
		RefundAmount: r.RefundAmount, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.NextCheckAt.Valid {
		o.NextCheckAt = r.NextCheckAt.Time
	}
	if err := unmarshalColumns(r.UDFs, &o.UDF, r.RetryPolicy, &o.Policy); err != nil {
		return nil, fmt.Errorf("payout order %s: %w", r.ID, err)
	}
	return o, nil
}

// loadPayout reads order id with its fulfillments (by seq) and their
// attempts (by seq); lock takes the order row FOR UPDATE.
func (db *DB) loadPayout(ctx context.Context, q sqlx.QueryerContext, where string, lock bool, args ...any) (*pay.PayoutOrder, error) {
	query := `SELECT ` + payoutOrderColumns + ` FROM payout_orders WHERE ` + where
	if lock {
		query += ` FOR UPDATE`
	}
	var or payoutOrderRow
	if err := sqlx.GetContext(ctx, q, &or, query, args...); err != nil {
		return nil, notFound(err, "payout order not found")
	}
	o, err := rowToPayoutOrder(&or)
	if err != nil {
		return nil, err
	}
	var frows []fulfillmentRow
	if err := sqlx.SelectContext(ctx, q, &frows, `SELECT `+fulfillmentColumns+` FROM payout_fulfillments
		WHERE payout_order_id = ? ORDER BY seq`, o.ID); err != nil {
		return nil, fmt.Errorf("store: fulfillments of %s: %w", o.ID, err)
	}
	var arows []payoutAttemptRow
	if err := sqlx.SelectContext(ctx, q, &arows, `SELECT `+payoutAttemptColumns+` FROM payout_attempts
		WHERE payout_order_id = ? ORDER BY fulfillment_id, seq`, o.ID); err != nil {
		return nil, fmt.Errorf("store: attempts of %s: %w", o.ID, err)
	}
	byID := map[string]*pay.Fulfillment{}
	for i := range frows {
		f, err := db.rowToFulfillment(&frows[i])
		if err != nil {
			return nil, err
		}
		o.Fulfillments = append(o.Fulfillments, f)
		byID[f.ID] = f
	}
	for i := range arows {
		if f := byID[arows[i].FulfillmentID]; f != nil {
			f.Attempts = append(f.Attempts, arows[i].attempt())
		}
	}
	return o, nil
}

// CreatePayoutOrder stores a new payout order with its fulfillments and its
// events in one transaction. An orderId the merchant already used is
// ECONFLICT, and nothing is written.
func (db *DB) CreatePayoutOrder(ctx context.Context, o *pay.PayoutOrder, events []Event) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payout_orders (`+payoutOrderColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.MerchantID, o.OrderID, string(o.Type), string(o.Status), o.Amount.Amount, o.Amount.Currency,
			o.CustomerID, o.CustomerPhone, o.CustomerEmail, mustJSON(o.UDF), mustJSON(o.Policy), o.PaymentOrderUUID,
			o.PaymentStatus, o.RefundStatus, o.RefundAmount, nullTime(o.NextCheckAt), o.Version, o.CreatedAt, o.UpdatedAt)
		if isDuplicate(err) {
			return &pay.Error{Code: pay.ECONFLICT, Message: "orderId: a payout order with this orderId already exists",
				Fields: []pay.FieldError{{Field: "orderId", Reason: "already used by another payout order"}}}
		}
		if err != nil {
			return fmt.Errorf("store.CreatePayoutOrder: %w", err)
		}
		for _, f := range o.Fulfillments {
			r, err := db.fulfillmentToRow(o.MerchantID, f)
			if err != nil {
				return err
			}
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO payout_fulfillments (`+fulfillmentColumns+`) VALUES (
				:id, :payout_order_id, :merchant_id, :seq, :status, :amount, :currency, :preferred_methods,
				:beneficiary_type, :beneficiary_details, :udfs, :additional_info, :webhook_url, :webhook_username,
				:webhook_password_sealed, :secrets_key_version, :due_at, :status_updated_at, :version, :created_at,
				:updated_at)`, r); err != nil {
				return fmt.Errorf("store.CreatePayoutOrder: fulfillment: %w", err)
			}
		}
		return db.insertEvents(ctx, tx, events, now)
	})
}

// PayoutOrder returns merchant merchantID's payout order by its orderId.
func (db *DB) PayoutOrder(ctx context.Context, merchantID, orderID string) (*pay.PayoutOrder, error) {
	return db.readPayout(ctx, `merchant_id = ? AND order_id = ?`, merchantID, orderID)
}

// PayoutOrderByID returns a payout order by Switchyard's id.
func (db *DB) PayoutOrderByID(ctx context.Context, id string) (*pay.PayoutOrder, error) {
	return db.readPayout(ctx, `id = ?`, id)
}

// readPayout loads an order in one transaction: its three reads see one
// snapshot, so an order is never shown half way through a change (an
// attempt already SUCCESS beside its fulfillment still PENDING).
func (db *DB) readPayout(ctx context.Context, where string, args ...any) (*pay.PayoutOrder, error) {
	var o *pay.PayoutOrder
	err := db.Tx(ctx, func(tx *sqlx.Tx, _ time.Time) error {
		var err error
		o, err = db.loadPayout(ctx, tx, where, false, args...)
		return err
	})
	return o, err
}

// PayoutIDOfFulfillment returns the id of the payout order of one of the
// merchant's fulfillments, or ENOTFOUND.
func (db *DB) PayoutIDOfFulfillment(ctx context.Context, merchantID, fulfillmentID string) (string, error) {
	var id string
	err := db.db.GetContext(ctx, &id, `SELECT payout_order_id FROM payout_fulfillments WHERE id = ? AND merchant_id = ?`,
		fulfillmentID, merchantID)
	return id, notFound(err, "fulfillment not found")
}

// PayoutChange lists what a ChangePayout decision changed in the order it
// was given: the order row is always written (status, payment and refund
// state, next check), then these.
type PayoutChange struct {
	Fulfillments []*pay.Fulfillment
	NewAttempts  []*pay.PayoutAttempt
	Attempts     []*pay.PayoutAttempt
	Events       []Event
	// None: nothing to write (a stale or repeated result).
	None bool
}

// ChangePayout is the transaction boundary of every payout state change. It
// locks the payout order row (serializing all changes of one order), loads
// the order with its fulfillments and attempts, and lets decide change them
// in place and say what it changed; then it writes those rows and the
// events in the same transaction. decide must not do I/O: it runs again if
// the transaction is retried. An attempt that would break the one-live-
// attempt guard (see the migration) makes the whole change ECONFLICT.
func (db *DB) ChangePayout(ctx context.Context, id string,
	decide func(o *pay.PayoutOrder, now time.Time) (PayoutChange, error)) (*pay.PayoutOrder, error) {
	var out *pay.PayoutOrder
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		now = now.UTC().Truncate(time.Microsecond)
		o, err := db.loadPayout(ctx, tx, `id = ?`, true, id)
		if err != nil {
			return err
		}
		ch, err := decide(o, now)
		if err != nil {
			return err
		}
		out = o
		if ch.None {
			return nil
		}
		o.Version++
		o.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, `UPDATE payout_orders SET status = ?, payment_status = ?, refund_status = ?,
			refund_amount = ?, next_check_at = ?, version = ?, updated_at = ? WHERE id = ?`,
			string(o.Status), o.PaymentStatus, o.RefundStatus, o.RefundAmount, nullTime(o.NextCheckAt), o.Version,
			now, o.ID); err != nil {
			return fmt.Errorf("store.ChangePayout(%s): order: %w", id, err)
		}
		for _, f := range ch.Fulfillments {
			f.Version++
			f.UpdatedAt = now
			if _, err := tx.ExecContext(ctx, `UPDATE payout_fulfillments SET status = ?, due_at = ?, status_updated_at = ?,
				version = ?, updated_at = ? WHERE id = ?`,
				string(f.Status), nullTime(f.DueAt), f.StatusUpdatedAt, f.Version, now, f.ID); err != nil {
				return fmt.Errorf("store.ChangePayout(%s): fulfillment: %w", id, err)
			}
		}
		for _, a := range ch.NewAttempts {
			_, err := tx.NamedExecContext(ctx, `INSERT INTO payout_attempts (`+payoutAttemptColumns+`) VALUES (
				:id, :fulfillment_id, :payout_order_id, :seq, :method, :amount, :currency, :status, :failure_kind,
				:response_code, :response_message, :gateway_ref, :created_at, :updated_at)`, attemptToRow(a))
			if isDuplicate(err) {
				return pay.Errorf(pay.ECONFLICT, "fulfillment %s already has an attempt that may pay it", a.FulfillmentID)
			}
			if err != nil {
				return fmt.Errorf("store.ChangePayout(%s): new attempt: %w", id, err)
			}
		}
		for _, a := range ch.Attempts {
			_, err := tx.ExecContext(ctx, `UPDATE payout_attempts SET status = ?, failure_kind = ?, response_code = ?,
				response_message = ?, gateway_ref = ?, updated_at = ? WHERE id = ?`,
				string(a.Status), a.FailureKind, truncateUTF8(a.ResponseCode, 64), truncateUTF8(a.ResponseMessage, 255),
				truncateUTF8(a.GatewayRef, 64), a.UpdatedAt, a.ID)
			if isDuplicate(err) {
				return pay.Errorf(pay.ECONFLICT, "fulfillment %s already has an attempt that may pay it", a.FulfillmentID)
			}
			if err != nil {
				return fmt.Errorf("store.ChangePayout(%s): attempt: %w", id, err)
			}
		}
		return db.insertEvents(ctx, tx, ch.Events, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DueFulfillment names a claimed fulfillment and its order.
type DueFulfillment struct {
	PayoutOrderID string `db:"payout_order_id"`
	FulfillmentID string `db:"id"`
}

// ClaimDueFulfillments claims up to limit fulfillments that are due (open
// ones, and final ones due for their settle check),
// oldest due first, for lease: their due_at moves lease ahead in the same
// short transaction (FOR UPDATE SKIP LOCKED, so concurrent workers take
// different rows), and comes due again by itself if the claimer dies.
func (db *DB) ClaimDueFulfillments(ctx context.Context, limit int, lease time.Duration) ([]DueFulfillment, error) {
	var out []DueFulfillment
	err := db.readCommittedTx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		out = nil
		if err := tx.SelectContext(ctx, &out, `SELECT id, payout_order_id FROM payout_fulfillments
			WHERE due_at <= ?
			ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED`, now, limit); err != nil {
			return fmt.Errorf("store.ClaimDueFulfillments: %w", err)
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE payout_fulfillments SET due_at = ? WHERE id = ?`,
				now.Add(lease), d.FulfillmentID); err != nil {
				return fmt.Errorf("store.ClaimDueFulfillments: lease: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// Payout order claims: orders waiting for their collection, and orders
// whose unpaid collected money is to be refunded.
const (
	ClaimAwaitingPayment = "payment_status = 'AWAITING'"
	ClaimPendingRefund   = "refund_status = 'PENDING'"
)

// ClaimPayoutOrders claims up to limit payout orders in state (one of the
// Claim* conditions) whose next check is due, pushing it lease ahead, as
// ClaimDueFulfillments does.
func (db *DB) ClaimPayoutOrders(ctx context.Context, state string, limit int, lease time.Duration) ([]string, error) {
	if state != ClaimAwaitingPayment && state != ClaimPendingRefund {
		return nil, fmt.Errorf("store.ClaimPayoutOrders: unknown state %q", state)
	}
	var ids []string
	err := db.readCommittedTx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		ids = nil
		if err := tx.SelectContext(ctx, &ids, `SELECT id FROM payout_orders WHERE `+state+` AND next_check_at <= ?
			ORDER BY next_check_at LIMIT ? FOR UPDATE SKIP LOCKED`, now, limit); err != nil {
			return fmt.Errorf("store.ClaimPayoutOrders: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE payout_orders SET next_check_at = ? WHERE id = ?`, now.Add(lease), id); err != nil {
				return fmt.Errorf("store.ClaimPayoutOrders: lease: %w", err)
			}
		}
		return nil
	})
	return ids, err
}

// PayoutPolicy returns the merchant's default retry policy, and false when
// the merchant has set none.
func (db *DB) PayoutPolicy(ctx context.Context, merchantID string) (pay.RetryPolicy, bool, error) {
	var raw string
	err := db.db.GetContext(ctx, &raw, `SELECT retry_policy FROM payout_settings WHERE merchant_id = ?`, merchantID)
	if err == sql.ErrNoRows {
		return pay.RetryPolicy{}, false, nil
	}
	if err != nil {
		return pay.RetryPolicy{}, false, fmt.Errorf("store.PayoutPolicy(%s): %w", merchantID, err)
	}
	var p pay.RetryPolicy
	if err := unmarshalColumns(raw, &p); err != nil {
		return p, false, fmt.Errorf("store.PayoutPolicy(%s): %w", merchantID, err)
	}
	return p, true, nil
}

// PutPayoutPolicy sets the merchant's default retry policy.
func (db *DB) PutPayoutPolicy(ctx context.Context, merchantID string, p pay.RetryPolicy) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO payout_settings (merchant_id, retry_policy, updated_at) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE retry_policy = VALUES(retry_policy), updated_at = VALUES(updated_at)`,
		merchantID, mustJSON(p), db.Now().UTC())
	if err != nil {
		return fmt.Errorf("store.PutPayoutPolicy(%s): %w", merchantID, err)
	}
	return nil
}
