package token

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer = "https://pay.example.com"
	testMID    = "mer_123"
	testOID    = "ordeh_0123456789abcdef0123456789abcdef"
	testOrd    = "ORDER-42"
)

// t0 is deliberately not on a whole second, so truncation to JWT second
// precision is exercised.
var t0 = time.Date(2026, 3, 4, 10, 0, 0, 500_000_000, time.UTC)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// mkKey returns a key with a deterministic 32-byte secret derived from id.
func mkKey(id string, created time.Time) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte(id[:1]), MinSecretLen), CreatedAt: created}
}

// craft signs arbitrary claims and headers, to build tokens Issue never would.
func craft(t testing.TB, m jwt.SigningMethod, key any, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("craft: %v", err)
	}
	return s
}

// goodClaims is a payload Issue would produce at now.
func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"aud": []string{Audience},
		"iat": now.Unix(),
		"exp": now.Add(DefaultTTL).Unix(),
		"jti": "jti-1",
		"mid": testMID,
		"oid": testOID,
		"ord": testOrd,
	}
}

func without(c jwt.MapClaims, keys ...string) jwt.MapClaims {
	for _, k := range keys {
		delete(c, k)
	}
	return c
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	c[k] = v
	return c
}

// segments splits a compact JWT and decodes the payload and signature.
func segments(t testing.TB, tok string) (hdr string, payload map[string]any, sig []byte) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("token has %d segments", len(p))
	}
	raw, err := base64.RawURLEncoding.DecodeString(p[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	sig, err = base64.RawURLEncoding.DecodeString(p[2])
	if err != nil {
		t.Fatal(err)
	}
	return p[0], payload, sig
}

func join(t testing.TB, hdr string, payload map[string]any, sig []byte) string {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return hdr + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

type fixture struct {
	clk *clock
	key Key
	iss *Issuer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clk: &clock{t: t0}, key: mkKey("k_aaaaaaaaaaaa", t0.Add(-time.Hour))}
	iss, err := New(testIssuer, []Key{f.key}, 0, f.clk.now)
	if err != nil {
		t.Fatal(err)
	}
	f.iss = iss
	return f
}

func (f *fixture) issue(t testing.TB) string {
	t.Helper()
	tok, _, err := f.iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) kid() map[string]any { return map[string]any{"kid": f.key.ID} }

func TestVerify(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		tok     func(t *testing.T, f *fixture) string
		advance time.Duration // clock moves this far between issuing and verifying
		want    error         // nil: must verify; else the reason wrapped in ErrInvalid
	}{
		{
			name: "valid round trip",
			tok:  func(t *testing.T, f *fixture) string { return f.issue(t) },
		},
		{
			name:    "valid just before expiry plus leeway",
			tok:     func(t *testing.T, f *fixture) string { return f.issue(t) },
			advance: DefaultTTL + leeway - time.Second,
		},
		{
			name:    "expired",
			tok:     func(t *testing.T, f *fixture) string { return f.issue(t) },
			advance: DefaultTTL + leeway,
			want:    jwt.ErrTokenExpired,
		},
		{
			name: "not yet valid (nbf in future)",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), with(goodClaims(t0), "nbf", t0.Add(time.Minute).Unix()))
			},
			want: jwt.ErrTokenNotValidYet,
		},
		{
			name: "nbf within leeway accepted",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), with(goodClaims(t0), "nbf", t0.Add(3*time.Second).Unix()))
			},
		},
		{
			name: "issued in the future",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), goodClaims(t0.Add(time.Minute)))
			},
			want: jwt.ErrTokenUsedBeforeIssued,
		},
		{
			name: "wrong audience",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), with(goodClaims(t0), "aud", "dashboard"))
			},
			want: jwt.ErrTokenInvalidAudience,
		},
		{
			name: "missing audience",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "aud"))
			},
			want: jwt.ErrTokenRequiredClaimMissing,
		},
		{
			name: "wrong issuer (other deployment sharing keys)",
			tok: func(t *testing.T, f *fixture) string {
				other, err := New("https://staging.pay.example.com", []Key{f.key}, 0, f.clk.now)
				if err != nil {
					t.Fatal(err)
				}
				tok, _, err := other.Issue(testMID, testOID, testOrd)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			},
			want: jwt.ErrTokenInvalidIssuer,
		},
		{
			name: "missing issuer",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "iss"))
			},
			want: jwt.ErrTokenRequiredClaimMissing,
		},
		{
			name: "tampered payload (other order)",
			tok: func(t *testing.T, f *fixture) string {
				h, p, s := segments(t, f.issue(t))
				p["oid"] = "ordeh_ffffffffffffffffffffffffffffffff"
				return join(t, h, p, s)
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "tampered payload (extended expiry)",
			tok: func(t *testing.T, f *fixture) string {
				h, p, s := segments(t, f.issue(t))
				p["exp"] = t0.Add(24 * time.Hour).Unix()
				return join(t, h, p, s)
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "tampered signature",
			tok: func(t *testing.T, f *fixture) string {
				h, p, s := segments(t, f.issue(t))
				s[len(s)/2] ^= 0x01
				return join(t, h, p, s)
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			// The last base64 character of a 32-byte MAC carries two unused
			// bits; without strict decoding this altered string would verify.
			name: "non-canonical signature encoding",
			tok: func(t *testing.T, f *fixture) string {
				tok := f.issue(t)
				last := strings.IndexByte(base64URLAlphabet, tok[len(tok)-1])
				return tok[:len(tok)-1] + string(base64URLAlphabet[last^0x01])
			},
			want: jwt.ErrTokenMalformed,
		},
		{
			name: "signature stripped",
			tok: func(t *testing.T, f *fixture) string {
				tok := f.issue(t)
				return tok[:strings.LastIndexByte(tok, '.')+1]
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "alg none",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, f.kid(), goodClaims(t0))
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "HS512 with the right secret",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS512, f.key.Secret, f.kid(), goodClaims(t0))
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "RS256 validly signed by some RSA key",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodRS256, rsaKey, f.kid(), goodClaims(t0))
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "right kid, wrong secret",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, bytes.Repeat([]byte("x"), 32), f.kid(), goodClaims(t0))
			},
			want: jwt.ErrTokenSignatureInvalid,
		},
		{
			name: "missing exp",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "exp"))
			},
			want: jwt.ErrTokenRequiredClaimMissing,
		},
		{
			name: "missing iat",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "iat"))
			},
			want: errMissing,
		},
		{
			name: "missing jti",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "jti"))
			},
			want: errMissing,
		},
		{
			name: "missing mid",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "mid"))
			},
			want: errMissing,
		},
		{
			name: "missing oid",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), without(goodClaims(t0), "oid"))
			},
			want: errMissing,
		},
		{
			name: "empty ord",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, f.kid(), with(goodClaims(t0), "ord", ""))
			},
			want: errMissing,
		},
		{
			name: "unknown kid",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, map[string]any{"kid": "k_000000000000"}, goodClaims(t0))
			},
			want: errUnknownKid,
		},
		{
			name: "missing kid",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, nil, goodClaims(t0))
			},
			want: errMissingKid,
		},
		{
			name: "non-string kid",
			tok: func(t *testing.T, f *fixture) string {
				return craft(t, jwt.SigningMethodHS256, f.key.Secret, map[string]any{"kid": 7}, goodClaims(t0))
			},
			want: errMissingKid,
		},
		{
			name: "empty string",
			tok:  func(t *testing.T, f *fixture) string { return "" },
			want: jwt.ErrTokenMalformed,
		},
		{
			name: "garbage",
			tok:  func(t *testing.T, f *fixture) string { return "not.a.jwt" },
			want: jwt.ErrTokenMalformed,
		},
		{
			name: "oversized",
			tok:  func(t *testing.T, f *fixture) string { return strings.Repeat("a", maxTokenLen+1) },
			want: errTooLong,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tok := tc.tok(t, f)
			f.clk.t = f.clk.t.Add(tc.advance)
			got, err := f.iss.Verify(tok)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.MerchantID != testMID || got.OrderUUID != testOID || got.OrderID != testOrd || got.ID == "" {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want reason %v", err, tc.want)
			}
			if got != (Claims{}) {
				t.Errorf("claims on failure = %+v, want zero", got)
			}
		})
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestIssue(t *testing.T) {
	f := newFixture(t)
	tok, exp, err := f.iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(DefaultTTL).Truncate(time.Second); !exp.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", exp, want)
	}
	c, err := f.iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(exp) {
		t.Errorf("Claims.ExpiresAt = %v, Issue returned %v", c.ExpiresAt, exp)
	}

	// Wire format: the claim names clients and other services rely on.
	hdr, p, _ := segments(t, tok)
	rawHdr, _ := base64.RawURLEncoding.DecodeString(hdr)
	var h map[string]any
	if err := json.Unmarshal(rawHdr, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "HS256" || h["kid"] != f.key.ID {
		t.Errorf("header = %v", h)
	}
	for k, want := range map[string]any{"iss": testIssuer, "mid": testMID, "oid": testOID, "ord": testOrd} {
		if p[k] != want {
			t.Errorf("payload[%q] = %v, want %v", k, p[k], want)
		}
	}
	if aud := fmt.Sprint(p["aud"]); aud != "[sdk]" {
		t.Errorf("aud = %v", aud)
	}

	// jti is unique per token.
	tok2, _, err := f.iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f.iss.Verify(tok2)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == c2.ID {
		t.Errorf("two tokens share jti %q", c.ID)
	}

	for _, args := range [][3]string{{"", testOID, testOrd}, {testMID, "", testOrd}, {testMID, testOID, ""}} {
		if _, _, err := f.iss.Issue(args[0], args[1], args[2]); err == nil {
			t.Errorf("Issue%q: want error", args)
		}
	}
}

