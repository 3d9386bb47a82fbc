package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type merchantRow struct {
	ID                         string    `db:"id"`
	Name                       string    `db:"name"`
	PaymentRedirectURL         string    `db:"payment_redirect_url"`
	AllowedReturnHosts         string    `db:"allowed_return_hosts"`
	WebhookURL                 string    `db:"webhook_url"`
	WebhookUsername            string    `db:"webhook_username"`
	WebhookPasswordSealed      []byte    `db:"webhook_password_sealed"`
	DefaultCurrency            string    `db:"default_currency"`
	OrderTimeoutMinutes        int       `db:"order_timeout_minutes"`
	AutoRefundConflicted       bool      `db:"auto_refund_conflicted"`
	AutoRefundThresholdMinutes int       `db:"auto_refund_threshold_minutes"`
	AutoRefundMultipleCharged  bool      `db:"auto_refund_multiple_charged"`
	EnabledPaymentMethods      string    `db:"enabled_payment_methods"`
	DisabledPaymentMethods     string    `db:"disabled_payment_methods"`
	ResponseKeySealed          []byte    `db:"response_key_sealed"`
	SecretsKeyVersion          int       `db:"secrets_key_version"`
	DashboardLogin             string    `db:"dashboard_login"`
	DashboardPasswordHash      string    `db:"dashboard_password_hash"`
	RoutingConfig              string    `db:"routing_config"`
	CreatedAt                  time.Time `db:"created_at"`
	UpdatedAt                  time.Time `db:"updated_at"`
}

const merchantColumns = `id, name, payment_redirect_url, allowed_return_hosts, webhook_url, webhook_username,
	webhook_password_sealed, default_currency, order_timeout_minutes, auto_refund_conflicted,
	auto_refund_threshold_minutes, auto_refund_multiple_charged, enabled_payment_methods, disabled_payment_methods,
	response_key_sealed, secrets_key_version, dashboard_login, dashboard_password_hash, routing_config,
	created_at, updated_at`

// The additional data of sealed merchant secrets binds each to its row and
// purpose, so a sealed value copied into another row or column fails to open.
func aadResponseKey(id string) string     { return "merchant:" + id + ":response_key" }
func aadWebhookPassword(id string) string { return "merchant:" + id + ":webhook_password" }

