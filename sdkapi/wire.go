package sdkapi

// This file is the SDK API's wire format: every JSON shape the endpoints and
// the websocket speak, as Go structs. It imports nothing, so SDK authors can
// read it on its own; doc.go explains how the shapes are used. Every field
// is always present in responses (strings may be empty) unless its comment
// says otherwise.

// Protocol is the websocket subprotocol of GET /sdk/v1/live.
const Protocol = "switchyard.v1"

// Websocket message types.
const (
	// LiveTypeAuth is the type of the client's auth message.
	LiveTypeAuth = "auth"
	// LiveTypeOrderStatus is the type of every server message.
	LiveTypeOrderStatus = "order.status"
)

// Websocket close codes the server uses.
const (
	// CloseGoingAway: the server is shutting down, or the client stopped
	// answering pings. Reconnect (with backoff).
	CloseGoingAway = 1001
	// CloseInternalError: the order's status could not be loaded.
	// Reconnect with backoff.
	CloseInternalError = 1011
	// CloseTryAgainLater: the client read too slowly and was dropped.
	// Reconnect; the current status arrives first.
	CloseTryAgainLater = 1013
	// CloseUnauthorized: missing, invalid or expired client auth token, or
	// a first message that was not an auth message. Do not retry with the
	// same token.
	CloseUnauthorized = 4401
)

// Next action kinds (NextAction.Kind).
const (
	// NextRedirect: send the shopper to URL with Method and Params (3-D
	// Secure, bank or wallet page). For POST, submit an HTML form of
	// Params; for GET, Params are already in URL.
	NextRedirect = "redirect"
	// NextWait: the outcome arrives elsewhere (UPI approval in the
	// shopper's UPI app). Wait for the websocket push (or poll
	// GET /sdk/v1/status). URL, when set, is a page that waits too.
	NextWait = "wait"
	// NextDone: the txn is final. URL, when set, is where the shopper
	// goes now: the merchant's return URL with the signed result.
	NextDone = "done"
)

// Session is the body of GET /sdk/v1/session: what a client needs to render
// a payment page.
type Session struct {
	Order Order `json:"order"`
	// PaymentMethods lists the payment method types the shopper can use for
	// this order (enabled by the merchant and supported by one of its
	// gateways in the order's currency), in display order, each with its
	// instruments. Never null; empty when nothing can take the payment.
	PaymentMethods []PaymentMethodGroup `json:"payment_methods"`
	Live           LiveEndpoint         `json:"live"`
}

// Order is the order being paid.
type Order struct {
	// ID is Switchyard's order id ("ordeh_…").
	ID string `json:"id"`
	// OrderID is the merchant's order id.
	OrderID      string `json:"order_id"`
	MerchantID   string `json:"merchant_id"`
	MerchantName string `json:"merchant_name"`
	// Amount is a decimal string in major units with exactly the
	// currency's decimals: "100.00" INR, "1500" JPY, "1.250" KWD. It is
	// display data: the amount charged is always the order's, whatever a
	// client sends.
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// Status and StatusID are the order's (see doc.go for the values).
	Status      string `json:"status"`
	StatusID    int    `json:"status_id"`
	Description string `json:"description"`
	// ExpiresAt is when the order stops being payable (UTC,
	// "2006-01-02T15:04:05Z").
	ExpiresAt string `json:"expires_at"`
}

// PaymentMethodGroup is one payment method type and its instruments.
type PaymentMethodGroup struct {
	// PaymentMethodType is CARD, UPI, NB or WALLET.
	PaymentMethodType string          `json:"payment_method_type"`
	PaymentMethods    []PaymentMethod `json:"payment_methods"`
}

// PaymentMethod is one instrument: a card network, a bank, a wallet, UPI.
type PaymentMethod struct {
	// PaymentMethod is the Juspay code (VISA, NB_HDFC, PAYTM, UPI), sent
	// back as TxnRequest.PaymentMethod.
	PaymentMethod string `json:"payment_method"`
	Description   string `json:"description"`
}

// LiveEndpoint is where the order's live status is.
type LiveEndpoint struct {
	// URL is the websocket URL: ws(s)://host/sdk/v1/live.
	URL string `json:"url"`
	// Protocol is the subprotocol to offer: "switchyard.v1".
	Protocol string `json:"protocol"`
}