func TestCustomTTL(t *testing.T) {
	clk := &clock{t: t0}
	iss, err := New(testIssuer, []Key{mkKey("k1", t0)}, 2*time.Minute, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(2 * time.Minute).Truncate(time.Second); !exp.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", exp, want)
	}
	clk.t = exp.Add(leeway)
	if _, err := iss.Verify(tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("err = %v, want expired", err)
	}
}

func TestRotation(t *testing.T) {
	clk := &clock{t: t0}
	ttl := DefaultTTL
	old := mkKey("k_old", t0.Add(-24*time.Hour))
	a, err := New(testIssuer, []Key{old}, ttl, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	oldTok, oldExp, err := a.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	// Something the old key signed with a long exp, as an earlier config
	// with a longer TTL (or a leaked secret) could have produced. It isolates
	// the key-retirement window from the token's own expiry.
	longTok := craft(t, jwt.SigningMethodHS256, old.Secret, map[string]any{"kid": old.ID},
		with(goodClaims(t0), "exp", t0.Add(48*time.Hour).Unix()))

	// One minute later a new key is deployed and the old one retired.
	clk.t = t0.Add(time.Minute)
	retiredAt := clk.t
	old.RetiredAt = retiredAt
	cur := mkKey("k_new", retiredAt)
	b, err := New(testIssuer, []Key{old, cur}, ttl, clk.now)
	if err != nil {
		t.Fatal(err)
	}

	newTok, _, err := b.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, newTok); kid != cur.ID {
		t.Errorf("new token kid = %q, want %q", kid, cur.ID)
	}
	for name, tok := range map[string]string{"old": oldTok, "long": longTok, "new": newTok} {
		if _, err := b.Verify(tok); err != nil {
			t.Errorf("%s token right after rotation: %v", name, err)
		}
	}
	// The instance still running the old config does not know the new key.
	if _, err := a.Verify(newTok); !errors.Is(err, errUnknownKid) {
		t.Errorf("old instance verifying new token: err = %v, want unknown kid", err)
	}

	// The normally issued old token runs out on its own, while its key is
	// still inside the grace window.
	clk.t = oldExp.Add(leeway)
	if _, err := b.Verify(oldTok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("old token after its ttl: err = %v, want expired", err)
	}
	// Last moment of the grace window: the retired key still verifies.
	clk.t = retiredAt.Add(ttl + leeway - time.Second)
	if _, err := b.Verify(longTok); err != nil {
		t.Errorf("retired key inside window: %v", err)
	}
	// Retired for longer than TTL (+leeway): the key is refused outright,
	// whatever the token's own exp says.
	clk.t = retiredAt.Add(ttl + leeway)
	for name, tok := range map[string]string{"old": oldTok, "long": longTok} {
		if _, err := b.Verify(tok); !errors.Is(err, ErrInvalid) || !errors.Is(err, errKeyRetired) {
			t.Errorf("%s token, retired key past window: err = %v, want key retired", name, err)
		}
	}
	// The current key is unaffected.
	tok, _, err := b.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(tok); err != nil {
		t.Errorf("current key: %v", err)
	}
}

