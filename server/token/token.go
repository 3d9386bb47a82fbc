// Package token issues and verifies client auth tokens for the hosted
// checkout and the shopper-facing SDKs.
//
// A token authorises one browser or app session to act on exactly one order
// of exactly one merchant for a short time. Tokens travel through shopper
// devices we do not control, so they are deliberately narrow: short-lived,
// audience-bound to "sdk", bound to our issuer URL, and carrying the order they
// grant access to, so a leaked token cannot be replayed against another order,
// another merchant, or a merchant-facing API.
//
// Tokens are HS256 JWTs. Every token names its signing key in the "kid"
// header, which is what makes key rotation possible without logging every
// shopper out: see [Key] and [New] for the rotation rules.
package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// Audience is the "aud" every client token carries and every verification
	// demands. Pinning it stops tokens minted for other audiences with the same
	// key material from being accepted here, and the other way round.
	Audience = "sdk"

	// DefaultTTL is the token lifetime used when New is given a zero TTL. It is
	// long enough for a shopper to finish a checkout, including a 3-D Secure
	// challenge, and short enough that a token lifted from a device is of
	// little use.
	DefaultTTL = 15 * time.Minute

	// MinSecretLen is the shortest HMAC secret accepted, in bytes. HS256 keys
	// shorter than the 32-byte hash output weaken the MAC, and short secrets
	// are usually a human-typed password rather than random bytes.
	MinSecretLen = 32

	// leeway absorbs clock skew between the instance that issued a token and
	// the one verifying it. Kept small because tokens are short-lived.
	leeway = 5 * time.Second

	// maxTokenLen bounds the input Verify will parse. Our tokens are a few
	// hundred bytes; refusing anything much larger before base64 and JSON
	// decoding keeps an unauthenticated caller from making us do real work.
	maxTokenLen = 4096

	// signingAlg is the only algorithm we produce or accept.
	signingAlg = "HS256"
)

// ErrInvalid is returned, wrapped with the reason, by every Verify failure.
// Callers should test for it with errors.Is and answer 401 without echoing
// the reason to the client; the wrapped text is meant for logs.
var ErrInvalid = errors.New("invalid client token")

// ErrNoSigningKey is returned by Issue when no key is usable for signing at
// the current time, i.e. every key is retired or not yet due.
var ErrNoSigningKey = errors.New("token: no active signing key")

// Reasons wrapped inside ErrInvalid by the key lookup. Unexported: callers
// must not branch on them, but tests and logs can tell them apart.
var (
	errMissingKid = errors.New("missing kid header")
	errUnknownKid = errors.New("unknown kid")
	errKeyRetired = errors.New("signing key retired")
	errBadMethod  = errors.New("unexpected signing method")
	errMissing    = errors.New("required claim missing")
	errTooLong    = errors.New("token too long")
)

// Key is one HMAC signing key.
//
// Rotation is done by adding a new key and setting RetiredAt on the old one,
// then rebuilding the Issuer. A key signs new tokens while it is the newest
// active key; once retired it keeps verifying the tokens it already issued
// until they could no longer be valid (TTL plus clock leeway after
// RetiredAt), and is refused after that, so an old secret stops mattering
// without cutting short any shopper's checkout.
type Key struct {
	// ID is sent as the JWT "kid" header so the verifier can pick the key
	// without trying every secret.
	ID string
	// Secret is the HMAC key, at least MinSecretLen random bytes.
	Secret []byte
	// CreatedAt orders keys: the newest active one signs. A CreatedAt in the
	// future lets a key be distributed to every instance (so all of them can
	// verify with it) before any instance starts signing with it.
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing; zero means active. It may
	// be set in the future to schedule a retirement.
	RetiredAt time.Time
}

// NewKey returns a fresh key with a random 32-byte secret, an ID of the form
// "k_<12 hex>", and CreatedAt set to now. The caller persists it; the package
// keeps no key storage of its own.
func NewKey(now time.Time) (Key, error) {
	var id [6]byte
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, fmt.Errorf("token: generating key id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("token: generating key secret: %w", err)
	}
	return Key{ID: "k_" + hex.EncodeToString(id[:]), Secret: secret, CreatedAt: now}, nil
}

