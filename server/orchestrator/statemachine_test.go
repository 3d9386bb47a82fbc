package orchestrator

import (
	"testing"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
)

func (ph phase) String() string {
	switch ph {
	case phaseAuthorize:
		return "authorize"
	case phaseComplete:
		return "complete"
	case phaseSync:
		return "sync"
	case phaseNotify:
		return "notify"
	}
	return "phase?"
}

// TestStatusFor pins the mapping of every gateway outcome, in every phase
// it can arrive in, to the txn status it leads to and whether it may change
// the txn at all. The rows are the money rules of DESIGN §3: an answer that
// says nothing certain (a timeout, an unreachable gateway during a sync, a
// missing record before the reconciler's delay) never fails a txn the
// gateway may have charged.
func TestStatusFor(t *testing.T) {
	all := []phase{phaseAuthorize, phaseComplete, phaseSync, phaseNotify}
	only := func(p phase) map[phase]bool { return map[phase]bool{p: true} }
	always := map[phase]bool{phaseAuthorize: true, phaseComplete: true, phaseSync: true, phaseNotify: true}
	tests := []struct {
		outcome connector.Outcome
		want    pay.Status
		// changes lists the phases in which the outcome changes the txn.
		changes map[phase]bool
		why     string
	}{
		{connector.Charged, pay.StatusCharged, always,
			"money taken is recorded whatever told it"},
		{connector.RequiresAction, pay.StatusPendingVBV, map[phase]bool{phaseAuthorize: true, phaseSync: true},
			"an authorization sends the shopper to a page, and a sync finds a STARTED txn (its answer lost in a crash) there; a return or notification saying 'still waiting' changes nothing"},
		{connector.Pending, pay.StatusAuthorizing, always,
			"the gateway is processing: in flight"},
		{connector.DeclinedHard, pay.StatusAuthorizationFailed, always,
			"a definite refusal"},
		{connector.DeclinedSoft, pay.StatusAuthorizationFailed, always,
			"a definite (retryable) refusal"},
		{connector.AuthenticationFailed, pay.StatusAuthenticationFailed, always,
			"the shopper failed or abandoned authentication"},
		{connector.Unavailable, pay.StatusAuthorizationFailed, only(phaseAuthorize),
			"an authorization the gateway refused to take failed; an unreachable gateway later tells nothing"},
		{connector.Unknown, pay.StatusAuthorizing, only(phaseAuthorize),
			"a timeout after the request was sent is UNKNOWN (in flight), never failed"},
		{connector.NotFound, pay.StatusAuthorizationFailed, only(phaseSync),
			"only the reconciler's sync, after every call could have landed, may fail a txn the gateway never saw"},
	}
	for _, tc := range tests {
		for _, ph := range all {
			t.Run(string(tc.outcome)+"/"+ph.String(), func(t *testing.T) {
				got, changes := statusFor(connector.Result{Outcome: tc.outcome}, ph)
				if changes != tc.changes[ph] {
					t.Errorf("statusFor(%s, %s) changes = %v, want %v (%s)", tc.outcome, ph, changes, tc.changes[ph], tc.why)
				}
				if changes && got != tc.want {
					t.Errorf("statusFor(%s, %s) = %s, want %s (%s)", tc.outcome, ph, got, tc.want, tc.why)
				}
			})
		}
	}

	t.Run("unknown outcome", func(t *testing.T) {
		for _, ph := range all {
			if got, changes := statusFor(connector.Result{Outcome: "SOMETHING_NEW"}, ph); changes || got != "" {
				t.Errorf("statusFor(an outcome it does not know, %s) = %q, %v; want no change", ph, got, changes)
			}
		}
	})

	// The status an outcome leads to must be reachable from where a txn in
	// flight is, or apply would silently drop it: a charge reported while the
	// shopper is on the 3-D Secure page, a decline while AUTHORIZING, ...
	t.Run("reachable from in flight", func(t *testing.T) {
		for _, tc := range tests {
			for _, from := range []pay.Status{pay.StatusStarted, pay.StatusPendingVBV, pay.StatusAuthorizing} {
				if tc.want == from {
					continue
				}
				if tc.outcome == connector.RequiresAction && from != pay.StatusStarted {
					continue // only an authorization asks for action
				}
				if !pay.CanMove(from, tc.want) {
					t.Errorf("%s leads to %s, which a txn in %s cannot reach", tc.outcome, tc.want, from)
				}
			}
		}
	})

	// Nothing moves a charged txn back: whatever arrives after CHARGED (a
	// late decline, a stale "pending"), the store never writes it.
	t.Run("charged never regresses", func(t *testing.T) {
		for _, tc := range tests {
			for _, ph := range all {
				next, changes := statusFor(connector.Result{Outcome: tc.outcome}, ph)
				if changes && next != pay.StatusCharged && pay.CanMove(pay.StatusCharged, next) {
					t.Errorf("%s in %s would move a CHARGED txn to %s", tc.outcome, ph, next)
				}
			}
		}
	})
}

