package sdkapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchyard/sdkapi"
	"switchyard/server/pay"
	"switchyard/server/token"
)

func TestSessionGolden(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	r := s.do(t, "GET", "/sdk/v1/session", tok, nil, "")
	var sess sdkapi.Session
	r.want(t, http.StatusOK, &sess)
	if sess.Order.ID != o.ID || sess.Order.Amount != "100.00" || sess.Live.URL != "ws"+strings.TrimPrefix(s.URL, "http")+"/sdk/v1/live" {
		t.Fatalf("session = %+v", sess)
	}
	body := strings.NewReplacer(o.ID, "ordeh_ID", strings.TrimPrefix(s.URL, "http://"), "HOST",
		o.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"), "EXPIRES_AT").Replace(string(r.Body))
	golden(t, "session", []byte(body))
}

// The payment methods are the types the merchant enabled AND an enabled
// gateway account supports in the order's currency, with their instruments.
func TestSessionPaymentMethods(t *testing.T) {
	s := newStack(t)
	types := func(tok string) []string {
		var sess sdkapi.Session
		s.do(t, "GET", "/sdk/v1/session", tok, nil, "").want(t, http.StatusOK, &sess)
		out := []string{}
		for _, g := range sess.PaymentMethods {
			out = append(out, g.PaymentMethodType)
			if len(g.PaymentMethods) == 0 {
				t.Fatalf("%s lists no instruments", g.PaymentMethodType)
			}
			for _, pm := range g.PaymentMethods {
				if pm.PaymentMethod == "" || pm.Description == "" {
					t.Fatalf("%s instrument %+v", g.PaymentMethodType, pm)
				}
			}
		}
		return out
	}
	_, inr := s.order(t, "ord_inr", "100", "INR")
	_, usd := s.order(t, "ord_usd", "100.50", "USD")
	_, jpy := s.order(t, "ord_jpy", "1500", "JPY")
	for _, c := range []struct {
		name, tok string
		want      string
	}{
		{"INR", inr, "CARD,UPI"}, // WALLET: gateway yes, merchant no; NB: no INR gateway
		{"USD", usd, "CARD,NB"},  // UPI only on a disabled account; WALLET not enabled
		{"JPY", jpy, ""},         // no gateway takes JPY
	} {
		if got := strings.Join(types(c.tok), ","); got != c.want {
			t.Errorf("%s: types = %q, want %q", c.name, got, c.want)
		}
	}
	// The merchant disables CARD: it disappears at once.
	if _, err := s.Svc.UpdateMerchant(context.Background(), s.Merchant.ID, func(m *pay.Merchant) error {
		m.EnabledPaymentMethods = []string{pay.MethodUPI, pay.MethodNB, pay.MethodWallet}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types(inr), ","); got != "UPI,WALLET" {
		t.Errorf("INR after update: types = %q, want UPI,WALLET", got)
	}
	var sess sdkapi.Session
	s.do(t, "GET", "/sdk/v1/session", jpy, nil, "").want(t, http.StatusOK, &sess)
	if sess.PaymentMethods == nil || sess.Order.Amount != "1500" {
		t.Fatalf("JPY session: payment_methods %v (want [] not null), amount %q", sess.PaymentMethods, sess.Order.Amount)
	}
}

func TestUnauthenticated(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	other, _ := s.order(t, "ord_2", "100", "INR")

	// Same claims, signed by a key this server does not have.
	foreignKey, _ := token.NewKey(time.Now())
	foreign, _ := token.New(s.URL, []token.Key{foreignKey}, 0, nil)
	forged, _, _ := foreign.Issue(o.MerchantID, o.ID, o.OrderID)
	// This token's payload rewritten to grant another order.
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), o.ID, other.ID, 1))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	endpoints := []struct{ method, path string }{
		{"GET", "/sdk/v1/session"}, {"POST", "/sdk/v1/txns"}, {"GET", "/sdk/v1/status"},
	}
	check := func(t *testing.T, header string) {
		t.Helper()
		for _, e := range endpoints {
			r := s.do(t, e.method, e.path, "", `{"payment_method_type":"CARD"}`, "application/json", "Authorization", header)
			r.wantError(t, http.StatusUnauthorized)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: WWW-Authenticate = %q", e.method, e.path, r.Header.Get("WWW-Authenticate"))
			}
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%s %s: 401 not readable cross-origin", e.method, e.path)
			}
		}
	}
	t.Run("Missing", func(t *testing.T) { check(t, "") })
	t.Run("Basic", func(t *testing.T) { check(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(tok+":"))) })
	t.Run("EmptyBearer", func(t *testing.T) { check(t, "Bearer ") })
	t.Run("Garbage", func(t *testing.T) { check(t, "Bearer not-a-token") })
	t.Run("ForeignKey", func(t *testing.T) { check(t, "Bearer "+forged) })
	t.Run("Tampered", func(t *testing.T) { check(t, "Bearer "+tampered) })
	t.Run("Valid", func(t *testing.T) {
		s.do(t, "GET", "/sdk/v1/session", "", nil, "", "Authorization", "bearer "+tok).want(t, http.StatusOK, nil)
	})
	t.Run("Expired", func(t *testing.T) {
		s.Clock.Advance(token.DefaultTTL + time.Minute)
		check(t, "Bearer "+tok)
	})
}

