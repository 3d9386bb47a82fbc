package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// Test cards.
const (
	cardSuccess           = "4242424242424242"
	card3DS               = "4000000000003220"
	cardDeclined          = "4000000000000002"
	cardInsufficientFunds = "4000000000009995"
	cardProcessingError   = "4000000000000119"
	cardSuccessRate       = "4111111111111111"
)

// Test UPI VPAs.
const (
	vpaSuccess = "success@upi"
	vpaFailure = "failure@upi"
	vpaPending = "pending@upi"
)

// UPI flows.
const (
	upiCollect = "COLLECT"
	upiIntent  = "INTENT"
)

// Delays of the asynchronous UPI outcomes.
const (
	upiCollectDelay = time.Second
	upiPendingDelay = 5 * time.Second
	upiIntentDelay  = 3 * time.Second
)

// ACS page kinds, kept in action_page.
const (
	page3DS    = "3ds"
	pageBank   = "bank"
	pageWallet = "wallet"
)

// outcome is a payment's status with its decline details.
type outcome struct {
	status    string
	code      string
	message   string
	retryable bool
}

var (
	outSucceeded         = outcome{statusSucceeded, "", "Payment succeeded", false}
	outDoNotHonor        = outcome{statusDeclined, codeDoNotHonor, "Declined by the issuer: do not honor", false}
	outInsufficientFunds = outcome{statusDeclined, codeInsufficientFunds, "Declined by the issuer: insufficient funds", false}
	outProcessingError   = outcome{statusFailed, codeProcessingError, "Processing error; retrying may succeed", true}
	outIssuerDeclined    = outcome{statusDeclined, codeIssuerDeclined, "Declined by the issuer", false}
	outExpiredCard       = outcome{statusDeclined, codeExpiredCard, "The card has expired", false}
	outAuthFailed        = outcome{statusFailed, codeAuthenticationFailed, "Authentication failed", false}
	outAuthAbandoned     = outcome{statusFailed, codeAuthenticationAbandoned, "The shopper returned without completing authentication", false}
	outPayerDeclined     = outcome{statusFailed, codePayerDeclined, "The payer declined the collect request", false}
	outUPIFailed         = outcome{statusFailed, codeUPIFailed, "The UPI payment failed", false}
)

type paymentRow struct {
	ID                string `db:"id"`
	Processor         string `db:"processor"`
	TxnID             string `db:"txn_id"`
	Amount            int64  `db:"amount"`
	Currency          string `db:"currency"`
	MethodType        string `db:"method_type"`
	Method            string `db:"method"`
	CardBIN           string `db:"card_bin"`
	CardLast4         string `db:"card_last4"`
	VPA               string `db:"vpa"`
	UPIFlow           string `db:"upi_flow"`
	Status            string `db:"status"`
	DeclineCode       string `db:"decline_code"`
	Message           string `db:"message"`
	Retryable         bool   `db:"retryable"`
	ActionPage        string `db:"action_page"`
	ActionStatus      string `db:"action_status"`
	ActionDeclineCode string `db:"action_decline_code"`
	ActionMessage     string `db:"action_message"`
	ActionRetryable   bool   `db:"action_retryable"`
	IntentLink        string `db:"intent_link"`
	ReturnURL         string `db:"return_url"`
	WebhookURL        string `db:"webhook_url"`
	NotifySecret      string `db:"notify_secret"`
	AmountRefunded    int64  `db:"amount_refunded"`
}

const paymentColumns = `id, processor, txn_id, amount, currency, method_type, method, card_bin, card_last4,
	vpa, upi_flow, status, decline_code, message, retryable, action_page, action_status,
	action_decline_code, action_message, action_retryable, intent_link, return_url, webhook_url,
	notify_secret, amount_refunded`

func (p *paymentRow) set(o outcome) {
	p.Status, p.DeclineCode, p.Message, p.Retryable = o.status, o.code, o.message, o.retryable
}

// afterAction is the outcome approval on the ACS page leads to.
func (p *paymentRow) afterAction() outcome {
	return outcome{p.ActionStatus, p.ActionDeclineCode, p.ActionMessage, p.ActionRetryable}
}

func (s *Service) paymentByTxn(ctx context.Context, processor, txnID string) (paymentRow, error) {
	var p paymentRow
	err := s.db.get(ctx, &p, `SELECT `+paymentColumns+` FROM sandbox_payments WHERE processor = ? AND txn_id = ?`, processor, txnID)
	return p, err
}

