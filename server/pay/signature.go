package pay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// formEncode escapes s the way Java's URLEncoder does, which is what Juspay
// merchants verify signatures with: letters, digits and ". - * _" stay,
// space becomes "+", every other byte becomes %XX in upper case.
func formEncode(s string) string {
	return strings.NewReplacer("%2A", "*", "~", "%7E").Replace(url.QueryEscape(s))
}

// SignReturnParams computes the return-URL signature of Juspay's "Status
// Verification" (reference §6): every param except signature and
// signature_algorithm, key and value form-encoded, sorted by encoded key,
// joined as k=v with &, the whole string form-encoded again, HMAC-SHA256 with
// the merchant's response key, base64.
func SignReturnParams(responseKey string, params map[string]string) string {
	pairs := make([][2]string, 0, len(params))
	for k, v := range params {
		if k == "signature" || k == "signature_algorithm" {
			continue
		}
		pairs = append(pairs, [2]string{formEncode(k), formEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	mac := hmac.New(sha256.New, []byte(responseKey))
	mac.Write([]byte(formEncode(strings.Join(parts, "&"))))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignedReturnURL returns base (keeping its query parameters, which are
// signed too) with order_id, status, status_id, signature and
// signature_algorithm added. The signature travels form-encoded once more,
// so a query parser hands the merchant the form-encoded base64, as Juspay's
// redirects do.
func SignedReturnURL(base *url.URL, responseKey, orderID string, status Status) string {
	params := map[string]string{}
	for k, v := range base.Query() {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	params["order_id"] = orderID
	params["status"] = string(status)
	params["status_id"] = strconv.Itoa(status.ID())
	sig := SignReturnParams(responseKey, params)

	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q strings.Builder
	for _, k := range keys {
		q.WriteString(formEncode(k) + "=" + formEncode(params[k]) + "&")
	}
	q.WriteString("signature=" + formEncode(formEncode(sig)) + "&signature_algorithm=HMAC-SHA256")
	u := *base
	u.RawQuery = q.String()
	return u.String()
}

// WebhookSignature returns the X-Switchyard-Signature header value of a
// webhook body sent at unix time t: "t=<t>,v1=<hex HMAC-SHA256 of "t.body">".
func WebhookSignature(responseKey string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(responseKey))
	mac.Write([]byte(strconv.FormatInt(t, 10) + "."))
	mac.Write(body)
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
