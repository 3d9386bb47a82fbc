package api

import (
	"crypto/subtle"
	"encoding/base64"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

const merchantKey = "merchant"

// merchantAuth authenticates the merchant API: HTTP Basic with the API key as
// user name and an empty password, as Juspay does. x-merchantid (or
// x-merchant-id), when sent, must name the key's merchant, and version must be
// a YYYY-MM-DD date.
func (s *Server) merchantAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, ok := basicUser(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="switchyard"`)
			return pay.Errorf(pay.EUNAUTHENTICATED, "missing or malformed Authorization header: use HTTP Basic with the API key as user name")
		}
		m, err := s.svc.MerchantByAPIKey(c.Request().Context(), key)
		if err != nil {
			return err
		}
		h := c.Request().Header
		mid := h.Get("x-merchantid")
		if mid == "" {
			mid = h.Get("x-merchant-id")
		}
		if mid != "" && mid != m.ID {
			return pay.Errorf(pay.EFORBIDDEN, "x-merchantid %q does not match the API key's merchant", mid)
		}
		if v := h.Get("version"); v != "" && !validVersion(v) {
			return pay.Invalid("version", "header must be a date such as 2023-06-30")
		}
		c.Set(merchantKey, m)
		return next(c)
	}
}

var versionPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func validVersion(v string) bool {
	_, err := time.Parse(time.DateOnly, v)
	return versionPattern.MatchString(v) && err == nil
}

// merchant returns the merchant authenticated by merchantAuth.
func merchant(c echo.Context) *pay.Merchant { return c.Get(merchantKey).(*pay.Merchant) }

// basicUser extracts the user name of a Basic Authorization header.
func basicUser(header string) (string, bool) {
	enc, ok := strings.CutPrefix(header, "Basic ")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", false
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user, user != ""
}

// adminAuth authenticates the admin API with the operator's bearer token,
// compared in constant time.
func (s *Server) adminAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || s.cfg.AdminToken == "" ||
			subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="switchyard-admin"`)
			return pay.Errorf(pay.EUNAUTHENTICATED, "missing or wrong admin bearer token")
		}
		// Idempotency keys of admin requests live in the operator's space;
		// ':' cannot appear in a merchant id, so no merchant shares it.
		c.Set(idempotencyScopeKey, ":admin")
		return next(c)
	}
}
