package payout

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/pay"
)

// Juspay's samples (testdata, from the reference) are the golden shapes:
// every field they show is in what we render, at the same place and of the
// same JSON type, except the few listed that have no meaning here.
var notRendered = []string{
	"fulfillments[].transactions[].epgTxnId",                    // a bank's own id; rails here have one ref
	"fulfillments[].additionalInfo.useThisAsTR",                 // not accepted
	"fulfillments[].additionalInfo.webhookDetails.customHeader", // not accepted
	"info.epgTxnId",
}

func sampleOrder() *pay.PayoutOrder {
	at := time.Date(2023, 12, 27, 12, 23, 1, 0, time.UTC)
	retriable := false
	o := &pay.PayoutOrder{
		ID: "bbeef26a7b64a73813c2b7b9db7ef2", MerchantID: "m", OrderID: "1703679781", Type: pay.FulfillOnly,
		Status: pay.PayoutFailure, Amount: pay.Money{Amount: 10400, Currency: "INR"}, CustomerID: "cth_59Yibs1JauYP6WJP",
		UDF: [5]string{"udf1", "udf2", "udf3", "udf4", "udf5"}, CreatedAt: at, UpdatedAt: at,
	}
	f := &pay.Fulfillment{
		ID: o.ID + "-f1", PayoutOrderID: o.ID, Seq: 1, Status: pay.FulfillmentFailure, Amount: o.Amount,
		Methods:     []string{"SANDBOX_IMPS"},
		Beneficiary: pay.Beneficiary{Type: "ACCOUNT_IFSC", Details: map[string]string{"name": "A", "ifsc": "YESB0000262", "account": "026291800001191"}},
		UDF:         [5]string{"String1", "String2", "String3", "String4", "String5"},
		Info: pay.AdditionalInfo{Remark: "Payout Transaction", IsRetriable: &retriable, AttemptThreshold: 25,
			Webhook: &pay.WebhookDetails{URL: "https://www.test.com/callback", Username: "test", Password: "never shown"}},
		StatusUpdatedAt: at, CreatedAt: at, UpdatedAt: at,
	}
	f.Attempts = []*pay.PayoutAttempt{{
		ID: f.ID + "-t1", FulfillmentID: f.ID, PayoutOrderID: o.ID, Seq: 1, Method: "SANDBOX_IMPS", Amount: o.Amount,
		Status: pay.AttemptFailure, FailureKind: pay.FailureDeclined, ResponseCode: "FAILURE",
		ResponseMessage: "Amount Lies In Failure Range.", GatewayRef: "spo_1", CreatedAt: at, UpdatedAt: at,
	}}
	o.Fulfillments = []*pay.Fulfillment{f}
	return o
}

// shape flattens a JSON value into "path: type" entries; array elements
// share the path "[]".
func shape(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			shape(p, e, out)
		}
	case []any:
		for _, e := range x {
			shape(prefix+"[]", e, out)
		}
		if len(x) == 0 {
			out[prefix] = "array"
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "bool"
	case nil:
		out[prefix] = "null"
	}
}

func shapeOf(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	shape("", v, out)
	return out
}

func compareShapes(t *testing.T, sample string, ours []byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + sample)
	if err != nil {
		t.Fatal(err)
	}
	want, got := shapeOf(t, data), shapeOf(t, ours)
	for path, typ := range want {
		if slices.Contains(notRendered, path) {
			continue
		}
		// An empty array in the sample says nothing of its elements.
		if g, ok := got[path]; !ok && !(typ == "array" && hasPrefix(got, path+"[]")) {
			t.Errorf("%s: %s missing (sample has a %s)", sample, path, typ)
		} else if ok && g != typ && !(typ == "array" || g == "array") {
			t.Errorf("%s: %s is a %s, the sample's a %s", sample, path, g, typ)
		}
	}
	if strings.Contains(string(ours), "never shown") {
		t.Errorf("%s: the webhook password is rendered", sample)
	}
}

func hasPrefix(m map[string]string, p string) bool {
	for k := range m {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func TestStatusMatchesJuspaySample(t *testing.T) {
	b, err := json.Marshal(orderWire(sampleOrder()))
	if err != nil {
		t.Fatal(err)
	}
	compareShapes(t, "payout_orderStatus_fulfillmentsFailure.json", b)
}

func TestCallbacksMatchJuspaySamples(t *testing.T) {
	o := sampleOrder()
	f := o.Fulfillments[0]
	a := f.Attempts[0]
	a.Status = pay.AttemptSuccess
	f.Status = pay.FulfillmentSuccess
	o.Status = pay.PayoutSuccessful
	ev := &events{o: o, now: o.UpdatedAt}
	ev.txn(f, a)
	ev.fulfillment(f, string(f.Status))
	ev.order()
	for i, sample := range []string{"payout_webhooks_txn-success.json", "payout_webhooks_fulfillment-success.json",
		"payout_webhooks_order-success.json"} {
		compareShapes(t, sample, []byte(ev.out[i].Payload))
		if ev.out[i].Dest == nil && i < 2 {
			t.Errorf("%s: the fulfillment's webhookDetails are not its destination", sample)
		}
	}
	var cb Callback
	json.Unmarshal([]byte(ev.out[0].Payload), &cb)
	if cb.ID != ev.out[0].ID || cb.Label != LabelTxn || cb.Value != "SUCCESS" || cb.Category != "INFO" {
		t.Errorf("envelope %+v (event id %s)", cb, ev.out[0].ID)
	}
}