func TestTxnAmountRefused(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	card := "card_number=4242424242424242&card_exp_month=12&card_exp_year=2040&card_security_code=123&payment_method_type=CARD"
	for _, c := range []struct {
		name, body, contentType, field string
	}{
		{"Form", card + "&amount=1.00", "application/x-www-form-urlencoded", "amount"},
		{"JSON", `{"payment_method_type":"CARD","card_number":"4242424242424242","amount":"1.00"}`, "application/json", "amount"},
		{"JSONNumber", `{"amount":1,"payment_method_type":"UPI","upi_vpa":"success@upi"}`, "application/json", "amount"},
		{"Nested", `{"payment_method_type":"UPI","upi_vpa":"success@upi","order":{"amount":"1"}}`, "application/json", "order.amount"},
		{"Dotted", card + "&order.amount=1", "application/x-www-form-urlencoded", "order.amount"},
		{"Prefixed", card + "&txn_amount=1", "application/x-www-form-urlencoded", "txn_amount"},
		{"Empty", card + "&amount=", "application/x-www-form-urlencoded", "amount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := s.do(t, "POST", "/sdk/v1/txns", tok, c.body, c.contentType).wantError(t, http.StatusBadRequest, c.field)
			if len(e.ErrorInfo.Fields) != 1 {
				t.Fatalf("fields = %+v, want only %s", e.ErrorInfo.Fields, c.field)
			}
		})
	}
	txns, err := s.Svc.OrderTxns(context.Background(), o)
	if err != nil || len(txns) != 0 {
		t.Fatalf("txns = %v, %v; want none", txns, err)
	}
}

