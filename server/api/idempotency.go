package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
	"switchyard/server/store"
)

const idempotencyScopeKey = "idempotency_scope"

// maxIdempotencyKey is the longest Idempotency-Key accepted (Stripe's limit).
const maxIdempotencyKey = 255

var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]+$`)

// idempotency makes any POST, PUT, PATCH or DELETE carrying an
// Idempotency-Key safe to retry: the same key with the same request replays
// the first successful response; with a different request it is refused
// (422); while the first is still running, a second gets 409. A request that
// fails is forgotten, so it may be retried with the same key: failures change
// nothing, so there is nothing to replay. Keys are kept 24 hours.
func (s *Server) idempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get("Idempotency-Key")
		if key == "" || c.Request().Method == http.MethodGet {
			return next(c)
		}
		if len(key) > maxIdempotencyKey {
			return pay.Invalid("Idempotency-Key", "header must be at most 255 characters")
		}
		if !idempotencyKeyPattern.MatchString(key) {
			return pay.Invalid("Idempotency-Key", "header must be printable ASCII without spaces, such as a UUID")
		}
		scope, _ := c.Get(idempotencyScopeKey).(string)
		if m, ok := c.Get(merchantKey).(*pay.Merchant); ok {
			scope = m.ID
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return pay.Errorf(pay.EINVALID, "request body could not be read")
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		io.WriteString(h, c.Request().Method+" "+c.Request().URL.Path+"\n"+c.Request().Header.Get(echo.HeaderContentType)+"\n")
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		ctx := c.Request().Context()
		replay, err := s.cfg.DB.ClaimIdempotencyKey(ctx, scope, key, hash)
		if err != nil {
			if pay.ErrorCode(err) == pay.ECONFLICT {
				c.Response().Header().Set("Retry-After", "1")
			}
			return err
		}
		if replay != nil {
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.JSONBlob(replay.Code, replay.Body)
		}

		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		err = next(c)
		if err == nil && c.Response().Status < 400 {
			if cerr := s.cfg.DB.CompleteIdempotencyKey(ctx, scope, key,
				store.StoredResponse{Code: c.Response().Status, Body: rec.body.Bytes()}); cerr != nil {
				s.log.Error("storing idempotent response", "err", cerr, "request_id", requestID(c))
			}
			return nil
		}
		if rerr := s.cfg.DB.ReleaseIdempotencyKey(ctx, scope, key); rerr != nil {
			s.log.Error("releasing idempotency key", "err", rerr, "request_id", requestID(c))
		}
		return err
	}
}

// recorder keeps a copy of the response body for replay.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
