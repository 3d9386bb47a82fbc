package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// This file holds the merchant dashboard's read-only queries: the order
// list, the webhook events of one order, and the analytics aggregates. Every
// query is scoped to one merchant by its WHERE clause, never by the caller
// filtering afterwards.

// OrderQuery selects one page of a merchant's orders, newest first.
type OrderQuery struct {
	MerchantID string
	// Q matches the merchant's order_id by prefix, or Switchyard's order id
	// ("ordeh_…") exactly; empty matches every order.
	Q string
	// Status keeps orders in that status; empty keeps all.
	Status pay.Status
	// From and To bound created_at to [From, To); a zero bound is open.
	From, To time.Time
	// Gateway keeps orders with a txn at that gateway account; MethodType
	// keeps orders with a txn of that payment method type (CARD, UPI, ...).
	Gateway    string
	MethodType string
	// Before, when set, starts the page after that order (keyset
	// pagination: orders created earlier, or at the same time with a
	// smaller id).
	Before *OrderCursor
	// Limit is the page size.
	Limit int
}

// OrderCursor is the position of an order in the newest-first list.
type OrderCursor struct {
	CreatedAt time.Time
	ID        string
}

// OrderListItem is an order of the list with its txns, oldest first, so the
// list can show the gateway and method that served it.
type OrderListItem struct {
	Order *pay.Order
	Txns  []*pay.Txn
}

// likeEscaper escapes LIKE's wildcards (and its escape character) so a
// search for "ord_1" matches the characters typed, not "ord" + any + "1".
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchOrders returns one page of the merchant's orders matching q, newest
// first, and the cursor of the next page (nil on the last page).
func (db *DB) SearchOrders(ctx context.Context, q OrderQuery) ([]OrderListItem, *OrderCursor, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("store.SearchOrders: limit %d", q.Limit)
	}
	where := []string{"o.merchant_id = ?"}
	args := []any{q.MerchantID}
	if q.Q != "" {
		where = append(where, `(o.order_id LIKE ? ESCAPE '\\' OR o.id = ?)`)
		args = append(args, likeEscaper.Replace(q.Q)+"%", q.Q)
	}
	if q.Status != "" {
		where = append(where, "o.status = ?")
		args = append(args, string(q.Status))
	}
	if !q.From.IsZero() {
		where = append(where, "o.created_at >= ?")
		args = append(args, q.From.UTC())
	}
	if !q.To.IsZero() {
		where = append(where, "o.created_at < ?")
		args = append(args, q.To.UTC())
	}
	if q.Gateway != "" || q.MethodType != "" {
		sub := "SELECT 1 FROM txns t WHERE t.order_uuid = o.id"
		if q.Gateway != "" {
			sub += " AND t.gateway = ?"
			args = append(args, q.Gateway)
		}
		if q.MethodType != "" {
			sub += " AND t.payment_method_type = ?"
			args = append(args, q.MethodType)
		}
		where = append(where, "EXISTS ("+sub+")")
	}
	if c := q.Before; c != nil {
		where = append(where, "(o.created_at < ? OR (o.created_at = ? AND o.id < ?))")
		args = append(args, c.CreatedAt.UTC(), c.CreatedAt.UTC(), c.ID)
	}
	// One row more than the page tells whether there is a next page.
	args = append(args, q.Limit+1)
	var rows []orderRow
	err := db.db.SelectContext(ctx, &rows, `
		SELECT `+orderColumns+` FROM orders o
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY o.created_at DESC, o.id DESC
		LIMIT ?`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store.SearchOrders(%s): %w", q.MerchantID, err)
	}
	var next *OrderCursor
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1]
		next = &OrderCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	items := make([]OrderListItem, len(rows))
	ids := make([]string, len(rows))
	index := map[string]int{}
	for i := range rows {
		o, err := rowToOrder(&rows[i])
		if err != nil {
			return nil, nil, err
		}
		items[i].Order = o
		ids[i] = o.ID
		index[o.ID] = i
	}
	if len(ids) == 0 {
		return items, nil, nil
	}
	query, inArgs, err := sqlx.In(`merchant_id = ? AND order_uuid IN (?) ORDER BY order_uuid, seq`, q.MerchantID, ids)
	if err != nil {
		return nil, nil, err
	}
	txns, err := db.selectTxnsWhere(ctx, query, inArgs...)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range txns {
		i := index[t.OrderUUID]
		items[i].Txns = append(items[i].Txns, t)
	}
	return items, next, nil
}

// EventDeliveries is an outbox event with its logged delivery attempts,
// oldest first.
type EventDeliveries struct {
	OutboxEvent
	Deliveries []Delivery
}

// OrderEvents returns the webhook events of one of the merchant's orders,
// oldest first, each with its delivery attempts. Payloads are left out.
func (db *DB) OrderEvents(ctx context.Context, merchantID, orderUUID string) ([]EventDeliveries, error) {
	var events []OutboxEvent
	err := db.db.SelectContext(ctx, &events, `
		SELECT id, event_id, merchant_id, order_uuid, event_name, '' AS payload, state, attempts, retry_base,
			next_attempt_at, created_at, updated_at
		FROM outbox WHERE order_uuid = ? AND merchant_id = ?
		ORDER BY id`, orderUUID, merchantID)
	if err != nil {
		return nil, fmt.Errorf("store.OrderEvents(%s): %w", orderUUID, err)
	}
	out := make([]EventDeliveries, len(events))
	if len(events) == 0 {
		return out, nil
	}
	ids := make([]string, len(events))
	index := map[string]int{}
	for i, e := range events {
		out[i].OutboxEvent = e
		ids[i] = e.EventID
		index[e.EventID] = i
	}
	query, args, err := sqlx.In(`
		SELECT id, event_id, merchant_id, attempt, url, status_code, error_message, duration_ms, created_at
		FROM webhook_deliveries WHERE merchant_id = ? AND event_id IN (?) ORDER BY id`, merchantID, ids)
	if err != nil {
		return nil, err
	}
	var rows []deliveryRow
	if err := db.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("store.OrderEvents(%s): deliveries: %w", orderUUID, err)
	}
	for _, r := range rows {
		d := r.Delivery
		d.Duration = time.Duration(r.DurationMS) * time.Millisecond
		i := index[d.EventID]
		out[i].Deliveries = append(out[i].Deliveries, d)
	}
	return out, nil
}