// String describes the key without its secret, so a Key that ends up in a log
// line or error message does not leak signing material.
func (k Key) String() string {
	state := "active"
	if !k.RetiredAt.IsZero() {
		state = "retired " + k.RetiredAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("token.Key{ID: %q, CreatedAt: %s, %s}", k.ID, k.CreatedAt.UTC().Format(time.RFC3339), state)
}

// GoString keeps %#v from printing the secret, for the same reason as String.
func (k Key) GoString() string { return k.String() }

// signsAt reports whether k may sign a token at t.
func (k Key) signsAt(t time.Time) bool {
	return !k.CreatedAt.After(t) && (k.RetiredAt.IsZero() || t.Before(k.RetiredAt))
}

// verifiesAt reports whether a token signed by k may still be accepted at t.
// window is the longest a token can stay valid, so anything k signed before
// retirement has expired by RetiredAt+window and the key can be dropped.
func (k Key) verifiesAt(t time.Time, window time.Duration) bool {
	return k.RetiredAt.IsZero() || t.Sub(k.RetiredAt) < window
}

// Claims is what a verified token grants. It is a plain struct so handlers do
// not need to know about JWTs.
type Claims struct {
	// MerchantID is the merchant the token acts for ("mid").
	MerchantID string
	// OrderUUID is our internal order id, e.g. "ordeh_<32 hex>" ("oid").
	// Authorisation checks should compare against this one: it is unique
	// across merchants, unlike OrderID.
	OrderUUID string
	// OrderID is the merchant's own order reference ("ord").
	OrderID string
	// ExpiresAt is when the token stops being accepted (before leeway).
	ExpiresAt time.Time
	// ID is the token's unique "jti", for logging and any future revocation.
	ID string
}

// jwtClaims is the wire form of a token's payload.
type jwtClaims struct {
	jwt.RegisteredClaims
	MerchantID string `json:"mid"`
	OrderUUID  string `json:"oid"`
	OrderID    string `json:"ord"`
}

// Validate is called by the jwt parser after the registered claims pass. It
// rejects tokens missing the claims that scope them: a token without an
// order or merchant would otherwise verify and grant access to nothing in
// particular, which handlers might read as "anything".
func (c *jwtClaims) Validate() error {
	switch {
	case c.MerchantID == "":
		return fmt.Errorf("%w: mid", errMissing)
	case c.OrderUUID == "":
		return fmt.Errorf("%w: oid", errMissing)
	case c.OrderID == "":
		return fmt.Errorf("%w: ord", errMissing)
	case c.ID == "":
		return fmt.Errorf("%w: jti", errMissing)
	case c.IssuedAt == nil:
		return fmt.Errorf("%w: iat", errMissing)
	}
	return nil
}

// Issuer issues and verifies client tokens with a fixed set of keys. It is
// immutable after New and safe for concurrent use; rotate keys by building a
// new Issuer.
type Issuer struct {
	issuer string
	ttl    time.Duration
	now    func() time.Time
	keys   map[string]Key
	parser *jwt.Parser
}

// New returns an Issuer that stamps tokens with issuer (typically our public
// base URL) as "iss" and gives them a lifetime of ttl (DefaultTTL if zero).
// now is the clock, injectable for tests; nil means time.Now.
//
// Every key must have a unique non-empty ID and a secret of at least
// MinSecretLen bytes, and at least one key must be able to sign now: a
// misconfigured key set should fail at start-up, not on a shopper's first
// checkout. Secrets are copied, so later changes to the caller's slices have
// no effect.
func New(issuer string, keys []Key, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	if issuer == "" {
		return nil, errors.New("token: empty issuer")
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 {
		return nil, fmt.Errorf("token: negative ttl %s", ttl)
	}
	if now == nil {
		now = time.Now
	}
	if len(keys) == 0 {
		return nil, errors.New("token: no keys")
	}
	byID := make(map[string]Key, len(keys))
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("token: key with empty id")
		}
		if len(k.Secret) < MinSecretLen {
			return nil, fmt.Errorf("token: key %q: secret is %d bytes, need at least %d", k.ID, len(k.Secret), MinSecretLen)
		}
		if _, dup := byID[k.ID]; dup {
			return nil, fmt.Errorf("token: duplicate key id %q", k.ID)
		}
		k.Secret = append([]byte(nil), k.Secret...)
		byID[k.ID] = k
	}
	i := &Issuer{issuer: issuer, ttl: ttl, now: now, keys: byID}
	if _, ok := i.signingKey(now()); !ok {
		return nil, ErrNoSigningKey
	}
	i.parser = jwt.NewParser(
		// The allowlist is what defeats "alg: none" and algorithm-confusion
		// tokens: the header is attacker-controlled, so it must never choose
		// how we verify.
		jwt.WithValidMethods([]string{signingAlg}),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(Audience),
		jwt.WithIssuer(issuer),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		// Reject non-canonical base64 so each token has one encoding; a
		// signature with flipped padding bits is a different string that
		// would otherwise still verify.
		jwt.WithStrictDecoding(),
	)
	return i, nil
}

