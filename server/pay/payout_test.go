package pay

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var testRails = Rails{
	"SANDBOX_IMPS": {BeneficiaryAccountIFSC},
	"SANDBOX_NEFT": {BeneficiaryAccountIFSC},
	"SANDBOX_UPI":  {BeneficiaryUPI},
}

func validPayoutInput() PayoutInput {
	return PayoutInput{
		OrderID: "po_1001", Amount: "15.50", CustomerID: "cust_1", CustomerPhone: "9999999999",
		CustomerEmail: "a@example.com", Type: "FULFILL_ONLY",
		Fulfillments: []FulfillmentInput{
			{Methods: []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, Amount: "10",
				Beneficiary: Beneficiary{Type: BeneficiaryAccountIFSC,
					Details: map[string]string{"name": "Asha", "account": "026291800001191", "ifsc": "YESB0000262"}}},
			{Methods: []string{"SANDBOX_UPI.acct2"}, Amount: "5.5",
				Beneficiary: Beneficiary{Type: BeneficiaryUPI, Details: map[string]string{"name": "Ravi", "vpa": "ravi.k@okhdfc"}}},
		},
	}
}

func TestNewPayoutOrder(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o, err := NewPayoutOrder("m1", validPayoutInput(), DefaultRetryPolicy(), testRails, now)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != PayoutReady || o.Amount != (Money{1550, "INR"}) || len(o.ID) != 30 || len(o.Fulfillments) != 2 {
		t.Fatalf("order %+v", o)
	}
	f2 := o.Fulfillments[1]
	if f2.ID != o.ID+"-f2" || f2.Status != FulfillmentCreated || f2.Amount.Amount != 550 ||
		!slices.Equal(f2.Methods, []string{"SANDBOX_UPI"}) {
		t.Fatalf("fulfillment %+v", f2)
	}
}

