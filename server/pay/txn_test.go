package pay

import (
	"strings"
	"testing"
	"time"
)

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to Status
		want     bool
	}{
		{StatusStarted, StatusCharged, true},
		{StatusStarted, StatusPendingVBV, true},
		{StatusPendingVBV, StatusCharged, true},
		{StatusPendingVBV, StatusAuthenticationFailed, true},
		{StatusAuthorizing, StatusCharged, true},
		// A late success after a failure is recorded (then auto-refunded).
		{StatusAuthorizationFailed, StatusCharged, true},
		{StatusCharged, StatusAutoRefunded, true},
		// Regressions are refused.
		{StatusCharged, StatusPendingVBV, false},
		{StatusCharged, StatusAuthorizationFailed, false},
		{StatusAuthorizationFailed, StatusPendingVBV, false},
		{StatusAutoRefunded, StatusCharged, false},
		{StatusCharged, StatusCharged, false},
		{StatusPendingVBV, StatusStarted, false},
	}
	for _, tt := range tests {
		if got := CanMove(tt.from, tt.to); got != tt.want {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestOrderStatus(t *testing.T) {
	txn := func(s Status) *Txn { return &Txn{Status: s} }
	tests := []struct {
		name string
		txns []*Txn
		want Status
	}{
		{"no txns", nil, StatusNew},
		{"pending", []*Txn{txn(StatusPendingVBV)}, StatusPendingVBV},
		{"failed then pending", []*Txn{txn(StatusAuthorizationFailed), txn(StatusPendingVBV)}, StatusPendingVBV},
		{"failed twice reports latest", []*Txn{txn(StatusAuthenticationFailed), txn(StatusAuthorizationFailed)}, StatusAuthorizationFailed},
		{"charged wins over later failure", []*Txn{txn(StatusCharged), txn(StatusAuthorizationFailed)}, StatusCharged},
		{"charged wins over pending", []*Txn{txn(StatusPendingVBV), txn(StatusCharged)}, StatusCharged},
		{"auto-refunded txn is no charge", []*Txn{txn(StatusAutoRefunded), txn(StatusAuthorizationFailed)}, StatusAuthorizationFailed},
	}
	for _, tt := range tests {
		if got := OrderStatus(tt.txns); got != tt.want {
			t.Errorf("%s: OrderStatus = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestValidateTxn(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	card := func(mod func(*TxnInput)) TxnInput {
		in := TxnInput{PaymentMethodType: "CARD", CardNumber: "4242 4242 4242 4242", CardExpMonth: "12",
			CardExpYear: "30", CardSecurityCode: "123", NameOnCard: "A Shopper"}
		if mod != nil {
			mod(&in)
		}
		return in
	}
	tests := []struct {
		name   string
		in     TxnInput
		fields string // comma-separated fields named by the error; "" = valid
	}{
		{"valid visa", card(nil), ""},
		{"valid 4-digit year", card(func(i *TxnInput) { i.CardExpYear = "2030" }), ""},
		{"expires this month", card(func(i *TxnInput) { i.CardExpMonth, i.CardExpYear = "11", "2026" }), ""},
		{"expired last month", card(func(i *TxnInput) { i.CardExpMonth, i.CardExpYear = "10", "2026" }), "card_exp_year"},
		{"bad luhn", card(func(i *TxnInput) { i.CardNumber = "4242424242424241" }), "card_number"},
		{"letters", card(func(i *TxnInput) { i.CardNumber = "4242abcd42424242" }), "card_number"},
		{"short cvv", card(func(i *TxnInput) { i.CardSecurityCode = "12" }), "card_security_code"},
		{"amex needs 4-digit cvv", card(func(i *TxnInput) { i.CardNumber = "378282246310005" }), "card_security_code"},
		{"month 13", card(func(i *TxnInput) { i.CardExpMonth = "13" }), "card_exp_month"},
		{"brand mismatch", card(func(i *TxnInput) { i.PaymentMethod = "AMEX" }), "payment_method"},
		{"several problems at once", card(func(i *TxnInput) { i.CardNumber, i.CardSecurityCode = "1", "" }), "card_number,card_security_code"},
		{"missing type", TxnInput{}, "payment_method_type"},
		{"unknown type", TxnInput{PaymentMethodType: "CASH"}, "payment_method_type"},
		{"upi collect", TxnInput{PaymentMethodType: "UPI", UPIVPA: "success@upi"}, ""},
		{"upi bad vpa", TxnInput{PaymentMethodType: "UPI", UPIVPA: "nope"}, "upi_vpa"},
		{"upi intent needs no vpa", TxnInput{PaymentMethodType: "UPI", TxnType: "UPI_PAY"}, ""},
		{"nb", TxnInput{PaymentMethodType: "NB", PaymentMethod: "NB_HDFC"}, ""},
		{"nb unknown bank", TxnInput{PaymentMethodType: "NB", PaymentMethod: "NB_NOPE"}, "payment_method"},
		{"wallet missing", TxnInput{PaymentMethodType: "WALLET"}, "payment_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			c, err := ValidateTxn(&in, now)
			if tt.fields == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if in.PaymentMethodType == MethodCard && (c == nil || c.Brand == "" || in.PaymentMethod != c.Brand) {
					t.Fatalf("card = %v, method %q", c, in.PaymentMethod)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("err = %v, want *Error naming %s", err, tt.fields)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != tt.fields {
				t.Fatalf("fields = %v, want %s", got, tt.fields)
			}
		})
	}
}

func TestCardBrand(t *testing.T) {
	for number, want := range map[string]string{
		"4242424242424242": "VISA", "5555555555554444": "MASTERCARD", "2223003122003222": "MASTERCARD",
		"378282246310005": "AMEX", "6011111111111117": "DISCOVER", "3566002020360505": "JCB",
		"6521000000000007": "DISCOVER", "6070000000000004": "RUPAY", "36227206271667": "DINERS",
	} {
		if got := CardBrand(number); got != want {
			t.Errorf("CardBrand(%s) = %q, want %q", number, got, want)
		}
	}
}

func TestCardNeverPrintsNumber(t *testing.T) {
	c := Card{Number: "4242424242424242", CVV: "123"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "4242424242424242") || !strings.HasSuffix(s, "4242") {
			t.Fatalf("card printed as %q", s)
		}
	}
}

// TestReportedTxn: an order is shown with its kept charge, never a
// conflicted duplicate, else with its latest txn.
func TestReportedTxn(t *testing.T) {
	failed := &Txn{TxnID: "m-o-1", Status: StatusAuthorizationFailed}
	kept := &Txn{TxnID: "m-o-2", Status: StatusCharged}
	duplicate := &Txn{TxnID: "m-o-3", Status: StatusCharged, Conflicted: true}
	pending := &Txn{TxnID: "m-o-4", Status: StatusPendingVBV}
	for _, tt := range []struct {
		name string
		txns []*Txn
		want *Txn
	}{
		{"no txns", nil, nil},
		{"only failures: the latest", []*Txn{failed, pending}, pending},
		{"the kept charge, whatever came after", []*Txn{failed, kept, duplicate, pending}, kept},
		{"a conflicted charge is not the order's", []*Txn{failed, duplicate, pending}, pending},
	} {
		if got := ReportedTxn(tt.txns); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
