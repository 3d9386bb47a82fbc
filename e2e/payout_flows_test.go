package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/app"
	"switchyard/server/pay"
)

// A fulfillment whose first rail declines is paid on the next one of its
// preferredMethodList (the default policy); the status API lists both
// attempts, the callbacks report every step in the order it happened, the
// fulfillment's own webhookDetails receive its callbacks, and the rails
// paid the beneficiary exactly once.
func TestPayoutRetriedOnNextRail(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_retry")
	own := newCallbackSink(t)
	sh.rail(t, "SANDBOX_IMPS", `{"success_rate": 0}`)

	body := payoutBody("po_retry_1", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "104.50")
	f0 := body["fulfillments"].([]any)[0].(map[string]any)
	f0["additionalInfo"] = map[string]any{"remark": "r", "webhookDetails": map[string]any{
		"url": own.srv.URL + "/own", "username": "fulfil", "password": "fulfil-secret"}}
	created := sh.create(t, body)
	if created.Status != "READY_FOR_FULFILLMENT" || created.Fulfillments[0].Status != "CREATED" ||
		len(created.Fulfillments[0].Transactions) != 0 {
		t.Fatalf("created: %+v", created)
	}

	o := sh.final(t, "po_retry_1", 20*time.Second)
	f := o.Fulfillments[0]
	if o.Status != "FULFILLMENTS_SUCCESSFUL" || f.Status != "SUCCESS" {
		t.Fatalf("order %s, fulfillment %s; want FULFILLMENTS_SUCCESSFUL, SUCCESS", o.Status, f.Status)
	}
	if got, want := f.txnSummary(), []string{"SANDBOX_IMPS FAILURE", "SANDBOX_NEFT SUCCESS"}; !slices.Equal(got, want) {
		t.Fatalf("transactions %v, want %v", got, want)
	}
	if f.Transactions[0].ResponseCode != "BENEFICIARY_BANK_DECLINED" || f.Transactions[1].ResponseCode != "00" {
		t.Errorf("response codes %q, %q", f.Transactions[0].ResponseCode, f.Transactions[1].ResponseCode)
	}
	if !slices.Equal(f.FulfillmentMethodList, []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}) {
		t.Errorf("fulfillmentMethodList %v", f.FulfillmentMethodList)
	}

	id := o.internalID()
	wantOrder := []string{
		"ORDER_READY_FOR_FULFILLMENT", "ORDER_FULFILLMENTS_SCHEDULED", "FULFILLMENT_ORDER_INITIATED",
		"FULFILLMENT_TXN_INITIATED", "FULFILLMENT_TXN_FAILURE", "FULFILLMENT_TXN_INITIATED",
		"FULFILLMENT_TXN_SUCCESS", "FULFILLMENT_ORDER_SUCCESS", "ORDER_FULFILLMENTS_SUCCESSFUL",
	}
	if got := eventOrder(t, s, sh.id, id); !slices.Equal(got, wantOrder) {
		t.Fatalf("callbacks written in order\n%v\nwant\n%v", got, wantOrder)
	}
	// ORDER callbacks go to the merchant's URL, the fulfillment's own to
	// its webhookDetails, each with its Basic auth and the signature.
	orderCbs := sh.callbacksOf(t, id, "po_retry_1", []string{
		"ORDER READY_FOR_FULFILLMENT", "ORDER FULFILLMENTS_SCHEDULED", "ORDER FULFILLMENTS_SUCCESSFUL"})
	for _, cb := range orderCbs {
		if cb.Label != "ORDER" {
			t.Errorf("%s %s went to the merchant's URL, not the fulfillment's", cb.Label, cb.Value)
		}
		checkCallback(t, cb, "shop", "hook-secret", sh.creds.ResponseKey)
	}
	ownShop := &payoutShop{hooks: own}
	ownCbs := ownShop.callbacksOf(t, id, "po_retry_1", []string{"FULFILLMENT_ORDER INITIATED",
		"FULFILLMENT_TXN INITIATED", "FULFILLMENT_TXN FAILURE", "FULFILLMENT_TXN INITIATED",
		"FULFILLMENT_TXN SUCCESS", "FULFILLMENT_ORDER SUCCESS"})
	for _, cb := range ownCbs {
		checkCallback(t, cb, "fulfil", "fulfil-secret", sh.creds.ResponseKey)
		if cb.Label == "FULFILLMENT_TXN" && cb.Value == "SUCCESS" {
			var info struct {
				ID                string `json:"id"`
				FulfillmentID     string `json:"FulfillmentId"`
				FulfillmentMethod string `json:"fulfillmentMethod"`
				Attempted         bool   `json:"attempted"`
			}
			json.Unmarshal(cb.Info, &info)
			if info.ID != f.ID+"-t2" || info.FulfillmentID != f.ID || info.FulfillmentMethod != "SANDBOX_NEFT" || !info.Attempted {
				t.Errorf("FULFILLMENT_TXN SUCCESS info: %+v", info)
			}
		}
	}

	// The rails' books: one decline on IMPS, one credit of 104.50 on NEFT.
	if c := sh.counters(t, "SANDBOX_IMPS"); c.Attempts != 1 || c.Failed != 1 || c.AmountPaid != 0 {
		t.Errorf("IMPS counters %+v", c)
	}
	if c := sh.counters(t, "SANDBOX_NEFT"); c.Attempts != 1 || c.Succeeded != 1 || c.AmountPaid != 10450 {
		t.Errorf("NEFT counters %+v", c)
	}
}