// signingKey returns the newest key allowed to sign at t. Ties on CreatedAt
// are broken by the larger ID so that every instance picks the same key
// whatever order its key list was loaded in.
func (i *Issuer) signingKey(t time.Time) (Key, bool) {
	var best Key
	found := false
	for _, k := range i.keys {
		if !k.signsAt(t) {
			continue
		}
		if !found || k.CreatedAt.After(best.CreatedAt) || (k.CreatedAt.Equal(best.CreatedAt) && k.ID > best.ID) {
			best, found = k, true
		}
	}
	return best, found
}

// Issue returns a signed token granting access to one order of one merchant,
// and the time it expires (whole seconds, exactly as encoded in "exp") so the
// caller can tell the client when to fetch a new one.
func (i *Issuer) Issue(merchantID, orderUUID, orderID string) (token string, expiresAt time.Time, err error) {
	if merchantID == "" || orderUUID == "" || orderID == "" {
		return "", time.Time{}, errors.New("token: merchant id, order uuid and order id are all required")
	}
	now := i.now()
	k, ok := i.signingKey(now)
	if !ok {
		return "", time.Time{}, ErrNoSigningKey
	}
	// JWT times are whole seconds; truncate here so the returned expiry is
	// the one the verifier will enforce.
	iat := now.Truncate(time.Second)
	exp := now.Add(i.ttl).Truncate(time.Second)
	claims := &jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(iat),
			// 128 random bits: unique per token for logs and revocation.
			ID: rand.Text(),
		},
		MerchantID: merchantID,
		OrderUUID:  orderUUID,
		OrderID:    orderID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = k.ID
	s, err := t.SignedString(k.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: signing: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token's signature, algorithm, key, issuer, audience and
// times, and returns what it grants. Every failure wraps ErrInvalid.
//
// Verify only proves the token is genuine and current; the caller must still
// check that the order being acted on is Claims.OrderUUID of
// Claims.MerchantID.
func (i *Issuer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, errTooLong)
	}
	var c jwtClaims
	if _, err := i.parser.ParseWithClaims(token, &c, i.key); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Claims{
		MerchantID: c.MerchantID,
		OrderUUID:  c.OrderUUID,
		OrderID:    c.OrderID,
		ExpiresAt:  c.ExpiresAt.Time,
		ID:         c.ID,
	}, nil
}

// key is the jwt.Keyfunc: it picks the secret named by "kid", refusing keys
// we do not know and retired keys past their grace window.
func (i *Issuer) key(t *jwt.Token) (any, error) {
	// The parser's allowlist already enforces this; checking again here
	// means a future edit to the parser options cannot silently hand an
	// HMAC secret to another algorithm.
	if t.Method != jwt.SigningMethodHS256 {
		return nil, errBadMethod
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errMissingKid
	}
	k, ok := i.keys[kid]
	if !ok {
		return nil, errUnknownKid
	}
	// A token lives at most ttl (plus leeway at verification), so once a key
	// has been retired that long nothing it legitimately signed is still
	// valid, and accepting it would only help someone holding an old secret.
	if !k.verifiesAt(i.now(), i.ttl+leeway) {
		return nil, errKeyRetired
	}
	return k.Secret, nil
}