func TestNewPayoutOrderRefuses(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(in *PayoutInput)
		field string
	}{
		{"sum differs", func(in *PayoutInput) { in.Amount = "15.49" }, "amount"},
		{"amount missing", func(in *PayoutInput) { in.Amount = "" }, "amount"},
		{"negative", func(in *PayoutInput) { in.Fulfillments[0].Amount = "-10" }, "fulfillments[0].amount"},
		{"below one rupee", func(in *PayoutInput) { in.Fulfillments[0].Amount = "0.99" }, "fulfillments[0].amount"},
		{"three decimals", func(in *PayoutInput) { in.Fulfillments[1].Amount = "5.501" }, "fulfillments[1].amount"},
		{"order id short", func(in *PayoutInput) { in.OrderID = "ab" }, "orderId"},
		{"order id chars", func(in *PayoutInput) { in.OrderID = "po/1001" }, "orderId"},
		{"type", func(in *PayoutInput) { in.Type = "FULFILL" }, "type"},
		{"type missing", func(in *PayoutInput) { in.Type = "" }, "type"},
		{"email", func(in *PayoutInput) { in.CustomerEmail = "nope" }, "customerEmail"},
		{"pay and fulfill without customer", func(in *PayoutInput) { in.Type = "PAY_AND_FULFILL"; in.CustomerID = "" }, "customerId"},
		{"no fulfillments", func(in *PayoutInput) { in.Fulfillments = nil }, "fulfillments"},
		{"ifsc fifth char", func(in *PayoutInput) { in.Fulfillments[0].Beneficiary.Details["ifsc"] = "YESB1000262" }, "fulfillments[0].beneficiaryDetails.details.ifsc"},
		{"ifsc lower case", func(in *PayoutInput) { in.Fulfillments[0].Beneficiary.Details["ifsc"] = "yesb0000262" }, "fulfillments[0].beneficiaryDetails.details.ifsc"},
		{"account short", func(in *PayoutInput) { in.Fulfillments[0].Beneficiary.Details["account"] = "12345678" }, "fulfillments[0].beneficiaryDetails.details.account"},
		{"account letters", func(in *PayoutInput) { in.Fulfillments[0].Beneficiary.Details["account"] = "1234567890A" }, "fulfillments[0].beneficiaryDetails.details.account"},
		{"account missing", func(in *PayoutInput) { delete(in.Fulfillments[0].Beneficiary.Details, "account") }, "fulfillments[0].beneficiaryDetails.details.account"},
		{"vpa without handle", func(in *PayoutInput) { in.Fulfillments[1].Beneficiary.Details["vpa"] = "ravi" }, "fulfillments[1].beneficiaryDetails.details.vpa"},
		{"vpa two at", func(in *PayoutInput) { in.Fulfillments[1].Beneficiary.Details["vpa"] = "a@b@c" }, "fulfillments[1].beneficiaryDetails.details.vpa"},
		{"beneficiary type", func(in *PayoutInput) { in.Fulfillments[0].Beneficiary.Type = "IBAN" }, "fulfillments[0].beneficiaryDetails.type"},
		{"card number instead of reference", func(in *PayoutInput) {
			in.Fulfillments[0].Beneficiary = Beneficiary{Type: BeneficiaryCard, Details: map[string]string{"name": "A", "cardReference": "4242 4242"}}
		}, "fulfillments[0].beneficiaryDetails.details.cardReference"},
		{"unknown method", func(in *PayoutInput) { in.Fulfillments[0].Methods = []string{"DUMMY_IMPS"} }, "fulfillments[0].preferredMethodList[0]"},
		{"method twice", func(in *PayoutInput) { in.Fulfillments[0].Methods = []string{"SANDBOX_IMPS", "SANDBOX_IMPS"} }, "fulfillments[0].preferredMethodList[1]"},
		{"method cannot pay beneficiary", func(in *PayoutInput) { in.Fulfillments[1].Methods = []string{"SANDBOX_IMPS"} }, "fulfillments[1].preferredMethodList[0]"},
		{"no method", func(in *PayoutInput) { in.Fulfillments[0].Methods = nil }, "fulfillments[0].preferredMethodList"},
		{"webhook url", func(in *PayoutInput) {
			in.Fulfillments[0].Info.Webhook = &WebhookDetails{URL: "https://u:p@x.example/"}
		}, "fulfillments[0].additionalInfo.webhookDetails.url"},
		{"webhook username colon", func(in *PayoutInput) {
			in.Fulfillments[0].Info.Webhook = &WebhookDetails{URL: "https://x.example/", Username: "a:b"}
		}, "fulfillments[0].additionalInfo.webhookDetails.username"},
		{"attempt threshold", func(in *PayoutInput) { in.Fulfillments[0].Info.AttemptThreshold = -1 }, "fulfillments[0].additionalInfo.attemptThreshold"},
		{"pay and fulfill order id with @", func(in *PayoutInput) { in.Type = "PAY_AND_FULFILL"; in.OrderID = "po@1001" }, "orderId"},
		{"schedule time", func(in *PayoutInput) { in.Fulfillments[0].Info.ScheduleTime = "2030-01-01T00:00:00Z" }, "fulfillments[0].additionalInfo.scheduleTime"},
		{"policy max attempts", func(in *PayoutInput) { in.Policy = &RetryPolicy{MaxAttempts: 11} }, "retryAttemptPolicy.maxAttempts"},
		{"policy retry on", func(in *PayoutInput) { in.Policy = &RetryPolicy{RetryOn: []string{"a b"}} }, "retryAttemptPolicy.retryOn[0]"},
		{"policy backoff", func(in *PayoutInput) { in.Policy = &RetryPolicy{BackoffSeconds: -1} }, "retryAttemptPolicy.backoffSeconds"},
		{"policy on unfulfilled", func(in *PayoutInput) { in.Policy = &RetryPolicy{OnUnfulfilled: "KEEP"} }, "retryAttemptPolicy.onUnfulfilled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validPayoutInput()
			c.edit(&in)
			_, err := NewPayoutOrder("m1", in, DefaultRetryPolicy(), testRails, time.Now())
			e, ok := err.(*Error)
			if !ok || e.Code != EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
			for _, f := range e.Fields {
				if f.Field == c.field {
					return
				}
			}
			t.Fatalf("fields %+v do not name %s", e.Fields, c.field)
		})
	}
}