func checkCallback(t *testing.T, cb callback, user, password, responseKey string) {
	t.Helper()
	if cb.User != user || cb.Password != password {
		t.Errorf("%s %s: Basic auth %q/%q, want %q", cb.Label, cb.Value, cb.User, cb.Password, user)
	}
	ts, _, _ := strings.Cut(strings.TrimPrefix(cb.Signature, "t="), ",")
	var unix int64
	json.Unmarshal([]byte(ts), &unix)
	if cb.Signature != pay.WebhookSignature(responseKey, unix, cb.Body) {
		t.Errorf("%s %s: signature %q does not verify", cb.Label, cb.Value, cb.Signature)
	}
	if cb.ID == "" || cb.Category != "INFO" {
		t.Errorf("%s %s: envelope id %q category %q", cb.Label, cb.Value, cb.ID, cb.Category)
	}
}

// When every rail of the list declines, the fulfillment and the order fail
// after one attempt per rail, and nothing was paid.
func TestPayoutAllRailsFail(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_allfail")
	sh.rail(t, "SANDBOX_IMPS", `{"success_rate": 0}`)
	sh.rail(t, "SANDBOX_NEFT", `{"down": true}`)

	sh.create(t, payoutBody("po_fail_1", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "10"))
	o := sh.final(t, "po_fail_1", 20*time.Second)
	f := o.Fulfillments[0]
	if o.Status != "FULFILLMENTS_FAILURE" || f.Status != "FAILURE" {
		t.Fatalf("order %s, fulfillment %s", o.Status, f.Status)
	}
	if got := f.txnSummary(); !slices.Equal(got, []string{"SANDBOX_IMPS FAILURE", "SANDBOX_NEFT FAILURE"}) {
		t.Fatalf("transactions %v", got)
	}
	if f.Transactions[1].ResponseCode != "rail_down" {
		t.Errorf("NEFT response code %q, want rail_down", f.Transactions[1].ResponseCode)
	}
	sh.callbacksOf(t, o.internalID(), "po_fail_1", []string{"FULFILLMENT_TXN FAILURE", "FULFILLMENT_TXN FAILURE",
		"FULFILLMENT_ORDER FAILURE", "ORDER FULFILLMENTS_FAILURE"})
	if c := sh.counters(t, "SANDBOX_IMPS"); c.AmountPaid != 0 || c.Failed != 1 {
		t.Errorf("IMPS counters %+v", c)
	}
	// A down rail does not even record the request.
	if c := sh.counters(t, "SANDBOX_NEFT"); c.Attempts != 0 {
		t.Errorf("NEFT counters %+v", c)
	}
}

