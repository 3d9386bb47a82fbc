package pay

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns prefix followed by 32 random hex characters, the shape of
// Juspay's internal ids ("ordeh_…", "cst_…").
func NewID(prefix string) string {
	return prefix + RandomHex(16)
}

// RandomHex returns n random bytes hex-encoded.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms; if it ever
		// does, carrying on with predictable ids would be worse.
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