func TestTxnValidation(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	const pan = "4242424242424241" // fails the checksum
	for _, c := range []struct {
		name, body, contentType string
		code                    int
		fields                  []string
	}{
		{"Empty", "", "", 400, []string{"payment_method_type"}},
		{"BadCard", `{"payment_method_type":"CARD","card_number":"` + pan + `","card_exp_month":"13","card_exp_year":"2040","card_security_code":"1"}`,
			"application/json", 400, []string{"card_number", "card_exp_month", "card_security_code"}},
		{"MethodNotEnabled", `{"payment_method_type":"WALLET","payment_method":"PAYTM"}`, "application/json", 400, []string{"payment_method_type"}},
		{"NoGateway", `{"payment_method_type":"NB","payment_method":"NB_HDFC"}`, "application/json", 400, nil},
		{"UnknownField", `{"payment_method_type":"UPI","upi_vpa":"success@upi","card_expiry":"12/40"}`, "application/json", 400, []string{"card_expiry"}},
		{"GatewayChoice", `{"payment_method_type":"UPI","upi_vpa":"success@upi","gateway_id":"A"}`, "application/json", 400, []string{"gateway_id"}},
		{"OtherOrder", "payment_method_type=UPI&upi_vpa=success%40upi&order_id=ord_2", "application/x-www-form-urlencoded", 400, []string{"order_id"}},
		{"OtherMerchant", "payment_method_type=UPI&upi_vpa=success%40upi&merchant_id=evil", "application/x-www-form-urlencoded", 400, []string{"merchant_id"}},
		{"Repeated", "payment_method_type=UPI&upi_vpa=a%40upi&upi_vpa=b%40upi", "application/x-www-form-urlencoded", 400, []string{"upi_vpa"}},
		{"NotAString", `{"payment_method_type":"UPI","upi_vpa":["success@upi"]}`, "application/json", 400, []string{"upi_vpa"}},
		{"MalformedJSON", `{"payment_method_type":`, "application/json", 400, nil},
		{"TrailingJSON", `{"payment_method_type":"UPI"} {}`, "application/json", 400, nil},
		{"Multipart", "--x--", "multipart/form-data; boundary=x", 400, nil},
		{"BadVPA", `{"payment_method_type":"UPI","upi_vpa":"nope"}`, "application/json", 400, []string{"upi_vpa"}},
		{"TooLarge", `{"payment_method_type":"UPI","upi_vpa":"` + strings.Repeat("a", 20<<10) + `"}`, "application/json", 400, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "POST", "/sdk/v1/txns", tok, c.body, c.contentType)
			r.wantError(t, c.code, c.fields...)
			if strings.Contains(string(r.Body), pan) {
				t.Fatalf("the card number is echoed:\n%s", r.Body)
			}
		})
	}
	// Juspay's format and redirect_after_payment are accepted and ignored,
	// and order_id/merchant_id may repeat the token's.
	body := "payment_method_type=UPI&upi_vpa=success%40upi&format=json&redirect_after_payment=true&order_id=ord_1&merchant_id=shop"
	var tr sdkapi.TxnResponse
	s.do(t, "POST", "/sdk/v1/txns", tok, body, "application/x-www-form-urlencoded").want(t, http.StatusOK, &tr)
	if tr.Status != "AUTHORIZING" {
		t.Fatalf("txn = %+v", tr)
	}
	txns, _ := s.Svc.OrderTxns(context.Background(), o)
	if len(txns) != 1 {
		t.Fatalf("%d txns, want only the valid one", len(txns))
	}
}