// A retry policy of the order's own: one attempt only, so a decline fails
// the order even though another method is listed.
func TestPayoutRetryPolicyOfTheOrder(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_policy")
	sh.rail(t, "SANDBOX_IMPS", `{"success_rate": 0}`)
	body := payoutBody("po_policy_1", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "5")
	body["retryAttemptPolicy"] = map[string]any{"maxAttempts": 1}
	sh.create(t, body)
	o := sh.final(t, "po_policy_1", 20*time.Second)
	if o.Status != "FULFILLMENTS_FAILURE" || len(o.Fulfillments[0].Transactions) != 1 {
		t.Fatalf("order %s with transactions %v", o.Status, o.Fulfillments[0].txnSummary())
	}
	if c := sh.counters(t, "SANDBOX_NEFT"); c.Attempts != 0 {
		t.Errorf("NEFT was tried: %+v", c)
	}

	// The merchant's default: retry only when a rail was unreachable, so a
	// decline is final.
	sh.s.do(t, http.MethodPut, "/admin/v1/merchants/payout_policy/payout-settings", bearer(adminToken), "application/json",
		`{"retryAttemptPolicy": {"retryOn": ["TIMEOUT"]}}`).want(t, http.StatusOK)
	var got struct {
		Policy struct {
			RetryOn       []string `json:"retryOn"`
			SwitchMethod  bool     `json:"switchMethod"`
			OnUnfulfilled string   `json:"onUnfulfilled"`
		} `json:"retryAttemptPolicy"`
	}
	sh.s.get(t, "/admin/v1/merchants/payout_policy/payout-settings", bearer(adminToken)).want(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got.Policy.RetryOn, []string{"TIMEOUT"}) || !got.Policy.SwitchMethod || got.Policy.OnUnfulfilled != "REFUND" {
		t.Fatalf("stored policy %+v", got.Policy)
	}
	sh.create(t, payoutBody("po_policy_2", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "5"))
	if o := sh.final(t, "po_policy_2", 20*time.Second); o.Status != "FULFILLMENTS_FAILURE" ||
		!slices.Equal(o.Fulfillments[0].txnSummary(), []string{"SANDBOX_IMPS FAILURE"}) {
		t.Fatalf("under the merchant's policy: %s %v", o.Status, o.Fulfillments[0].txnSummary())
	}
	// ... while a rail that is down is still skipped for the next.
	sh.rail(t, "SANDBOX_IMPS", `{"down": true}`)
	sh.create(t, payoutBody("po_policy_3", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "5"))
	if o := sh.final(t, "po_policy_3", 20*time.Second); o.Status != "FULFILLMENTS_SUCCESSFUL" ||
		!slices.Equal(o.Fulfillments[0].txnSummary(), []string{"SANDBOX_IMPS FAILURE", "SANDBOX_NEFT SUCCESS"}) {
		t.Fatalf("a down rail under the merchant's policy: %s %v", o.Status, o.Fulfillments[0].txnSummary())
	}
	r := sh.s.do(t, http.MethodPut, "/admin/v1/merchants/payout_policy/payout-settings", bearer(adminToken), "application/json",
		`{"retryAttemptPolicy": {"maxAttempts": 0, "backoffSeconds": -5}}`)
	if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "retryAttemptPolicy.backoffSeconds") {
		t.Errorf("a bad policy: %d %s", r.Code, r.Body)
	}
}

// A fulfillment not yet attempted can be cancelled; once attempted, not.
func TestPayoutCancel(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_cancel")
	// A pay-and-fulfill order waits for its payment, so its fulfillments
	// are not attempted yet.
	sh.s.do(t, http.MethodPut, "/admin/v1/merchants/payout_cancel/gateways/sandbox_a", bearer(adminToken),
		"application/json", `{"connector": "sandbox", "credentials": {"processor": "pc"}, "payment_methods": ["CARD"], "currencies": ["INR"]}`).
		want(t, http.StatusCreated)
	o := sh.create(t, payoutBody("po_cancel_1", "PAY_AND_FULFILL", []string{"SANDBOX_IMPS"}, "5", "6"))
	var cancelled payoutOrder
	sh.s.postJSON(t, "/payout/merchant/v1/fulfillment/"+o.Fulfillments[0].ID+"/cancel", sh.key, "{}").
		want(t, http.StatusOK).decode(t, &cancelled)
	if cancelled.Fulfillments[0].Status != "CANCELLED" || cancelled.Fulfillments[1].Status != "CREATED" ||
		cancelled.Status != "READY_FOR_FULFILLMENT" {
		t.Fatalf("after cancel: %s %s %s", cancelled.Status, cancelled.Fulfillments[0].Status, cancelled.Fulfillments[1].Status)
	}
	// Another merchant's fulfillment does not exist for this one.
	other := newPayoutShop(t, s, "payout_cancel_other")
	r := other.s.postJSON(t, "/payout/merchant/v1/fulfillment/"+o.Fulfillments[1].ID+"/cancel", other.key, "{}")
	wantPayoutError(t, r, http.StatusNotFound, "E09", "")

	// A fulfill-only order is attempted at once: too late to cancel.
	f := sh.create(t, payoutBody("po_cancel_2", "FULFILL_ONLY", []string{"SANDBOX_IMPS"}, "5"))
	sh.final(t, "po_cancel_2", 20*time.Second)
	r = sh.s.postJSON(t, "/payout/merchant/v1/fulfillment/"+f.Fulfillments[0].ID+"/cancel", sh.key, "{}")
	wantPayoutError(t, r, http.StatusConflict, "E05", "")
}

