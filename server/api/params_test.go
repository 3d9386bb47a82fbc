package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// wantInvalid checks err is an EINVALID *pay.Error naming exactly fields
// (nil: no particular field).
func wantInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	var pe *pay.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want a *pay.Error", err, err)
	}
	if pe.Code != pay.EINVALID {
		t.Errorf("code = %q, want %q", pe.Code, pay.EINVALID)
	}
	var got []string
	for _, f := range pe.Fields {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("fields = %q, want %q (%v)", got, fields, err)
	}
}

func TestDecodeFormParams(t *testing.T) {
	tests := []struct {
		name string
		body string
		want params
	}{
		{"plain", "order_id=o1&amount=100.10", params{"order_id": "o1", "amount": "100.10"}},
		{"dotted option", "options.get_client_auth_token=true", params{"options.get_client_auth_token": "true"}},
		{"metadata with a colon", "metadata.JUSPAY:gateway_reference_id=acct_1",
			params{"metadata.JUSPAY:gateway_reference_id": "acct_1"}},
		{"escaped colon", "metadata.JUSPAY%3Agateway_reference_id=acct_1",
			params{"metadata.JUSPAY:gateway_reference_id": "acct_1"}},
		{"order prefix", "order.order_id=o1&order.amount=1", params{"order.order_id": "o1", "order.amount": "1"}},
		{"escapes and plus", "description=a+b%26c%3Dd&customer_email=a%2Bb%40example.com",
			params{"description": "a b&c=d", "customer_email": "a+b@example.com"}},
		{"empty value", "udf1=&udf2", params{"udf1": "", "udf2": ""}},
		{"amount kept as text", "amount=0100.100", params{"amount": "0100.100"}},
		{"unicode", "description=%E2%82%B9100+%F0%9F%9B%92", params{"description": "₹100 🛒"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFormParams(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("decodeFormParams(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
	t.Run("ErrDuplicateKey", func(t *testing.T) {
		// Silently taking one of two amounts would be a bug in waiting.
		_, err := decodeFormParams("order_id=o1&amount=1&amount=100")
		wantInvalid(t, err, "amount")
	})
	t.Run("ErrDuplicateKeyEscaped", func(t *testing.T) {
		_, err := decodeFormParams("metadata.A:b=1&metadata.A%3Ab=2")
		wantInvalid(t, err, "metadata.A:b")
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		_, err := decodeFormParams("amount=%zz")
		wantInvalid(t, err)
	})
	t.Run("ErrSemicolon", func(t *testing.T) {
		_, err := decodeFormParams("amount=1;order_id=o1")
		wantInvalid(t, err)
	})
	t.Run("ErrInvalidUTF8", func(t *testing.T) {
		// Text columns are utf8mb4: bytes that are not UTF-8 must be refused
		// as a bad request here, not fail the INSERT as an internal error.
		_, err := decodeFormParams("order_id=o1&description=%FF")
		wantInvalid(t, err, "description")
	})
}

func TestDecodeJSONParams(t *testing.T) {
	tests := []struct {
		name string
		body string
		want params
	}{
		{"flat", `{"order_id":"o1","amount":"100.15"}`, params{"order_id": "o1", "amount": "100.15"}},
		{"nested option", `{"options":{"get_client_auth_token":true}}`, params{"options.get_client_auth_token": "true"}},
		{"dotted key as is", `{"options.get_client_auth_token":"true"}`, params{"options.get_client_auth_token": "true"}},
		{"nested metadata", `{"metadata":{"JUSPAY:gateway_reference_id":"acct_1","txns":{"auto_capture":false}}}`,
			params{"metadata.JUSPAY:gateway_reference_id": "acct_1", "metadata.txns.auto_capture": "false"}},
		{"order object", `{"order":{"order_id":"o1","amount":1}}`, params{"order.order_id": "o1", "order.amount": "1"}},
		// Numbers are kept exactly as written: never through a float.
		{"number with trailing zero", `{"amount":100.10}`, params{"amount": "100.10"}},
		{"big number", `{"amount":123456789012345678901234567890.123}`, params{"amount": "123456789012345678901234567890.123"}},
		{"number beyond float precision", `{"amount":9007199254740993}`, params{"amount": "9007199254740993"}},
		{"exponent kept for the validator to refuse", `{"amount":1e3}`, params{"amount": "1e3"}},
		{"negative", `{"amount":-1}`, params{"amount": "-1"}},
		{"null is empty", `{"udf1":null}`, params{"udf1": ""}},
		{"array kept as JSON", `{"basket":[{"id":1},"x"]}`, params{"basket": `[{"id":1},"x"]`}},
		{"empty object", `{}`, params{}},
		{"empty nested object", `{"options":{}}`, params{}},
		{"surrounding space", " \n{\"a\":\"b\"}\n ", params{"a": "b"}},
		{"unicode", `{"description":"₹100 \ud83d\uded2"}`, params{"description": "₹100 🛒"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeJSONParams([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("decodeJSONParams(%s) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
	refused := []struct {
		name   string
		body   string
		fields []string
	}{
		{"ErrNestedAndDottedSameKey", `{"options":{"x":1},"options.x":2}`, []string{"options.x"}},
		// Like a form key given twice: which amount did the merchant mean?
		{"ErrDuplicateKey", `{"order_id":"o1","amount":"1","amount":"100"}`, []string{"amount"}},
		{"ErrDuplicateNestedKey", `{"options":{"get_client_auth_token":true,"get_client_auth_token":false}}`,
			[]string{"options.get_client_auth_token"}},
		{"ErrArray", `[{"amount":"1"}]`, nil},
		{"ErrString", `"amount"`, nil},
		{"ErrTruncated", `{"order_id":`, nil},
		{"ErrTrailingData", `{"a":"b"}{"c":"d"}`, nil},
		{"ErrTrailingGarbage", `{"a":"b"} x`, nil},
		{"ErrTrailingBrace", `{"a":"b"}}`, nil},
		{"ErrTrailingBracket", `{"a":"b"} ]`, nil},
		{"ErrTooDeep", `{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":"k"}}}}}}}}}}`, nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeJSONParams([]byte(tt.body))
			if err == nil {
				t.Fatalf("decodeJSONParams(%s) = %v, want an error", tt.body, p)
			}
			wantInvalid(t, err, tt.fields...)
		})
	}
}

// readParamsOf runs readParams on a request with body and Content-Type ct.
func readParamsOf(t *testing.T, ct, body string) (params, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/orders", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return readParams(echo.New().NewContext(r, httptest.NewRecorder()))
}

func TestReadParams(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           params
	}{
		{"form", "application/x-www-form-urlencoded", "amount=1", params{"amount": "1"}},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "amount=1", params{"amount": "1"}},
		{"json", "application/json", `{"amount":1}`, params{"amount": "1"}},
		{"json with charset", "application/json; charset=utf-8", `{"amount":1}`, params{"amount": "1"}},
		{"no content type, JSON body", "", `{"amount":1}`, params{"amount": "1"}},
		{"no content type, form body", "", "amount=1", params{"amount": "1"}},
		{"empty body", "application/json", "", params{}},
		{"blank body", "application/x-www-form-urlencoded", "  \n", params{}},
		// Juspay also documents underscore spellings of the option keys.
		{"underscore alias", "application/x-www-form-urlencoded", "options_get_client_auth_token=true",
			params{"options.get_client_auth_token": "true"}},
		{"underscore alias in JSON", "application/json", `{"options_get_upi_deep_links":"true"}`,
			params{"options.get_upi_deep_links": "true"}},
		{"dotted key wins over its alias", "application/x-www-form-urlencoded",
			"options.get_client_auth_token=false&options_get_client_auth_token=true",
			params{"options.get_client_auth_token": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readParamsOf(t, tt.ct, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("readParams = %v, want %v", got, tt.want)
			}
		})
	}
	for _, ct := range []string{"text/plain", "multipart/form-data; boundary=x", "application/xml"} {
		t.Run("ErrContentType "+ct, func(t *testing.T) {
			_, err := readParamsOf(t, ct, "amount=1")
			wantInvalid(t, err)
		})
	}
	t.Run("ErrJSONLabelledForm", func(t *testing.T) {
		// The label decides: a JSON body sent as a form is a malformed form.
		p, err := readParamsOf(t, "application/x-www-form-urlencoded", `{"amount":"1"}`)
		if err == nil && p["amount"] == "1" {
			t.Errorf("a JSON body labelled as a form was read as JSON: %v", p)
		}
	})
}

func TestParamsBool(t *testing.T) {
	p := params{"t": "true", "T": "TRUE", "one": "1", "f": "false", "zero": "0", "empty": "", "bad": "yes"}
	for key, want := range map[string]bool{"t": true, "T": true, "one": true, "f": false, "zero": false, "empty": false, "absent": false} {
		got, err := p.bool(key)
		if err != nil || got != want {
			t.Errorf("bool(%s) = %v, %v; want %v", key, got, err, want)
		}
	}
	_, err := p.bool("bad")
	wantInvalid(t, err, "bad")
}

func TestParamsWithPrefix(t *testing.T) {
	p := params{"metadata.A:b": "1", "metadata.c": "2", "metadata.": "x", "metadatax": "y", "amount": "1"}
	want := map[string]string{"A:b": "1", "c": "2"}
	if got := p.withPrefix("metadata."); !maps.Equal(got, want) {
		t.Errorf("withPrefix = %v, want %v", got, want)
	}
}

// checkParams holds for every successfully decoded body: every key and value
// is valid UTF-8 (they are stored in utf8mb4 columns).
func checkParams(t *testing.T, p params) {
	t.Helper()
	for k, v := range p {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Fatalf("decoded %q = %q, which is not valid UTF-8", k, v)
		}
	}
}

func FuzzDecodeFormParams(f *testing.F) {
	for _, s := range []string{
		"order_id=o1&amount=100.10", "options.get_client_auth_token=true", "metadata.JUSPAY%3Agateway_reference_id=x",
		"a=1&a=2", "a=%zz", "=", "&&", "a", "a=1;b=2", "%E2%82%B9=%F0%9F%9B%92", "a+b=c+d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := decodeFormParams(body)
		if err != nil {
			var pe *pay.Error
			if !errors.As(err, &pe) || pe.Code != pay.EINVALID {
				t.Fatalf("decodeFormParams(%q): error %v is not EINVALID", body, err)
			}
			return
		}
		checkParams(t, p)
		// It agrees with the standard parser, which saw no key twice.
		v, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("decodeFormParams(%q) accepted what url.ParseQuery refuses: %v", body, err)
		}
		if len(v) != len(p) {
			t.Fatalf("decodeFormParams(%q) = %d keys, url.ParseQuery %d", body, len(p), len(v))
		}
		for k, vals := range v {
			if len(vals) != 1 || p[k] != vals[0] {
				t.Fatalf("decodeFormParams(%q)[%q] = %q, url.ParseQuery %q", body, k, p[k], vals)
			}
		}
		// Re-encoding the result gives the same result.
		again := url.Values{}
		for k, val := range p {
			again.Set(k, val)
		}
		p2, err := decodeFormParams(again.Encode())
		if err != nil || !maps.Equal(p, p2) {
			t.Fatalf("re-encoded %q decodes to %v, %v; want %v", again.Encode(), p2, err, p)
		}
	})
}

func FuzzDecodeJSONParams(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"o1","amount":100.10}`, `{"options":{"get_client_auth_token":true}}`,
		`{"metadata":{"JUSPAY:gateway_reference_id":"x"}}`, `{"a":{"b":1},"a.b":2}`, `{"a":[1,{"b":2}]}`,
		`{"a":null}`, `[]`, `{`, `{"a":1}{}`, `{"a":"\ud800"}`, `{"a":1,"a":2}`, `{"":{"":""}}`,
		`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}`, `{"n":123456789012345678901234567890e-5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeJSONParams(body)
		if err != nil {
			var pe *pay.Error
			if !errors.As(err, &pe) || pe.Code != pay.EINVALID {
				t.Fatalf("decodeJSONParams(%q): error %v is not EINVALID", body, err)
			}
			return
		}
		checkParams(t, p)
		if !json.Valid(body) {
			t.Fatalf("decodeJSONParams accepted invalid JSON %q", body)
		}
		// Every top-level string or number is kept exactly.
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("decodeJSONParams accepted %q, which is not an object: %v", body, err)
		}
		for k, raw := range top {
			var s string
			if json.Unmarshal(raw, &s) == nil && p[k] != s {
				t.Fatalf("decodeJSONParams(%q)[%q] = %q, want %q", body, k, p[k], s)
			}
			var n json.Number
			isNumber := raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9')
			if isNumber && json.Unmarshal(raw, &n) == nil && p[k] != string(raw) {
				t.Fatalf("decodeJSONParams(%q)[%q] = %q, want the number as written, %s", body, k, p[k], raw)
			}
		}
		// The result, as a flat object of strings, decodes to itself.
		flat, err := json.Marshal(map[string]string(p))
		if err != nil {
			t.Fatal(err)
		}
		p2, err := decodeJSONParams(flat)
		if err != nil || !maps.Equal(p, p2) {
			t.Fatalf("flat %s decodes to %v, %v; want %v", flat, p2, err, p)
		}
	})
}
