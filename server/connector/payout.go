package connector

import (
	"context"

	"switchyard/server/pay"
)

// Payout asks a rail to pay a beneficiary.
type Payout struct {
	// AttemptID is Switchyard's payout attempt id; the rail's idempotency
	// key, so a repeated request (after a crash or a timeout) cannot pay
	// twice.
	AttemptID   string
	Amount      pay.Money
	Beneficiary pay.Beneficiary
	Remark      string
}

// PayoutOutcome is a rail's answer about a payout, normalized.
type PayoutOutcome string

// Payout outcomes. As with payments, Unavailable (certainly not processed)
// and Unknown (may have been processed) must not be confused: only the
// first lets another rail be tried.
const (
	PayoutSucceeded PayoutOutcome = "SUCCESS"
	// PayoutPending: accepted, the outcome comes later (poll Status).
	PayoutPending PayoutOutcome = "PENDING"
	PayoutFailed  PayoutOutcome = "FAILURE"
	// PayoutReversed: paid, then returned by the beneficiary's bank.
	PayoutReversed PayoutOutcome = "REVERSED"
	// PayoutUnavailable: the rail certainly did not process the request
	// (down, unreachable).
	PayoutUnavailable PayoutOutcome = "UNAVAILABLE"
	// PayoutUnknown: no answer after the request was sent.
	PayoutUnknown PayoutOutcome = "UNKNOWN"
	// PayoutNotFound: (from Status) the rail has no record of the attempt,
	// so it certainly did not pay it.
	PayoutNotFound PayoutOutcome = "NOT_FOUND"
)

// PayoutResult is a rail's normalized answer, with its own codes kept.
type PayoutResult struct {
	Outcome     PayoutOutcome
	GatewayRef  string
	RespCode    string
	RespMessage string
}

// PayoutRail is one payout rail of a gateway (e.g. SANDBOX_IMPS).
type PayoutRail interface {
	// Beneficiaries lists the beneficiary types the rail pays.
	Beneficiaries() []string
	// Initiate starts a payout; repeating it with the same AttemptID
	// returns the first one's state.
	Initiate(ctx context.Context, p Payout) PayoutResult
	// Status asks the rail for the current state of an attempt.
	Status(ctx context.Context, attemptID string) PayoutResult
}

// PayoutRails maps payout method names ("SANDBOX_IMPS": gateway and rail,
// as in a preferredMethodList) to their rails.
type PayoutRails map[string]PayoutRail

// Methods returns what pay.NewPayoutOrder needs to check a method list.
func (r PayoutRails) Methods() pay.Rails {
	out := pay.Rails{}
	for name, rail := range r {
		out[name] = rail.Beneficiaries()
	}
	return out
}