func TestTxnFlows(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	cardBody := func(pan string) map[string]string {
		return map[string]string{"payment_method_type": "CARD", "card_number": pan, "card_exp_month": "12",
			"card_exp_year": "2040", "card_security_code": "123", "name_on_card": "A Shopper"}
	}
	post := func(t *testing.T, tok string, body any) sdkapi.TxnResponse {
		t.Helper()
		var tr sdkapi.TxnResponse
		s.do(t, "POST", "/sdk/v1/txns", tok, body, "").want(t, http.StatusOK, &tr)
		return tr
	}
	status := func(t *testing.T, tok string) sdkapi.StatusResponse {
		t.Helper()
		var st sdkapi.StatusResponse
		s.do(t, "GET", "/sdk/v1/status", tok, nil, "").want(t, http.StatusOK, &st)
		return st
	}

	t.Run("DeclinedThenCharged", func(t *testing.T) {
		o, tok := s.order(t, "ord_decline", "100", "INR")
		st := status(t, tok)
		if st.Status != "NEW" || st.StatusID != 10 || st.TxnID != "" || st.Next != nil {
			t.Fatalf("status before any txn = %+v", st)
		}
		tr := post(t, tok, cardBody("4000000000000002"))
		want := sdkapi.TxnResponse{OrderID: "ord_decline", TxnID: "shop-ord_decline-1", TxnUUID: tr.TxnUUID,
			Status: "AUTHORIZATION_FAILED", StatusID: 27, ErrorCode: "do_not_honor", ErrorMessage: "Declined by the issuer: do not honor",
			Next: sdkapi.NextAction{Kind: "done", URL: tr.Next.URL, Params: map[string]string{}}}
		if !strings.HasPrefix(tr.TxnUUID, "txnu_") || !equalJSON(tr, want) {
			t.Fatalf("declined txn = %+v\nwant %+v", tr, want)
		}
		st = status(t, tok)
		if st.Status != "AUTHORIZATION_FAILED" || st.TxnID != tr.TxnID || st.TxnStatus != "AUTHORIZATION_FAILED" || st.Next == nil || st.Next.Kind != "done" {
			t.Fatalf("status after decline = %+v", st)
		}
		// The order stays payable: the shopper retries.
		tr = post(t, tok, cardBody("4242424242424242"))
		if tr.Status != "CHARGED" || tr.StatusID != 21 || tr.TxnID != "shop-ord_decline-2" || tr.ErrorMessage != "" || tr.Next.Kind != "done" {
			t.Fatalf("charged txn = %+v", tr)
		}
		u, err := url.Parse(tr.Next.URL)
		if err != nil || u.Host != "shop.example.com" || u.Query().Get("status") != "CHARGED" || u.Query().Get("signature") == "" {
			t.Fatalf("next.url = %q, want the signed return URL", tr.Next.URL)
		}
		st = status(t, tok)
		if st.Status != "CHARGED" || st.TxnID != "shop-ord_decline-2" || st.Next.URL != tr.Next.URL {
			t.Fatalf("status after charge = %+v", st)
		}
		// Paid orders take no more attempts.
		s.do(t, "POST", "/sdk/v1/txns", tok, cardBody("4242424242424242"), "").wantError(t, http.StatusConflict)
		if txns, _ := s.Svc.OrderTxns(ctx, o); len(txns) != 2 {
			t.Fatalf("%d txns, want 2", len(txns))
		}
	})

	t.Run("ThreeDS", func(t *testing.T) {
		o, tok := s.order(t, "ord_3ds", "100", "INR")
		tr := post(t, tok, cardBody("4000000000003220"))
		if tr.Status != "PENDING_VBV" || tr.StatusID != 23 || tr.Next.Kind != "redirect" || tr.Next.Method != "GET" ||
			!strings.HasPrefix(tr.Next.URL, s.URL+"/sandbox/acs/") || tr.Next.Params == nil || tr.Next.IntentLink != "" {
			t.Fatalf("3DS txn = %+v", tr)
		}
		st := status(t, tok)
		if st.Status != "PENDING_VBV" || st.Next == nil || !equalJSON(*st.Next, tr.Next) {
			t.Fatalf("status = %+v, want the same redirect", st)
		}
		// The shopper approves on the ACS page; the return handler (the
		// checkout package's) completes the txn.
		approveACS(t, tr.Next.URL)
		if _, _, err := s.Svc.CompleteTxn(ctx, o.ID, tr.TxnID, nil); err != nil {
			t.Fatal(err)
		}
		st = status(t, tok)
		if st.Status != "CHARGED" || st.TxnStatus != "CHARGED" || st.Next == nil || st.Next.Kind != "done" ||
			!strings.HasPrefix(st.Next.URL, "https://shop.example.com/return?") {
			t.Fatalf("status after 3DS = %+v", st)
		}
	})

	t.Run("UPIIntent", func(t *testing.T) {
		_, tok := s.order(t, "ord_intent", "100", "INR")
		tr := post(t, tok, map[string]string{"payment_method_type": "UPI", "txn_type": "UPI_PAY"})
		if tr.Status != "AUTHORIZING" || tr.StatusID != 28 || tr.Next.Kind != "wait" ||
			!strings.HasPrefix(tr.Next.IntentLink, "upi://pay?") || !strings.Contains(tr.Next.IntentLink, url.QueryEscape(tr.TxnID)) ||
			!strings.Contains(tr.Next.URL, "/finish/") {
			t.Fatalf("UPI intent txn = %+v", tr)
		}
	})

	t.Run("UPICollectForm", func(t *testing.T) {
		_, tok := s.order(t, "ord_collect", "100", "INR")
		var tr sdkapi.TxnResponse
		s.do(t, "POST", "/sdk/v1/txns", tok, "payment_method_type=UPI&upi_vpa=pending%40upi", "application/x-www-form-urlencoded").
			want(t, http.StatusOK, &tr)
		if tr.Status != "AUTHORIZING" || tr.Next.Kind != "wait" || tr.Next.IntentLink != "" {
			t.Fatalf("UPI collect txn = %+v", tr)
		}
		// An attempt in flight blocks another one.
		s.do(t, "POST", "/sdk/v1/txns", tok, "payment_method_type=UPI&upi_vpa=pending%40upi", "application/x-www-form-urlencoded").
			wantError(t, http.StatusConflict)
	})

	t.Run("NetBanking", func(t *testing.T) {
		_, tok := s.order(t, "ord_nb", "100.25", "USD")
		tr := post(t, tok, map[string]string{"payment_method_type": "NB", "payment_method": "NB_HDFC"})
		if tr.Status != "PENDING_VBV" || tr.Next.Kind != "redirect" || tr.Next.Method != "GET" || !strings.HasPrefix(tr.Next.URL, s.URL+"/sandbox/acs/") {
			t.Fatalf("NB txn = %+v", tr)
		}
		txns, _ := s.Svc.OrderTxns(ctx, mustOrder(t, s, "ord_nb"))
		if txns[0].Amount.Amount != 10025 || txns[0].Amount.Currency != "USD" {
			t.Fatalf("txn amount = %+v, want the order's", txns[0].Amount)
		}
	})

	t.Run("ExpiredOrder", func(t *testing.T) {
		// Created two hours ago; orders are payable for 30 minutes.
		o, err := pay.NewOrder(s.Merchant, pay.OrderInput{OrderID: "ord_late", Amount: "100", Currency: "INR"},
			time.Now().Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if o, _, err = s.DB.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		tok, err := s.Svc.IssueClientToken(o)
		if err != nil {
			t.Fatal(err)
		}
		s.do(t, "POST", "/sdk/v1/txns", tok.Token, cardBody("4242424242424242"), "").wantError(t, http.StatusConflict)
		// The session still shows it, for the page to say so.
		var sess sdkapi.Session
		s.do(t, "GET", "/sdk/v1/session", tok.Token, nil, "").want(t, http.StatusOK, &sess)
	})
}

// approveACS presses Approve on a sandbox ACS page, as the shopper does.
func approveACS(t *testing.T, pageURL string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(pageURL, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("ACS approve: HTTP %d", resp.StatusCode)
	}
}

func mustOrder(t *testing.T, s *stack, orderID string) *pay.Order {
	t.Helper()
	o, err := s.Svc.Order(context.Background(), s.Merchant, orderID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestCORS(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	for _, path := range []string{"/sdk/v1/session", "/sdk/v1/txns", "/sdk/v1/status"} {
		r := s.do(t, "OPTIONS", path, "", nil, "", "Origin", "https://merchant.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
		if r.Code != http.StatusNoContent {
			t.Fatalf("preflight %s: %d\n%s", path, r.Code, r.Body)
		}
		h := r.Header
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("preflight %s headers: %v", path, h)
		}
	}
	r := s.do(t, "GET", "/sdk/v1/session", tok, nil, "", "Origin", "https://merchant.example").want(t, http.StatusOK, nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("headers: %v", r.Header)
	}
	if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("X-Request-Id not exposed: %v", r.Header)
	}
}

// The documented error shape is the one the server sends.
func TestErrorShape(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	e := s.do(t, "POST", "/sdk/v1/txns", tok, `{"amount":"5"}`, "application/json").wantError(t, http.StatusBadRequest, "amount")
	if e.Status != "Bad Request" || e.ErrorCode != "invalid_request_error" || e.ErrorInfo.RequestID == "" ||
		e.ErrorInfo.UserMessage == "" || e.ErrorInfo.Code != "INVALID_INPUT" || e.ErrorInfo.Category != "USER_ERROR" {
		t.Fatalf("error = %+v", e)
	}
	if ok, _ := regexp.MatchString(`^amount: `, e.ErrorMessage); !ok {
		t.Fatalf("error_message = %q", e.ErrorMessage)
	}
}
