package pay

import (
	"regexp"
	"time"
)

// RefundStatus is a refund's status, named as Juspay names them.
type RefundStatus string

// Refund statuses.
const (
	RefundPending      RefundStatus = "PENDING"
	RefundSuccess      RefundStatus = "SUCCESS"
	RefundFailure      RefundStatus = "FAILURE"
	RefundManualReview RefundStatus = "MANUAL_REVIEW"
)

// RefundPendingLimit is how long a refund may stay PENDING before it goes to
// MANUAL_REVIEW (Juspay: 10 days).
const RefundPendingLimit = 10 * 24 * time.Hour

// Refund returns money of an order's charged txn to the shopper.
type Refund struct {
	ID         string
	OrderUUID  string
	TxnUUID    string
	MerchantID string
	// UniqueRequestID is the merchant's idempotency key, unique per order.
	UniqueRequestID string
	Amount          Money
	Status          RefundStatus
	GatewayRef      string
	ErrorCode       string
	ErrorMessage    string
	// InitiatedBy is API, DASHBOARD or AUTO_REFUND.
	InitiatedBy string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Counts reports whether the refund holds part of the refundable amount:
// every refund that has not failed does, so concurrent and pending refunds
// can never together exceed what was charged.
func (r *Refund) Counts() bool { return r.Status != RefundFailure }

var uniqueRequestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// ValidUniqueRequestID reports whether id is an acceptable refund
// unique_request_id.
func ValidUniqueRequestID(id string) bool { return uniqueRequestIDPattern.MatchString(id) }

// RefundedAmount is the sum of an order's successful refunds.
func RefundedAmount(refunds []*Refund) int64 {
	var n int64
	for _, r := range refunds {
		if r.Status == RefundSuccess {
			n += r.Amount.Amount
		}
	}
	return n
}
