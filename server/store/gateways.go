package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type gatewayRow struct {
	MerchantID        string    `db:"merchant_id"`
	Name              string    `db:"name"`
	Connector         string    `db:"connector"`
	Enabled           bool      `db:"enabled"`
	CredentialsSealed []byte    `db:"credentials_sealed"`
	SecretsKeyVersion int       `db:"secrets_key_version"`
	PaymentMethods    string    `db:"payment_methods"`
	Currencies        string    `db:"currencies"`
	FeePercent        string    `db:"fee_percent"`
	FeeFixed          int64     `db:"fee_fixed"`
	Priority          int       `db:"priority"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
}

const gatewayColumns = `merchant_id, name, connector, enabled, credentials_sealed, secrets_key_version,
	payment_methods, currencies, fee_percent, fee_fixed, priority, created_at, updated_at`

func aadCredentials(merchantID, name string) string {
	return "gateway:" + merchantID + ":" + name + ":credentials"
}

func (db *DB) rowToGateway(r *gatewayRow) (*pay.GatewayAccount, error) {
	g := &pay.GatewayAccount{
		MerchantID: r.MerchantID, Name: r.Name, Connector: r.Connector, Enabled: r.Enabled,
		FeePercent: r.FeePercent, FeeFixed: r.FeeFixed, Priority: r.Priority,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := unmarshalColumns(r.PaymentMethods, &g.PaymentMethods, r.Currencies, &g.Currencies); err != nil {
		return nil, fmt.Errorf("gateway %s/%s: %w", r.MerchantID, r.Name, err)
	}
	plain, err := db.Sealer.Open(r.CredentialsSealed, r.SecretsKeyVersion, aadCredentials(r.MerchantID, r.Name))
	if err != nil {
		return nil, fmt.Errorf("gateway %s/%s credentials: %w", r.MerchantID, r.Name, err)
	}
	if err := json.Unmarshal(plain, &g.Credentials); err != nil {
		return nil, fmt.Errorf("gateway %s/%s credentials: %w", r.MerchantID, r.Name, err)
	}
	return g, nil
}

// PutGateway creates or replaces a merchant's gateway account (validated by
// the caller) and reports whether it was created.
func (db *DB) PutGateway(ctx context.Context, g *pay.GatewayAccount) (created bool, err error) {
	err = db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		var exists int
		if err := tx.GetContext(ctx, &exists, `SELECT COUNT(*) FROM merchants WHERE id = ? FOR UPDATE`, g.MerchantID); err != nil {
			return err
		}
		if exists == 0 {
			return pay.Errorf(pay.ENOTFOUND, "merchant not found")
		}
		var createdAt []time.Time
		if err := tx.SelectContext(ctx, &createdAt, `
			SELECT created_at FROM gateway_accounts WHERE merchant_id = ? AND name = ?`, g.MerchantID, g.Name); err != nil {
			return err
		}
		created = len(createdAt) == 0
		g.CreatedAt, g.UpdatedAt = now, now
		if !created {
			g.CreatedAt = createdAt[0]
		}
		creds := g.Credentials
		if creds == nil {
			creds = map[string]string{}
		}
		sealed, version, err := db.Sealer.Seal([]byte(mustJSON(creds)), aadCredentials(g.MerchantID, g.Name))
		if err != nil {
			return err
		}
		r := gatewayRow{
			MerchantID: g.MerchantID, Name: g.Name, Connector: g.Connector, Enabled: g.Enabled,
			CredentialsSealed: sealed, SecretsKeyVersion: version,
			PaymentMethods: mustJSON(nonNilStrings(g.PaymentMethods)), Currencies: mustJSON(nonNilStrings(g.Currencies)),
			FeePercent: g.FeePercent, FeeFixed: g.FeeFixed, Priority: g.Priority,
			CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
		}
		if !created {
			_, err = tx.NamedExecContext(ctx, `
				UPDATE gateway_accounts SET connector = :connector, enabled = :enabled,
					credentials_sealed = :credentials_sealed, secrets_key_version = :secrets_key_version,
					payment_methods = :payment_methods, currencies = :currencies, fee_percent = :fee_percent,
					fee_fixed = :fee_fixed, priority = :priority, updated_at = :updated_at
				WHERE merchant_id = :merchant_id AND name = :name`, r)
		} else {
			_, err = tx.NamedExecContext(ctx, `
				INSERT INTO gateway_accounts (`+gatewayColumns+`)
				VALUES (:merchant_id, :name, :connector, :enabled, :credentials_sealed, :secrets_key_version,
					:payment_methods, :currencies, :fee_percent, :fee_fixed, :priority, :created_at, :updated_at)`, r)
		}
		if err != nil {
			return fmt.Errorf("store.PutGateway(%s/%s): %w", g.MerchantID, g.Name, err)
		}
		return nil
	})
	return created, err
}

// Gateways returns a merchant's gateway accounts by priority, then name.
func (db *DB) Gateways(ctx context.Context, merchantID string) ([]*pay.GatewayAccount, error) {
	var rows []gatewayRow
	if err := db.db.SelectContext(ctx, &rows, `
		SELECT `+gatewayColumns+` FROM gateway_accounts WHERE merchant_id = ?
		ORDER BY priority, name`, merchantID); err != nil {
		return nil, fmt.Errorf("store.Gateways(%s): %w", merchantID, err)
	}
	out := make([]*pay.GatewayAccount, 0, len(rows))
	for i := range rows {
		g, err := db.rowToGateway(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Gateway returns one gateway account, or ENOTFOUND.
func (db *DB) Gateway(ctx context.Context, merchantID, name string) (*pay.GatewayAccount, error) {
	var r gatewayRow
	err := db.db.GetContext(ctx, &r, `
		SELECT `+gatewayColumns+` FROM gateway_accounts WHERE merchant_id = ? AND name = ?`, merchantID, name)
	if err != nil {
		return nil, notFound(err, "gateway not found")
	}
	return db.rowToGateway(&r)
}
