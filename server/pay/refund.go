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

// RefundedAmount is what the order's amount_refunded shows: the sum of the
// successful refunds of its kept charge. Refunds of conflicted charges (a
// second charge, a late success) give back money the order never kept, so
// they appear in the order's refunds but not in its refunded amount, which
// never exceeds the order's amount.
func RefundedAmount(refunds []*Refund, txns []*Txn) int64 {
	conflicted := map[string]bool{}
	for _, t := range txns {
		if t.Conflicted {
			conflicted[t.ID] = true
		}
	}
	var n int64
	for _, r := range refunds {
		if r.Status == RefundSuccess && !conflicted[r.TxnUUID] {
			n += r.Amount.Amount
		}
	}
	return n
}
