package pay

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Payouts (Juspay's "Morpheus" payout API, reference §10): a payout order
// pays one or more fulfillments; each fulfillment is paid by attempts, one
// at a time, each on one rail of its preferredMethodList.

// PayoutType is FULFILL_ONLY (the merchant's own money) or PAY_AND_FULFILL
// (collect a payment under the same orderId first, then pay out).
type PayoutType string

// Payout order types.
const (
	FulfillOnly   PayoutType = "FULFILL_ONLY"
	PayAndFulfill PayoutType = "PAY_AND_FULFILL"
)

// PayoutStatus is a payout order's status.
type PayoutStatus string

// Payout order statuses (reference §10.3). FULFILLED_PARTIALLY is an order
// whose fulfillments are final, some paid and some not.
const (
	PayoutReady        PayoutStatus = "READY_FOR_FULFILLMENT"
	PayoutScheduled    PayoutStatus = "FULFILLMENTS_SCHEDULED"
	PayoutSuccessful   PayoutStatus = "FULFILLMENTS_SUCCESSFUL"
	PayoutFailure      PayoutStatus = "FULFILLMENTS_FAILURE"
	PayoutCancelled    PayoutStatus = "FULFILLMENTS_CANCELLED"
	PayoutManualReview PayoutStatus = "FULFILLMENTS_MANUAL_REVIEW"
	PayoutPartial      PayoutStatus = "FULFILLED_PARTIALLY"
)

// Final reports whether no further change of the order's fulfillments can
// happen (a refund of collected money may still be under way).
func (s PayoutStatus) Final() bool {
	switch s {
	case PayoutSuccessful, PayoutFailure, PayoutCancelled, PayoutManualReview, PayoutPartial:
		return true
	}
	return false
}

// FulfillmentStatus is a fulfillment's status.
type FulfillmentStatus string

// Fulfillment statuses. CREATED: not yet attempted (cancellable); PENDING:
// attempts under way; the others are final.
const (
	FulfillmentCreated      FulfillmentStatus = "CREATED"
	FulfillmentPending      FulfillmentStatus = "PENDING"
	FulfillmentSuccess      FulfillmentStatus = "SUCCESS"
	FulfillmentFailure      FulfillmentStatus = "FAILURE"
	FulfillmentManualReview FulfillmentStatus = "MANUAL_REVIEW"
	FulfillmentCancelled    FulfillmentStatus = "CANCELLED"
)

// Final reports whether the fulfillment will not be attempted again.
func (s FulfillmentStatus) Final() bool {
	return s != FulfillmentCreated && s != FulfillmentPending
}

// AttemptStatus is a payout attempt's (Juspay: fulfillment transaction's)
// status.
type AttemptStatus string

// Attempt statuses. INITIATED is unknown: the rail may pay or may have paid,
// so nothing else is tried for the fulfillment until it is final. REVERSED
// is a success the rail later returned (the money came back); CONFLICTED a
// failure the rail later reported paid.
const (
	AttemptInitiated    AttemptStatus = "INITIATED"
	AttemptSuccess      AttemptStatus = "SUCCESS"
	AttemptFailure      AttemptStatus = "FAILURE"
	AttemptManualReview AttemptStatus = "MANUAL_REVIEW"
	AttemptReversed     AttemptStatus = "REVERSED"
	AttemptConflicted   AttemptStatus = "CONFLICTED"
)

// Failure kinds of a failed attempt, which a retry policy's retryOn names.
// FAILURE: the rail declined; TIMEOUT: the rail was down or unreachable and
// certainly did not process the request.
const (
	FailureDeclined = "FAILURE"
	FailureTimeout  = "TIMEOUT"
)

// Beneficiary types.
const (
	BeneficiaryAccountIFSC = "ACCOUNT_IFSC"
	BeneficiaryUPI         = "UPI_ID"
	BeneficiaryCard        = "CARD"
	BeneficiaryWallet      = "WALLET"
)

// Payment states of a PAY_AND_FULFILL order's collection.
const (
	PaymentAwaiting = "AWAITING"
	PaymentCharged  = "CHARGED"
	PaymentFailed   = "FAILED"
)

// Refund states of collected money a payout did not pay out.
const (
	RefundPendingSend = "PENDING" // to be sent by the worker
	RefundSent        = "SENT"    // sent to the payments side, which tracks it
	RefundReview      = "REVIEW"  // kept for a person to decide (policy)
)

// Collected-money policies: what happens to money collected for a
// PAY_AND_FULFILL order that was not paid out.
const (
	OnUnfulfilledRefund = "REFUND"
	OnUnfulfilledReview = "MANUAL_REVIEW"
)

// PayoutCurrency is the currency of every payout: the rails are Indian.
const PayoutCurrency = "INR"

// Beneficiary is whom a fulfillment pays.
type Beneficiary struct {
	Type    string
	Details map[string]string
}

// Label is a short description of the beneficiary for logs and rails: never
// the full account number.
func (b Beneficiary) Label() string {
	switch b.Type {
	case BeneficiaryAccountIFSC:
		acct := b.Details["account"]
		if len(acct) > 4 {
			acct = acct[len(acct)-4:]
		}
		return b.Details["ifsc"] + "/…" + acct
	case BeneficiaryUPI:
		return b.Details["vpa"]
	}
	return b.Type
}

// WebhookDetails overrides where one fulfillment's callbacks go.
type WebhookDetails struct {
	URL      string
	Username string
	Password string
}

// AdditionalInfo is a fulfillment's additionalInfo.
type AdditionalInfo struct {
	Remark string
	// IsRetriable false allows a single attempt; nil leaves it to the
	// policy.
	IsRetriable *bool
	// ScheduleTime asks for a later payout; not supported, so refused
	// rather than paid at once.
	ScheduleTime string
	// AttemptThreshold is how many minutes an attempt may stay unknown
	// before the fulfillment goes to MANUAL_REVIEW; 0 means the worker's
	// default.
	AttemptThreshold int
	Webhook          *WebhookDetails
}

// RetryPolicy says when a failed attempt is followed by another.
type RetryPolicy struct {
	// MaxAttempts bounds a fulfillment's attempts; 0 means one per method
	// of its preferredMethodList.
	MaxAttempts int `json:"maxAttempts"`
	// RetryOn lists what a failed attempt must be to retry: FAILURE,
	// TIMEOUT, or a rail response code.
	RetryOn []string `json:"retryOn"`
	// SwitchMethod moves each retry to the next method of the list
	// (wrapping around); false retries the first method.
	SwitchMethod bool `json:"switchMethod"`
	// BackoffSeconds is the wait before a retry.
	BackoffSeconds int `json:"backoffSeconds"`
	// OnUnfulfilled is REFUND or MANUAL_REVIEW: what becomes of money
	// collected for a PAY_AND_FULFILL order that could not be paid out.
	OnUnfulfilled string `json:"onUnfulfilled"`
}

// DefaultRetryPolicy is the policy of a merchant that set none: on FAILURE
// or TIMEOUT, try the next method of preferredMethodList, at once, until the
// list is exhausted; refund collected money that could not be paid out.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{RetryOn: []string{FailureDeclined, FailureTimeout}, SwitchMethod: true, OnUnfulfilled: OnUnfulfilledRefund}
}

