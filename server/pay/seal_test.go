package pay_test

import (
	"bytes"
	"testing"

	"switchyard/server/pay"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealer(t *testing.T) {
	s, err := pay.NewSealer(map[int][]byte{1: key('a')})
	if err != nil {
		t.Fatal(err)
	}
	const aad = "merchant:demo:response_key"
	secret := []byte("the response key")

	sealed, version, err := s.Seal(secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	if version != 1 || s.Version() != 1 {
		t.Errorf("sealed under version %d (Version() = %d), want 1", version, s.Version())
	}
	if bytes.Contains(sealed, secret) {
		t.Error("the sealed value contains the plaintext")
	}
	t.Run("OK/round trip", func(t *testing.T) {
		plain, err := s.Open(sealed, version, aad)
		if err != nil || !bytes.Equal(plain, secret) {
			t.Errorf("Open = %q, %v; want %q", plain, err, secret)
		}
	})
	t.Run("OK/empty plaintext", func(t *testing.T) {
		sealed, v, err := s.Seal(nil, aad)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := s.Open(sealed, v, aad); err != nil || len(plain) != 0 {
			t.Errorf("Open = %q, %v", plain, err)
		}
	})
	t.Run("OK/fresh nonce each time", func(t *testing.T) {
		again, _, err := s.Seal(secret, aad)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again, sealed) {
			t.Error("sealing the same plaintext twice gave the same bytes")
		}
	})
	t.Run("ErrWrongAAD", func(t *testing.T) {
		// A value sealed for one row does not open in another.
		if _, err := s.Open(sealed, version, "merchant:other:response_key"); err == nil {
			t.Error("Open with another aad succeeded")
		}
	})
	t.Run("ErrWrongVersion", func(t *testing.T) {
		if _, err := s.Open(sealed, 2, aad); err == nil {
			t.Error("Open under an unknown key version succeeded")
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1
			if _, err := s.Open(bad, version, aad); err == nil {
				t.Fatalf("Open succeeded with byte %d flipped", i)
			}
		}
	})
	t.Run("ErrTruncated", func(t *testing.T) {
		for _, n := range []int{0, 5, 12, len(sealed) - 1} {
			if _, err := s.Open(sealed[:n], version, aad); err == nil {
				t.Errorf("Open of the first %d bytes succeeded", n)
			}
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other, err := pay.NewSealer(map[int][]byte{1: key('b')})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Open(sealed, version, aad); err == nil {
			t.Error("another key of the same version opened the value")
		}
	})
}

// TestSealerRotation: the newest master key seals; older ones still open
// what they sealed, which is what lets an operator re-seal and retire a key.
func TestSealerRotation(t *testing.T) {
	old, err := pay.NewSealer(map[int][]byte{1: key('a')})
	if err != nil {
		t.Fatal(err)
	}
	sealedOld, v1, err := old.Seal([]byte("x"), "aad")
	if err != nil {
		t.Fatal(err)
	}
	both, err := pay.NewSealer(map[int][]byte{1: key('a'), 3: key('c'), 2: key('b')})
	if err != nil {
		t.Fatal(err)
	}
	if both.Version() != 3 {
		t.Errorf("Version() = %d, want the highest, 3", both.Version())
	}
	if plain, err := both.Open(sealedOld, v1, "aad"); err != nil || string(plain) != "x" {
		t.Errorf("opening a version-1 value: %q, %v", plain, err)
	}
	sealedNew, v, err := both.Seal([]byte("y"), "aad")
	if err != nil || v != 3 {
		t.Fatalf("Seal = version %d, %v; want 3", v, err)
	}
	if _, err := old.Open(sealedNew, v, "aad"); err == nil {
		t.Error("a sealer without key 3 opened a version-3 value")
	}
}

func TestNewSealerRefuses(t *testing.T) {
	for name, keys := range map[string]map[int][]byte{
		"no keys":      nil,
		"short key":    {1: make([]byte, 16)},
		"long key":     {1: make([]byte, 33)},
		"one bad of 2": {1: key('a'), 2: []byte("short")},
	} {
		if _, err := pay.NewSealer(keys); err == nil {
			t.Errorf("%s: NewSealer succeeded", name)
		}
	}
}
