package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
)

// Payout rails: simulated IMPS, NEFT and UPI rails. Endpoints (the rail is
// named by the X-Sandbox-Rail header on the payout API):
//
//	PUT  /sandbox/v1/payout-rails/{name}                  configure (admin token)
//	GET  /sandbox/v1/payout-rails/{name}                  configuration and counters (admin token)
//	POST /sandbox/v1/payout-rails/{name}/payouts/{attempt_id}/status  force a late change (admin token)
//	POST /sandbox/v1/payouts                              initiate (idempotent by attempt_id)
//	GET  /sandbox/v1/payouts/{attempt_id}                 status
//
// A rail is created on first use with success_rate 1, no latency, nothing
// pending, not down. A payout's outcome is drawn when it is created (from
// the seed, the rail and the attempt id) and stays PENDING for pending_ms.
// latency_ms delays the answer AFTER the payout was recorded, so a client
// that gives up (or dies) meanwhile leaves a payout it does not know about:
// what a real rail's timeout looks like.

// RailHeader names the payout rail of a payout-API request.
const RailHeader = "X-Sandbox-Rail"

// Payout statuses, as the sandbox reports them.
const (
	payoutPending  = "PENDING"
	payoutSuccess  = "SUCCESS"
	payoutFailure  = "FAILURE"
	payoutReversed = "REVERSED"
)

// Response codes of payout failures.
const (
	codePayoutDeclined     = "BENEFICIARY_BANK_DECLINED"
	codeInvalidBeneficiary = "INVALID_BENEFICIARY"
	codePayoutNotFound     = "payout_not_found"
	codeRailDown           = "rail_down"
)

// maxPendingMS bounds pending_ms.
const maxPendingMS = 86_400_000

type payoutRailRow struct {
	Name        string  `db:"name"`
	SuccessRate float64 `db:"success_rate"`
	Down        bool    `db:"down"`
	LatencyMS   int     `db:"latency_ms"`
	PendingMS   int     `db:"pending_ms"`
}

type payoutRow struct {
	ID              string `db:"id"`
	Rail            string `db:"rail"`
	AttemptID       string `db:"attempt_id"`
	Amount          int64  `db:"amount"`
	Currency        string `db:"currency"`
	BeneficiaryType string `db:"beneficiary_type"`
	Beneficiary     string `db:"beneficiary"`
	Status          string `db:"status"`
	FinalStatus     string `db:"final_status"`
	ResponseCode    string `db:"response_code"`
	Message         string `db:"message"`
	// The times are written, never read back: the sandbox's connection
	// may not parse DATETIME columns.
	DueAt     time.Time `db:"-"`
	CreatedAt time.Time `db:"-"`
	UpdatedAt time.Time `db:"-"`
}

const payoutColumns = `id, rail, attempt_id, amount, currency, beneficiary_type, beneficiary, status, final_status,
	response_code, message`

type payoutBeneficiary struct {
	Type    string            `json:"type"`
	Details map[string]string `json:"details"`
}

