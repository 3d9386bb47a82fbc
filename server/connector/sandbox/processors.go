package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"switchyard/server/pay"
)

// 3-D Secure modes of a processor.
const (
	threeDSNever  = "never"
	threeDSAlways = "always"
	threeDSByCard = "by_card"
)

// Bounds of the control API's durations.
const (
	maxLatencyMS     = 60_000
	maxLateSuccessMS = 86_400_000
)

var processorNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// methodColumns maps payment method types to their success-rate column.
var methodColumns = map[string]string{
	pay.MethodCard:   "success_rate_card",
	pay.MethodUPI:    "success_rate_upi",
	pay.MethodNB:     "success_rate_nb",
	pay.MethodWallet: "success_rate_wallet",
}

type processorRow struct {
	Name               string          `db:"name"`
	SuccessRate        float64         `db:"success_rate"`
	SuccessRateCard    sql.NullFloat64 `db:"success_rate_card"`
	SuccessRateUPI     sql.NullFloat64 `db:"success_rate_upi"`
	SuccessRateNB      sql.NullFloat64 `db:"success_rate_nb"`
	SuccessRateWallet  sql.NullFloat64 `db:"success_rate_wallet"`
	LatencyMS          int             `db:"latency_ms"`
	Down               bool            `db:"down"`
	Timeout            bool            `db:"timeout"`
	ThreeDS            string          `db:"three_ds"`
	LateSuccessAfterMS int             `db:"late_success_after_ms"`
}

const processorColumns = `name, success_rate, success_rate_card, success_rate_upi, success_rate_nb,
	success_rate_wallet, latency_ms, down, timeout, three_ds, late_success_after_ms`

// rate is the success rate for a payment method type: the method's own if
// set, else the processor's.
func (p *processorRow) rate(methodType string) float64 {
	var v sql.NullFloat64
	switch methodType {
	case pay.MethodCard:
		v = p.SuccessRateCard
	case pay.MethodUPI:
		v = p.SuccessRateUPI
	case pay.MethodNB:
		v = p.SuccessRateNB
	case pay.MethodWallet:
		v = p.SuccessRateWallet
	}
	if v.Valid {
		return v.Float64
	}
	return p.SuccessRate
}

func (p *processorRow) latency() time.Duration { return time.Duration(p.LatencyMS) * time.Millisecond }

// processor returns the named processor's configuration, creating it with
// the defaults on first use.
func (s *Service) processor(ctx context.Context, name string) (processorRow, error) {
	var p processorRow
	q := `SELECT ` + processorColumns + ` FROM sandbox_processors WHERE name = ?`
	err := s.db.get(ctx, &p, q, name)
	if !isNoRows(err) {
		return p, err
	}
	now := s.utcNow()
	// A concurrent first use may have created it meanwhile; either way the
	// row exists afterwards.
	_, err = s.db.exec(ctx, `INSERT INTO sandbox_processors
		(name, success_rate, latency_ms, down, timeout, three_ds, late_success_after_ms, created_at, updated_at)
		VALUES (?, 1, 0, FALSE, FALSE, ?, 0, ?, ?)
		ON DUPLICATE KEY UPDATE name = name`, name, threeDSByCard, now, now)
	if err != nil {
		return p, fmt.Errorf("create processor %s: %w", name, err)
	}
	err = s.db.get(ctx, &p, q, name)
	return p, err
}

// processorUpdate is the body of PUT /sandbox/v1/processors/{name}: absent
// (or null) fields keep their value. In success_rate_by_method a null clears
// the method's own rate, so the processor's applies again.
type processorUpdate struct {
	SuccessRate         *float64            `json:"success_rate"`
	SuccessRateByMethod map[string]*float64 `json:"success_rate_by_method"`
	LatencyMS           *int                `json:"latency_ms"`
	Down                *bool               `json:"down"`
	Timeout             *bool               `json:"timeout"`
	ThreeDS             *string             `json:"three_ds"`
	LateSuccessAfterMS  *int                `json:"late_success_after_ms"`
}