// TxnStat counts a merchant's txns of one time bucket, gateway account and
// payment method type.
type TxnStat struct {
	// Bucket numbers the bucket from the range's start: txns created in
	// [From + Bucket×Width, From + (Bucket+1)×Width).
	Bucket     int    `db:"bucket"`
	Gateway    string `db:"gateway"`
	MethodType string `db:"payment_method_type"`
	// Attempts counts every txn; Successes those that took the money
	// (CHARGED, including charges later auto-refunded); Failures those
	// that finally failed. The rest are still in flight.
	Attempts  int `db:"attempts"`
	Successes int `db:"successes"`
	Failures  int `db:"failures"`
}

// StatsQuery is a merchant's time range cut into buckets of Width.
type StatsQuery struct {
	MerchantID string
	From, To   time.Time
	Width      time.Duration
}

// TxnStats counts the merchant's txns created in [From, To) by time bucket,
// gateway account and payment method type; combinations without txns are
// absent.
func (db *DB) TxnStats(ctx context.Context, q StatsQuery) ([]TxnStat, error) {
	seconds := int64(q.Width / time.Second)
	if seconds <= 0 || !q.From.Before(q.To) {
		return nil, fmt.Errorf("store.TxnStats: bad range %s..%s by %s", q.From, q.To, q.Width)
	}
	from := q.From.UTC()
	stats := []TxnStat{}
	// TIMESTAMPDIFF between two DATETIMEs is independent of the session's
	// time zone, unlike UNIX_TIMESTAMP.
	err := db.db.SelectContext(ctx, &stats, `
		SELECT TIMESTAMPDIFF(SECOND, ?, created_at) DIV ? AS bucket, gateway, payment_method_type,
			COUNT(*) AS attempts,
			COALESCE(SUM(CASE WHEN status IN ('CHARGED', 'AUTO_REFUNDED') THEN 1 ELSE 0 END), 0) AS successes,
			COALESCE(SUM(CASE WHEN status IN ('JUSPAY_DECLINED', 'AUTHENTICATION_FAILED', 'AUTHORIZATION_FAILED')
				THEN 1 ELSE 0 END), 0) AS failures
		FROM txns
		WHERE merchant_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY bucket, gateway, payment_method_type
		ORDER BY bucket, gateway, payment_method_type`,
		from, seconds, q.MerchantID, from, q.To.UTC())
	if err != nil {
		return nil, fmt.Errorf("store.TxnStats(%s): %w", q.MerchantID, err)
	}
	return stats, nil
}

// FailureReason is how many of a merchant's txns failed with one unified
// error code, with one of their gateway codes and messages as an example.
type FailureReason struct {
	// UnifiedCode is the connector's classification (UE_…); "" for
	// failures without one (e.g. an abandoned authentication).
	UnifiedCode    string `db:"unified_code"`
	Count          int    `db:"failures"`
	ExampleCode    string `db:"example_code"`
	ExampleMessage string `db:"example_message"`
}

// TopFailures returns the unified error codes of the merchant's txns that
// failed in [from, to), most frequent first, at most limit of them.
func (db *DB) TopFailures(ctx context.Context, merchantID string, from, to time.Time, limit int) ([]FailureReason, error) {
	out := []FailureReason{}
	err := db.db.SelectContext(ctx, &out, `
		SELECT COALESCE(JSON_UNQUOTE(JSON_EXTRACT(details, '$.unified_code')), '') AS unified_code,
			COUNT(*) AS failures, MAX(error_code) AS example_code, MAX(error_message) AS example_message
		FROM txns
		WHERE merchant_id = ? AND created_at >= ? AND created_at < ?
			AND status IN ('JUSPAY_DECLINED', 'AUTHENTICATION_FAILED', 'AUTHORIZATION_FAILED')
		GROUP BY unified_code
		ORDER BY failures DESC, unified_code
		LIMIT ?`, merchantID, from.UTC(), to.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store.TopFailures(%s): %w", merchantID, err)
	}
	return out, nil
}

// ChargedAmounts sums the merchant's kept charges (CHARGED, not conflicted)
// of txns created in [from, to), one total per currency, by currency code.
func (db *DB) ChargedAmounts(ctx context.Context, merchantID string, from, to time.Time) ([]pay.Money, error) {
	var rows []struct {
		Currency string `db:"currency"`
		Amount   int64  `db:"amount"`
	}
	err := db.db.SelectContext(ctx, &rows, `
		SELECT currency, SUM(amount) AS amount FROM txns
		WHERE merchant_id = ? AND created_at >= ? AND created_at < ? AND status = 'CHARGED' AND conflicted = FALSE
		GROUP BY currency
		ORDER BY currency`, merchantID, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store.ChargedAmounts(%s): %w", merchantID, err)
	}
	out := make([]pay.Money, len(rows))
	for i, r := range rows {
		out[i] = pay.Money{Amount: r.Amount, Currency: r.Currency}
	}
	return out, nil
}
