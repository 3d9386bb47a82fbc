package pay_test

import (
	"errors"
	"strings"
	"testing"

	"switchyard/server/pay"
)

// fieldsOf returns the field names of an *pay.Error, or fails the test.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var pe *pay.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pay.Error", err, err)
	}
	if pe.Code != pay.EINVALID {
		t.Errorf("error code = %q, want %q", pe.Code, pay.EINVALID)
	}
	var names []string
	for _, f := range pe.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		// wantField is the field the refusal names; empty means accepted.
		wantField string
	}{
		// Accepted, 2-decimal currency.
		{in: "100", currency: "INR", want: 10000},
		{in: "100.15", currency: "INR", want: 10015},
		{in: "100.10", currency: "INR", want: 10010},
		{in: "100.1", currency: "INR", want: 10010},
		{in: "0.01", currency: "INR", want: 1},
		{in: "0.10", currency: "INR", want: 10},
		{in: "1", currency: "USD", want: 100},
		// Trailing zeros carry no value, so they don't count as decimals.
		{in: "100.100", currency: "INR", want: 10010},
		{in: "5.000000000000000000000", currency: "INR", want: 500},
		// Leading zeros are tolerated, as any decimal parser would.
		{in: "01.5", currency: "INR", want: 150},
		{in: "000000000000000000000007", currency: "INR", want: 700},
		// Zero-decimal and three-decimal currencies.
		{in: "100", currency: "JPY", want: 100},
		{in: "100.0", currency: "JPY", want: 100},
		{in: "1.234", currency: "KWD", want: 1234},
		{in: "1.2", currency: "KWD", want: 1200},
		// The cap, in major units, is inclusive.
		{in: "1000000000000", currency: "INR", want: 1_000_000_000_000_00},
		{in: "1000000000000.00", currency: "INR", want: 1_000_000_000_000_00},
		{in: "1000000000000", currency: "JPY", want: 1_000_000_000_000},
		{in: "1000000000000", currency: "KWD", want: 1_000_000_000_000_000},
		{in: "999999999999.999", currency: "KWD", want: 999_999_999_999_999},

		// Refused.
		{in: "100.153", currency: "INR", wantField: "amount"},
		{in: "100.1532", currency: "INR", wantField: "amount"},
		{in: "100.5", currency: "JPY", wantField: "amount"},
		{in: "1.2345", currency: "KWD", wantField: "amount"},
		{in: "-1", currency: "INR", wantField: "amount"},
		{in: "+1", currency: "INR", wantField: "amount"},
		{in: "1e3", currency: "INR", wantField: "amount"},
		{in: "1E3", currency: "INR", wantField: "amount"},
		{in: "0x10", currency: "INR", wantField: "amount"},
		{in: "", currency: "INR", wantField: "amount"},
		{in: "0", currency: "INR", wantField: "amount"},
		{in: "0.00", currency: "INR", wantField: "amount"},
		{in: "0.001", currency: "INR", wantField: "amount"},
		{in: "000", currency: "JPY", wantField: "amount"},
		{in: " 1", currency: "INR", wantField: "amount"},
		{in: "1 ", currency: "INR", wantField: "amount"},
		{in: "1.", currency: "INR", wantField: "amount"},
		{in: ".5", currency: "INR", wantField: "amount"},
		{in: ".", currency: "INR", wantField: "amount"},
		{in: "1.2.3", currency: "INR", wantField: "amount"},
		{in: "1,000", currency: "INR", wantField: "amount"},
		{in: "1_000", currency: "INR", wantField: "amount"},
		{in: "NaN", currency: "INR", wantField: "amount"},
		{in: "Inf", currency: "INR", wantField: "amount"},
		{in: "١٠٠", currency: "INR", wantField: "amount"}, // Arabic-Indic digits
		{in: "1000000000000.01", currency: "INR", wantField: "amount"},
		{in: "1000000000000.001", currency: "KWD", wantField: "amount"},
		{in: "1000000000001", currency: "INR", wantField: "amount"},
		{in: "99999999999999", currency: "INR", wantField: "amount"},
		{in: "9223372036854775808", currency: "INR", wantField: "amount"},
		{in: strings.Repeat("9", 400), currency: "INR", wantField: "amount"},
		// The currency is checked first: an amount is meaningless without it.
		{in: "100", currency: "XYZ", wantField: "currency"},
		{in: "100", currency: "inr", wantField: "currency"},
		{in: "100", currency: "", wantField: "currency"},
		{in: "", currency: "XYZ", wantField: "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+"/"+tt.in, func(t *testing.T) {
			got, err := pay.ParseAmount(tt.in, tt.currency)
			if tt.wantField == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseAmount(%q, %s) = %d, %v; want %d, nil", tt.in, tt.currency, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseAmount(%q, %s) = %d, nil; want an error naming %s", tt.in, tt.currency, got, tt.wantField)
			}
			if fields := fieldsOf(t, err); len(fields) != 1 || fields[0] != tt.wantField {
				t.Errorf("ParseAmount(%q, %s) names fields %q, want [%s]", tt.in, tt.currency, fields, tt.wantField)
			}
			if got != 0 {
				t.Errorf("ParseAmount(%q, %s) returned %d with its error, want 0", tt.in, tt.currency, got)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{10015, "INR", "100.15"},
		{10010, "INR", "100.1"},
		{10000, "INR", "100"},
		{1, "INR", "0.01"},
		{10, "INR", "0.1"},
		{0, "INR", "0"},
		{-150, "INR", "-1.5"},
		{-1, "INR", "-0.01"},
		{100, "JPY", "100"},
		{1234, "KWD", "1.234"},
		{1200, "KWD", "1.2"},
		{1005, "KWD", "1.005"},
		{1_000_000_000_000_00, "INR", "1000000000000"},
		// An unknown currency has no known exponent and is shown in minor
		// units rather than guessed at.
		{10015, "XYZ", "10015"},
	}
	for _, tt := range tests {
		if got := pay.FormatAmount(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

// TestAmountRoundTrip: the canonical text of an amount (what FormatAmount
// writes) parses back to itself, so the API echoes exactly what it stores.
func TestAmountRoundTrip(t *testing.T) {
	canonical := map[string][]string{
		"INR": {"1", "0.01", "0.1", "100", "100.15", "100.1", "99999.99", "1000000000000", "999999999999.99"},
		"JPY": {"1", "100", "1000000000000"},
		"KWD": {"0.001", "1.234", "1.2", "1000000000000"},
	}
	for currency, inputs := range canonical {
		for _, in := range inputs {
			minor, err := pay.ParseAmount(in, currency)
			if err != nil {
				t.Errorf("ParseAmount(%q, %s): %v", in, currency, err)
				continue
			}
			if out := pay.FormatAmount(minor, currency); out != in {
				t.Errorf("FormatAmount(ParseAmount(%q, %s)) = %q", in, currency, out)
			}
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	for code, want := range map[string]int{"INR": 2, "USD": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3} {
		if got, ok := pay.CurrencyExponent(code); !ok || got != want {
			t.Errorf("CurrencyExponent(%s) = %d, %v; want %d, true", code, got, ok, want)
		}
	}
	for _, code := range []string{"", "inr", "XYZ", "INRR"} {
		if _, ok := pay.CurrencyExponent(code); ok {
			t.Errorf("CurrencyExponent(%q) is known", code)
		}
	}
}

// fuzzCurrencies are the currencies FuzzParseAmount picks from: one of each
// exponent, plus an unknown code.
var fuzzCurrencies = []string{"INR", "JPY", "KWD", "USD", "XYZ"}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"100", "100.15", "100.153", "0", "0.00", "-1", "1e3", "", " 1", "1.", ".5",
		"01.5", "1000000000000", "1000000000000.01", "9223372036854775807", "1.234", "00000.0000001"} {
		for i := range fuzzCurrencies {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, c uint8) {
		currency := fuzzCurrencies[int(c)%len(fuzzCurrencies)]
		v, err := pay.ParseAmount(s, currency)
		if err != nil {
			var pe *pay.Error
			if !errors.As(err, &pe) || pe.Code != pay.EINVALID || len(pe.Fields) != 1 ||
				(pe.Fields[0].Field != "amount" && pe.Fields[0].Field != "currency") {
				t.Fatalf("ParseAmount(%q, %s) error %#v is not an EINVALID naming amount or currency", s, currency, err)
			}
			return
		}
		exp, _ := pay.CurrencyExponent(currency)
		limit := int64(pay.MaxMajorAmount)
		for range exp {
			limit *= 10
		}
		if v <= 0 || v > limit {
			t.Fatalf("ParseAmount(%q, %s) = %d, outside (0, %d]", s, currency, v, limit)
		}
		text := pay.FormatAmount(v, currency)
		back, err := pay.ParseAmount(text, currency)
		if err != nil || back != v {
			t.Fatalf("ParseAmount(%q, %s) = %d, formatted %q, which parses to %d, %v", s, currency, v, text, back, err)
		}
	})
}