// TestPrepublishedAndScheduled covers rotation driven purely by timestamps:
// a key published before it is due, and a retirement set in the future.
func TestPrepublishedAndScheduled(t *testing.T) {
	clk := &clock{t: t0}
	cur := mkKey("k_cur", t0.Add(-time.Hour))
	cur.RetiredAt = t0.Add(time.Hour)
	next := mkKey("k_next", t0.Add(time.Hour))
	iss, err := New(testIssuer, []Key{next, cur}, 0, clk.now)
	if err != nil {
		t.Fatal(err)
	}

	tok, _, err := iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, tok); kid != cur.ID {
		t.Errorf("before switch-over kid = %q, want %q", kid, cur.ID)
	}
	// Another instance that already switched can sign with next; we must
	// accept that before we switch ourselves.
	early := craft(t, jwt.SigningMethodHS256, next.Secret, map[string]any{"kid": next.ID}, goodClaims(t0))
	if _, err := iss.Verify(early); err != nil {
		t.Errorf("pre-published key: %v", err)
	}

	clk.t = t0.Add(time.Hour)
	tok, _, err = iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, tok); kid != next.ID {
		t.Errorf("after switch-over kid = %q, want %q", kid, next.ID)
	}
}

func TestSigningKeySelection(t *testing.T) {
	retired := func(k Key, at time.Time) Key { k.RetiredAt = at; return k }
	tests := []struct {
		name string
		keys []Key
		want string
	}{
		{"single", []Key{mkKey("a", t0)}, "a"},
		{"newest wins, listed first", []Key{mkKey("b", t0), mkKey("a", t0.Add(-time.Hour))}, "b"},
		{"newest wins, listed last", []Key{mkKey("a", t0.Add(-time.Hour)), mkKey("b", t0)}, "b"},
		{"newest retired", []Key{mkKey("a", t0.Add(-time.Hour)), retired(mkKey("b", t0.Add(-time.Minute)), t0)}, "a"},
		{"newest not yet due", []Key{mkKey("a", t0.Add(-time.Hour)), mkKey("b", t0.Add(time.Second))}, "a"},
		{"tie broken by id", []Key{mkKey("b", t0), mkKey("c", t0), mkKey("a", t0)}, "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss, err := New(testIssuer, tc.keys, 0, func() time.Time { return t0 })
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := iss.Issue(testMID, testOID, testOrd)
			if err != nil {
				t.Fatal(err)
			}
			if kid := kidOf(t, tok); kid != tc.want {
				t.Errorf("kid = %q, want %q", kid, tc.want)
			}
		})
	}
}

