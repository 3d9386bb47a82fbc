package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"switchyard/server/connector"
	"switchyard/server/pay"
)

// Raw codes the connector reports for transport failures.
const (
	codeUnreachable = "gateway_unreachable"
	codeTimeout     = "gateway_timeout"
	codeBadResponse = "gateway_bad_response"
)

// ConnectorConfig configures the sandbox connectors of a deployment.
type ConnectorConfig struct {
	// BaseURL is where the sandbox service is mounted, e.g.
	// "http://127.0.0.1:8080/sandbox".
	BaseURL string
	// Client makes the calls. Nil means a client with a 30 s timeout.
	Client *http.Client
	// NotifyKey is a deployment secret: it keys the per-txn secrets the
	// sandbox signs notifications with, for accounts whose credentials have
	// no webhook_secret.
	NotifyKey []byte
}

// Connector is the sandbox connector of one gateway account: it talks to the
// sandbox over HTTP exactly as an adapter talks to a real gateway.
//
// Its outcomes: a transport failure before the request was fully written
// (connection refused, DNS) or a 503 is Unavailable, certainly not
// processed; a failure after it was written (timeout, reset) or another 5xx
// is Unknown. Sync and Complete of a txn the sandbox has no record of answer
// Unavailable with RespCode "payment_not_found": it certainly did not charge.
type Connector struct {
	base       string
	client     *http.Client
	processor  string
	merchantID string
	account    string
	notifyKey  []byte
}

var _ connector.Connector = (*Connector)(nil)

// NewConnector builds the connector of account, whose
// Credentials["processor"] names the sandbox processor (required) and whose
// optional Credentials["webhook_secret"] replaces cfg.NotifyKey for it.
func NewConnector(cfg ConnectorConfig, account *pay.GatewayAccount) (*Connector, error) {
	if account == nil {
		return nil, errors.New("sandbox.NewConnector: no gateway account")
	}
	processor := account.Credentials["processor"]
	if !processorNamePattern.MatchString(processor) {
		return nil, fmt.Errorf("sandbox.NewConnector(%s/%s): credentials.processor must name a processor (1-64 letters, digits, '_' or '-')",
			account.MerchantID, account.Name)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox.NewConnector: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	key := cfg.NotifyKey
	if secret := account.Credentials["webhook_secret"]; secret != "" {
		key = []byte(secret)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("sandbox.NewConnector(%s/%s): no notification key: set ConnectorConfig.NotifyKey or credentials.webhook_secret",
			account.MerchantID, account.Name)
	}
	client := cfg.Client
	if client == nil {
		client = newClient()
	}
	return &Connector{
		base: strings.TrimRight(cfg.BaseURL, "/"), client: client, processor: processor,
		merchantID: account.MerchantID, account: account.Name, notifyKey: bytes.Clone(key),
	}, nil
}

// Factory returns a connector.Factory building sandbox connectors with cfg,
// for connector.Registry{"sandbox": sandbox.Factory(cfg)}.
func Factory(cfg ConnectorConfig) connector.Factory {
	if cfg.Client == nil {
		// One connection pool for every account's connector, which lives
		// only as long as a txn.
		cfg.Client = newClient()
	}
	return func(account *pay.GatewayAccount) (connector.Connector, error) {
		return NewConnector(cfg, account)
	}
}

// newClient returns the client for calls to the gateway: a 30 s timeout and
// a transport that keeps enough idle connections to reuse them under load
// (the default transport keeps two per host, so concurrent txns would each
// open, and leave in TIME_WAIT, a connection of their own).
func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}

// notifySecret is the secret the sandbox signs txnID's notifications with:
// derived from the account's key, so it needn't be stored anywhere.
func (c *Connector) notifySecret(txnID string) string {
	m := hmac.New(sha256.New, c.notifyKey)
	m.Write([]byte(c.merchantID + "/" + c.account + "/" + txnID))
	return hex.EncodeToString(m.Sum(nil))
}

