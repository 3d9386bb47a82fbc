package e2e_test

import "testing"

// TestBrowserSignatureVerifier checks the merchant-side verifier the browser
// tests use against DESIGN §7's test vector, so a verified redirect means
// what a Juspay merchant's code would conclude.
func TestBrowserSignatureVerifier(t *testing.T) {
	const key = "test_response_key"
	// What a redirect carries: the signature form-encoded twice.
	raw := "cart=a+b*%7E&order_id=ord_42&status=CHARGED&status_id=21" +
		"&signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D&signature_algorithm=HMAC-SHA256"
	if err := browserVerifySignature(key, raw); err != nil {
		t.Errorf("the test vector does not verify: %v", err)
	}
	if got, want := browserJavaURLEncode("cart=a b*~&x"), "cart%3Da+b*%7E%26x"; got != want {
		t.Errorf("browserJavaURLEncode = %q, want %q", got, want)
	}
	for _, bad := range []string{
		"cart=a+b*%7E&order_id=ord_43&status=CHARGED&status_id=21&signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D&signature_algorithm=HMAC-SHA256",
		"cart=a+b*%7E&order_id=ord_42&status=CHARGED&status_id=21&signature=bsVvkHCLhEqtmEZ6Jln3r%2FJFAAHzworwT1kYnFNQUPQ%3D&signature_algorithm=HMAC-SHA256",
		"cart=a+b*%7E&order_id=ord_42&status=CHARGED&status_id=21&signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D",
		"order_id=ord_42&status=CHARGED&status_id=21&signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D&signature_algorithm=HMAC-SHA256",
	} {
		if browserVerifySignature(key, bad) == nil {
			t.Errorf("verified a tampered or incomplete return: %s", bad)
		}
	}
}
