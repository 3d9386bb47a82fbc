package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/routing"
	"switchyard/server/store"
)

// gatewayTimeout bounds one gateway call. The call is detached from the
// shopper's request: a browser that goes away must not turn a payment the
// gateway is processing into an unknown one.
const gatewayTimeout = 30 * time.Second

// OrderEvent is a live status change, published after it was committed.
type OrderEvent struct {
	MerchantID string
	OrderUUID  string
	OrderID    string
	Status     pay.Status
	TxnID      string
	At         time.Time
}

// TxnOutcome is the state of a txn after a step, and what the shopper's
// client must do next.
type TxnOutcome struct {
	Order *pay.Order
	Txn   *pay.Txn
	Next  pay.NextAction
}

// ReturnURL is where the shopper goes when order o is final: the order's
// return_url when its host is allowed, else the merchant's Payment Redirect
// URL, with the signed result parameters. "" when the merchant set neither;
// the hosted page then shows the result itself.
func (s *Service) ReturnURL(m *pay.Merchant, o *pay.Order) string {
	raw := m.PaymentRedirectURL
	if o.ReturnURL != "" {
		if u, err := url.Parse(o.ReturnURL); err == nil && m.ReturnHostAllowed(u) {
			raw = o.ReturnURL
		}
	}
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return ""
	}
	return pay.SignedReturnURL(u, m.ResponseKey, o.OrderID, o.Status)
}

// FinishURL is Switchyard's own URL a client follows after a txn step: it
// redirects to the return URL once the txn is final and shows a waiting
// page until then.
func (s *Service) FinishURL(o *pay.Order, t *pay.Txn) string {
	return s.publicURL + "/pay/" + o.ID + "/finish/" + url.PathEscape(t.TxnID)
}

