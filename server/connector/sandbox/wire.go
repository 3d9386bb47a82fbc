package sandbox

// The sandbox's HTTP API, as both sides (Service and Connector) speak it.
// Amounts are integers in minor units of their currency.

// Payment statuses, as the sandbox reports them. Only the transitions
// requires_action|pending → succeeded|declined|failed and, for a late
// success, declined → succeeded exist: a succeeded payment never changes.
const (
	statusSucceeded      = "succeeded"
	statusRequiresAction = "requires_action"
	statusPending        = "pending"
	statusDeclined       = "declined"
	statusFailed         = "failed"
)

// Refund statuses.
const (
	refundSucceeded  = "succeeded"
	refundFailed     = "failed"
	refundProcessing = "processing"
)

// Decline codes the sandbox returns.
const (
	codeDoNotHonor              = "do_not_honor"
	codeInsufficientFunds       = "insufficient_funds"
	codeProcessingError         = "processing_error"
	codeIssuerDeclined          = "issuer_declined"
	codeExpiredCard             = "expired_card"
	codeAuthenticationFailed    = "authentication_failed"
	codeAuthenticationAbandoned = "authentication_abandoned"
	codePayerDeclined           = "payer_declined"
	codeUPIFailed               = "upi_payment_failed"
	codeAmountExceedsRefundable = "amount_exceeds_refundable"
	codePaymentNotCharged       = "payment_not_charged"
	codePaymentNotFound         = "payment_not_found"
	codeRefundNotFound          = "refund_not_found"
	codeProcessorDown           = "processor_down"
	codeIdempotencyMismatch     = "idempotency_mismatch"
	codeInvalidRequest          = "invalid_request"
	codeUnauthorized            = "unauthorized"
	codeInternal                = "internal_error"
)

// SignatureHeader carries the hex HMAC-SHA256 of a notification's body keyed
// with the payment's notify_secret.
const SignatureHeader = "X-Sandbox-Signature"

// ProcessorHeader names the processor a payment-API request is for.
const ProcessorHeader = "X-Sandbox-Processor"

type paymentRequest struct {
	// TxnID is the idempotency key: the same txn_id on the same processor
	// returns the same payment.
	TxnID string `json:"txn_id"`
	// Amount is in minor units.
	Amount     int64        `json:"amount"`
	Currency   string       `json:"currency"`
	MethodType string       `json:"method_type"`
	Method     string       `json:"method,omitempty"`
	Card       *cardRequest `json:"card,omitempty"`
	VPA        string       `json:"vpa,omitempty"`
	// UPIFlow is COLLECT (the default) or INTENT.
	UPIFlow    string `json:"upi_flow,omitempty"`
	ReturnURL  string `json:"return_url,omitempty"`
	WebhookURL string `json:"webhook_url,omitempty"`
	// NotifySecret keys the HMAC of this payment's notifications.
	NotifySecret string `json:"notify_secret,omitempty"`
}

type cardRequest struct {
	Number   string `json:"number"`
	ExpMonth string `json:"exp_month"`
	ExpYear  string `json:"exp_year"`
	// CVV is checked for shape and then forgotten: never stored.
	CVV string `json:"cvv,omitempty"`
}

type paymentResponse struct {
	ID          string      `json:"id"`
	TxnID       string      `json:"txn_id"`
	Status      string      `json:"status"`
	DeclineCode string      `json:"decline_code"`
	Message     string      `json:"message"`
	Retryable   bool        `json:"retryable"`
	Action      *actionWire `json:"action,omitempty"`
	IntentLink  string      `json:"intent_link,omitempty"`
	// Amount and AmountRefunded are in minor units.
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	MethodType     string `json:"method_type"`
	AmountRefunded int64  `json:"amount_refunded"`
}

type actionWire struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Params map[string]string `json:"params"`
}

type refundRequest struct {
	// RefundID is the idempotency key of the refund.
	RefundID string `json:"refund_id"`
	TxnID    string `json:"txn_id"`
	// Amount is in minor units.
	Amount int64 `json:"amount"`
	// Currency is optional; when given it must be the payment's.
	Currency string `json:"currency,omitempty"`
}

type refundResponse struct {
	ID        string `json:"id"`
	RefundID  string `json:"refund_id"`
	TxnID     string `json:"txn_id"`
	PaymentID string `json:"payment_id"`
	// Amount is in minor units.
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
}

// notificationBody is what the sandbox POSTs to a payment's webhook_url.
type notificationBody struct {
	TxnID       string `json:"txn_id"`
	PaymentID   string `json:"payment_id"`
	Status      string `json:"status"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
	Retryable   bool   `json:"retryable"`
}

type errorBody struct {
	ErrorCode    string       `json:"error_code"`
	ErrorMessage string       `json:"error_message"`
	Fields       []fieldError `json:"fields,omitempty"`
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}
