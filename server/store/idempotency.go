package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// IdempotencyTTL is how long a stored response is replayed; after it the key
// may be reused for a new request (as with Stripe and the IETF draft).
const IdempotencyTTL = 24 * time.Hour

// idempotencyStaleAfter is when a key still marked "started" is taken to
// belong to a request that died (crash, timeout) and may be claimed again.
const idempotencyStaleAfter = 2 * time.Minute

// StoredResponse is a replayable response of an earlier request.
type StoredResponse struct {
	Code int
	Body []byte
}

// ClaimIdempotencyKey claims (merchantID, key) for a request whose body hashes
// to hash. It returns (nil, nil) when the caller now owns the key and must
// call CompleteIdempotencyKey or ReleaseIdempotencyKey; the stored response
// when an identical request already completed; EMISMATCH when the key was
// used with a different request; ECONFLICT while another request holding the
// key is still running.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, merchantID, key, hash string) (*StoredResponse, error) {
	var replay *StoredResponse
	err := db.Tx(ctx, func(tx *sqlx.Tx, now time.Time) error {
		replay = nil
		var r struct {
			RequestHash  string         `db:"request_hash"`
			State        string         `db:"state"`
			ResponseCode int            `db:"response_code"`
			ResponseBody sql.NullString `db:"response_body"`
			CreatedAt    time.Time      `db:"created_at"`
			UpdatedAt    time.Time      `db:"updated_at"`
		}
		err := tx.GetContext(ctx, &r, `
			SELECT request_hash, state, response_code, response_body, created_at, updated_at
			FROM idempotency_keys WHERE merchant_id = ? AND idem_key = ? FOR UPDATE`, merchantID, key)
		switch {
		case err == sql.ErrNoRows:
			_, err = tx.ExecContext(ctx, `
				INSERT INTO idempotency_keys (merchant_id, idem_key, request_hash, state, created_at, updated_at)
				VALUES (?, ?, ?, 'started', ?, ?)`, merchantID, key, hash, now, now)
			if isDuplicate(err) {
				// A concurrent request inserted it between our read and write.
				return pay.Errorf(pay.ECONFLICT, "a request with this Idempotency-Key is in progress; retry later")
			}
			return err
		case err != nil:
			return err
		}
		expired := now.Sub(r.CreatedAt) > IdempotencyTTL
		stale := r.State == "started" && now.Sub(r.UpdatedAt) > idempotencyStaleAfter
		if expired || stale {
			_, err = tx.ExecContext(ctx, `
				UPDATE idempotency_keys SET request_hash = ?, state = 'started', response_code = 0,
					response_body = NULL, created_at = ?, updated_at = ?
				WHERE merchant_id = ? AND idem_key = ?`, hash, now, now, merchantID, key)
			return err
		}
		if r.RequestHash != hash {
			return pay.Errorf(pay.EMISMATCH, "this Idempotency-Key was used with a different request")
		}
		if r.State == "started" {
			return pay.Errorf(pay.ECONFLICT, "a request with this Idempotency-Key is in progress; retry later")
		}
		body, err := db.openResponse(merchantID, key, r.ResponseBody.String)
		if err != nil {
			return err
		}
		replay = &StoredResponse{Code: r.ResponseCode, Body: body}
		return nil
	})
	if err != nil && pay.ErrorCode(err) == pay.EINTERNAL {
		return nil, fmt.Errorf("store.ClaimIdempotencyKey: %w", err)
	}
	return replay, err
}

// aadIdempotency binds a sealed response to its key.
func aadIdempotency(merchantID, key string) string { return "idempotency:" + merchantID + ":" + key }

// openResponse opens a response sealed by CompleteIdempotencyKey, stored as
// "v<master key version>:<base64>".
func (db *DB) openResponse(merchantID, key, stored string) ([]byte, error) {
	v, b64, ok := strings.Cut(strings.TrimPrefix(stored, "v"), ":")
	version, err := strconv.Atoi(v)
	if !ok || err != nil || !strings.HasPrefix(stored, "v") {
		return nil, fmt.Errorf("store: idempotent response of %s/%s is not sealed", merchantID, key)
	}
	sealed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return db.Sealer.Open(sealed, version, aadIdempotency(merchantID, key))
}

// CompleteIdempotencyKey stores the response of the request owning the key,
// sealed: responses show secrets once (API keys, response keys, client
// tokens), which must not sit in the database in the clear.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, merchantID, key string, resp StoredResponse) error {
	sealed, version, err := db.Sealer.Seal(resp.Body, aadIdempotency(merchantID, key))
	if err != nil {
		return fmt.Errorf("store.CompleteIdempotencyKey: %w", err)
	}
	body := "v" + strconv.Itoa(version) + ":" + base64.StdEncoding.EncodeToString(sealed)
	_, err = db.db.ExecContext(ctx, `
		UPDATE idempotency_keys SET state = 'done', response_code = ?, response_body = ?, updated_at = ?
		WHERE merchant_id = ? AND idem_key = ?`, resp.Code, body, db.Now(), merchantID, key)
	if err != nil {
		return fmt.Errorf("store.CompleteIdempotencyKey: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a key whose request failed, so the client may
// retry with the same key (failed requests change nothing, so there is
// nothing to replay).
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, merchantID, key string) error {
	_, err := db.db.ExecContext(ctx, `
		DELETE FROM idempotency_keys WHERE merchant_id = ? AND idem_key = ? AND state = 'started'`, merchantID, key)
	if err != nil {
		return fmt.Errorf("store.ReleaseIdempotencyKey: %w", err)
	}
	return nil
}
