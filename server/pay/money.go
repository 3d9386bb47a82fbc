package pay

import (
	"strconv"
	"strings"
)

// currencyExponents is the ISO 4217 table of active currencies and their
// minor-unit exponents: amounts are stored as int64 minor units, and the API
// speaks decimal major units with at most this many decimals.
var currencyExponents = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// MaxMajorAmount caps any single amount (in major units): far above any real
// payment, far below int64 overflow in minor units.
const MaxMajorAmount = 1_000_000_000_000

// CurrencyExponent returns the number of minor-unit decimals of an ISO 4217
// currency code, and whether the code is known.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencyExponents[code]
	return e, ok
}

// Money is an amount in minor units of one currency. There is deliberately no
// arithmetic across currencies and no float anywhere.
type Money struct {
	Amount   int64
	Currency string
}

// ParseAmount parses a decimal amount in major units ("100", "100.15") of
// currency into minor units. It refuses signs, exponents, more decimals than
// the currency has, zero, and anything above MaxMajorAmount.
func ParseAmount(s, currency string) (int64, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return 0, Invalid("currency", "unknown ISO 4217 currency code")
	}
	if s == "" {
		return 0, Invalid("amount", "is required")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return 0, Invalid("amount", "must be a positive decimal number such as 100 or 100.15")
	}
	// Trailing zeros carry no value: "10.50" is fine for a 1-decimal-free read.
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		if exp == 0 {
			return 0, Invalid("amount", currency+" takes no decimals")
		}
		return 0, Invalid("amount", "at most "+strconv.Itoa(exp)+" decimals for "+currency)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 13 {
		return 0, Invalid("amount", "must be at most 1000000000000")
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	if w > MaxMajorAmount {
		return 0, Invalid("amount", "must be at most 1000000000000")
	}
	minor := w
	for i := 0; i < exp; i++ {
		minor *= 10
	}
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", exp-len(frac)), 10, 64)
		minor += f
	}
	if minor > MaxMajorAmount*pow10(exp) {
		return 0, Invalid("amount", "must be at most 1000000000000")
	}
	if minor == 0 {
		return 0, Invalid("amount", "must be greater than 0")
	}
	return minor, nil
}

// FormatAmount renders minor units of currency as a decimal string in major
// units with no trailing zeros ("100", "100.5", "100.15"), the form JSON
// numbers take in Juspay's responses.
func FormatAmount(minor int64, currency string) string {
	exp, _ := CurrencyExponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	p := pow10(exp)
	s := strconv.FormatInt(minor/p, 10)
	if frac := minor % p; frac != 0 {
		f := strconv.FormatInt(frac, 10)
		f = strings.Repeat("0", exp-len(f)) + f
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

func pow10(n int) int64 {
	p := int64(1)
	for i := 0; i < n; i++ {
		p *= 10
	}
	return p
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