// Authorize starts a payment; the txn id is the sandbox's idempotency key.
func (c *Connector) Authorize(ctx context.Context, p connector.Payment) connector.Result {
	req := paymentRequest{
		TxnID: p.TxnID, Amount: p.Amount.Amount, Currency: p.Amount.Currency, MethodType: p.MethodType,
		Method: p.Method, VPA: p.VPA, ReturnURL: p.ReturnURL, WebhookURL: p.WebhookURL,
		NotifySecret: c.notifySecret(p.TxnID),
	}
	switch strings.ToUpper(p.UPIFlow) {
	case "INTENT", "UPI_PAY", "UPI_INTENT":
		req.UPIFlow = upiIntent
	case "COLLECT", "UPI_COLLECT":
		req.UPIFlow = upiCollect
	}
	if p.Card != nil {
		req.Card = &cardRequest{Number: p.Card.Number, ExpMonth: p.Card.ExpMonth, ExpYear: p.Card.ExpYear, CVV: p.Card.CVV}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return connector.Result{Outcome: connector.DeclinedHard, RespCode: codeInvalidRequest,
			RespMessage: "could not encode the payment", UnifiedCode: connector.UEIntegration}
	}
	return c.paymentResult(c.call(ctx, http.MethodPost, "/v1/payments", body, p.TxnID))
}

// Complete finishes a payment after the shopper's action. The params the
// shopper's browser brought back are ignored: the sandbox recorded the
// decision itself.
func (c *Connector) Complete(ctx context.Context, txnID, gatewayRef string, params map[string]string) connector.Result {
	return c.paymentResult(c.call(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(txnID)+"/complete", []byte("{}"), ""))
}

// Sync asks the sandbox for the payment's current status.
func (c *Connector) Sync(ctx context.Context, txnID, gatewayRef string) connector.Result {
	return c.paymentResult(c.call(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(txnID), nil, ""))
}

// Refund returns money of a charged payment; r.RefundID is the sandbox's
// idempotency key.
func (c *Connector) Refund(ctx context.Context, r connector.Refund) connector.RefundResult {
	body, err := json.Marshal(refundRequest{RefundID: r.RefundID, TxnID: r.TxnID, Amount: r.Amount.Amount, Currency: r.Amount.Currency})
	if err != nil {
		return connector.RefundResult{Outcome: connector.RefundFailed, RespCode: codeInvalidRequest, RespMessage: "could not encode the refund"}
	}
	res := c.call(ctx, http.MethodPost, "/v1/refunds", body, r.RefundID)
	switch {
	case res.err != nil && !res.written:
		return connector.RefundResult{Outcome: connector.RefundFailed, RespCode: codeUnreachable, RespMessage: "sandbox unreachable: not processed"}
	case res.err != nil:
		return connector.RefundResult{Outcome: connector.RefundUnknown, RespCode: codeTimeout, RespMessage: "no answer from the sandbox: the refund may have been processed"}
	case res.status == http.StatusServiceUnavailable:
		code, msg := res.errorCode(codeProcessorDown)
		return connector.RefundResult{Outcome: connector.RefundFailed, RespCode: code, RespMessage: msg}
	case res.status >= 500:
		code, msg := res.errorCode(codeInternal)
		return connector.RefundResult{Outcome: connector.RefundUnknown, RespCode: code, RespMessage: msg}
	case res.status >= 400:
		code, msg := res.errorCode(codeInvalidRequest)
		return connector.RefundResult{Outcome: connector.RefundFailed, RespCode: code, RespMessage: msg}
	}
	return refundResult(res)
}

