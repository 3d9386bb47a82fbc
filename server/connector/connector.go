// Package connector is the boundary between Switchyard and payment gateways:
// one interface every gateway adapter implements, the normalized request and
// result types, and the registry that builds a connector for a merchant's
// gateway account. Adapters live in subpackages named for the gateway they
// adapt (sandbox, stripe, …) and import only pay.
package connector

import (
	"context"
	"fmt"
	"net/http"

	"switchyard/server/pay"
)

// Unified error codes: every connector sorts a failure into one of these, so
// merchants, routing and the dashboard see one vocabulary across gateways.
const (
	UEInstrument  = "UE_1000" // declined for the instrument: issuer, bank, funds, authentication
	UEConfig      = "UE_2000" // the gateway account's configuration
	UEGateway     = "UE_3000" // the gateway failed or was unavailable
	UEIntegration = "UE_4000" // a request the gateway refused as malformed
	UEUnknown     = "UE_9000" // anything else
)

// Outcome is a gateway's answer, normalized.
type Outcome string

// Outcomes. The distinction between Unavailable and Unknown is what keeps
// shoppers from being charged twice: only after Unavailable (the gateway
// certainly did not process the request) may another gateway be tried.
const (
	// Charged: the money was taken.
	Charged Outcome = "CHARGED"
	// RequiresAction: the shopper must act (3DS, bank or wallet page) at
	// Action; the outcome arrives through Complete.
	RequiresAction Outcome = "REQUIRES_ACTION"
	// Pending: the outcome arrives later, asynchronously (UPI collect
	// approval, a late gateway decision), by webhook or Sync.
	Pending Outcome = "PENDING"
	// DeclinedHard: refused; retrying the same instrument will not help.
	DeclinedHard Outcome = "DECLINED_HARD"
	// DeclinedSoft: refused for a transient reason; a retry may succeed.
	DeclinedSoft Outcome = "DECLINED_SOFT"
	// AuthenticationFailed: the shopper failed or abandoned authentication.
	AuthenticationFailed Outcome = "AUTHENTICATION_FAILED"
	// Unavailable: the gateway certainly did not process the request
	// (connection refused, 503 before processing).
	Unavailable Outcome = "UNAVAILABLE"
	// Unknown: the request may have been processed (timeout after it was
	// sent); the txn must be synced before anything else is tried.
	Unknown Outcome = "UNKNOWN"
	// NotFound: (from Sync or Complete) the gateway has no record of the
	// payment, so it certainly did not charge.
	NotFound Outcome = "NOT_FOUND"
)

// Action is where the shopper must go next.
type Action struct {
	Method string
	URL    string
	Params map[string]string
}

// Payment is an authorization request.
type Payment struct {
	// TxnID is Switchyard's txn id; gateways use it as their idempotency
	// key, so a retried request cannot charge twice.
	TxnID      string
	Amount     pay.Money
	MethodType string
	Method     string
	// Card is set for card payments; never logged or stored.
	Card *pay.Card
	VPA  string
	// UPIFlow is COLLECT or INTENT for UPI.
	UPIFlow string
	// ReturnURL is where the gateway sends the shopper back after Action.
	ReturnURL string
	// WebhookURL is where the gateway posts asynchronous outcomes.
	WebhookURL string
}

// Result is a gateway's normalized answer, with its raw codes kept.
type Result struct {
	Outcome    Outcome
	Action     *Action
	GatewayRef string
	// RespCode and RespMessage are the gateway's own.
	RespCode    string
	RespMessage string
	// UnifiedCode classifies failures: one of the UE* codes.
	UnifiedCode string
	// IntentLink is a upi://pay deep link for UPI intent payments.
	IntentLink string
}

// Refund asks a gateway to return money of a charged txn.
type Refund struct {
	// RefundID is Switchyard's id; the gateway's idempotency key.
	RefundID   string
	TxnID      string
	GatewayRef string
	Amount     pay.Money
}

// RefundOutcome is a gateway's answer to a refund.
type RefundOutcome string

// Refund outcomes.
const (
	RefundSucceeded RefundOutcome = "SUCCESS"
	RefundPending   RefundOutcome = "PENDING"
	RefundFailed    RefundOutcome = "FAILURE"
	// RefundUnknown: the request may have been processed; sync later.
	RefundUnknown RefundOutcome = "UNKNOWN"
)

// RefundResult is a gateway's normalized refund answer.
type RefundResult struct {
	Outcome     RefundOutcome
	GatewayRef  string
	RespCode    string
	RespMessage string
}

// Notification is an asynchronous outcome a gateway sent to Switchyard.
type Notification struct {
	TxnID  string
	Result Result
}

// Connector is one gateway account's adapter.
type Connector interface {
	// Authorize starts a payment.
	Authorize(ctx context.Context, p Payment) Result
	// Complete finishes a payment after the shopper returns from Action;
	// params are what the gateway sent back with the shopper.
	Complete(ctx context.Context, txnID, gatewayRef string, params map[string]string) Result
	// Sync asks the gateway for the current status of a payment.
	Sync(ctx context.Context, txnID, gatewayRef string) Result
	// Refund returns money of a charged payment.
	Refund(ctx context.Context, r Refund) RefundResult
	// RefundStatus asks the gateway for the state of a refund sent earlier.
	RefundStatus(ctx context.Context, r Refund) RefundResult
	// ParseNotification authenticates and decodes an inbound gateway
	// webhook; an error means it must be refused.
	ParseNotification(r *http.Request, body []byte) (Notification, error)
}

// Factory builds a connector for a gateway account from its credentials.
type Factory func(account *pay.GatewayAccount) (Connector, error)

// Registry maps connector names ("sandbox", …) to their factories.
type Registry map[string]Factory

// For builds the connector of a gateway account.
func (r Registry) For(account *pay.GatewayAccount) (Connector, error) {
	f, ok := r[account.Connector]
	if !ok {
		return nil, fmt.Errorf("connector %q is not available in this deployment", account.Connector)
	}
	return f(account)
}