func (s *Service) paymentByID(ctx context.Context, id string) (paymentRow, error) {
	var p paymentRow
	err := s.db.get(ctx, &p, `SELECT `+paymentColumns+` FROM sandbox_payments WHERE id = ?`, id)
	return p, err
}

func (s *Service) insertPayment(ctx context.Context, p *paymentRow, now time.Time) error {
	_, err := s.db.exec(ctx, `INSERT INTO sandbox_payments (`+paymentColumns+`, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Processor, p.TxnID, p.Amount, p.Currency, p.MethodType, p.Method, p.CardBIN, p.CardLast4,
		p.VPA, p.UPIFlow, p.Status, p.DeclineCode, p.Message, p.Retryable, p.ActionPage, p.ActionStatus,
		p.ActionDeclineCode, p.ActionMessage, p.ActionRetryable, p.IntentLink, p.ReturnURL, p.WebhookURL,
		p.NotifySecret, p.AmountRefunded, now, now)
	return err
}

// transition moves payment id from status from to outcome o: a
// compare-and-set, so of two competing decisions only the first counts and
// nothing moves a payment backwards.
func (s *Service) transition(ctx context.Context, id, from string, o outcome) (bool, error) {
	defer s.db.lock()()
	return s.transitionIn(ctx, s.db.x, id, from, o)
}

// transitionIn is transition within a transaction the caller holds (ex).
func (s *Service) transitionIn(ctx context.Context, ex sqlx.ExecerContext, id, from string, o outcome) (bool, error) {
	res, err := ex.ExecContext(ctx, `UPDATE sandbox_payments SET status = ?, decline_code = ?, message = ?, retryable = ?, updated_at = ?
		WHERE id = ? AND status = ?`, o.status, o.code, o.message, o.retryable, s.utcNow(), id, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// gate admits a payment-API request: it names a valid processor (created on
// first use), which is not down. It answers the request itself when it
// returns false.
func (s *Service) gate(w http.ResponseWriter, r *http.Request) (processorRow, bool) {
	name := r.Header.Get(ProcessorHeader)
	if !processorNamePattern.MatchString(name) {
		writeFields(w, []fieldError{{ProcessorHeader, "header must name a processor: 1-64 letters, digits, '_' or '-'"}})
		return processorRow{}, false
	}
	p, err := s.processor(r.Context(), name)
	if err != nil {
		s.internalError(w, r, err)
		return p, false
	}
	if p.Down {
		// Before processing: nothing is recorded or counted.
		writeError(w, http.StatusServiceUnavailable, codeProcessorDown, "processor "+name+" is down")
		return p, false
	}
	return p, true
}

// await waits out the processor's latency before a request is processed. A
// client that gives up meanwhile leaves the request unprocessed; it returns
// false then. Handlers call it after reading the request body: net/http
// notices a client hanging up only once the body has been read.
func (s *Service) await(w http.ResponseWriter, r *http.Request, p *processorRow) bool {
	if s.sleep(r.Context(), p.latency()) {
		return true
	}
	writeError(w, http.StatusServiceUnavailable, codeProcessorDown, "processor "+p.Name+" gave up on the request")
	return false
}

func (s *Service) createPayment(w http.ResponseWriter, r *http.Request) {
	proc, ok := s.gate(w, r)
	if !ok {
		return
	}
	var req paymentRequest
	if !decodeJSON(w, r, &req) || !s.await(w, r, &proc) {
		return
	}
	now := s.utcNow()
	if f := validatePayment(&req, now); len(f) > 0 {
		writeFields(w, f)
		return
	}
	ctx, cancel := processing(r)
	defer cancel()
	existing, err := s.paymentByTxn(ctx, proc.Name, req.TxnID)
	switch {
	case err == nil:
		s.replayPayment(w, r, proc, &existing, &req)
		return
	case !isNoRows(err):
		s.internalError(w, r, err)
		return
	}

	p, notes := s.decide(&proc, &req, now)
	// Notifications first: should the process die in between, an orphan
	// notification finds no payment and is dropped, whereas a payment
	// without its notification would stay pending forever.
	for _, n := range notes {
		if err := s.schedule(ctx, n); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	if err := s.insertPayment(ctx, &p, now); err != nil {
		if !isDuplicate(err) {
			s.internalError(w, r, err)
			return
		}
		// A concurrent request with the same txn_id won.
		if existing, err = s.paymentByTxn(ctx, proc.Name, req.TxnID); err != nil {
			s.internalError(w, r, err)
			return
		}
		s.replayPayment(w, r, proc, &existing, &req)
		return
	}
	s.log.Info("sandbox: payment processed", "processor", proc.Name, "txn_id", p.TxnID, "payment_id", p.ID,
		"method_type", p.MethodType, "status", p.Status, "decline_code", p.DeclineCode)
	if proc.Timeout {
		s.hold(r)
		return
	}
	writeJSON(w, http.StatusCreated, s.paymentWire(r, &p))
}

// replayPayment answers a repeated txn_id with the payment as it is now,
// unless the request differs from the original in what was charged.
func (s *Service) replayPayment(w http.ResponseWriter, r *http.Request, proc processorRow, p *paymentRow, req *paymentRequest) {
	if p.Amount != req.Amount || p.Currency != req.Currency || p.MethodType != req.MethodType {
		writeError(w, http.StatusConflict, codeIdempotencyMismatch,
			"txn_id "+req.TxnID+" was already used for a payment with a different amount, currency or method type")
		return
	}
	if proc.Timeout {
		s.hold(r)
		return
	}
	writeJSON(w, http.StatusOK, s.paymentWire(r, p))
}

func (s *Service) getPayment(w http.ResponseWriter, r *http.Request) {
	proc, ok := s.gate(w, r)
	if !ok || !s.await(w, r, &proc) {
		return
	}
	// Status queries answer even in timeout mode: that is how a client
	// finds out what happened to a request it gave up on.
	p, err := s.paymentByTxn(r.Context(), proc.Name, r.PathValue("txn_id"))
	if isNoRows(err) {
		writeError(w, http.StatusNotFound, codePaymentNotFound, "no payment with this txn_id on processor "+proc.Name)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.paymentWire(r, &p))
}

// completePayment is called by the connector once the shopper is back from
// the ACS page. It trusts nothing the browser brought along: the decision was
// recorded by the ACS page itself. A payment still awaiting the shopper is
// abandoned (authentication failed); any other is returned as it is.
func (s *Service) completePayment(w http.ResponseWriter, r *http.Request) {
	proc, ok := s.gate(w, r)
	if !ok {
		return
	}
	// The body, if any, is ignored; it is drained so await can notice a
	// client hanging up.
	io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBody))
	if !s.await(w, r, &proc) {
		return
	}
	ctx, cancel := processing(r)
	defer cancel()
	p, err := s.paymentByTxn(ctx, proc.Name, r.PathValue("txn_id"))
	if isNoRows(err) {
		writeError(w, http.StatusNotFound, codePaymentNotFound, "no payment with this txn_id on processor "+proc.Name)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if p.Status == statusRequiresAction {
		if _, err := s.transition(ctx, p.ID, statusRequiresAction, outAuthAbandoned); err != nil {
			s.internalError(w, r, err)
			return
		}
		if p, err = s.paymentByID(ctx, p.ID); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	if proc.Timeout {
		s.hold(r)
		return
	}
	writeJSON(w, http.StatusOK, s.paymentWire(r, &p))
}

// paymentWire converts a payment row to its API form.
func (s *Service) paymentWire(r *http.Request, p *paymentRow) paymentResponse {
	out := paymentResponse{
		ID: p.ID, TxnID: p.TxnID, Status: p.Status, DeclineCode: p.DeclineCode, Message: p.Message,
		Retryable: p.Retryable, IntentLink: p.IntentLink, Amount: p.Amount, Currency: p.Currency,
		MethodType: p.MethodType, AmountRefunded: p.AmountRefunded,
	}
	if p.Status == statusRequiresAction {
		out.Action = &actionWire{Method: http.MethodGet, URL: s.acsURL(r, p.ID), Params: map[string]string{}}
	}
	return out
}

// acsURL is where the shopper's browser finds the ACS page of payment id.
func (s *Service) acsURL(r *http.Request, id string) string {
	base := s.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/sandbox/acs/" + url.PathEscape(id)
}

// decide works out what the processor does with a new payment: the row to
// record and the asynchronous outcomes to schedule.
func (s *Service) decide(proc *processorRow, req *paymentRequest, now time.Time) (paymentRow, []notificationRow) {
	p := paymentRow{
		ID: "pay_" + pay.RandomHex(12), Processor: proc.Name, TxnID: req.TxnID, Amount: req.Amount,
		Currency: req.Currency, MethodType: req.MethodType, Method: req.Method,
		ReturnURL: req.ReturnURL, WebhookURL: req.WebhookURL, NotifySecret: req.NotifySecret,
	}
	drawn := func() outcome {
		if s.draw(proc.Name, req.TxnID) < proc.rate(req.MethodType) {
			return outSucceeded
		}
		return outIssuerDeclined
	}
	later := func(after time.Duration, o outcome) notificationRow {
		return notificationRow{PaymentID: p.ID, FromStatus: statusPending, ToStatus: o.status,
			DeclineCode: o.code, Message: o.message, DueAt: now.Add(after)}
	}
	var notes []notificationRow

	switch req.MethodType {
	case pay.MethodCard:
		c := req.Card
		p.CardBIN, p.CardLast4 = c.Number[:6], c.Number[len(c.Number)-4:]
		var base outcome
		byRate := false
		switch c.Number {
		case cardSuccess, card3DS:
			base = outSucceeded
		case cardDeclined:
			base = outDoNotHonor
		case cardInsufficientFunds:
			base = outInsufficientFunds
		case cardProcessingError:
			base = outProcessingError
		default: // 4111 1111 1111 1111 and any other valid card
			base, byRate = drawn(), true
		}
		challenge := proc.ThreeDS == threeDSAlways || proc.ThreeDS == threeDSByCard && c.Number == card3DS
		switch {
		case cardExpired(c, now):
			p.set(outExpiredCard)
		case challenge:
			p.Status, p.Message = statusRequiresAction, "3-D Secure authentication required"
			p.ActionPage = page3DS
			p.ActionStatus, p.ActionDeclineCode, p.ActionMessage, p.ActionRetryable = base.status, base.code, base.message, base.retryable
		default:
			p.set(base)
			if byRate && base.status == statusDeclined && proc.LateSuccessAfterMS > 0 {
				// A "conflicted" txn: declined now, charged later.
				n := later(time.Duration(proc.LateSuccessAfterMS)*time.Millisecond, outcome{statusSucceeded, "", "Late success after an initial decline", false})
				n.FromStatus = statusDeclined
				notes = append(notes, n)
			}
		}

	case pay.MethodUPI:
		p.UPIFlow = req.UPIFlow
		p.Status, p.Message = statusPending, "Awaiting approval in the UPI app"
		if req.UPIFlow == upiIntent {
			p.IntentLink = intentLink(req)
			notes = append(notes, later(upiIntentDelay, outSucceeded))
			break
		}
		p.VPA = req.VPA
		switch strings.ToLower(req.VPA) {
		case vpaSuccess:
			notes = append(notes, later(upiCollectDelay, outSucceeded))
		case vpaFailure:
			notes = append(notes, later(upiCollectDelay, outPayerDeclined))
		case vpaPending:
			delay := upiPendingDelay
			if proc.LateSuccessAfterMS > 0 {
				delay = time.Duration(proc.LateSuccessAfterMS) * time.Millisecond
			}
			notes = append(notes, later(delay, outSucceeded))
		default:
			o := drawn()
			if o.status != statusSucceeded {
				o = outUPIFailed
			}
			notes = append(notes, later(upiCollectDelay, o))
		}

	case pay.MethodNB, pay.MethodWallet:
		p.Status = statusRequiresAction
		p.ActionPage, p.Message = pageBank, "Redirect to the bank to approve"
		if req.MethodType == pay.MethodWallet {
			p.ActionPage, p.Message = pageWallet, "Redirect to the wallet to approve"
		}
		o := drawn()
		p.ActionStatus, p.ActionDeclineCode, p.ActionMessage, p.ActionRetryable = o.status, o.code, o.message, o.retryable
	}
	return p, notes
}

// draw returns a number in [0, 1) determined by the service's seed, the
// processor and the txn id: outcomes drawn from a success rate are
// reproducible.
func (s *Service) draw(processor, txnID string) float64 {
	h := sha256.New()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(s.seed))
	h.Write(seed[:])
	h.Write([]byte(processor))
	h.Write([]byte{0})
	h.Write([]byte(txnID))
	sum := h.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// intentLink is the upi://pay deep link of a UPI intent payment.
func intentLink(req *paymentRequest) string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	return "upi://pay?pa=sandbox@upi&pn=Switchyard%20Sandbox&tr=" + esc(req.TxnID) +
		"&am=" + fixedAmount(req.Amount, req.Currency) + "&cu=" + esc(req.Currency)
}

// fixedAmount renders minor units as major units with all of the currency's
// decimals ("100.00"), as UPI links carry them.
func fixedAmount(minor int64, currency string) string {
	exp, _ := pay.CurrencyExponent(currency)
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s
	}
	for len(s) <= exp {
		s = "0" + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:]
}

func cardExpired(c *cardRequest, now time.Time) bool {
	month, _ := strconv.Atoi(c.ExpMonth)
	year, _ := strconv.Atoi(c.ExpYear)
	if year < 100 {
		year += 2000
	}
	return year < now.Year() || year == now.Year() && time.Month(month) < now.Month()
}

// validatePayment checks a payment request, normalising method type, UPI flow
// and card number, and returns every problem.
func validatePayment(req *paymentRequest, now time.Time) []fieldError {
	var f []fieldError
	add := func(field, reason string) { f = append(f, fieldError{field, reason}) }
	if !validID(req.TxnID) {
		add("txn_id", "is required: 1-160 printable characters without spaces or '/'")
	}
	exp, known := pay.CurrencyExponent(req.Currency)
	if !known {
		add("currency", "must be an ISO 4217 currency code")
	}
	maxMinor := int64(pay.MaxMajorAmount)
	for range exp {
		maxMinor *= 10
	}
	if req.Amount <= 0 || req.Amount > maxMinor {
		add("amount", "must be a positive integer in minor units")
	}
	if len(req.Method) > 64 {
		add("method", "must be at most 64 characters")
	}
	req.MethodType = strings.ToUpper(req.MethodType)
	switch req.MethodType {
	case pay.MethodCard:
		c := req.Card
		if c == nil {
			add("card", "is required for CARD payments")
			break
		}
		c.Number = strings.NewReplacer(" ", "", "-", "").Replace(c.Number)
		if !digits(c.Number, 12, 19) || !luhn(c.Number) {
			add("card.number", "must be a valid card number")
		}
		if m, err := strconv.Atoi(c.ExpMonth); err != nil || m < 1 || m > 12 || !digits(c.ExpMonth, 1, 2) {
			add("card.exp_month", "must be 1-12")
		}
		if !digits(c.ExpYear, 2, 2) && !digits(c.ExpYear, 4, 4) {
			add("card.exp_year", "must be a 2- or 4-digit year")
		}
		if c.CVV != "" && !digits(c.CVV, 3, 4) {
			add("card.cvv", "must be 3 or 4 digits")
		}
	case pay.MethodUPI:
		req.UPIFlow = strings.ToUpper(req.UPIFlow)
		switch req.UPIFlow {
		case "":
			req.UPIFlow = upiCollect
			fallthrough
		case upiCollect:
			user, handle, ok := strings.Cut(req.VPA, "@")
			if !ok || user == "" || handle == "" || len(req.VPA) > 255 {
				add("vpa", "is required for UPI collect: a UPI id such as name@bank")
			}
		case upiIntent:
		default:
			add("upi_flow", "must be COLLECT or INTENT")
		}
	case pay.MethodNB, pay.MethodWallet:
	default:
		add("method_type", "must be CARD, UPI, NB or WALLET")
	}
	if req.ReturnURL != "" && !httpURL(req.ReturnURL) {
		add("return_url", "must be an absolute http or https URL")
	}
	if req.WebhookURL != "" {
		if !httpURL(req.WebhookURL) {
			add("webhook_url", "must be an absolute http or https URL")
		}
		if req.NotifySecret == "" {
			add("notify_secret", "is required with webhook_url: it keys the notifications' signature")
		}
	}
	if len(req.NotifySecret) > 128 {
		add("notify_secret", "must be at most 128 characters")
	}
	return f
}

// validID accepts the ids the sandbox is keyed by (txn_id, refund_id).
func validID(id string) bool {
	if id == "" || len(id) > 160 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' || id[i] == '/' {
			return false
		}
	}
	return true
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2048
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func luhn(number string) bool {
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
