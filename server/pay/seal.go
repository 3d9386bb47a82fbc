package pay

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealer encrypts secrets at rest (response keys, webhook passwords, gateway
// credentials) with AES-256-GCM. Every sealed value records the version of the
// master key that sealed it, so an operator can add a new master key, re-seal,
// and retire the old one.
type Sealer struct {
	current int
	aeads   map[int]cipher.AEAD
}

// NewSealer builds a Sealer from master keys by version; the highest version
// seals, all of them open. Each key must be 32 bytes.
func NewSealer(keys map[int][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("pay.NewSealer: no master key")
	}
	s := &Sealer{aeads: map[int]cipher.AEAD{}}
	for v, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("pay.NewSealer: master key version %d is %d bytes, want 32", v, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[v] = aead
		if v > s.current {
			s.current = v
		}
	}
	return s, nil
}

// Version is the master key version Seal uses.
func (s *Sealer) Version() int { return s.current }

// Seal encrypts plaintext with the current key; aad binds the ciphertext to
// its owner (e.g. "merchant:demo:response_key") so it cannot be swapped into
// another row.
func (s *Sealer) Seal(plaintext []byte, aad string) (sealed []byte, version int, err error) {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, 0, err
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(aad)), s.current, nil
}

// Open decrypts a value sealed under the given master key version.
func (s *Sealer) Open(sealed []byte, version int, aad string) ([]byte, error) {
	aead, ok := s.aeads[version]
	if !ok {
		return nil, fmt.Errorf("pay.Sealer.Open: no master key version %d", version)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("pay.Sealer.Open: sealed value too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("pay.Sealer.Open: %w", err)
	}
	return plain, nil
}