// StartTxn validates a payment request for order orderUUID of merchant m,
// records a new txn, and authorizes it at the chosen gateway.
func (s *Service) StartTxn(ctx context.Context, m *pay.Merchant, orderUUID string, in pay.TxnInput) (*TxnOutcome, error) {
	card, err := pay.ValidateTxn(&in, s.db.Now())
	if err != nil {
		return nil, err
	}
	if !m.MethodEnabled(in.PaymentMethodType) {
		return nil, pay.Invalid("payment_method_type", in.PaymentMethodType+" is not enabled for this merchant")
	}
	if !m.InstrumentEnabled(in.PaymentMethod) {
		return nil, pay.Invalid("payment_method", in.PaymentMethod+" is not enabled for this merchant")
	}
	o, err := s.db.OrderByID(ctx, orderUUID)
	if err != nil || o.MerchantID != m.ID {
		return nil, pay.Errorf(pay.ENOTFOUND, "order not found")
	}
	decision, err := s.decide(ctx, m, o, in, card)
	if err != nil {
		return nil, err
	}
	rec := TxnRouting{Decision: decision.Record(), Attempts: []RoutingAttempt{}}
	account := decision.Primary()

	var txn *pay.Txn
	order, _, err := s.db.ChangeOrder(ctx, orderUUID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		switch {
		case o.Status == pay.StatusCharged:
			return ch, pay.Errorf(pay.ECONFLICT, "order %s is already CHARGED", o.OrderID)
		case o.Expired(now):
			return ch, pay.Errorf(pay.ECONFLICT, "order %s has expired", o.OrderID)
		case len(txns) >= pay.MaxTxnsPerOrder:
			return ch, pay.Errorf(pay.ECONFLICT, "order %s reached the limit of %d payment attempts", o.OrderID, pay.MaxTxnsPerOrder)
		}
		for _, t := range txns {
			switch t.Status {
			case pay.StatusPendingVBV:
				// The shopper left an authentication page and tries
				// again: the abandoned attempt fails. Should its page
				// still be completed, the late success is recorded as
				// a conflicted txn (and refunded), never lost.
				old := *t
				old.Status = pay.StatusAuthenticationFailed
				old.ErrorCode, old.ErrorMessage = "SUPERSEDED", "authentication abandoned for a new payment attempt"
				old.Details.NextAction = nil
				ch.Updated = append(ch.Updated, &old)
			case pay.StatusStarted, pay.StatusAuthorizing, pay.StatusVBVSuccessful:
				return ch, pay.Errorf(pay.ECONFLICT, "payment attempt %s on this order is still in progress", t.TxnID)
			}
		}
		seq := len(txns) + 1
		txn = &pay.Txn{
			ID: pay.NewID("txnu_"), TxnID: m.ID + "-" + o.OrderID + "-" + strconv.Itoa(seq),
			OrderUUID: o.ID, MerchantID: m.ID, Seq: seq, Status: pay.StatusStarted, Amount: o.Amount,
			Gateway: account.Name, Connector: account.Connector,
			PaymentMethodType: in.PaymentMethodType, PaymentMethod: in.PaymentMethod,
			Details: txnDetails(in, card), Routing: mustJSON(rec),
		}
		ch.NewTxn = txn
		all := append(replaceAll(txns, ch.Updated), txn)
		ev, err := s.event("TXN_CREATED", withStatus(o, pay.OrderStatus(all), now), all)
		if err != nil {
			return ch, err
		}
		ch.Events = append(ch.Events, ev)
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(order, txn)

	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayTimeout)
	defer cancel()
	// Try the candidates in order, moving on only when a gateway certainly
	// did not process the request (Unavailable): never after a possible
	// authorization (Unknown) or a decline, so nobody is charged twice. The
	// txn id is the same at every gateway: none of the earlier ones has it.
	var res connector.Result
	for i, cand := range decision.List() {
		account = cand.Account
		conn, err := s.connectors.For(account)
		if err != nil {
			res = connector.Result{Outcome: connector.Unavailable, RespCode: "CONNECTOR_UNAVAILABLE", RespMessage: err.Error()}
		} else {
			start := time.Now()
			res = conn.Authorize(gctx, connector.Payment{
				TxnID: txn.TxnID, Amount: order.Amount, MethodType: in.PaymentMethodType, Method: in.PaymentMethod,
				Card: card, VPA: in.UPIVPA, UPIFlow: upiFlow(in),
				ReturnURL:  s.publicURL + "/pay/" + order.ID + "/return/" + url.PathEscape(txn.TxnID),
				WebhookURL: s.publicURL + "/webhooks/gateway/" + m.ID + "/" + account.Name,
			})
			timeGateway(ctx, start)
		}
		rec.Attempts = append(rec.Attempts, RoutingAttempt{Gateway: account.Name, Outcome: string(res.Outcome), Code: res.RespCode, At: s.db.Now()})
		if res.Outcome != connector.Unavailable || i == decision.N-1 {
			break
		}
		s.router.Observe(routing.Feedback{MerchantID: m.ID, Gateway: account.Name, MethodType: in.PaymentMethodType,
			Method: in.PaymentMethod, Outcome: routing.Unavailable, Sent: txn.CreatedAt}, s.db.Now())
		s.log.Warn("gateway unavailable, falling back", "txn_id", txn.TxnID, "gateway", account.Name)
	}
	// Record the result with a fresh deadline: a gateway that used up the
	// call's whole budget must not also cost us the record of its answer.
	wctx, wcancel := recordContext(ctx)
	defer wcancel()
	return s.apply(wctx, m, txn, res, phaseAuthorize, &routeChange{Gateway: account.Name, Connector: account.Connector, Routing: mustJSON(rec)})
}

// recordContext is the context a gateway's answer is recorded under: its
// own deadline, detached from the request and from the gateway call's budget.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// routeChange records where a txn finally went after fallbacks.
type routeChange struct {
	Gateway, Connector, Routing string
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data is marshalled here
	}
	return string(b)
}