func (db *DB) merchantToRow(m *pay.Merchant, passwordHash string) (*merchantRow, error) {
	r := &merchantRow{
		ID: m.ID, Name: m.Name, PaymentRedirectURL: m.PaymentRedirectURL,
		AllowedReturnHosts: mustJSON(nonNilStrings(m.AllowedReturnHosts)),
		WebhookURL:         m.WebhookURL, WebhookUsername: m.WebhookUsername,
		DefaultCurrency:            m.DefaultCurrency,
		OrderTimeoutMinutes:        int(m.OrderTimeout / time.Minute),
		AutoRefundConflicted:       m.AutoRefundConflicted,
		AutoRefundThresholdMinutes: m.AutoRefundThresholdMinutes,
		AutoRefundMultipleCharged:  m.AutoRefundMultipleCharged,
		EnabledPaymentMethods:      mustJSON(nonNilStrings(m.EnabledPaymentMethods)),
		DisabledPaymentMethods:     mustJSON(nonNilStrings(m.DisabledPaymentMethods)),
		DashboardLogin:             m.DashboardLogin,
		DashboardPasswordHash:      passwordHash,
		RoutingConfig:              mustJSON(m.Routing),
		CreatedAt:                  m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	var err error
	if r.ResponseKeySealed, r.SecretsKeyVersion, err = db.Sealer.Seal([]byte(m.ResponseKey), aadResponseKey(m.ID)); err != nil {
		return nil, err
	}
	if m.WebhookPassword != "" {
		if r.WebhookPasswordSealed, _, err = db.Sealer.Seal([]byte(m.WebhookPassword), aadWebhookPassword(m.ID)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (db *DB) rowToMerchant(r *merchantRow) (*pay.Merchant, error) {
	m := &pay.Merchant{
		ID: r.ID, Name: r.Name, PaymentRedirectURL: r.PaymentRedirectURL,
		WebhookURL: r.WebhookURL, WebhookUsername: r.WebhookUsername,
		DefaultCurrency:            r.DefaultCurrency,
		OrderTimeout:               time.Duration(r.OrderTimeoutMinutes) * time.Minute,
		AutoRefundConflicted:       r.AutoRefundConflicted,
		AutoRefundThresholdMinutes: r.AutoRefundThresholdMinutes,
		AutoRefundMultipleCharged:  r.AutoRefundMultipleCharged,
		DashboardLogin:             r.DashboardLogin,
		CreatedAt:                  r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := unmarshalColumns(
		r.AllowedReturnHosts, &m.AllowedReturnHosts,
		r.EnabledPaymentMethods, &m.EnabledPaymentMethods,
		r.DisabledPaymentMethods, &m.DisabledPaymentMethods,
		r.RoutingConfig, &m.Routing,
	); err != nil {
		return nil, fmt.Errorf("merchant %s: %w", r.ID, err)
	}
	key, err := db.Sealer.Open(r.ResponseKeySealed, r.SecretsKeyVersion, aadResponseKey(r.ID))
	if err != nil {
		return nil, fmt.Errorf("merchant %s response key: %w", r.ID, err)
	}
	m.ResponseKey = string(key)
	if len(r.WebhookPasswordSealed) > 0 {
		pw, err := db.Sealer.Open(r.WebhookPasswordSealed, r.SecretsKeyVersion, aadWebhookPassword(r.ID))
		if err != nil {
			return nil, fmt.Errorf("merchant %s webhook password: %w", r.ID, err)
		}
		m.WebhookPassword = string(pw)
	}
	return m, nil
}

// NewMerchant is everything needed to create a merchant: its settings, its
// first API key, and its dashboard password hash (bcrypt).
type NewMerchant struct {
	Merchant              *pay.Merchant
	APIKey                string
	DashboardPasswordHash string
}

// CreateMerchant stores a new merchant with its first API key. A taken
// merchant id or dashboard login is an ECONFLICT error.
func (db *DB) CreateMerchant(ctx context.Context, nm NewMerchant) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		m := nm.Merchant
		m.CreatedAt, m.UpdatedAt = now, now
		r, err := db.merchantToRow(m, nm.DashboardPasswordHash)
		if err != nil {
			return err
		}
		_, err = tx.NamedExecContext(ctx, `
			INSERT INTO merchants (`+merchantColumns+`)
			VALUES (:id, :name, :payment_redirect_url, :allowed_return_hosts, :webhook_url, :webhook_username,
				:webhook_password_sealed, :default_currency, :order_timeout_minutes, :auto_refund_conflicted,
				:auto_refund_threshold_minutes, :auto_refund_multiple_charged, :enabled_payment_methods, :disabled_payment_methods,
				:response_key_sealed, :secrets_key_version, :dashboard_login, :dashboard_password_hash,
				:routing_config, :created_at, :updated_at)`, r)
		if isDuplicate(err) {
			return pay.Errorf(pay.ECONFLICT, "merchant %q already exists", m.ID)
		}
		if err != nil {
			return fmt.Errorf("store.CreateMerchant(%s): %w", m.ID, err)
		}
		return insertAPIKey(ctx, tx, m.ID, nm.APIKey, now)
	})
}

// Merchant returns the merchant with id, or ENOTFOUND.
func (db *DB) Merchant(ctx context.Context, id string) (*pay.Merchant, error) {
	var r merchantRow
	err := db.db.GetContext(ctx, &r, `SELECT `+merchantColumns+` FROM merchants WHERE id = ?`, id)
	if err != nil {
		return nil, notFound(err, "merchant not found")
	}
	return db.rowToMerchant(&r)
}

// UpdateMerchant loads the merchant under a row lock, lets fn change it, and
// stores the result if fn and the settings' validation succeed.
func (db *DB) UpdateMerchant(ctx context.Context, id string, fn func(m *pay.Merchant) error) (*pay.Merchant, error) {
	var out *pay.Merchant
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		var r merchantRow
		err := tx.GetContext(ctx, &r, `SELECT `+merchantColumns+` FROM merchants WHERE id = ? FOR UPDATE`, id)
		if err != nil {
			return notFound(err, "merchant not found")
		}
		m, err := db.rowToMerchant(&r)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		if err := m.ValidateSettings(); err != nil {
			return err
		}
		m.UpdatedAt = now
		nr, err := db.merchantToRow(m, r.DashboardPasswordHash)
		if err != nil {
			return err
		}
		_, err = tx.NamedExecContext(ctx, `
			UPDATE merchants SET name = :name, payment_redirect_url = :payment_redirect_url,
				allowed_return_hosts = :allowed_return_hosts, webhook_url = :webhook_url,
				webhook_username = :webhook_username, webhook_password_sealed = :webhook_password_sealed,
				default_currency = :default_currency, order_timeout_minutes = :order_timeout_minutes,
				auto_refund_conflicted = :auto_refund_conflicted,
				auto_refund_threshold_minutes = :auto_refund_threshold_minutes,
				auto_refund_multiple_charged = :auto_refund_multiple_charged,
				enabled_payment_methods = :enabled_payment_methods, disabled_payment_methods = :disabled_payment_methods,
				response_key_sealed = :response_key_sealed, secrets_key_version = :secrets_key_version,
				routing_config = :routing_config, updated_at = :updated_at
			WHERE id = :id`, nr)
		if err != nil {
			return fmt.Errorf("store.UpdateMerchant(%s): %w", id, err)
		}
		out = m
		return nil
	})
	return out, err
}

