package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// SigningKey is a client-token signing key as stored; the secret is sealed
// at rest and opened here.
type SigningKey struct {
	ID        string
	Secret    []byte
	CreatedAt time.Time
	RetiredAt time.Time
}

func aadSigningKey(id string) string { return "signing_key:" + id }

// SigningKeys returns every stored client-token signing key.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var rows []struct {
		ID                string     `db:"id"`
		SecretSealed      []byte     `db:"secret_sealed"`
		SecretsKeyVersion int        `db:"secrets_key_version"`
		CreatedAt         time.Time  `db:"created_at"`
		RetiredAt         *time.Time `db:"retired_at"`
	}
	if err := db.db.SelectContext(ctx, &rows, `
		SELECT id, secret_sealed, secrets_key_version, created_at, retired_at
		FROM signing_keys ORDER BY created_at`); err != nil {
		return nil, fmt.Errorf("store.SigningKeys: %w", err)
	}
	keys := make([]SigningKey, 0, len(rows))
	for _, r := range rows {
		secret, err := db.Sealer.Open(r.SecretSealed, r.SecretsKeyVersion, aadSigningKey(r.ID))
		if err != nil {
			return nil, fmt.Errorf("store.SigningKeys(%s): %w", r.ID, err)
		}
		k := SigningKey{ID: r.ID, Secret: secret, CreatedAt: r.CreatedAt}
		if r.RetiredAt != nil {
			k.RetiredAt = *r.RetiredAt
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RotateSigningKey stores k as the newest signing key and retires every
// older active key at k's creation time: they keep verifying the tokens they
// issued until those expire.
func (db *DB) RotateSigningKey(ctx context.Context, k SigningKey) error {
	return db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		sealed, version, err := db.Sealer.Seal(k.Secret, aadSigningKey(k.ID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, k.CreatedAt); err != nil {
			return fmt.Errorf("store.RotateSigningKey: %w", err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO signing_keys (id, secret_sealed, secrets_key_version, created_at)
			VALUES (?, ?, ?, ?)`, k.ID, sealed, version, k.CreatedAt)
		if err != nil {
			return fmt.Errorf("store.RotateSigningKey: %w", err)
		}
		return nil
	})
}