// Limits of a retry policy.
const (
	MaxPayoutAttempts  = 10
	maxBackoffSeconds  = 86400
	maxFulfillments    = 25
	maxPreferred       = 10
	maxRetryOnEntries  = 20
	maxAttemptMinutes  = 10080
	maxPayoutFieldSize = 255
)

// Validate checks p, naming fields under prefix ("retryAttemptPolicy").
func (p RetryPolicy) Validate(prefix string) error {
	var pr Problems
	p.check(&pr, prefix)
	return pr.Err()
}

var responseCodePattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func (p RetryPolicy) check(pr *Problems, prefix string) {
	if p.MaxAttempts < 0 || p.MaxAttempts > MaxPayoutAttempts {
		pr.Add(prefix+".maxAttempts", "must be between 1 and "+strconv.Itoa(MaxPayoutAttempts)+" (0 or absent: one per method)")
	}
	if len(p.RetryOn) > maxRetryOnEntries {
		pr.Add(prefix+".retryOn", "at most "+strconv.Itoa(maxRetryOnEntries)+" entries")
	}
	for i, r := range p.RetryOn {
		if !responseCodePattern.MatchString(r) {
			pr.Add(prefix+".retryOn["+strconv.Itoa(i)+"]", "must be FAILURE, TIMEOUT or a response code (letters, digits, '_', '.', ':', '-')")
		}
	}
	if p.BackoffSeconds < 0 || p.BackoffSeconds > maxBackoffSeconds {
		pr.Add(prefix+".backoffSeconds", "must be between 0 and 86400")
	}
	switch p.OnUnfulfilled {
	case "", OnUnfulfilledRefund, OnUnfulfilledReview:
	default:
		pr.Add(prefix+".onUnfulfilled", "must be REFUND or MANUAL_REVIEW")
	}
}

