package sdkapi

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// maxTxnBody bounds a txn request body; a real one is a few hundred bytes.
const maxTxnBody = 16 << 10

// txnFields are the fields of a txn request and where they go.
var txnFields = map[string]func(in *pay.TxnInput, v string){
	"payment_method_type": func(in *pay.TxnInput, v string) { in.PaymentMethodType = v },
	"payment_method":      func(in *pay.TxnInput, v string) { in.PaymentMethod = v },
	"card_number":         func(in *pay.TxnInput, v string) { in.CardNumber = v },
	"card_exp_month":      func(in *pay.TxnInput, v string) { in.CardExpMonth = v },
	"card_exp_year":       func(in *pay.TxnInput, v string) { in.CardExpYear = v },
	"card_security_code":  func(in *pay.TxnInput, v string) { in.CardSecurityCode = v },
	"name_on_card":        func(in *pay.TxnInput, v string) { in.NameOnCard = v },
	"upi_vpa":             func(in *pay.TxnInput, v string) { in.UPIVPA = v },
	"txn_type":            func(in *pay.TxnInput, v string) { in.TxnType = v },
}

// ignoredFields are Juspay /txns fields an SDK ported from Juspay may send
// that mean nothing here.
var ignoredFields = map[string]bool{"format": true, "redirect_after_payment": true}

// readTxnRequest decodes a txn request (JSON or form) for order o. It
// refuses amounts (the order's amount is charged, whatever a client says),
// a gateway choice, and any unknown field, so a typo in an SDK fails loudly
// instead of being silently dropped.
func readTxnRequest(c echo.Context, o *pay.Order) (pay.TxnInput, error) {
	var in pay.TxnInput
	fields, err := readBody(c)
	if err != nil {
		return in, err
	}
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), "amount") {
			return in, pay.Invalid(k, "cannot be sent: the order's amount is charged")
		}
	}
	var p pay.Problems
	for _, k := range keys {
		v := fields[k]
		switch {
		case txnFields[k] != nil:
			txnFields[k](&in, v)
		case ignoredFields[k]:
		case k == "order_id":
			if v != o.OrderID {
				p.Add(k, "is not the order of the client auth token")
			}
		case k == "merchant_id":
			if v != o.MerchantID {
				p.Add(k, "is not the merchant of the client auth token")
			}
		default:
			p.Add(k, "unknown field")
		}
	}
	return in, p.Err()
}

// readBody decodes a flat JSON object or a form body into field values.
// Error messages never quote values: they may be card data.
func readBody(c echo.Context) (map[string]string, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxTxnBody+1))
	if err != nil {
		return nil, pay.Errorf(pay.EINVALID, "request body could not be read")
	}
	if len(body) > maxTxnBody {
		return nil, pay.Errorf(pay.EINVALID, "request body too large (at most 16 KiB)")
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return map[string]string{}, nil
	case mt == echo.MIMEApplicationJSON || (mt == "" && trimmed[0] == '{'):
		return decodeJSON(trimmed)
	case mt == echo.MIMEApplicationForm || mt == "":
		return decodeForm(string(body))
	}
	return nil, pay.Errorf(pay.EINVALID, "unsupported Content-Type %q: send application/json or application/x-www-form-urlencoded", mt)
}

func decodeJSON(body []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, pay.Errorf(pay.EINVALID, "malformed JSON body: want one object of string fields")
	}
	if dec.More() {
		return nil, pay.Errorf(pay.EINVALID, "malformed JSON body: data after the object")
	}
	out := map[string]string{}
	if err := flatten(out, "", raw, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// flatten turns nested objects into dotted keys ({"order":{"amount":1}} is
// "order.amount"), so a nested field is refused by name like any other.
func flatten(out map[string]string, prefix string, v any, depth int) error {
	if depth > 4 {
		return pay.Errorf(pay.EINVALID, "malformed JSON body: nested too deeply")
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if prefix != "" {
				k = prefix + "." + k
			}
			if err := flatten(out, k, child, depth+1); err != nil {
				return err
			}
		}
		return nil
	case string:
		return set(out, prefix, t)
	case json.Number:
		return set(out, prefix, t.String())
	case bool:
		return set(out, prefix, strconv.FormatBool(t))
	case nil:
		return set(out, prefix, "")
	}
	return pay.Invalid(prefix, "must be a string")
}

func set(out map[string]string, key, v string) error {
	if _, dup := out[key]; dup {
		// {"a":{"b":"1"},"a.b":"2"} names one field twice.
		return pay.Invalid(key, "given more than once")
	}
	out[key] = v
	return nil
}

func decodeForm(body string) (map[string]string, error) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, pay.Errorf(pay.EINVALID, "malformed form body")
	}
	out := make(map[string]string, len(v))
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, pay.Invalid(k, "given more than once")
		}
		out[k] = vals[0]
	}
	return out, nil
}
