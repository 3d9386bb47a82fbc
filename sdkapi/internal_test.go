package sdkapi

import (
	"testing"

	"switchyard/server/pay"
)

func TestFormatMajor(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{10000, "INR", "100.00"},
		{10015, "INR", "100.15"},
		{1, "INR", "0.01"},
		{50, "USD", "0.50"},
		{1500, "JPY", "1500"},
		{1250, "KWD", "1.250"},
		{5, "BHD", "0.005"},
		{-150, "EUR", "-1.50"},
	} {
		if got := formatMajor(pay.Money{Amount: c.minor, Currency: c.currency}); got != c.want {
			t.Errorf("formatMajor(%d %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"https://pay.example.com", "https://pay.example.com", true},
		{"HTTPS://Pay.Example.COM:443", "https://pay.example.com", true},
		{"http://pay.example.com:80/", "http://pay.example.com", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"https://[::1]:8443", "https://[::1]:8443", true},
		{"null", "", false},
		{"file://", "", false},
		{"https://pay.example.com/path", "", false},
		{"https://user@pay.example.com", "", false},
		{"", "", false},
	} {
		got, ok := normalizeOrigin(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestBearer(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc ", "abc", true},
		{"BEARER  abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "abc", false},
		{"", "", false},
	} {
		got, ok := bearer(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
