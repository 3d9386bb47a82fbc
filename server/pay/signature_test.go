package pay

import (
	"net/url"
	"strings"
	"testing"
)

// The vector of DESIGN §7, which Juspay-integrated merchants' verifiers agree with.
func TestSignReturnParamsVector(t *testing.T) {
	params := map[string]string{"order_id": "ord_42", "status": "CHARGED", "status_id": "21", "cart": "a b*~"}
	got := SignReturnParams("test_response_key", params)
	if want := "bsVvkHCLhEqtmEZ6Jln3r/JFAAHzworwT1kYnFNQUPQ="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
	params["signature"], params["signature_algorithm"] = "ignored", "ignored"
	if again := SignReturnParams("test_response_key", params); again != got {
		t.Fatalf("signature and signature_algorithm must not be signed: %s != %s", again, got)
	}
}

func TestSignedReturnURL(t *testing.T) {
	base, _ := url.Parse("https://shop.example/return?cart=a+b*~")
	raw := SignedReturnURL(base, "test_response_key", "ord_42", StatusCharged)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("cart") != "a b*~" || q.Get("order_id") != "ord_42" || q.Get("status") != "CHARGED" ||
		q.Get("status_id") != "21" || q.Get("signature_algorithm") != "HMAC-SHA256" {
		t.Fatalf("query = %v", q)
	}
	// A query parser decodes the signature once, leaving it form-encoded.
	if got, want := q.Get("signature"), "bsVvkHCLhEqtmEZ6Jln3r%2FJFAAHzworwT1kYnFNQUPQ%3D"; got != want {
		t.Fatalf("signature param = %s, want %s", got, want)
	}
	if want := "signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D"; !strings.Contains(u.RawQuery, want) {
		t.Fatalf("raw query %s lacks %s", u.RawQuery, want)
	}
}