func upiFlow(in pay.TxnInput) string {
	switch in.TxnType {
	case "UPI_COLLECT":
		return "COLLECT"
	case "UPI_PAY":
		return "INTENT"
	}
	return ""
}

func txnDetails(in pay.TxnInput, card *pay.Card) pay.TxnDetails {
	d := pay.TxnDetails{}
	switch {
	case card != nil:
		d.CardBIN, d.CardLast4, d.CardBrand = card.Number[:6], card.Number[len(card.Number)-4:], card.Brand
		d.CardExpMonth, d.CardExpYear, d.NameOnCard = card.ExpMonth, card.ExpYear, card.Name
		d.AuthType, d.TxnFlow = "THREE_DS", "DIRECT"
	case in.PaymentMethodType == pay.MethodUPI:
		d.PayerVPA, d.TxnFlow = in.UPIVPA, upiFlow(in)
	default:
		d.TxnFlow = "REDIRECT"
	}
	return d
}

// phase says which gateway call produced a result: outcomes mean different
// things after an authorization than after a status query.
type phase int

const (
	phaseAuthorize phase = iota
	phaseComplete
	phaseSync
	phaseNotify
)

// statusFor maps a gateway outcome to the txn status it leads to, and
// whether it changes anything at all.
func statusFor(res connector.Result, ph phase) (pay.Status, bool) {
	switch res.Outcome {
	case connector.Charged:
		return pay.StatusCharged, true
	case connector.RequiresAction:
		// A sync tells it too when the authorization's answer was never
		// recorded (the process died during the call): the txn, still
		// STARTED, would otherwise block the order's next attempt until
		// it expires. Only STARTED may move there; for a txn already on
		// the page or past it, "still waiting" changes nothing.
		return pay.StatusPendingVBV, ph == phaseAuthorize || ph == phaseSync
	case connector.Pending:
		return pay.StatusAuthorizing, true
	case connector.DeclinedHard, connector.DeclinedSoft:
		return pay.StatusAuthorizationFailed, true
	case connector.AuthenticationFailed:
		return pay.StatusAuthenticationFailed, true
	case connector.Unavailable:
		// Only an authorization the gateway certainly never processed is
		// a failure; an unreachable gateway during a sync tells nothing.
		return pay.StatusAuthorizationFailed, ph == phaseAuthorize
	case connector.Unknown:
		// The request may have been processed: the txn stays in flight
		// until a sync tells.
		return pay.StatusAuthorizing, ph == phaseAuthorize
	case connector.NotFound:
		// The gateway never saw the payment. Only a sync may conclude it
		// failed: the reconciler syncs txns older than any gateway call,
		// so no authorization can still be on its way.
		return pay.StatusAuthorizationFailed, ph == phaseSync
	}
	return "", false
}