func (u *processorUpdate) validate() []fieldError {
	var f []fieldError
	validRate := func(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
	if u.SuccessRate != nil && !validRate(*u.SuccessRate) {
		f = append(f, fieldError{"success_rate", "must be between 0 and 1"})
	}
	methods := make([]string, 0, len(u.SuccessRateByMethod))
	for m := range u.SuccessRateByMethod {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		field := "success_rate_by_method." + m
		if _, ok := methodColumns[m]; !ok {
			f = append(f, fieldError{field, "unknown payment method type; use CARD, UPI, NB or WALLET"})
		} else if v := u.SuccessRateByMethod[m]; v != nil && !validRate(*v) {
			f = append(f, fieldError{field, "must be between 0 and 1, or null to use success_rate"})
		}
	}
	if u.LatencyMS != nil && (*u.LatencyMS < 0 || *u.LatencyMS > maxLatencyMS) {
		f = append(f, fieldError{"latency_ms", fmt.Sprintf("must be between 0 and %d", maxLatencyMS)})
	}
	if u.ThreeDS != nil {
		switch *u.ThreeDS {
		case threeDSNever, threeDSAlways, threeDSByCard:
		default:
			f = append(f, fieldError{"three_ds", `must be "never", "always" or "by_card"`})
		}
	}
	if u.LateSuccessAfterMS != nil && (*u.LateSuccessAfterMS < 0 || *u.LateSuccessAfterMS > maxLateSuccessMS) {
		f = append(f, fieldError{"late_success_after_ms", fmt.Sprintf("must be between 0 (off) and %d", maxLateSuccessMS)})
	}
	return f
}

// processorWire is a processor's configuration and counters as the control
// API shows them.
type processorWire struct {
	Name                string             `json:"name"`
	SuccessRate         float64            `json:"success_rate"`
	SuccessRateByMethod map[string]float64 `json:"success_rate_by_method"`
	LatencyMS           int                `json:"latency_ms"`
	Down                bool               `json:"down"`
	Timeout             bool               `json:"timeout"`
	ThreeDS             string             `json:"three_ds"`
	LateSuccessAfterMS  int                `json:"late_success_after_ms"`
	Counters            countersWire       `json:"counters"`
}

// countersWire counts a processor's activity. Amounts are integers in minor
// units: amount_charged and amount_refunded add up every currency (meaningful
// for a processor used in one currency); by_currency splits them.
type countersWire struct {
	// Attempts counts payments processed (idempotent replays, requests
	// refused as invalid and requests refused while down are not counted).
	Attempts int64 `json:"attempts"`
	// Charged counts payments that succeeded.
	Charged        int64 `json:"charged"`
	AmountCharged  int64 `json:"amount_charged"`
	Refunded       int64 `json:"refunded"`
	AmountRefunded int64 `json:"amount_refunded"`
	// ByCurrency splits charged and refunded by currency.
	ByCurrency map[string]*currencyCounters `json:"by_currency"`
}

type currencyCounters struct {
	Charged        int64 `json:"charged"`
	AmountCharged  int64 `json:"amount_charged"`
	Refunded       int64 `json:"refunded"`
	AmountRefunded int64 `json:"amount_refunded"`
}

func (s *Service) putProcessor(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !processorNamePattern.MatchString(name) {
		writeFields(w, []fieldError{{"name", "must be 1-64 letters, digits, '_' or '-'"}})
		return
	}
	var u processorUpdate
	if !decodeJSON(w, r, &u) {
		return
	}
	if f := u.validate(); len(f) > 0 {
		writeFields(w, f)
		return
	}
	ctx := r.Context()
	if _, err := s.processor(ctx, name); err != nil {
		s.internalError(w, r, err)
		return
	}
	// One UPDATE of only the fields given: concurrent partial updates of
	// different fields don't undo each other. Column names come from code,
	// values are parameters.
	sets := []string{"updated_at = ?"}
	args := []any{s.utcNow()}
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if u.SuccessRate != nil {
		set("success_rate", *u.SuccessRate)
	}
	for m, v := range u.SuccessRateByMethod {
		if v == nil {
			set(methodColumns[m], nil)
		} else {
			set(methodColumns[m], *v)
		}
	}
	if u.LatencyMS != nil {
		set("latency_ms", *u.LatencyMS)
	}
	if u.Down != nil {
		set("down", *u.Down)
	}
	if u.Timeout != nil {
		set("timeout", *u.Timeout)
	}
	if u.ThreeDS != nil {
		set("three_ds", *u.ThreeDS)
	}
	if u.LateSuccessAfterMS != nil {
		set("late_success_after_ms", *u.LateSuccessAfterMS)
	}
	args = append(args, name)
	if _, err := s.db.exec(ctx, `UPDATE sandbox_processors SET `+strings.Join(sets, ", ")+` WHERE name = ?`, args...); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("sandbox: processor configured", "processor", name)
	s.writeProcessor(w, r, name)
}

func (s *Service) getProcessor(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !processorNamePattern.MatchString(name) {
		writeFields(w, []fieldError{{"name", "must be 1-64 letters, digits, '_' or '-'"}})
		return
	}
	s.writeProcessor(w, r, name)
}

func (s *Service) writeProcessor(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	p, err := s.processor(ctx, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	c, err := s.counters(ctx, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := processorWire{
		Name: p.Name, SuccessRate: p.SuccessRate, SuccessRateByMethod: map[string]float64{},
		LatencyMS: p.LatencyMS, Down: p.Down, Timeout: p.Timeout, ThreeDS: p.ThreeDS,
		LateSuccessAfterMS: p.LateSuccessAfterMS, Counters: c,
	}
	for m, v := range map[string]sql.NullFloat64{
		pay.MethodCard: p.SuccessRateCard, pay.MethodUPI: p.SuccessRateUPI,
		pay.MethodNB: p.SuccessRateNB, pay.MethodWallet: p.SuccessRateWallet,
	} {
		if v.Valid {
			out.SuccessRateByMethod[m] = v.Float64
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// counters derives a processor's counters from its payments and refunds, so
// they are as consistent as the rows themselves. The sums are cast because
// the embedded engine returns SUM of integers as a float.
func (s *Service) counters(ctx context.Context, name string) (countersWire, error) {
	c := countersWire{ByCurrency: map[string]*currencyCounters{}}
	if err := s.db.get(ctx, &c.Attempts, `SELECT COUNT(*) FROM sandbox_payments WHERE processor = ?`, name); err != nil {
		return c, err
	}
	type sumRow struct {
		Currency string `db:"currency"`
		N        int64  `db:"n"`
		Amount   int64  `db:"amount"`
	}
	var charged, refunded []sumRow
	err := s.db.selectRows(ctx, &charged, `SELECT currency, COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS SIGNED) AS amount
		FROM sandbox_payments WHERE processor = ? AND status = ? GROUP BY currency`, name, statusSucceeded)
	if err != nil {
		return c, err
	}
	err = s.db.selectRows(ctx, &refunded, `SELECT currency, COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS SIGNED) AS amount
		FROM sandbox_refunds WHERE processor = ? AND status = ? GROUP BY currency`, name, refundSucceeded)
	if err != nil {
		return c, err
	}
	cur := func(code string) *currencyCounters {
		if c.ByCurrency[code] == nil {
			c.ByCurrency[code] = &currencyCounters{}
		}
		return c.ByCurrency[code]
	}
	for _, row := range charged {
		c.Charged += row.N
		c.AmountCharged += row.Amount
		cc := cur(row.Currency)
		cc.Charged, cc.AmountCharged = row.N, row.Amount
	}
	for _, row := range refunded {
		c.Refunded += row.N
		c.AmountRefunded += row.Amount
		cc := cur(row.Currency)
		cc.Refunded, cc.AmountRefunded = row.N, row.Amount
	}
	return c, nil
}