func TestRetryPolicyNextAttempt(t *testing.T) {
	no := false
	f := func(methods []string, statuses ...AttemptStatus) *Fulfillment {
		fl := &Fulfillment{Methods: methods}
		for i, st := range statuses {
			fl.Attempts = append(fl.Attempts, &PayoutAttempt{Seq: i + 1, Status: st, FailureKind: FailureDeclined, ResponseCode: "BENEFICIARY_BANK_DECLINED"})
		}
		return fl
	}
	two := []string{"A_IMPS", "B_IMPS"}
	cases := []struct {
		name   string
		policy RetryPolicy
		f      *Fulfillment
		ok     bool
		method string // of the next attempt, when ok
		wait   time.Duration
	}{
		{"first attempt", DefaultRetryPolicy(), f(two), true, "A_IMPS", 0},
		{"default: next method after a failure", DefaultRetryPolicy(), f(two, AttemptFailure), true, "B_IMPS", 0},
		{"default: list exhausted", DefaultRetryPolicy(), f(two, AttemptFailure, AttemptFailure), false, "", 0},
		{"never after a success", DefaultRetryPolicy(), f(two, AttemptSuccess), false, "", 0},
		{"never while unknown", DefaultRetryPolicy(), f(two, AttemptInitiated), false, "", 0},
		{"never after manual review", DefaultRetryPolicy(), f(two, AttemptManualReview), false, "", 0},
		{"again after a reversal", DefaultRetryPolicy(), f(two, AttemptReversed), true, "B_IMPS", 0},
		{"retryOn without FAILURE", RetryPolicy{RetryOn: []string{FailureTimeout}, SwitchMethod: true}, f(two, AttemptFailure), false, "", 0},
		{"retryOn a response code", RetryPolicy{RetryOn: []string{"BENEFICIARY_BANK_DECLINED"}, SwitchMethod: true}, f(two, AttemptFailure), true, "B_IMPS", 0},
		{"same method, three times", RetryPolicy{MaxAttempts: 3, RetryOn: []string{FailureDeclined}}, f(two, AttemptFailure, AttemptFailure), true, "A_IMPS", 0},
		{"wraps around the list", RetryPolicy{MaxAttempts: 3, RetryOn: []string{FailureDeclined}, SwitchMethod: true}, f(two, AttemptFailure, AttemptFailure), true, "A_IMPS", 0},
		{"backoff", RetryPolicy{RetryOn: []string{FailureDeclined}, SwitchMethod: true, BackoffSeconds: 30}, f(two, AttemptFailure), true, "B_IMPS", 30 * time.Second},
		{"isRetriable false", DefaultRetryPolicy(), func() *Fulfillment { x := f(two, AttemptFailure); x.Info.IsRetriable = &no; return x }(), false, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, wait := c.f.NextAttempt(c.policy)
			if ok != c.ok || wait != c.wait {
				t.Fatalf("NextAttempt = %v, %s; want %v, %s", ok, wait, c.ok, c.wait)
			}
			if ok {
				if m := c.f.MethodFor(c.policy, len(c.f.Attempts)+1); m != c.method {
					t.Fatalf("method %s, want %s", m, c.method)
				}
			}
		})
	}
}

func TestPayoutDeriveStatus(t *testing.T) {
	o := func(status PayoutStatus, fs ...FulfillmentStatus) *PayoutOrder {
		po := &PayoutOrder{Status: status}
		for _, s := range fs {
			po.Fulfillments = append(po.Fulfillments, &Fulfillment{Status: s, Amount: Money{100, "INR"}})
		}
		return po
	}
	cases := []struct {
		name string
		o    *PayoutOrder
		want PayoutStatus
	}{
		{"not scheduled yet", o(PayoutReady, FulfillmentCreated, FulfillmentCancelled), PayoutReady},
		{"under way", o(PayoutScheduled, FulfillmentPending, FulfillmentSuccess), PayoutScheduled},
		{"all paid", o(PayoutScheduled, FulfillmentSuccess, FulfillmentSuccess), PayoutSuccessful},
		{"all failed", o(PayoutScheduled, FulfillmentFailure, FulfillmentFailure), PayoutFailure},
		{"failed and cancelled", o(PayoutScheduled, FulfillmentFailure, FulfillmentCancelled), PayoutFailure},
		{"all cancelled", o(PayoutReady, FulfillmentCancelled, FulfillmentCancelled), PayoutCancelled},
		{"some paid", o(PayoutScheduled, FulfillmentSuccess, FulfillmentFailure), PayoutPartial},
		{"any in review", o(PayoutScheduled, FulfillmentSuccess, FulfillmentManualReview), PayoutManualReview},
		{"payment failed", func() *PayoutOrder {
			x := o(PayoutReady, FulfillmentCancelled)
			x.PaymentStatus = PaymentFailed
			return x
		}(), PayoutFailure},
		{"collected money for review", func() *PayoutOrder {
			x := o(PayoutScheduled, FulfillmentFailure)
			x.RefundStatus = RefundReview
			return x
		}(), PayoutManualReview},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.o.DeriveStatus(); got != c.want {
				t.Fatalf("DeriveStatus = %s, want %s", got, c.want)
			}
		})
	}
	x := o(PayoutScheduled, FulfillmentSuccess, FulfillmentFailure, FulfillmentCancelled, FulfillmentManualReview)
	if got := x.Unfulfilled(); got != 200 {
		t.Errorf("Unfulfilled = %d, want 200 (failed + cancelled; review is not known unpaid)", got)
	}
}

func TestBeneficiaryLabelHidesTheAccount(t *testing.T) {
	b := Beneficiary{Type: BeneficiaryAccountIFSC, Details: map[string]string{"account": "026291800001191", "ifsc": "YESB0000262"}}
	if l := b.Label(); strings.Contains(l, "0262918") || !strings.HasSuffix(l, "1191") {
		t.Errorf("label %q", l)
	}
}