// apply records a gateway result on txn t of merchant m in one transaction
// (with its events) and publishes the change after commit. Results that
// would move the txn backwards (a late "pending" after CHARGED) change
// nothing.
func (s *Service) apply(ctx context.Context, m *pay.Merchant, t *pay.Txn, res connector.Result, ph phase, rc *routeChange) (*TxnOutcome, error) {
	next, changes := statusFor(res, ph)
	var updated *pay.Txn
	order, txns, err := s.db.ChangeOrder(ctx, t.OrderUUID, func(o *pay.Order, txns []*pay.Txn, now time.Time) (store.OrderChange, error) {
		var ch store.OrderChange
		updated = nil
		cur := findTxn(txns, t.ID)
		if cur == nil {
			return ch, pay.Errorf(pay.ENOTFOUND, "transaction not found")
		}
		if !changes || !pay.CanMove(cur.Status, next) {
			return ch, nil
		}
		nt := *cur
		nt.Status = next
		if rc != nil {
			nt.Gateway, nt.Connector, nt.Routing = rc.Gateway, rc.Connector, rc.Routing
		}
		d := &nt.Details
		if next == pay.StatusCharged {
			d.ConflictReason = conflictReason(m, o, txns, cur, now)
			nt.Conflicted = d.ConflictReason != ""
		}
		setNonEmpty(&d.GatewayRef, res.GatewayRef)
		setNonEmpty(&d.RespCode, res.RespCode)
		setNonEmpty(&d.RespMessage, res.RespMessage)
		setNonEmpty(&d.IntentLink, res.IntentLink)
		d.UnifiedCode = res.UnifiedCode
		d.NextAction = nextAction(s, o, &nt, res)
		if next.Final() {
			at := now
			d.FinalizedAt = &at
		}
		if next.Failed() {
			nt.ErrorCode, nt.ErrorMessage = res.RespCode, res.RespMessage
			if res.Outcome == connector.Unavailable {
				nt.ErrorCode, nt.ErrorMessage = "GATEWAY_UNAVAILABLE", "the gateway did not accept the request"
			}
		} else {
			nt.ErrorCode, nt.ErrorMessage = "", ""
		}
		ch.Updated = []*pay.Txn{&nt}
		ordered := replaceAll(txns, ch.Updated)
		newStatus := pay.OrderStatus(ordered)
		name := ""
		switch {
		case newStatus == pay.StatusCharged && o.Status != pay.StatusCharged:
			name = "ORDER_SUCCEEDED"
		case next.Failed():
			name = "ORDER_FAILED"
		}
		if name != "" {
			ev, err := s.event(name, withStatus(o, newStatus, now), ordered)
			if err != nil {
				return ch, err
			}
			ch.Events = append(ch.Events, ev)
		}
		updated = &nt
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	if updated != nil {
		s.publish(order, updated)
		if updated.Status.Final() || res.Outcome == connector.Unknown {
			s.observe(updated, res)
		}
		s.log.Info("txn updated", "txn_id", updated.TxnID, "status", updated.Status, "gateway", updated.Gateway)
	}
	cur := findTxn(txns, t.ID)
	return &TxnOutcome{Order: order, Txn: cur, Next: s.clientNext(m, order, cur)}, nil
}

func setNonEmpty(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// withStatus is o as it will be once the change being decided commits.
func withStatus(o *pay.Order, st pay.Status, now time.Time) *pay.Order {
	c := *o
	c.Status, c.UpdatedAt = st, now
	return &c
}

func nextAction(s *Service, o *pay.Order, t *pay.Txn, res connector.Result) *pay.NextAction {
	switch t.Status {
	case pay.StatusPendingVBV:
		if res.Action != nil {
			return &pay.NextAction{Kind: "redirect", Method: res.Action.Method, URL: res.Action.URL, Params: res.Action.Params}
		}
		return t.Details.NextAction
	case pay.StatusAuthorizing:
		return &pay.NextAction{Kind: "wait", URL: s.FinishURL(o, t)}
	}
	return nil
}

// clientNext tells the shopper's client what to do after a txn step.
func (s *Service) clientNext(m *pay.Merchant, o *pay.Order, t *pay.Txn) pay.NextAction {
	if t.Details.NextAction != nil && t.Status.Pending() {
		return *t.Details.NextAction
	}
	if t.Status.Pending() {
		return pay.NextAction{Kind: "wait", URL: s.FinishURL(o, t)}
	}
	return pay.NextAction{Kind: "done", URL: s.ReturnURL(m, o)}
}

func findTxn(txns []*pay.Txn, id string) *pay.Txn {
	for _, t := range txns {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// conflictReason decides whether a success on txn cur must not stand: when
// another txn of the order is already charged (the order is paid once), or
// when it arrives for a txn already reported failed, later than the
// merchant's conflict threshold or after the order expired, and the merchant
// has auto-refund of conflicted txns on. A late success within the threshold
// is simply the order's charge.
func conflictReason(m *pay.Merchant, o *pay.Order, txns []*pay.Txn, cur *pay.Txn, now time.Time) string {
	for _, t := range txns {
		if t.ID != cur.ID && t.Status == pay.StatusCharged && !t.Conflicted {
			return "MULTIPLE_CHARGED"
		}
	}
	threshold := time.Duration(m.AutoRefundThresholdMinutes) * time.Minute
	if cur.Status.Failed() && m.AutoRefundConflicted && (now.Sub(cur.CreatedAt) > threshold || o.Expired(now)) {
		return "LATE_SUCCESS"
	}
	return ""
}

// replaceAll returns txns with the updated versions of some of them.
func replaceAll(txns, updated []*pay.Txn) []*pay.Txn {
	out := make([]*pay.Txn, len(txns))
	for i, t := range txns {
		out[i] = t
		for _, u := range updated {
			if u.ID == t.ID {
				out[i] = u
			}
		}
	}
	return out
}

// event builds the outbox row of a webhook about order o (as it will be
// after the change commits) with its txns. The payload is the complete body
// the merchant receives, Juspay's {id, event_name, date_created,
// content{order}} with the order rendered exactly as the Order Status API
// renders it, so a delayed or retried delivery still tells the state at the
// time of the event.
func (s *Service) event(name string, o *pay.Order, txns []*pay.Txn) (store.Event, error) {
	if s.renderOrder == nil {
		return store.Event{}, errors.New("orchestrator: Config.RenderOrder is required to write webhooks")
	}
	id := pay.NewID("evt_")
	order, err := s.renderOrder(o, s.Links(o), txns)
	if err != nil {
		return store.Event{}, fmt.Errorf("rendering %s: %w", name, err)
	}
	payload, err := json.Marshal(struct {
		ID          string          `json:"id"`
		EventName   string          `json:"event_name"`
		DateCreated string          `json:"date_created"`
		Content     json.RawMessage `json:"content"`
	}{id, name, o.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), json.RawMessage(`{"order":` + string(order) + `}`)})
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{ID: id, Name: name, MerchantID: o.MerchantID, OrderUUID: o.ID, Payload: string(payload)}, nil
}

func (s *Service) publish(o *pay.Order, t *pay.Txn) {
	if s.onChange != nil {
		s.onChange(OrderEvent{MerchantID: o.MerchantID, OrderUUID: o.ID, OrderID: o.OrderID,
			Status: o.Status, TxnID: t.TxnID, At: o.UpdatedAt})
	}
}

// CompleteTxn finishes a txn after the shopper came back from the gateway's
// page: it asks the gateway for the outcome (never trusting what the browser
// carried) unless the txn is already final, so a replayed return changes
// nothing.
func (s *Service) CompleteTxn(ctx context.Context, orderUUID, txnID string, params map[string]string) (*TxnOutcome, *pay.Merchant, error) {
	t, m, err := s.txnOfOrder(ctx, orderUUID, txnID)
	if err != nil {
		return nil, nil, err
	}
	if !t.Status.Pending() && !failedLocally(t) {
		out, err := s.TxnStatus(ctx, m, t)
		return out, m, err
	}
	conn, err := s.connectorOf(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayTimeout)
	defer cancel()
	start := time.Now()
	res := conn.Complete(gctx, t.TxnID, t.Details.GatewayRef, params)
	timeGateway(ctx, start)
	wctx, wcancel := recordContext(ctx)
	defer wcancel()
	out, err := s.apply(wctx, m, t, res, phaseComplete, nil)
	return out, m, err
}

// failedLocally reports a txn Switchyard failed without the gateway saying
// so (superseded by a new attempt, or its order expired): the gateway may
// still charge it, so a return from the gateway's page still asks.
func failedLocally(t *pay.Txn) bool {
	return t.Status.Failed() && (t.ErrorCode == "SUPERSEDED" || t.ErrorCode == "EXPIRED")
}

// SyncTxn asks the gateway for the status of a txn in flight, or of one
// Switchyard failed on its own (superseded, expired) which the gateway may
// still have charged, and records it.
func (s *Service) SyncTxn(ctx context.Context, t *pay.Txn) (*TxnOutcome, error) {
	m, err := s.db.Merchant(ctx, t.MerchantID)
	if err != nil {
		return nil, err
	}
	if !t.Status.Pending() && !failedLocally(t) {
		return s.TxnStatus(ctx, m, t)
	}
	conn, err := s.connectorOf(ctx, t)
	if err != nil {
		return nil, err
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayTimeout)
	defer cancel()
	start := time.Now()
	res := conn.Sync(gctx, t.TxnID, t.Details.GatewayRef)
	timeGateway(ctx, start)
	wctx, wcancel := recordContext(ctx)
	defer wcancel()
	return s.apply(wctx, m, t, res, phaseSync, nil)
}

// TxnStatus returns the current state of a txn and its order, with no
// gateway call.
func (s *Service) TxnStatus(ctx context.Context, m *pay.Merchant, t *pay.Txn) (*TxnOutcome, error) {
	o, err := s.db.OrderByID(ctx, t.OrderUUID)
	if err != nil {
		return nil, err
	}
	return &TxnOutcome{Order: o, Txn: t, Next: s.clientNext(m, o, t)}, nil
}

// HandleNotification applies an asynchronous gateway webhook for merchant
// merchantID's gateway account. It is idempotent and safe out of order:
// a notification can only move a txn forward.
func (s *Service) HandleNotification(ctx context.Context, merchantID, accountName string, r *http.Request, body []byte) error {
	account, err := s.db.Gateway(ctx, merchantID, accountName)
	if err != nil {
		return err
	}
	conn, err := s.connectors.For(account)
	if err != nil {
		return err
	}
	n, err := conn.ParseNotification(r, body)
	if err != nil {
		s.log.Warn("gateway notification refused", "merchant_id", merchantID, "gateway", accountName, "err", err)
		return pay.Errorf(pay.EUNAUTHENTICATED, "notification could not be authenticated")
	}
	t, err := s.db.TxnByTxnID(ctx, n.TxnID)
	if err != nil || t.MerchantID != merchantID || t.Gateway != accountName {
		return pay.Errorf(pay.ENOTFOUND, "transaction not found")
	}
	m, err := s.db.Merchant(ctx, merchantID)
	if err != nil {
		return err
	}
	_, err = s.apply(ctx, m, t, n.Result, phaseNotify, nil)
	return err
}

func (s *Service) txnOfOrder(ctx context.Context, orderUUID, txnID string) (*pay.Txn, *pay.Merchant, error) {
	t, err := s.db.TxnByTxnID(ctx, txnID)
	if err != nil || t.OrderUUID != orderUUID {
		return nil, nil, pay.Errorf(pay.ENOTFOUND, "transaction not found")
	}
	m, err := s.db.Merchant(ctx, t.MerchantID)
	if err != nil {
		return nil, nil, err
	}
	return t, m, nil
}

// connectorOf builds the connector a txn ran on.
func (s *Service) connectorOf(ctx context.Context, t *pay.Txn) (connector.Connector, error) {
	account, err := s.db.Gateway(ctx, t.MerchantID, t.Gateway)
	if err != nil {
		return nil, fmt.Errorf("gateway of txn %s: %w", t.TxnID, err)
	}
	acc := *account
	acc.Connector = t.Connector
	return s.connectors.For(&acc)
}

// OrderTxns returns an order's txns, oldest first, and loads its refunds
// into o.Refunds: together they are what the order's status object shows.
func (s *Service) OrderTxns(ctx context.Context, o *pay.Order) ([]*pay.Txn, error) {
	refunds, err := s.db.Refunds(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	o.Refunds = refunds
	return s.db.Txns(ctx, o.ID)
}

// OrderByID returns an order by Switchyard's id.
func (s *Service) OrderByID(ctx context.Context, id string) (*pay.Order, error) {
	return s.db.OrderByID(ctx, id)
}