func TestNoSigningKeyLater(t *testing.T) {
	clk := &clock{t: t0}
	k := mkKey("k", t0.Add(-time.Hour))
	k.RetiredAt = t0.Add(time.Minute)
	iss, err := New(testIssuer, []Key{k}, 0, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = k.RetiredAt
	if _, _, err := iss.Issue(testMID, testOID, testOrd); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("err = %v, want ErrNoSigningKey", err)
	}
}

func TestNewRejects(t *testing.T) {
	now := func() time.Time { return t0 }
	good := mkKey("k1", t0)
	short := good
	short.Secret = short.Secret[:MinSecretLen-1]
	noID := good
	noID.ID = ""
	gone := good
	gone.RetiredAt = t0
	tests := []struct {
		name   string
		issuer string
		keys   []Key
		ttl    time.Duration
		want   error // nil: any error
	}{
		{"short secret", testIssuer, []Key{short}, 0, nil},
		{"short secret among good ones", testIssuer, []Key{good, {ID: "k2", Secret: []byte("hunter2"), CreatedAt: t0}}, 0, nil},
		{"nil secret", testIssuer, []Key{{ID: "k2", CreatedAt: t0}}, 0, nil},
		{"empty key id", testIssuer, []Key{noID}, 0, nil},
		{"duplicate key id", testIssuer, []Key{good, good}, 0, nil},
		{"no keys", testIssuer, nil, 0, nil},
		{"empty issuer", "", []Key{good}, 0, nil},
		{"negative ttl", testIssuer, []Key{good}, -time.Minute, nil},
		{"only retired keys", testIssuer, []Key{gone}, 0, ErrNoSigningKey},
		{"only future keys", testIssuer, []Key{mkKey("k3", t0.Add(time.Hour))}, 0, ErrNoSigningKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss, err := New(tc.issuer, tc.keys, tc.ttl, now)
			if err == nil || iss != nil {
				t.Fatalf("New = %v, %v; want error", iss, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), string(good.Secret)) {
				t.Errorf("error leaks secret: %v", err)
			}
		})
	}
	// Exactly MinSecretLen is enough.
	if _, err := New(testIssuer, []Key{good}, 0, now); err != nil {
		t.Errorf("32-byte secret: %v", err)
	}
}