// TestConflictReason pins when a success must not stand as the order's
// charge (DESIGN §3, §11; Juspay's auto-refund rules, juspay-api.md §8.3).
func TestConflictReason(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	merchant := func(conflicted bool, thresholdMin int) *pay.Merchant {
		return &pay.Merchant{ID: "m", AutoRefundConflicted: conflicted, AutoRefundThresholdMinutes: thresholdMin,
			AutoRefundMultipleCharged: true}
	}
	open := &pay.Order{ID: "o", ExpiresAt: now.Add(20 * time.Minute)}
	expired := &pay.Order{ID: "o", ExpiresAt: now.Add(-time.Second)}
	txn := func(id string, st pay.Status, conflicted bool, age time.Duration) *pay.Txn {
		return &pay.Txn{ID: id, TxnID: "m-o-" + id, Status: st, Conflicted: conflicted, CreatedAt: now.Add(-age)}
	}

	tests := []struct {
		name   string
		m      *pay.Merchant
		o      *pay.Order
		others []*pay.Txn
		cur    *pay.Txn
		want   string
	}{
		{"first success of the order", merchant(true, 10), open, nil,
			txn("1", pay.StatusAuthorizing, false, time.Minute), ""},
		{"first success after a 3DS page", merchant(true, 10), open, nil,
			txn("1", pay.StatusPendingVBV, false, time.Hour), ""},
		{"success after another txn failed", merchant(true, 10), open,
			[]*pay.Txn{txn("1", pay.StatusAuthorizationFailed, false, 2*time.Minute)},
			txn("2", pay.StatusStarted, false, time.Second), ""},
		{"second charge of the order", merchant(true, 10), open,
			[]*pay.Txn{txn("1", pay.StatusCharged, false, 2*time.Minute)},
			txn("2", pay.StatusStarted, false, time.Second), "MULTIPLE_CHARGED"},
		{"second charge, merchant refunds duplicates itself (still conflicted)", &pay.Merchant{AutoRefundConflicted: false},
			open, []*pay.Txn{txn("1", pay.StatusCharged, false, 2*time.Minute)},
			txn("2", pay.StatusPendingVBV, false, time.Second), "MULTIPLE_CHARGED"},
		{"second charge of a superseded 3DS txn", merchant(true, 10), open,
			[]*pay.Txn{txn("2", pay.StatusCharged, false, time.Minute)},
			txn("1", pay.StatusAuthenticationFailed, false, 2*time.Minute), "MULTIPLE_CHARGED"},
		{"the other charge is itself conflicted", merchant(true, 10), open,
			[]*pay.Txn{txn("1", pay.StatusCharged, true, 2*time.Minute)},
			txn("2", pay.StatusAuthorizing, false, time.Second), ""},
		{"the other charge was auto-refunded", merchant(true, 10), open,
			[]*pay.Txn{txn("1", pay.StatusAutoRefunded, true, 2*time.Minute)},
			txn("2", pay.StatusAuthorizing, false, time.Second), ""},
		{"late success within the threshold", merchant(true, 10), open, nil,
			txn("1", pay.StatusAuthorizationFailed, false, 9*time.Minute), ""},
		{"late success after the threshold", merchant(true, 10), open, nil,
			txn("1", pay.StatusAuthorizationFailed, false, 11*time.Minute), "LATE_SUCCESS"},
		{"late success after authentication failed", merchant(true, 10), open, nil,
			txn("1", pay.StatusAuthenticationFailed, false, 11*time.Minute), "LATE_SUCCESS"},
		{"late success with threshold 0", merchant(true, 0), open, nil,
			txn("1", pay.StatusAuthorizationFailed, false, time.Second), "LATE_SUCCESS"},
		{"late success within the threshold but the order expired", merchant(true, 10), expired, nil,
			txn("1", pay.StatusAuthorizationFailed, false, time.Minute), "LATE_SUCCESS"},
		{"late success, merchant has auto-refund of conflicted txns off", merchant(false, 10), expired, nil,
			txn("1", pay.StatusAuthorizationFailed, false, time.Hour), ""},
		{"pending txn charged late is the order's charge", merchant(true, 0), open, nil,
			txn("1", pay.StatusAuthorizing, false, time.Hour), ""},
		{"second charge and late: the duplicate wins", merchant(true, 0), expired,
			[]*pay.Txn{txn("1", pay.StatusCharged, false, time.Hour)},
			txn("2", pay.StatusAuthorizationFailed, false, time.Hour), "MULTIPLE_CHARGED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txns := append(append([]*pay.Txn{}, tc.others...), tc.cur)
			if got := conflictReason(tc.m, tc.o, txns, tc.cur, now); got != tc.want {
				t.Errorf("conflictReason = %q, want %q", got, tc.want)
			}
		})
	}

	// A txn never conflicts with itself: re-applying a charge to the txn
	// that is the order's charge leaves it the order's charge.
	t.Run("not with itself", func(t *testing.T) {
		cur := txn("1", pay.StatusCharged, false, time.Hour)
		if got := conflictReason(merchant(true, 0), expired, []*pay.Txn{cur}, cur, now); got != "" {
			t.Errorf("conflictReason of the order's only charge = %q, want none", got)
		}
	})
}