// RefundStatus asks the sandbox for the state of a refund; one it has no
// record of certainly did not happen.
func (c *Connector) RefundStatus(ctx context.Context, r connector.Refund) connector.RefundResult {
	res := c.call(ctx, http.MethodGet, "/v1/refunds/"+url.PathEscape(r.RefundID), nil, "")
	switch {
	case res.err != nil || res.status >= 500:
		return connector.RefundResult{Outcome: connector.RefundUnknown, RespCode: codeUnreachable, RespMessage: "no answer from the sandbox"}
	case res.status == http.StatusNotFound:
		return connector.RefundResult{Outcome: connector.RefundFailed, RespCode: "refund_not_found", RespMessage: "the sandbox has no record of this refund"}
	case res.status >= 400:
		code, msg := res.errorCode(codeInvalidRequest)
		return connector.RefundResult{Outcome: connector.RefundUnknown, RespCode: code, RespMessage: msg}
	}
	return refundResult(res)
}

func refundResult(res callResult) connector.RefundResult {
	var out refundResponse
	if err := json.Unmarshal(res.body, &out); err != nil {
		return connector.RefundResult{Outcome: connector.RefundUnknown, RespCode: codeBadResponse, RespMessage: "unreadable answer from the sandbox"}
	}
	rr := connector.RefundResult{GatewayRef: out.ID, RespCode: out.Status, RespMessage: out.Message}
	if out.DeclineCode != "" {
		rr.RespCode = out.DeclineCode
	}
	switch out.Status {
	case refundSucceeded:
		rr.Outcome = connector.RefundSucceeded
	case refundFailed:
		rr.Outcome = connector.RefundFailed
	case refundProcessing:
		rr.Outcome = connector.RefundPending
	default:
		rr.Outcome = connector.RefundUnknown
	}
	return rr
}

// ParseNotification authenticates a notification by its X-Sandbox-Signature
// (the secret is recomputed from the txn id in the body) and decodes it.
func (c *Connector) ParseNotification(r *http.Request, body []byte) (connector.Notification, error) {
	sig, err := hex.DecodeString(r.Header.Get(SignatureHeader))
	if err != nil || len(sig) != sha256.Size {
		return connector.Notification{}, errors.New("sandbox notification: missing or malformed " + SignatureHeader)
	}
	var n notificationBody
	if err := json.Unmarshal(body, &n); err != nil || n.TxnID == "" {
		return connector.Notification{}, errors.New("sandbox notification: body is not a notification")
	}
	m := hmac.New(sha256.New, []byte(c.notifySecret(n.TxnID)))
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return connector.Notification{}, errors.New("sandbox notification: bad signature")
	}
	res := paymentResult(&paymentResponse{ID: n.PaymentID, TxnID: n.TxnID, Status: n.Status,
		DeclineCode: n.DeclineCode, Message: n.Message, Retryable: n.Retryable})
	return connector.Notification{TxnID: n.TxnID, Result: res}, nil
}

// callResult is an HTTP exchange with the sandbox: err is a transport error;
// written reports whether the whole request had been sent when it happened.
type callResult struct {
	status  int
	body    []byte
	err     error
	written bool
}

// errorCode reads the sandbox's error code and message from an error answer.
func (r *callResult) errorCode(fallback string) (string, string) {
	var e errorBody
	if json.Unmarshal(r.body, &e) == nil && e.ErrorCode != "" {
		return e.ErrorCode, e.ErrorMessage
	}
	return fallback, fmt.Sprintf("sandbox answered HTTP %d", r.status)
}

// maxResponse bounds what is read of an answer.
const maxResponse = 1 << 20

// call sends one request. Bodies are never logged: they carry card data.
// idemKey, when set, is sent as Idempotency-Key, which also lets net/http
// retry the request on a reused connection that turns out dead.
func (c *Connector) call(ctx context.Context, method, path string, body []byte, idemKey string) callResult {
	return c.callWith(ctx, method, path, body, idemKey, ProcessorHeader)
}

// callWith is call with the header that names c.processor to the sandbox
// (ProcessorHeader for payments, RailHeader for payouts).
func (c *Connector) callWith(ctx context.Context, method, path string, body []byte, idemKey, nameHeader string) callResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return callResult{err: err}
	}
	var written atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { written.Store(info.Err == nil) },
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	req.Header.Set(nameHeader, c.processor)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return callResult{err: err, written: written.Load() && !notSent(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		// The sandbox answered, so it got the request.
		return callResult{status: resp.StatusCode, err: err, written: true}
	}
	return callResult{status: resp.StatusCode, body: b, written: true}
}