// Retries reports whether a failed attempt (its kind and response code)
// qualifies for a retry under p.
func (p RetryPolicy) Retries(kind, responseCode string) bool {
	return slices.Contains(p.RetryOn, kind) || (responseCode != "" && slices.Contains(p.RetryOn, responseCode))
}

// PayoutOrder is a payout order with its fulfillments.
type PayoutOrder struct {
	// ID is Switchyard's id (30 hex characters, like Juspay's).
	ID         string
	MerchantID string
	// OrderID is the merchant's id, unique per merchant.
	OrderID       string
	Type          PayoutType
	Status        PayoutStatus
	Amount        Money
	CustomerID    string
	CustomerPhone string
	CustomerEmail string
	UDF           [5]string
	Policy        RetryPolicy
	// PaymentOrderUUID is the collection order of a PAY_AND_FULFILL order
	// (an orders row, same orderId), PaymentStatus its state as the payout
	// sees it (AWAITING, CHARGED, FAILED).
	PaymentOrderUUID string
	PaymentStatus    string
	// RefundStatus and RefundAmount: collected money not paid out.
	RefundStatus string
	RefundAmount int64
	// NextCheckAt is when the worker next looks at the order's payment or
	// refund; zero when there is nothing to look at.
	NextCheckAt  time.Time
	Fulfillments []*Fulfillment
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Fulfillment is one payment to one beneficiary.
type Fulfillment struct {
	ID            string
	PayoutOrderID string
	Seq           int
	Status        FulfillmentStatus
	Amount        Money
	Methods       []string
	Beneficiary   Beneficiary
	UDF           [5]string
	Info          AdditionalInfo
	Attempts      []*PayoutAttempt
	// DueAt is when the worker next looks at the fulfillment; zero: not
	// scheduled.
	DueAt           time.Time
	StatusUpdatedAt time.Time
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// PayoutAttempt is one try at paying a fulfillment on one rail.
type PayoutAttempt struct {
	// ID is "<fulfillment id>-t<seq>": the rail's idempotency key.
	ID              string
	FulfillmentID   string
	PayoutOrderID   string
	Seq             int
	Method          string
	Amount          Money
	Status          AttemptStatus
	FailureKind     string
	ResponseCode    string
	ResponseMessage string
	GatewayRef      string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Open reports whether the attempt's outcome is still unknown.
func (a *PayoutAttempt) Open() bool { return a.Status == AttemptInitiated }

// Fulfillment returns the order's fulfillment with id, or nil.
func (o *PayoutOrder) Fulfillment(id string) *Fulfillment {
	for _, f := range o.Fulfillments {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// OpenAttempt returns the fulfillment's attempt whose outcome is unknown, or
// nil; there is at most one.
func (f *Fulfillment) OpenAttempt() *PayoutAttempt {
	for _, a := range f.Attempts {
		if a.Open() {
			return a
		}
	}
	return nil
}

// Paid counts the attempts of f that paid and kept the money (SUCCESS, or
// CONFLICTED: reported failed, then paid); more than one is an overpayment.
func (f *Fulfillment) Paid() int {
	n := 0
	for _, a := range f.Attempts {
		if a.Status == AttemptSuccess || a.Status == AttemptConflicted {
			n++
		}
	}
	return n
}

// MaxAttempts is how many attempts policy p allows for f.
func (f *Fulfillment) MaxAttempts(p RetryPolicy) int {
	if f.Info.IsRetriable != nil && !*f.Info.IsRetriable {
		return 1
	}
	if p.MaxAttempts > 0 {
		return p.MaxAttempts
	}
	if !p.SwitchMethod {
		return 1
	}
	return len(f.Methods)
}

// MethodFor is the method of attempt seq (from 1) under policy p.
func (f *Fulfillment) MethodFor(p RetryPolicy, seq int) string {
	if !p.SwitchMethod || len(f.Methods) == 0 {
		return f.Methods[0]
	}
	return f.Methods[(seq-1)%len(f.Methods)]
}

// NextAttempt says whether another attempt may follow f's last (failed)
// one under p, and after how long.
func (f *Fulfillment) NextAttempt(p RetryPolicy) (bool, time.Duration) {
	if len(f.Attempts) == 0 {
		return true, 0
	}
	if len(f.Attempts) >= f.MaxAttempts(p) {
		return false, 0
	}
	last := f.Attempts[len(f.Attempts)-1]
	switch last.Status {
	case AttemptFailure:
		if !p.Retries(last.FailureKind, last.ResponseCode) {
			return false, 0
		}
	case AttemptReversed:
		// The money came back: paying again is what the merchant asked.
	default:
		return false, 0
	}
	return true, time.Duration(p.BackoffSeconds) * time.Second
}

// DeriveStatus is the order's status from its fulfillments: scheduled while
// any is open; then MANUAL_REVIEW if any is in review (or collected money
// awaits review), SUCCESSFUL if all paid, CANCELLED if all cancelled,
// FAILURE if none paid, FULFILLED_PARTIALLY otherwise. An order nobody
// scheduled yet stays READY_FOR_FULFILLMENT.
func (o *PayoutOrder) DeriveStatus() PayoutStatus {
	var open, paid, review, cancelled int
	for _, f := range o.Fulfillments {
		switch f.Status {
		case FulfillmentCreated, FulfillmentPending:
			open++
		case FulfillmentSuccess:
			paid++
		case FulfillmentManualReview:
			review++
		case FulfillmentCancelled:
			cancelled++
		}
	}
	n := len(o.Fulfillments)
	switch {
	case o.PaymentStatus == PaymentFailed:
		return PayoutFailure
	case open > 0 && o.Status == PayoutReady:
		return PayoutReady
	case open > 0:
		return PayoutScheduled
	case review > 0 || o.RefundStatus == RefundReview:
		return PayoutManualReview
	case paid == n:
		return PayoutSuccessful
	case cancelled == n:
		return PayoutCancelled
	case paid == 0:
		return PayoutFailure
	}
	return PayoutPartial
}

// Unfulfilled is the amount of the order's final fulfillments that were
// certainly not paid out (failed or cancelled): what a PAY_AND_FULFILL
// order owes back.
func (o *PayoutOrder) Unfulfilled() int64 {
	var sum int64
	for _, f := range o.Fulfillments {
		if f.Status == FulfillmentFailure || f.Status == FulfillmentCancelled {
			sum += f.Amount.Amount
		}
	}
	return sum
}

// PayoutInput is a create request as the merchant sent it, amounts as
// decimal text.
type PayoutInput struct {
	OrderID       string
	Amount        string
	CustomerID    string
	CustomerPhone string
	CustomerEmail string
	Type          string
	UDF           [5]string
	Fulfillments  []FulfillmentInput
	// Policy is the order's retryAttemptPolicy; nil takes the merchant's.
	Policy *RetryPolicy
}

// FulfillmentInput is one fulfillment of a create request.
type FulfillmentInput struct {
	Methods     []string
	Amount      string
	Beneficiary Beneficiary
	UDF         [5]string
	Info        AdditionalInfo
}

// Rails maps each payout method this deployment can use ("SANDBOX_IMPS") to
// the beneficiary types it pays.
type Rails map[string][]string

var (
	payoutOrderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_@-]{4,64}$`)
	ifscPattern          = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)
	accountPattern       = regexp.MustCompile(`^[0-9]{9,18}$`)
	vpaPattern           = regexp.MustCompile(`^[A-Za-z0-9._-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$`)
	cardRefPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)
	mobilePattern        = regexp.MustCompile(`^[0-9]{10}$`)
)

// ValidIFSC reports whether s is an IFSC: four letters, a zero, six letters
// or digits.
func ValidIFSC(s string) bool { return ifscPattern.MatchString(s) }

// ValidAccountNumber reports whether s is a bank account number: 9-18 digits.
func ValidAccountNumber(s string) bool { return accountPattern.MatchString(s) }

// ValidVPA reports whether s is a UPI virtual payment address (name@handle).
func ValidVPA(s string) bool { return vpaPattern.MatchString(s) }

// CheckBeneficiary validates b, naming fields under prefix.
func CheckBeneficiary(p *Problems, prefix string, b Beneficiary) {
	d := b.Details
	need := func(key string, ok func(string) bool, reason string) {
		v, present := d[key]
		switch {
		case !present || v == "":
			p.Add(prefix+".details."+key, "is required")
		case !ok(v):
			p.Add(prefix+".details."+key, reason)
		}
	}
	name := func(s string) bool { return len(s) <= 100 && strings.TrimSpace(s) != "" }
	switch b.Type {
	case "":
		p.Add(prefix+".type", "is required")
		return
	case BeneficiaryAccountIFSC:
		need("name", name, "must be at most 100 characters")
		need("account", ValidAccountNumber, "must be 9-18 digits")
		need("ifsc", ValidIFSC, "must be an IFSC: 4 letters, 0, then 6 letters or digits (e.g. YESB0000262)")
	case BeneficiaryUPI:
		need("name", name, "must be at most 100 characters")
		need("vpa", ValidVPA, "must be a UPI id such as name@bank")
		if m := d["mobileNo"]; m != "" && !mobilePattern.MatchString(m) {
			p.Add(prefix+".details.mobileNo", "must be 10 digits")
		}
	case BeneficiaryCard:
		need("name", name, "must be at most 100 characters")
		need("cardReference", cardRefPattern.MatchString, "must be a card reference (6-64 letters, digits, '_' or '-'), never a card number")
	case BeneficiaryWallet:
		need("name", name, "must be at most 100 characters")
		need("brand", func(s string) bool { return len(s) <= 32 }, "must be at most 32 characters")
		need("walletIdentifier", func(s string) bool { return len(s) <= 64 }, "must be at most 64 characters")
	default:
		p.Add(prefix+".type", "must be ACCOUNT_IFSC, UPI_ID, CARD or WALLET")
		return
	}
	for k, v := range d {
		if len(k) > 64 || len(v) > maxPayoutFieldSize {
			p.Add(prefix+".details."+k, "is too long (at most 255 characters)")
		}
	}
}

// NewPayoutOrder validates in and returns the new order (READY_FOR_
// FULFILLMENT, fulfillments CREATED) of merchant merchantID; policy is the
// merchant's default, replaced by the request's own when it has one. Every
// problem is reported at once, each naming its field in the request's
// camelCase.
func NewPayoutOrder(merchantID string, in PayoutInput, policy RetryPolicy, rails Rails, now time.Time) (*PayoutOrder, error) {
	var p Problems
	if in.OrderID == "" {
		p.Add("orderId", "is required")
	} else if !payoutOrderIDPattern.MatchString(in.OrderID) {
		p.Add("orderId", "must be 4-64 characters of letters, digits, '_', '-' or '@'")
	}
	typ := PayoutType(in.Type)
	if in.Type == "" {
		p.Add("type", "is required")
	} else if typ != FulfillOnly && typ != PayAndFulfill {
		p.Add("type", "must be FULFILL_ONLY or PAY_AND_FULFILL")
	}
	checkLen(&p, "customerId", in.CustomerID, 64)
	if in.CustomerPhone != "" && !phonePattern.MatchString(in.CustomerPhone) {
		p.Add("customerPhone", "must be 6-15 digits, optionally after a '+'")
	}
	if in.CustomerEmail != "" {
		if a, err := mail.ParseAddress(in.CustomerEmail); err != nil || a.Address != in.CustomerEmail || len(in.CustomerEmail) > 255 {
			p.Add("customerEmail", "must be an email address")
		}
	}
	if typ == PayAndFulfill && in.OrderID != "" && payoutOrderIDPattern.MatchString(in.OrderID) && !ValidOrderID(in.OrderID) {
		p.Add("orderId", "must not contain '@' for PAY_AND_FULFILL: it is also the id of the payment order")
	}
	if typ == PayAndFulfill && in.CustomerID == "" {
		p.Add("customerId", "is required for PAY_AND_FULFILL (the collection order needs a customer)")
	}
	for i, v := range in.UDF {
		checkLen(&p, "udf"+strconv.Itoa(i+1), v, maxPayoutFieldSize)
	}
	if in.Policy != nil {
		policy = *in.Policy
		if policy.OnUnfulfilled == "" {
			policy.OnUnfulfilled = OnUnfulfilledRefund
		}
		policy.check(&p, "retryAttemptPolicy")
	}
	amount, amountOK := payoutAmount(&p, "amount", in.Amount)

	o := &PayoutOrder{
		ID: RandomHex(15), MerchantID: merchantID, OrderID: in.OrderID, Type: typ, Status: PayoutReady,
		Amount: Money{amount, PayoutCurrency}, CustomerID: in.CustomerID, CustomerPhone: in.CustomerPhone,
		CustomerEmail: in.CustomerEmail, UDF: in.UDF, Policy: policy, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	switch {
	case len(in.Fulfillments) == 0:
		p.Add("fulfillments", "at least one fulfillment is required")
	case len(in.Fulfillments) > maxFulfillments:
		p.Add("fulfillments", "at most "+strconv.Itoa(maxFulfillments)+" fulfillments")
	}
	var sum int64
	sumOK := amountOK
	for i, fi := range in.Fulfillments {
		prefix := "fulfillments[" + strconv.Itoa(i) + "]"
		fa, ok := payoutAmount(&p, prefix+".amount", fi.Amount)
		sumOK = sumOK && ok
		sum += fa
		f := &Fulfillment{
			ID: o.ID + "-f" + strconv.Itoa(i+1), PayoutOrderID: o.ID, Seq: i + 1, Status: FulfillmentCreated,
			Amount: Money{fa, PayoutCurrency}, Beneficiary: fi.Beneficiary, UDF: fi.UDF, Info: fi.Info,
			StatusUpdatedAt: now, Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		if f.Beneficiary.Details == nil {
			f.Beneficiary.Details = map[string]string{}
		}
		CheckBeneficiary(&p, prefix+".beneficiaryDetails", fi.Beneficiary)
		checkMethods(&p, prefix+".preferredMethodList", fi.Methods, fi.Beneficiary.Type, rails, &f.Methods)
		for j, v := range fi.UDF {
			checkLen(&p, prefix+".udf"+strconv.Itoa(j+1), v, maxPayoutFieldSize)
		}
		checkInfo(&p, prefix+".additionalInfo", fi.Info)
		o.Fulfillments = append(o.Fulfillments, f)
	}
	if sumOK && len(in.Fulfillments) > 0 && sum != amount {
		p.Add("amount", "must equal the sum of the fulfillment amounts ("+FormatAmount(sum, PayoutCurrency)+")")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return o, nil
}

// payoutAmount parses a payout amount (INR, at most 2 decimals, at least 1).
func payoutAmount(p *Problems, field, s string) (int64, bool) {
	if s == "" {
		p.Add(field, "is required")
		return 0, false
	}
	a, err := ParseAmount(s, PayoutCurrency)
	if err != nil {
		p.Add(field, "must be a positive amount in rupees with at most 2 decimals, such as 100 or 100.15")
		return 0, false
	}
	if a < 100 {
		p.Add(field, "must be at least 1")
		return 0, false
	}
	return a, true
}

// checkMethods validates a preferredMethodList: known methods that pay the
// beneficiary's type, no duplicates. An optional ".<gatewayReferenceId>"
// suffix is accepted and dropped (one account per rail here).
func checkMethods(p *Problems, field string, methods []string, beneType string, rails Rails, out *[]string) {
	if len(methods) == 0 {
		p.Add(field, "at least one method is required, e.g. SANDBOX_IMPS")
		return
	}
	if len(methods) > maxPreferred {
		p.Add(field, "at most "+strconv.Itoa(maxPreferred)+" methods")
		return
	}
	for i, m := range methods {
		f := field + "[" + strconv.Itoa(i) + "]"
		name, _, _ := strings.Cut(m, ".")
		types, ok := rails[name]
		switch {
		case !ok:
			p.Add(f, "unknown payout method "+strconv.Quote(m)+"; known: "+strings.Join(rails.names(), ", "))
		case slices.Contains(*out, name):
			p.Add(f, "is listed twice")
		case beneType != "" && !slices.Contains(types, beneType):
			p.Add(f, name+" cannot pay a "+beneType+" beneficiary (it pays "+strings.Join(types, ", ")+")")
		default:
			*out = append(*out, name)
		}
	}
}

func (r Rails) names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func checkInfo(p *Problems, prefix string, info AdditionalInfo) {
	checkLen(p, prefix+".remark", info.Remark, maxPayoutFieldSize)
	if info.ScheduleTime != "" {
		p.Add(prefix+".scheduleTime", "scheduled payouts are not supported: leave it out to pay now")
	}
	if info.AttemptThreshold < 0 || info.AttemptThreshold > maxAttemptMinutes {
		p.Add(prefix+".attemptThreshold", "must be between 1 and 10080 minutes (0 or absent: the default)")
	}
	if w := info.Webhook; w != nil {
		u, err := url.Parse(w.URL)
		if w.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			p.Add(prefix+".webhookDetails.url", "must be an absolute http(s) URL without credentials")
		} else if len(w.URL) > 2048 {
			p.Add(prefix+".webhookDetails.url", "must be at most 2048 characters")
		}
		if strings.ContainsAny(w.Username, ":\r\n") || len(w.Username) > maxPayoutFieldSize {
			p.Add(prefix+".webhookDetails.username", "must not contain ':' or line breaks, at most 255 characters")
		}
		checkLen(p, prefix+".webhookDetails.password", w.Password, maxPayoutFieldSize)
	}
}
