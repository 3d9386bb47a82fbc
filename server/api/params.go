package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// params is a merchant API request body as flat dotted keys
// ("options.get_client_auth_token", "metadata.JUSPAY:gateway_reference_id",
// "order.order_id"), however it was encoded. Juspay's EC API takes both forms
// and JSON, so handlers read one representation.
type params map[string]string

// underscoreAliases are the underscore spellings Juspay also accepts for
// dotted option keys.
var underscoreAliases = map[string]string{
	"options_get_client_auth_token": "options.get_client_auth_token",
	"options_get_upi_deep_links":    "options.get_upi_deep_links",
	"options_get_upi_qr":            "options.get_upi_qr",
	"options_create_mandate":        "options.create_mandate",
}

// readParams decodes the request body (form or JSON) into params.
func readParams(c echo.Context) (params, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, pay.Errorf(pay.EINVALID, "request body could not be read")
	}
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, _ := mime.ParseMediaType(ct)
	var p params
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		p = params{}
	case mt == echo.MIMEApplicationJSON || (mt == "" && looksLikeJSON(body)):
		p, err = decodeJSONParams(body)
	case mt == echo.MIMEApplicationForm || mt == "":
		p, err = decodeFormParams(string(body))
	default:
		return nil, pay.Errorf(pay.EINVALID, "unsupported Content-Type %q: send application/x-www-form-urlencoded or application/json", mt)
	}
	if err != nil {
		return nil, err
	}
	for alias, key := range underscoreAliases {
		if v, ok := p[alias]; ok {
			if _, set := p[key]; !set {
				p[key] = v
			}
			delete(p, alias)
		}
	}
	return p, nil
}

func looksLikeJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// decodeFormParams decodes an x-www-form-urlencoded body. A key given twice
// is refused: silently picking one value of, say, amount would be a bug
// waiting to happen in the merchant's integration.
func decodeFormParams(body string) (params, error) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, pay.Errorf(pay.EINVALID, "malformed form body: %s", strings.TrimPrefix(err.Error(), "invalid "))
	}
	p := make(params, len(v))
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, pay.Invalid(k, "given more than once")
		}
		// Text columns are utf8mb4; JSON bodies get this from encoding/json.
		if !utf8.ValidString(k) || !utf8.ValidString(vals[0]) {
			return nil, pay.Invalid(strings.ToValidUTF8(k, "\uFFFD"), "must be valid UTF-8")
		}
		p[k] = vals[0]
	}
	return p, nil
}

// decodeJSONParams flattens a JSON object into dotted keys. Scalars become
// their text (numbers exactly as written, so amounts never pass through a
// float); nested objects become dotted keys; arrays are kept as JSON text.
func decodeJSONParams(body []byte) (params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, pay.Errorf(pay.EINVALID, "malformed JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	// dec.More is false before a stray '}' or ']', so ask for EOF.
	if _, err := dec.Token(); err != io.EOF {
		return nil, pay.Errorf(pay.EINVALID, "malformed JSON body: data after the top-level object")
	}
	// Decoding into a map keeps the last of two equal keys silently.
	if k := duplicateKey(body); k != "" {
		return nil, pay.Invalid(k, "given more than once")
	}
	p := params{}
	if err := flatten(p, "", root, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// duplicateKey returns the dotted name of the first key that a JSON object
// in body (valid JSON) gives twice, or "".
func duplicateKey(body []byte) string {
	type frame struct {
		seen      map[string]bool // nil in an array
		prefix    string
		expectKey bool
		lastKey   string
	}
	join := func(prefix, k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		prefix := ""
		if len(stack) > 0 {
			top = stack[len(stack)-1]
			prefix = top.prefix
			if top.seen != nil {
				prefix = join(top.prefix, top.lastKey)
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{seen: map[string]bool{}, prefix: prefix, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{prefix: prefix})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.seen != nil && top.expectKey {
				k := tok.(string)
				if top.seen[k] {
					return join(top.prefix, k)
				}
				top.seen[k], top.lastKey, top.expectKey = true, k, false
				continue
			}
		}
		// A value ended: its object, if any, expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].seen != nil {
			stack[len(stack)-1].expectKey = true
		}
	}
}

// maxJSONDepth bounds nesting; real requests use two levels at most.
const maxJSONDepth = 8

func flatten(p params, prefix string, v any, depth int) error {
	if depth > maxJSONDepth {
		return pay.Errorf(pay.EINVALID, "JSON body nested too deeply at %q", prefix)
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if err := flatten(p, key, child, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []any:
		b, _ := json.Marshal(t)
		return set(p, prefix, string(b))
	case string:
		return set(p, prefix, t)
	case json.Number:
		return set(p, prefix, t.String())
	case bool:
		return set(p, prefix, fmt.Sprint(t))
	case nil:
		return set(p, prefix, "")
	}
	return pay.Errorf(pay.EINVALID, "unsupported JSON value at %q", prefix)
}

func set(p params, key, value string) error {
	if _, dup := p[key]; dup {
		// {"options": {"x": 1}, "options.x": 2} names one field twice.
		return pay.Invalid(key, "given more than once")
	}
	p[key] = value
	return nil
}

// bool reads a boolean option ("true"/"false", any case); absent is false.
func (p params) bool(key string) (bool, error) {
	switch strings.ToLower(p[key]) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, pay.Invalid(key, "must be true or false")
}

// withPrefix returns the keys under prefix (without it), e.g. every
// "metadata.X" as "X".
func (p params) withPrefix(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			out[rest] = v
		}
	}
	return out
}