// notSent recognises errors that happen before a request can leave: DNS
// failures and failed dials (connection refused, no route).
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// paymentResult maps an exchange about a payment to a Result.
func (c *Connector) paymentResult(res callResult) connector.Result {
	switch {
	case res.err != nil && !res.written:
		return connector.Result{Outcome: connector.Unavailable, RespCode: codeUnreachable,
			RespMessage: "sandbox unreachable: the request was not processed", UnifiedCode: connector.UEGateway}
	case res.err != nil:
		return connector.Result{Outcome: connector.Unknown, RespCode: codeTimeout,
			RespMessage: "no answer from the sandbox after the request was sent: it may have been processed", UnifiedCode: connector.UEUnknown}
	case res.status == http.StatusServiceUnavailable:
		code, msg := res.errorCode(codeProcessorDown)
		return connector.Result{Outcome: connector.Unavailable, RespCode: code, RespMessage: msg, UnifiedCode: connector.UEGateway}
	case res.status >= 500:
		code, msg := res.errorCode(codeInternal)
		return connector.Result{Outcome: connector.Unknown, RespCode: code, RespMessage: msg, UnifiedCode: connector.UEUnknown}
	case res.status == http.StatusNotFound:
		// The sandbox has no record of the payment (payment_not_found), or
		// no such endpoint: either way nothing was charged.
		code, msg := res.errorCode("not_found")
		return connector.Result{Outcome: connector.NotFound, RespCode: code, RespMessage: msg, UnifiedCode: connector.UEGateway}
	case res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
		code, msg := res.errorCode(codeUnauthorized)
		return connector.Result{Outcome: connector.DeclinedHard, RespCode: code, RespMessage: msg, UnifiedCode: connector.UEConfig}
	case res.status >= 400:
		code, msg := res.errorCode(codeInvalidRequest)
		return connector.Result{Outcome: connector.DeclinedHard, RespCode: code, RespMessage: msg, UnifiedCode: connector.UEIntegration}
	}
	var out paymentResponse
	if err := json.Unmarshal(res.body, &out); err != nil || out.Status == "" {
		return connector.Result{Outcome: connector.Unknown, RespCode: codeBadResponse,
			RespMessage: "unreadable answer from the sandbox", UnifiedCode: connector.UEUnknown}
	}
	return paymentResult(&out)
}

// paymentResult maps the sandbox's view of a payment to a Result.
func paymentResult(p *paymentResponse) connector.Result {
	r := connector.Result{GatewayRef: p.ID, RespCode: p.Status, RespMessage: p.Message}
	if p.DeclineCode != "" {
		r.RespCode = p.DeclineCode
	}
	switch p.Status {
	case statusSucceeded:
		r.Outcome = connector.Charged
	case statusRequiresAction:
		r.Outcome = connector.RequiresAction
		if p.Action != nil {
			r.Action = &connector.Action{Method: p.Action.Method, URL: p.Action.URL, Params: p.Action.Params}
		}
	case statusPending:
		r.Outcome = connector.Pending
		r.IntentLink = p.IntentLink
	case statusDeclined, statusFailed:
		switch {
		case p.DeclineCode == codeAuthenticationFailed || p.DeclineCode == codeAuthenticationAbandoned:
			r.Outcome, r.UnifiedCode = connector.AuthenticationFailed, connector.UEInstrument
		case p.DeclineCode == codeProcessingError:
			r.Outcome, r.UnifiedCode = connector.DeclinedSoft, connector.UEGateway
		case p.Retryable:
			r.Outcome, r.UnifiedCode = connector.DeclinedSoft, connector.UEInstrument
		default:
			r.Outcome, r.UnifiedCode = connector.DeclinedHard, connector.UEInstrument
		}
	default:
		r.Outcome, r.UnifiedCode = connector.Unknown, connector.UEUnknown
	}
	return r
}