// payoutResponse is a payout as the sandbox reports it.
type payoutResponse struct {
	ID           string `json:"id"`
	AttemptID    string `json:"attempt_id"`
	Rail         string `json:"rail"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	Status       string `json:"status"`
	ResponseCode string `json:"response_code,omitempty"`
	Message      string `json:"message,omitempty"`
}

// railBeneficiaries is what each kind of rail pays, by the suffix of its
// name.
func railBeneficiaries(rail string) []string {
	switch {
	case strings.HasSuffix(rail, "_UPI"):
		return []string{pay.BeneficiaryUPI}
	case strings.HasSuffix(rail, "_IMPS"), strings.HasSuffix(rail, "_NEFT"):
		return []string{pay.BeneficiaryAccountIFSC}
	}
	return nil
}

// payoutRail returns the named rail's configuration, creating it with the
// defaults on first use.
func (s *Service) payoutRail(ctx context.Context, name string) (payoutRailRow, error) {
	var p payoutRailRow
	q := `SELECT name, success_rate, down, latency_ms, pending_ms FROM sandbox_payout_rails WHERE name = ?`
	err := s.db.get(ctx, &p, q, name)
	if !isNoRows(err) {
		return p, err
	}
	now := s.utcNow()
	_, err = s.db.exec(ctx, `INSERT INTO sandbox_payout_rails (name, success_rate, down, latency_ms, pending_ms, created_at, updated_at)
		VALUES (?, 1, FALSE, 0, 0, ?, ?) ON DUPLICATE KEY UPDATE name = name`, name, now, now)
	if err != nil {
		return p, fmt.Errorf("create payout rail %s: %w", name, err)
	}
	err = s.db.get(ctx, &p, q, name)
	return p, err
}

// payoutRailUpdate is the body of PUT /sandbox/v1/payout-rails/{name};
// absent fields keep their value.
type payoutRailUpdate struct {
	SuccessRate *float64 `json:"success_rate"`
	Down        *bool    `json:"down"`
	LatencyMS   *int     `json:"latency_ms"`
	PendingMS   *int     `json:"pending_ms"`
}

func (u *payoutRailUpdate) validate() []fieldError {
	var f []fieldError
	if u.SuccessRate != nil && (math.IsNaN(*u.SuccessRate) || *u.SuccessRate < 0 || *u.SuccessRate > 1) {
		f = append(f, fieldError{"success_rate", "must be between 0 and 1"})
	}
	if u.LatencyMS != nil && (*u.LatencyMS < 0 || *u.LatencyMS > maxLatencyMS) {
		f = append(f, fieldError{"latency_ms", fmt.Sprintf("must be between 0 and %d", maxLatencyMS)})
	}
	if u.PendingMS != nil && (*u.PendingMS < 0 || *u.PendingMS > maxPendingMS) {
		f = append(f, fieldError{"pending_ms", fmt.Sprintf("must be between 0 and %d", maxPendingMS)})
	}
	return f
}

// payoutRailWire is a rail's configuration and counters.
type payoutRailWire struct {
	Name        string             `json:"name"`
	SuccessRate float64            `json:"success_rate"`
	Down        bool               `json:"down"`
	LatencyMS   int                `json:"latency_ms"`
	PendingMS   int                `json:"pending_ms"`
	Counters    payoutCountersWire `json:"counters"`
}

// payoutCountersWire counts a rail's payouts by their current status, and
// the money that left (amount_paid: SUCCESS only, minor units).
type payoutCountersWire struct {
	Attempts   int64 `json:"attempts"`
	Succeeded  int64 `json:"succeeded"`
	AmountPaid int64 `json:"amount_paid"`
	Failed     int64 `json:"failed"`
	Pending    int64 `json:"pending"`
	Reversed   int64 `json:"reversed"`
}

func (s *Service) putPayoutRail(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !processorNamePattern.MatchString(name) {
		writeFields(w, []fieldError{{"name", "must be 1-64 letters, digits, '_' or '-'"}})
		return
	}
	var u payoutRailUpdate
	if !decodeJSON(w, r, &u) {
		return
	}
	if f := u.validate(); len(f) > 0 {
		writeFields(w, f)
		return
	}
	ctx := r.Context()
	if _, err := s.payoutRail(ctx, name); err != nil {
		s.internalError(w, r, err)
		return
	}
	sets := []string{"updated_at = ?"}
	args := []any{s.utcNow()}
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if u.SuccessRate != nil {
		set("success_rate", *u.SuccessRate)
	}
	if u.Down != nil {
		set("down", *u.Down)
	}
	if u.LatencyMS != nil {
		set("latency_ms", *u.LatencyMS)
	}
	if u.PendingMS != nil {
		set("pending_ms", *u.PendingMS)
	}
	args = append(args, name)
	if _, err := s.db.exec(ctx, `UPDATE sandbox_payout_rails SET `+strings.Join(sets, ", ")+` WHERE name = ?`, args...); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("sandbox: payout rail configured", "rail", name)
	s.writePayoutRail(w, r, name)
}

func (s *Service) getPayoutRail(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !processorNamePattern.MatchString(name) {
		writeFields(w, []fieldError{{"name", "must be 1-64 letters, digits, '_' or '-'"}})
		return
	}
	s.writePayoutRail(w, r, name)
}

func (s *Service) writePayoutRail(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	p, err := s.payoutRail(ctx, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	// Reveal what came due, so the counters agree with a status query.
	if err := s.revealDue(ctx, name); err != nil {
		s.internalError(w, r, err)
		return
	}
	type countRow struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
		Amount int64  `db:"amount"`
	}
	var rows []countRow
	err = s.db.selectRows(ctx, &rows, `SELECT status, COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS SIGNED) AS amount
		FROM sandbox_payouts WHERE rail = ? GROUP BY status`, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := payoutRailWire{Name: p.Name, SuccessRate: p.SuccessRate, Down: p.Down, LatencyMS: p.LatencyMS, PendingMS: p.PendingMS}
	for _, c := range rows {
		out.Counters.Attempts += c.N
		switch c.Status {
		case payoutSuccess:
			out.Counters.Succeeded, out.Counters.AmountPaid = c.N, c.Amount
		case payoutFailure:
			out.Counters.Failed = c.N
		case payoutPending:
			out.Counters.Pending = c.N
		case payoutReversed:
			out.Counters.Reversed = c.N
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// revealDue makes the drawn outcome of every due pending payout of a rail
// its status.
func (s *Service) revealDue(ctx context.Context, rail string) error {
	_, err := s.db.exec(ctx, `UPDATE sandbox_payouts SET status = final_status, updated_at = ?
		WHERE rail = ? AND status = ? AND due_at <= ?`, s.utcNow(), rail, payoutPending, s.utcNow())
	return err
}

// payoutGate admits a payout-API request: a valid rail name, not down.
func (s *Service) payoutGate(w http.ResponseWriter, r *http.Request) (payoutRailRow, bool) {
	name := r.Header.Get(RailHeader)
	if !processorNamePattern.MatchString(name) || railBeneficiaries(name) == nil {
		writeFields(w, []fieldError{{RailHeader, "header must name a payout rail ending in _IMPS, _NEFT or _UPI"}})
		return payoutRailRow{}, false
	}
	p, err := s.payoutRail(r.Context(), name)
	if err != nil {
		s.internalError(w, r, err)
		return p, false
	}
	if p.Down {
		writeError(w, http.StatusServiceUnavailable, codeRailDown, "payout rail "+name+" is down")
		return p, false
	}
	return p, true
}

func (s *Service) createPayout(w http.ResponseWriter, r *http.Request) {
	rail, ok := s.payoutGate(w, r)
	if !ok {
		return
	}
	var req struct {
		AttemptID   string            `json:"attempt_id"`
		Amount      int64             `json:"amount"`
		Currency    string            `json:"currency"`
		Beneficiary payoutBeneficiary `json:"beneficiary"`
		Remark      string            `json:"remark"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if f := validatePayout(rail.Name, req.AttemptID, req.Amount, req.Currency, req.Beneficiary); len(f) > 0 {
		writeFields(w, f)
		return
	}
	ctx, cancel := processing(r)
	defer cancel()
	now := s.utcNow()
	final, code, msg := payoutSuccess, "00", "COMPLETED"
	if s.draw(rail.Name, req.AttemptID) >= rail.SuccessRate {
		final, code, msg = payoutFailure, codePayoutDeclined, "Beneficiary bank declined the credit"
	}
	status := final
	if rail.PendingMS > 0 {
		status = payoutPending
	}
	p := payoutRow{
		ID: "spo_" + pay.RandomHex(12), Rail: rail.Name, AttemptID: req.AttemptID, Amount: req.Amount,
		Currency: req.Currency, BeneficiaryType: req.Beneficiary.Type,
		Beneficiary: pay.Beneficiary{Type: req.Beneficiary.Type, Details: req.Beneficiary.Details}.Label(),
		Status:      status, FinalStatus: final, ResponseCode: code, Message: msg,
		DueAt: now.Add(time.Duration(rail.PendingMS) * time.Millisecond), CreatedAt: now, UpdatedAt: now,
	}
	_, err := s.db.exec(ctx, `INSERT INTO sandbox_payouts (`+payoutColumns+`, due_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Rail, p.AttemptID, p.Amount, p.Currency, p.BeneficiaryType, p.Beneficiary, p.Status, p.FinalStatus,
		p.ResponseCode, p.Message, p.DueAt, p.CreatedAt, p.UpdatedAt)
	if isDuplicate(err) {
		// The same attempt again: the payout already made, never another.
		existing, err := s.payoutByAttempt(ctx, rail.Name, req.AttemptID)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if existing.Amount != req.Amount || existing.Currency != req.Currency {
			writeError(w, http.StatusUnprocessableEntity, codeIdempotencyMismatch, "attempt_id was used with another amount")
			return
		}
		s.sleep(r.Context(), time.Duration(rail.LatencyMS)*time.Millisecond)
		writeJSON(w, http.StatusOK, payoutWire(existing))
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.sleep(r.Context(), time.Duration(rail.LatencyMS)*time.Millisecond)
	writeJSON(w, http.StatusOK, payoutWire(&p))
}

func (s *Service) getPayout(w http.ResponseWriter, r *http.Request) {
	rail, ok := s.payoutGate(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := s.revealDue(ctx, rail.Name); err != nil {
		s.internalError(w, r, err)
		return
	}
	p, err := s.payoutByAttempt(ctx, rail.Name, r.PathValue("attempt_id"))
	if isNoRows(err) {
		writeError(w, http.StatusNotFound, codePayoutNotFound, "no payout with this attempt_id on "+rail.Name)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, payoutWire(p))
}

// forcePayoutStatus simulates what a real rail does later: a paid payout
// returned (REVERSED), or a failed one that did pay after all (SUCCESS).
func (s *Service) forcePayoutStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	name, attemptID := r.PathValue("name"), r.PathValue("attempt_id")
	from := map[string]string{payoutReversed: payoutSuccess, payoutSuccess: payoutFailure}[req.Status]
	if from == "" {
		writeFields(w, []fieldError{{"status", "must be REVERSED (of a SUCCESS) or SUCCESS (of a FAILURE)"}})
		return
	}
	ctx := r.Context()
	if err := s.revealDue(ctx, name); err != nil {
		s.internalError(w, r, err)
		return
	}
	changed, err := s.db.execCAS(ctx, `UPDATE sandbox_payouts SET status = ?, final_status = ?, updated_at = ?
		WHERE rail = ? AND attempt_id = ? AND status = ?`, req.Status, req.Status, s.utcNow(), name, attemptID, from)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !changed {
		writeError(w, http.StatusConflict, codeInvalidRequest, "no "+from+" payout with this attempt_id on "+name)
		return
	}
	p, err := s.payoutByAttempt(ctx, name, attemptID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, payoutWire(p))
}

func (s *Service) payoutByAttempt(ctx context.Context, rail, attemptID string) (*payoutRow, error) {
	var p payoutRow
	err := s.db.get(ctx, &p, `SELECT `+payoutColumns+` FROM sandbox_payouts WHERE rail = ? AND attempt_id = ?`, rail, attemptID)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func payoutWire(p *payoutRow) payoutResponse {
	out := payoutResponse{ID: p.ID, AttemptID: p.AttemptID, Rail: p.Rail, Amount: p.Amount, Currency: p.Currency, Status: p.Status}
	if p.Status != payoutPending {
		out.ResponseCode, out.Message = p.ResponseCode, p.Message
	}
	return out
}

// validatePayout checks a payout request the way a rail checks a credit:
// the beneficiary must be one the rail pays, well formed.
func validatePayout(rail, attemptID string, amount int64, currency string, b payoutBeneficiary) []fieldError {
	var f []fieldError
	if !validID(attemptID) {
		f = append(f, fieldError{"attempt_id", "must be 1-160 letters, digits, '_', '-', '.' or ':'"})
	}
	if amount <= 0 {
		f = append(f, fieldError{"amount", "must be a positive integer (minor units)"})
	}
	if currency != pay.PayoutCurrency {
		f = append(f, fieldError{"currency", "payout rails pay INR only"})
	}
	allowed := railBeneficiaries(rail)
	switch {
	case len(allowed) == 0 || b.Type != allowed[0]:
		f = append(f, fieldError{"beneficiary.type", rail + " pays " + strings.Join(allowed, ", ") + " beneficiaries"})
	case b.Type == pay.BeneficiaryAccountIFSC:
		if !pay.ValidIFSC(b.Details["ifsc"]) {
			f = append(f, fieldError{"beneficiary.details.ifsc", "is not an IFSC"})
		}
		if !pay.ValidAccountNumber(b.Details["account"]) {
			f = append(f, fieldError{"beneficiary.details.account", "must be 9-18 digits"})
		}
	case b.Type == pay.BeneficiaryUPI:
		if !pay.ValidVPA(b.Details["vpa"]) {
			f = append(f, fieldError{"beneficiary.details.vpa", "is not a UPI id"})
		}
	}
	return f
}

// SandboxRails are the payout methods the sandbox offers.
var SandboxRails = []string{"SANDBOX_IMPS", "SANDBOX_NEFT", "SANDBOX_UPI"}

// PayoutRail is the client of one sandbox payout rail: it talks to the
// sandbox over HTTP as an adapter talks to a real payout gateway.
type PayoutRail struct {
	c    *Connector
	name string
}

var _ connector.PayoutRail = (*PayoutRail)(nil)

// PayoutRails returns the sandbox's rails (SandboxRails) reached with cfg.
func PayoutRails(cfg ConnectorConfig) (connector.PayoutRails, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox.PayoutRails: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	out := connector.PayoutRails{}
	for _, name := range SandboxRails {
		out[name] = &PayoutRail{c: &Connector{base: strings.TrimRight(cfg.BaseURL, "/"), client: client}, name: name}
	}
	return out, nil
}

// Beneficiaries lists what the rail pays.
func (p *PayoutRail) Beneficiaries() []string { return railBeneficiaries(p.name) }

// Initiate starts a payout; the attempt id is the sandbox's idempotency key.
func (p *PayoutRail) Initiate(ctx context.Context, po connector.Payout) connector.PayoutResult {
	body, err := json.Marshal(map[string]any{
		"attempt_id": po.AttemptID, "amount": po.Amount.Amount, "currency": po.Amount.Currency,
		"beneficiary": payoutBeneficiary{Type: po.Beneficiary.Type, Details: po.Beneficiary.Details}, "remark": po.Remark,
	})
	if err != nil {
		return connector.PayoutResult{Outcome: connector.PayoutFailed, RespCode: codeInvalidRequest, RespMessage: "could not encode the payout"}
	}
	return p.result(p.call(ctx, http.MethodPost, "/v1/payouts", body, po.AttemptID))
}

// Status asks the sandbox for the payout of an attempt.
func (p *PayoutRail) Status(ctx context.Context, attemptID string) connector.PayoutResult {
	res := p.call(ctx, http.MethodGet, "/v1/payouts/"+url.PathEscape(attemptID), nil, "")
	if res.err == nil && res.status >= 400 && res.status < 500 && res.status != http.StatusNotFound {
		// A refused status query says nothing of the payout.
		code, msg := res.errorCode(codeInvalidRequest)
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: code, RespMessage: msg}
	}
	return p.result(res)
}

func (p *PayoutRail) call(ctx context.Context, method, path string, body []byte, idemKey string) callResult {
	// The connector's call sets the processor header; the rail header is
	// what the payout API reads.
	c := *p.c
	c.processor = p.name
	return c.callWith(ctx, method, path, body, idemKey, RailHeader)
}

// result maps an exchange about a payout to a PayoutResult.
func (p *PayoutRail) result(res callResult) connector.PayoutResult {
	switch {
	case res.err != nil && !res.written:
		return connector.PayoutResult{Outcome: connector.PayoutUnavailable, RespCode: codeUnreachable, RespMessage: "rail unreachable: not processed"}
	case res.err != nil:
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: codeTimeout, RespMessage: "no answer from the rail: the payout may have been made"}
	case res.status == http.StatusServiceUnavailable:
		code, msg := res.errorCode(codeRailDown)
		return connector.PayoutResult{Outcome: connector.PayoutUnavailable, RespCode: code, RespMessage: msg}
	case res.status >= 500:
		code, msg := res.errorCode(codeInternal)
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: code, RespMessage: msg}
	case res.status == http.StatusNotFound:
		code, msg := res.errorCode(codePayoutNotFound)
		return connector.PayoutResult{Outcome: connector.PayoutNotFound, RespCode: code, RespMessage: msg}
	case res.status == http.StatusBadRequest:
		// Refused before anything was paid: a beneficiary the rail will
		// not credit.
		_, msg := res.errorCode(codeInvalidRequest)
		return connector.PayoutResult{Outcome: connector.PayoutFailed, RespCode: codeInvalidBeneficiary, RespMessage: msg}
	case res.status >= 400:
		code, msg := res.errorCode(codeInvalidRequest)
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: code, RespMessage: msg}
	}
	var out payoutResponse
	if err := json.Unmarshal(res.body, &out); err != nil || out.Status == "" {
		return connector.PayoutResult{Outcome: connector.PayoutUnknown, RespCode: codeBadResponse, RespMessage: "unreadable answer from the rail"}
	}
	r := connector.PayoutResult{GatewayRef: out.ID, RespCode: out.ResponseCode, RespMessage: out.Message}
	switch out.Status {
	case payoutSuccess:
		r.Outcome = connector.PayoutSucceeded
	case payoutFailure:
		r.Outcome = connector.PayoutFailed
	case payoutPending:
		r.Outcome = connector.PayoutPending
	case payoutReversed:
		r.Outcome = connector.PayoutReversed
	default:
		r.Outcome = connector.PayoutUnknown
	}
	return r
}
