package checkout

import (
	"bytes"
	"crypto/hmac"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// maxNotificationBytes bounds a gateway notification's body.
const maxNotificationBytes = 64 << 10

// handleGatewayNotification takes a gateway's asynchronous notification
// (UPI approvals, late outcomes). The connector authenticates it; errors are
// rendered as JSON by the api error handler, so the gateway sees a non-2xx
// and retries.
func (s *Server) handleGatewayNotification(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		return pay.Errorf(pay.EINVALID, "could not read the notification body")
	}
	if len(body) > maxNotificationBytes {
		return pay.Errorf(pay.EINVALID, "notification body too large (at most 64 KiB)")
	}
	// The connector gets the body twice: as bytes, and readable again on
	// the request for adapters that parse it from there.
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := s.svc.HandleNotification(r.Context(), c.Param("merchant_id"), c.Param("gateway"), r, body); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// demoResultPage is the data of pay_demo_result.html.
type demoResultPage struct {
	page
	MerchantName string
	OrderID      string
	Status       string
	StatusID     string
	// Signed says a signature was present; Verified that it matched.
	Signed   bool
	Verified bool
	Params   []demoParam
}

type demoParam struct{ Name, Value string }

// handleDemoResult is the demo merchant's Payment Redirect URL: it shows the
// result Switchyard redirected with and checks its signature the way a
// merchant would (reference §6), with the demo merchant's response key.
func (s *Server) handleDemoResult(c echo.Context) error {
	m, err := s.svc.Merchant(c.Request().Context(), s.demoID)
	if err != nil {
		return s.renderFailure(c, err, nil)
	}
	q := c.QueryParams()
	p := demoResultPage{
		page: s.newPage(c, "Payment result"), MerchantName: m.Name,
		OrderID: q.Get("order_id"), Status: q.Get("status"), StatusID: q.Get("status_id"),
	}
	p.Signed, p.Verified = verifyReturnSignature(m.ResponseKey, q)
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p.Params = append(p.Params, demoParam{k, q.Get(k)})
	}
	return s.render(c, http.StatusOK, "pay_demo_result.html", p.Nonce, nil, p)
}

// verifyReturnSignature checks the return-URL signature in query q with
// responseKey: the HMAC over every other parameter, base64, compared in its
// form-encoded shape, which is what a query parser hands a merchant (the
// redirect carries it form-encoded twice).
func verifyReturnSignature(responseKey string, q url.Values) (signed, verified bool) {
	sig := q.Get("signature")
	if sig == "" {
		return false, false
	}
	params := make(map[string]string, len(q))
	for k, v := range q {
		if k != "signature" && k != "signature_algorithm" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	want := formEncode(pay.SignReturnParams(responseKey, params))
	ok := q.Get("signature_algorithm") == "HMAC-SHA256" && hmac.Equal([]byte(want), []byte(sig))
	return true, ok
}

// formEncode escapes like Java's URLEncoder, as pay's signature does.
func formEncode(s string) string {
	return strings.NewReplacer("%2A", "*", "~", "%7E").Replace(url.QueryEscape(s))
}