// Pay and fulfill, end to end: the create response carries the collection
// order's payment link; nothing is paid out before the shopper pays
// through /txns; then the fulfillment is paid. When the payout cannot be
// made, the collected money is refunded.
func TestPayAndFulfill(t *testing.T) {
	// Refunds wait for the settle check: a short one.
	s := bootPayouts(t, func(cfg *app.Config) { cfg.PayoutSettleCheck = time.Second })
	sh := newPayoutShop(t, s, "payout_pnf")
	sh.s.do(t, http.MethodPut, "/admin/v1/merchants/payout_pnf/gateways/sandbox_a", bearer(adminToken),
		"application/json", `{"connector": "sandbox", "credentials": {"processor": "pnf"}, "payment_methods": ["CARD"], "currencies": ["INR"]}`).
		want(t, http.StatusCreated)

	o := sh.create(t, payoutBody("pnf_1", "PAY_AND_FULFILL", []string{"SANDBOX_IMPS"}, "250"))
	if o.Status != "READY_FOR_FULFILLMENT" || len(o.Payments) != 1 || o.Payments[0].Status != "NEW" ||
		!strings.Contains(o.Payments[0].PaymentLinks.Web, "/pay/") || o.Payments[0].OrderID != "pnf_1" {
		t.Fatalf("created: %+v", o)
	}
	// The link is the hosted page of a payable order.
	page := s.get(t, strings.TrimPrefix(o.Payments[0].PaymentLinks.Web, s.URL), nil)
	if page.Code != http.StatusOK {
		t.Fatalf("payment link answered %d", page.Code)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := sh.order(t, "pnf_1"); got.Status != "READY_FOR_FULFILLMENT" || len(got.Fulfillments[0].Transactions) != 0 {
		t.Fatalf("before payment: %s with %v", got.Status, got.Fulfillments[0].txnSummary())
	}
	if c := sh.counters(t, "SANDBOX_IMPS"); c.Attempts != 0 {
		t.Fatalf("paid out before the payment: %+v", c)
	}

	// The session API hands out the same order for payment.
	var sess session
	sh.s.postForm(t, "/session", sh.key, url.Values{"order_id": {"pnf_1"}, "amount": {"250"}, "currency": {"INR"},
		"customer_id": {"cth_59Yibs1JauYP6WJP"}}).want(t, http.StatusOK).decode(t, &sess)
	if sess.ID != o.Payments[0].ID || sess.PaymentLinks.Web != o.Payments[0].PaymentLinks.Web {
		t.Fatalf("session %s %s, want the collection order %s %s", sess.ID, sess.PaymentLinks.Web,
			o.Payments[0].ID, o.Payments[0].PaymentLinks.Web)
	}
	pay4242(t, sh, "pnf_1")
	done := sh.final(t, "pnf_1", 20*time.Second)
	if done.Status != "FULFILLMENTS_SUCCESSFUL" || done.Payments[0].Status != "CHARGED" || len(done.Refunds) != 0 {
		t.Fatalf("after payment: %+v", done)
	}
	sh.callbacksOf(t, done.internalID(), "pnf_1", []string{"ORDER READY_FOR_FULFILLMENT",
		"ORDER FULFILLMENTS_SCHEDULED", "FULFILLMENT_TXN SUCCESS", "ORDER FULFILLMENTS_SUCCESSFUL"})
	if c := sh.counters(t, "SANDBOX_IMPS"); c.Succeeded != 1 || c.AmountPaid != 25000 {
		t.Errorf("IMPS counters %+v", c)
	}

	// Collected, not payable: the money goes back to the shopper.
	sh.rail(t, "SANDBOX_UPI", `{"success_rate": 0}`)
	body := payoutBody("pnf_2", "PAY_AND_FULFILL", []string{"SANDBOX_UPI"}, "99")
	body["fulfillments"].([]any)[0].(map[string]any)["beneficiaryDetails"] = map[string]any{
		"type": "UPI_ID", "details": map[string]string{"name": "Asha", "vpa": "asha@okbank"}}
	sh.create(t, body)
	pay4242(t, sh, "pnf_2")
	failed := sh.final(t, "pnf_2", 20*time.Second)
	if failed.Status != "FULFILLMENTS_FAILURE" {
		t.Fatalf("pnf_2: %s", failed.Status)
	}
	var refunded payoutOrder
	moneyWait(t, "the refund of pnf_2", 15*time.Second, func() bool {
		refunded = sh.order(t, "pnf_2")
		return len(refunded.Refunds) == 1 && refunded.Refunds[0].Status == "SUCCESS"
	})
	if minor(t, refunded.Refunds[0].Amount) != 9900 {
		t.Errorf("refund %+v", refunded.Refunds)
	}
	var po moneyOrder
	sh.s.get(t, "/orders/pnf_2", sh.key).want(t, http.StatusOK).decode(t, &po)
	if po.AmountRefunded.String() != "99" || po.Status != "CHARGED" {
		t.Errorf("payment order after the refund: status %s refunded %s", po.Status, po.AmountRefunded)
	}

	// The policy may keep collected money for a person to decide instead.
	body = payoutBody("pnf_3", "PAY_AND_FULFILL", []string{"SANDBOX_UPI"}, "12")
	body["fulfillments"].([]any)[0].(map[string]any)["beneficiaryDetails"] = map[string]any{
		"type": "UPI_ID", "details": map[string]string{"name": "Asha", "vpa": "asha@okbank"}}
	body["retryAttemptPolicy"] = map[string]any{"onUnfulfilled": "MANUAL_REVIEW"}
	sh.create(t, body)
	pay4242(t, sh, "pnf_3")
	review := sh.final(t, "pnf_3", 20*time.Second)
	if review.Status != "FULFILLMENTS_MANUAL_REVIEW" || review.Fulfillments[0].Status != "FAILURE" ||
		len(review.Refunds) != 1 || review.Refunds[0].Status != "MANUAL_REVIEW" {
		t.Fatalf("pnf_3: %+v", review)
	}
	sh.s.get(t, "/orders/pnf_3", sh.key).want(t, http.StatusOK).decode(t, &po)
	if po.AmountRefunded.String() != "0" {
		t.Errorf("pnf_3 refunded %s without a person deciding", po.AmountRefunded)
	}
}

// pay4242 pays a payment order through POST /txns with a test card that
// succeeds.
func pay4242(t *testing.T, sh *payoutShop, orderID string) {
	t.Helper()
	var x moneyTxn
	sh.s.postForm(t, "/txns", sh.key, url.Values{
		"order_id": {orderID}, "payment_method_type": {"CARD"}, "card_number": {"4242424242424242"},
		"card_exp_month": {"12"}, "card_exp_year": {itoa(time.Now().Year() + 2)}, "card_security_code": {"123"},
		"format": {"json"},
	}).want(t, http.StatusOK).decode(t, &x)
	if x.Status != "CHARGED" {
		t.Fatalf("payment of %s: %s", orderID, x.Status)
	}
}

// A payment that fails (declined card) fails the pay-and-fulfill order, and
// nothing is paid out.
func TestPayAndFulfillPaymentFails(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_pnf_fail")
	sh.s.do(t, http.MethodPut, "/admin/v1/merchants/payout_pnf_fail/gateways/sandbox_a", bearer(adminToken),
		"application/json", `{"connector": "sandbox", "credentials": {"processor": "pnff"}, "payment_methods": ["CARD"], "currencies": ["INR"]}`).
		want(t, http.StatusCreated)
	sh.create(t, payoutBody("pnf_decl", "PAY_AND_FULFILL", []string{"SANDBOX_IMPS"}, "20"))
	sh.s.postForm(t, "/txns", sh.key, url.Values{
		"order_id": {"pnf_decl"}, "payment_method_type": {"CARD"}, "card_number": {"4000000000000002"},
		"card_exp_month": {"12"}, "card_exp_year": {itoa(time.Now().Year() + 2)}, "card_security_code": {"123"},
		"format": {"json"},
	}).want(t, http.StatusOK)
	o := sh.final(t, "pnf_decl", 20*time.Second)
	if o.Status != "FULFILLMENTS_FAILURE" || o.Fulfillments[0].Status != "CANCELLED" || len(o.Fulfillments[0].Transactions) != 0 {
		t.Fatalf("after a declined payment: %s, fulfillment %s", o.Status, o.Fulfillments[0].Status)
	}
	sh.callbacksOf(t, o.internalID(), "pnf_decl", []string{"FULFILLMENT_ORDER CANCELLED", "ORDER FULFILLMENTS_FAILURE"})
	if c := sh.counters(t, "SANDBOX_IMPS"); c.Attempts != 0 {
		t.Errorf("paid out: %+v", c)
	}
}

// wantPayoutError checks the payout error envelope: status, E-code and (if
// given) the field at fault.
func wantPayoutError(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	var e struct {
		Response struct {
			Error        bool   `json:"error"`
			ErrorCode    string `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
			UserMessage  string `json:"userMessage"`
			Fields       []struct {
				FieldName string `json:"field_name"`
				Reason    string `json:"reason"`
			} `json:"fields"`
		} `json:"response"`
		Code int `json:"code"`
	}
	r.want(t, status).decode(t, &e)
	if !e.Response.Error || e.Response.ErrorCode != code || e.Code != status || e.Response.ErrorMessage == "" {
		t.Fatalf("error envelope %s, want %d %s", r.Body, status, code)
	}
	if field == "" {
		return
	}
	for _, f := range e.Response.Fields {
		if f.FieldName == field && f.Reason != "" {
			return
		}
	}
	t.Fatalf("error %s does not name field %s", r.Body, field)
}

// Every bad request is refused with the payout error envelope, naming the
// field, and creates nothing.
func TestPayoutBadInput(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_bad")
	sh.create(t, payoutBody("po_dup", "FULFILL_ONLY", []string{"SANDBOX_IMPS"}, "1"))

	edit := func(f func(b map[string]any)) map[string]any {
		b := payoutBody("po_bad", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "10", "5.5")
		f(b)
		return b
	}
	ful := func(b map[string]any, i int) map[string]any { return b["fulfillments"].([]any)[i].(map[string]any) }
	bene := func(b map[string]any, typ string, d map[string]string) {
		ful(b, 0)["beneficiaryDetails"] = map[string]any{"type": typ, "details": d}
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"amounts do not add up", edit(func(b map[string]any) { b["amount"] = json.Number("16") }), 400, "E01", "amount"},
		{"fulfillment amount below 1", edit(func(b map[string]any) {
			b["amount"] = json.Number("10.5")
			ful(b, 1)["amount"] = json.Number("0.5")
		}), 400, "E01", "fulfillments[1].amount"},
		{"three decimals", edit(func(b map[string]any) { ful(b, 0)["amount"] = json.Number("10.001") }), 400, "E01", "fulfillments[0].amount"},
		{"bad IFSC", edit(func(b map[string]any) {
			bene(b, "ACCOUNT_IFSC", map[string]string{"name": "A", "account": "026291800001191", "ifsc": "YESB1000262"})
		}), 400, "E01", "fulfillments[0].beneficiaryDetails.details.ifsc"},
		{"account not digits", edit(func(b map[string]any) {
			bene(b, "ACCOUNT_IFSC", map[string]string{"name": "A", "account": "12AB5678901", "ifsc": "YESB0000262"})
		}), 400, "E01", "fulfillments[0].beneficiaryDetails.details.account"},
		{"bad VPA", edit(func(b map[string]any) {
			ful(b, 0)["preferredMethodList"] = []string{"SANDBOX_UPI"}
			bene(b, "UPI_ID", map[string]string{"name": "A", "vpa": "not-a-vpa"})
		}), 400, "E01", "fulfillments[0].beneficiaryDetails.details.vpa"},
		{"unknown beneficiary type", edit(func(b map[string]any) { bene(b, "BITCOIN", map[string]string{"name": "A"}) }),
			400, "E01", "fulfillments[0].beneficiaryDetails.type"},
		{"rail cannot pay that beneficiary", edit(func(b map[string]any) {
			bene(b, "UPI_ID", map[string]string{"name": "A", "vpa": "a@okbank"})
		}), 400, "E01", "fulfillments[0].preferredMethodList[0]"},
		{"unknown method", edit(func(b map[string]any) { ful(b, 0)["preferredMethodList"] = []string{"DUMMY_IMPS"} }),
			400, "E01", "fulfillments[0].preferredMethodList[0]"},
		{"no method", edit(func(b map[string]any) { ful(b, 0)["preferredMethodList"] = []string{} }),
			400, "E01", "fulfillments[0].preferredMethodList"},
		{"no fulfillments", edit(func(b map[string]any) { b["fulfillments"] = []any{} }), 400, "E01", "fulfillments"},
		{"bad type", edit(func(b map[string]any) { b["type"] = "PAY_ONLY" }), 400, "E01", "type"},
		{"bad order id", edit(func(b map[string]any) { b["orderId"] = "a b" }), 400, "E01", "orderId"},
		{"bad policy", edit(func(b map[string]any) { b["retryAttemptPolicy"] = map[string]any{"maxAttempts": 99} }),
			400, "E01", "retryAttemptPolicy.maxAttempts"},
		{"webhook URL not http(s)", edit(func(b map[string]any) {
			ful(b, 0)["additionalInfo"] = map[string]any{"webhookDetails": map[string]any{"url": "ftp://x"}}
		}), 400, "E01", "fulfillments[0].additionalInfo.webhookDetails.url"},
		{"amount of the wrong type", edit(func(b map[string]any) { b["amount"] = true }), 400, "E01", ""},
		{"not JSON", "{", 400, "E01", ""},
		{"duplicate orderId", payoutBody("po_dup", "FULFILL_ONLY", []string{"SANDBOX_IMPS"}, "1"), 409, "E05", "orderId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantPayoutError(t, sh.s.postJSON(t, "/payout/merchant/v1/orders", sh.key, c.body), c.status, c.code, c.field)
		})
	}
	// Nothing of any of them exists.
	wantPayoutError(t, sh.s.get(t, "/payout/merchant/v1/orders/po_bad", sh.key), 404, "E09", "")
	if o := sh.order(t, "po_dup"); len(o.Fulfillments) != 1 || o.Amount.String() != "1" {
		t.Errorf("the first po_dup changed: %+v", o)
	}
	// Authentication errors use the same envelope.
	wantPayoutError(t, sh.s.get(t, "/payout/merchant/v1/orders/po_dup", nil), 401, "E04", "")
	wantPayoutError(t, sh.s.get(t, "/payout/merchant/v1/orders/po_dup", basic("sk_wrong")), 401, "E02", "")
	wantPayoutError(t, sh.s.get(t, "/payout/merchant/v1/orders/po_dup?expand=everything", sh.key), 400, "E01", "expand")
}

// A rail that goes down while an attempt is pending there says nothing of
// that attempt: it stays unknown (no other rail is tried) until the rail
// answers again.
func TestPayoutRailDownWhileUnknown(t *testing.T) {
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_down")
	sh.rail(t, "SANDBOX_IMPS", `{"pending_ms": 1500}`)
	sh.create(t, payoutBody("po_down_1", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "70"))
	moneyWait(t, "the IMPS attempt to be under way", 10*time.Second, func() bool {
		txns := sh.order(t, "po_down_1").Fulfillments[0].txnSummary()
		return slices.Equal(txns, []string{"SANDBOX_IMPS INITIATED"})
	})
	sh.rail(t, "SANDBOX_IMPS", `{"down": true}`)
	time.Sleep(3 * time.Second) // the payout came due at the rail; the worker asked twice or more
	if got := sh.order(t, "po_down_1"); got.Status != "FULFILLMENTS_SCHEDULED" ||
		!slices.Equal(got.Fulfillments[0].txnSummary(), []string{"SANDBOX_IMPS INITIATED"}) {
		t.Fatalf("while IMPS is down: %s %v", got.Status, got.Fulfillments[0].txnSummary())
	}
	sh.rail(t, "SANDBOX_IMPS", `{"down": false}`)
	o := sh.final(t, "po_down_1", 20*time.Second)
	if o.Status != "FULFILLMENTS_SUCCESSFUL" || !slices.Equal(o.Fulfillments[0].txnSummary(), []string{"SANDBOX_IMPS SUCCESS"}) {
		t.Fatalf("after IMPS is back: %s %v", o.Status, o.Fulfillments[0].txnSummary())
	}
	if c := sh.counters(t, "SANDBOX_NEFT"); c.Attempts != 0 {
		t.Fatalf("NEFT was tried while IMPS was unknown: %+v", c)
	}
}