// TestSecretsCopied checks New does not alias the caller's secret slices,
// so zeroing or reusing a config buffer cannot change live keys.
func TestSecretsCopied(t *testing.T) {
	k := mkKey("k1", t0)
	iss, err := New(testIssuer, []Key{k}, 0, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	clear(k.Secret)
	if _, err := iss.Verify(tok); err != nil {
		t.Errorf("after caller zeroed secret: %v", err)
	}
}

func TestNewKey(t *testing.T) {
	idRE := regexp.MustCompile(`^k_[0-9a-f]{12}$`)
	a, err := NewKey(t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKey(t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{a, b} {
		if !idRE.MatchString(k.ID) {
			t.Errorf("id %q does not match %v", k.ID, idRE)
		}
		if len(k.Secret) != 32 {
			t.Errorf("secret is %d bytes", len(k.Secret))
		}
		if !k.CreatedAt.Equal(t0) || !k.RetiredAt.IsZero() {
			t.Errorf("times = %v / %v", k.CreatedAt, k.RetiredAt)
		}
	}
	if a.ID == b.ID || bytes.Equal(a.Secret, b.Secret) {
		t.Error("two NewKey calls returned the same id or secret")
	}
	// A generated key is directly usable.
	iss, err := New(testIssuer, []Key{a}, 0, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(testMID, testOID, testOrd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Error(err)
	}
}

func TestKeyFormattingHidesSecret(t *testing.T) {
	k, err := NewKey(t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, string(k.Secret)) || strings.Contains(out, fmt.Sprint(k.Secret)) ||
			strings.Contains(out, fmt.Sprintf("%x", k.Secret)) || !strings.Contains(out, k.ID) {
			t.Errorf("%s formats key as %q", verb, out)
		}
	}
}

func kidOf(t testing.TB, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.issue(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.iss.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
