package routing

import (
	"encoding/json"
	"errors"
	"math"

	"switchyard/server/pay"
)

// MaxCandidates is how many gateways a Decision lists: the primary and its
// fallbacks, best first.
const MaxCandidates = 16

// ErrNoGateway is Decide's answer when no gateway account can take the txn
// (or none of those an ENFORCE rule allows).
var ErrNoGateway = errors.New("routing: no eligible gateway")

// Input is what routing knows of a txn.
type Input struct {
	// TxnID keys volume splits: the same txn always falls in the same
	// bucket, so retries and tests are stable.
	TxnID string
	// MethodType is CARD, UPI, NB or WALLET.
	MethodType string
	// Method is the card brand, bank code, wallet code, or "UPI".
	Method string
	// CardBIN is the card number's first 6 to 8 digits (cards only).
	CardBIN string
	// Amount is in minor units of Currency.
	Amount   int64
	Currency string
	// UDF holds udf1..udf10 (index 0 is udf1).
	UDF [10]string
	// Gateway, when set, forces that gateway account (gateway_id or
	// metadata.JUSPAY:gateway_reference_id): no rule or estimate applies.
	Gateway string
}

// Reason says why a Decision's primary gateway is first.
type Reason string

// Reasons.
const (
	// ReasonForced: the request named the gateway.
	ReasonForced Reason = "FORCED_GATEWAY"
	// ReasonEnforced: an ENFORCE rule restricted the gateways.
	ReasonEnforced Reason = "ENFORCED_RULE"
	// ReasonPriority: a PRIORITY rule, or the PRIORITY mode, ordered them.
	ReasonPriority Reason = "PRIORITY_LOGIC"
	// ReasonSplit: a SPLIT rule picked the primary by the txn's bucket.
	ReasonSplit Reason = "VOLUME_SPLIT"
	// ReasonSR: the best estimated success rate.
	ReasonSR Reason = "SR_SELECTION"
	// ReasonExploration: Thompson sampling picked a gateway whose estimate
	// is not the best but may be; this is how estimates stay current.
	ReasonExploration Reason = "SR_EXPLORATION"
	// ReasonCost: fees (cost_weight) changed the primary.
	ReasonCost Reason = "COST_ADJUSTED"
	// ReasonDowntime: the gateway the logic chose is eliminated, so the
	// next one leads; or every candidate is, and the least bad leads.
	ReasonDowntime Reason = "DOWNTIME_FALLBACK"
	// ReasonProbe: the primary is an eliminated gateway getting a probe
	// txn to find out whether it recovered.
	ReasonProbe Reason = "DOWNTIME_PROBE"
	// ReasonNone: no gateway can take the txn.
	ReasonNone Reason = "NO_ELIGIBLE_GATEWAY"
)

// Candidate is one gateway of a Decision.
type Candidate struct {
	Gateway string
	Account *pay.GatewayAccount
	// Score is the estimated success rate less the cost term: what
	// SUCCESS_RATE mode ranks by where no rule ordered.
	Score float64
	// Eliminated marks a gateway taken out of rotation for collapsed
	// success or repeated unavailability.
	Eliminated bool
}

// Decision is Decide's answer: the gateways to try, in order, and why. It is
// a fixed-size value so that a caller can reuse one and Decide never
// allocates.
type Decision struct {
	Candidates [MaxCandidates]Candidate
	// N is how many Candidates are set.
	N      int
	Reason Reason
	// Rule names the merchant rule that matched: its name, or its position
	// ("rules[3]") when it has none; "" when none matched.
	Rule string
	// Probe is set when the primary is an eliminated gateway on probe.
	Probe bool
}

// List returns the candidates, primary first.
func (d *Decision) List() []Candidate { return d.Candidates[:d.N] }

// Primary returns the gateway to try first, or nil.
func (d *Decision) Primary() *pay.GatewayAccount {
	if d.N == 0 {
		return nil
	}
	return d.Candidates[0].Account
}

// Recorded is a decision as a txn's record keeps it (pay.Txn.Routing), for
// the Order Status API and the dashboard.
type Recorded struct {
	Reason     Reason              `json:"reason"`
	Rule       string              `json:"rule,omitempty"`
	Probe      bool                `json:"probe,omitempty"`
	Candidates []RecordedCandidate `json:"candidates"`
}

// RecordedCandidate is one candidate of a Recorded decision.
type RecordedCandidate struct {
	Gateway    string  `json:"gateway"`
	Score      float64 `json:"score"`
	Eliminated bool    `json:"eliminated,omitempty"`
}

// Record returns the decision as a txn's record keeps it, scores to 4
// decimals.
func (d *Decision) Record() Recorded {
	r := Recorded{Reason: d.Reason, Rule: d.Rule, Probe: d.Probe, Candidates: []RecordedCandidate{}}
	for _, c := range d.List() {
		r.Candidates = append(r.Candidates, RecordedCandidate{c.Gateway, math.Round(c.Score*1e4) / 1e4, c.Eliminated})
	}
	return r
}

// MarshalJSON renders the decision as Record does.
func (d Decision) MarshalJSON() ([]byte, error) { return json.Marshal(d.Record()) }