// TxnRequest is the body of POST /sdk/v1/txns, sent as JSON (values as
// strings; numbers are accepted) or as application/x-www-form-urlencoded
// with the same names (Juspay's). Which fields are needed depends on
// PaymentMethodType:
//
//	CARD    card_number, card_exp_month, card_exp_year, card_security_code,
//	        name_on_card (optional); payment_method (the brand) optional
//	UPI     txn_type UPI_COLLECT (default; upi_vpa required) or UPI_PAY
//	        (intent: the response carries next.intent_link)
//	NB      payment_method: a bank code such as NB_HDFC
//	WALLET  payment_method: a wallet code such as PAYTM
//
// There is no amount or currency: they are the order's. A body carrying any
// amount field is refused (400, field "amount"), as is any field not listed
// here, except order_id and merchant_id (which must match the token's
// order) and format and redirect_after_payment (accepted for Juspay
// compatibility, ignored).
type TxnRequest struct {
	PaymentMethodType string `json:"payment_method_type"`
	PaymentMethod     string `json:"payment_method,omitempty"`
	CardNumber        string `json:"card_number,omitempty"`
	CardExpMonth      string `json:"card_exp_month,omitempty"`
	CardExpYear       string `json:"card_exp_year,omitempty"`
	CardSecurityCode  string `json:"card_security_code,omitempty"`
	NameOnCard        string `json:"name_on_card,omitempty"`
	UPIVPA            string `json:"upi_vpa,omitempty"`
	TxnType           string `json:"txn_type,omitempty"`
}

// TxnResponse is the body of POST /sdk/v1/txns when a txn was created: HTTP
// 200 whatever its outcome. A declined payment has a failure Status
// (AUTHORIZATION_FAILED, AUTHENTICATION_FAILED, JUSPAY_DECLINED), an
// ErrorMessage to show, and Next.Kind "done"; the order stays payable, so
// the page lets the shopper retry. A refused request (bad card number,
// method not enabled, order already paid or expired) is a 4xx ErrorResponse
// instead, and no txn exists.
type TxnResponse struct {
	OrderID string `json:"order_id"`
	// TxnID is "<merchant_id>-<order_id>-<n>".
	TxnID   string `json:"txn_id"`
	TxnUUID string `json:"txn_uuid"`
	// Status and StatusID are the txn's.
	Status       string     `json:"status"`
	StatusID     int        `json:"status_id"`
	ErrorCode    string     `json:"error_code"`
	ErrorMessage string     `json:"error_message"`
	Next         NextAction `json:"next"`
}

// NextAction is what the client does after a txn step.
type NextAction struct {
	// Kind is NextRedirect, NextWait or NextDone.
	Kind string `json:"kind"`
	// Method is GET or POST for a redirect, else "".
	Method string `json:"method"`
	URL    string `json:"url"`
	// Params are the form fields of a POST redirect; never null.
	Params map[string]string `json:"params"`
	// IntentLink is a upi://pay deep link for UPI intent payments: open it
	// to let the shopper pick a UPI app. "" otherwise.
	IntentLink string `json:"intent_link"`
}

// StatusResponse is the body of GET /sdk/v1/status.
type StatusResponse struct {
	OrderID string `json:"order_id"`
	// Status and StatusID are the order's.
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	// TxnID and TxnStatus are the txn that decides the order's status
	// (its charged txn, else the one in flight, else the latest); "" when
	// no payment was attempted.
	TxnID     string `json:"txn_id"`
	TxnStatus string `json:"txn_status"`
	// Next is that txn's next action; null when no payment was attempted.
	Next *NextAction `json:"next"`
}

// LiveAuth is the client's first websocket message, unless it
// authenticates by subprotocol.
type LiveAuth struct {
	// Type is LiveTypeAuth.
	Type  string `json:"type"`
	Token string `json:"token"`
}

// LiveStatus is every message the server sends on the websocket: the
// order's status after a change, and its current status right after
// authentication. Each is a complete snapshot; clients keep the latest.
type LiveStatus struct {
	// Type is LiveTypeOrderStatus.
	Type string `json:"type"`
	// OrderID is the merchant's order id.
	OrderID string `json:"order_id"`
	// Status and StatusID are the order's.
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	// TxnID is the txn whose change this is; "" before any payment.
	TxnID string `json:"txn_id"`
	// At is when the order last changed (UTC, "2006-01-02T15:04:05Z").
	At string `json:"at"`
}

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	// Status is the HTTP status text ("Bad Request").
	Status string `json:"status"`
	// ErrorCode is Juspay's error family ("invalid_request_error",
	// "access_denied", "conflict", ...).
	ErrorCode    string    `json:"error_code"`
	ErrorMessage string    `json:"error_message"`
	ErrorInfo    ErrorInfo `json:"error_info"`
}

// ErrorInfo details an ErrorResponse.
type ErrorInfo struct {
	// RequestID identifies the request in the server's logs (also the
	// X-Request-Id response header).
	RequestID string `json:"request_id,omitempty"`
	// UserMessage is safe to show a shopper.
	UserMessage      string `json:"user_message"`
	DeveloperMessage string `json:"developer_message"`
	// Fields names the request fields at fault; omitted when none.
	Fields []FieldError `json:"fields,omitempty"`
	// Code is INVALID_INPUT, MISSING_MANDATORY_PARAMETER, UNAUTHENTICATED,
	// INVALID_ACTION, ...; Category USER_ERROR or SERVER_ERROR.
	Code     string `json:"code"`
	Category string `json:"category"`
}

// FieldError is one refused request field.
type FieldError struct {
	FieldName string `json:"field_name"`
	Reason    string `json:"reason"`
}