// HashAPIKey is how API keys are stored: they are 32 random bytes, so a plain
// SHA-256 is enough to make a leaked table useless without slowing every
// request down the way a password hash would.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func insertAPIKey(ctx context.Context, tx *sqlx.Tx, merchantID, key string, now time.Time) error {
	prefix := key
	if len(prefix) > 12 {
		prefix = prefix[:12]
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO api_keys (id, merchant_id, prefix, key_hash, created_at)
		VALUES (?, ?, ?, ?, ?)`, pay.NewID("key_"), merchantID, prefix, HashAPIKey(key), now)
	if err != nil {
		return fmt.Errorf("store.insertAPIKey(%s): %w", merchantID, err)
	}
	return nil
}

// APIKey describes a stored key; the key itself is never stored.
type APIKey struct {
	ID         string     `db:"id"`
	MerchantID string     `db:"merchant_id"`
	Prefix     string     `db:"prefix"`
	CreatedAt  time.Time  `db:"created_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

// AddAPIKey stores another active key for the merchant.
func (db *DB) AddAPIKey(ctx context.Context, merchantID, key string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		return insertAPIKey(ctx, tx, merchantID, key, now)
	})
}

// APIKeys lists a merchant's keys, newest first.
func (db *DB) APIKeys(ctx context.Context, merchantID string) ([]APIKey, error) {
	keys := []APIKey{}
	err := db.db.SelectContext(ctx, &keys, `
		SELECT id, merchant_id, prefix, created_at, revoked_at
		FROM api_keys WHERE merchant_id = ? ORDER BY created_at DESC`, merchantID)
	return keys, err
}

// RevokeAPIKey stops a key from authenticating; ENOTFOUND if the merchant has
// no such active key.
func (db *DB) RevokeAPIKey(ctx context.Context, merchantID, keyID string) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE api_keys SET revoked_at = ? WHERE id = ? AND merchant_id = ? AND revoked_at IS NULL`,
		db.Now(), keyID, merchantID)
	if err != nil {
		return fmt.Errorf("store.RevokeAPIKey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pay.Errorf(pay.ENOTFOUND, "API key not found")
	}
	return nil
}

// MerchantByAPIKey returns the merchant owning an active key, or
// EUNAUTHENTICATED.
func (db *DB) MerchantByAPIKey(ctx context.Context, key string) (*pay.Merchant, error) {
	var r merchantRow
	err := db.db.GetContext(ctx, &r, `
		SELECT `+prefixed("m.", merchantColumns)+`
		FROM api_keys k JOIN merchants m ON m.id = k.merchant_id
		WHERE k.key_hash = ? AND k.revoked_at IS NULL`, HashAPIKey(key))
	if err != nil {
		if notFound(err, "") != err {
			return nil, pay.Errorf(pay.EUNAUTHENTICATED, "invalid API key")
		}
		return nil, fmt.Errorf("store.MerchantByAPIKey: %w", err)
	}
	return db.rowToMerchant(&r)
}

// DashboardPasswordHash returns the merchant id and bcrypt hash for a
// dashboard login, or ENOTFOUND.
func (db *DB) DashboardPasswordHash(ctx context.Context, login string) (merchantID, hash string, err error) {
	var r struct {
		ID   string `db:"id"`
		Hash string `db:"dashboard_password_hash"`
	}
	err = db.db.GetContext(ctx, &r, `SELECT id, dashboard_password_hash FROM merchants WHERE dashboard_login = ?`, login)
	if err != nil {
		return "", "", notFound(err, "login not found")
	}
	return r.ID, r.Hash, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only called with plain data types, which always marshal.
		panic(err)
	}
	return string(b)
}

// unmarshalColumns decodes pairs of (JSON text, destination).
func unmarshalColumns(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		if err := json.Unmarshal([]byte(pairs[i].(string)), pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// prefixed qualifies every column of a comma-separated list with p.
func prefixed(p, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
