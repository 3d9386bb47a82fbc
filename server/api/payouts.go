package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
	"switchyard/server/payout"
)

// The payout API (reference §10): JSON, camelCase, its own error envelope
// with E-codes. Handlers parse, call payout.Service once and render.

// payoutRoutes mounts the payout API (when the server has a payout
// service) and the payout settings of the admin API.
func (s *Server) payoutRoutes() {
	if s.cfg.Payouts == nil {
		return
	}
	e := s.echo
	e.POST("/payout/merchant/v1/orders", s.payoutAPI(s.handleCreatePayout))
	e.GET("/payout/merchant/v1/orders/:orderId", s.payoutAPI(s.handleGetPayout))
	e.POST("/payout/merchant/v1/fulfillment/:fulfillmentId/cancel", s.payoutAPI(s.handleCancelFulfillment))
	e.GET("/admin/v1/merchants/:id/payout-settings", s.handleAdminGetPayoutSettings, s.adminAuth)
	e.PUT("/admin/v1/merchants/:id/payout-settings", s.handleAdminPutPayoutSettings, s.adminAuth)
}

// payoutErrorKind is how a pay error code appears in the payout envelope.
type payoutErrorKind struct {
	status      int
	code        string
	userMessage string
}

// payoutErrorKinds maps pay error codes to the payout API's E-codes
// (reference §10.6). A reused orderId is a conflict: 409 with E05.
var payoutErrorKinds = map[string]payoutErrorKind{
	pay.EINVALID:         {http.StatusBadRequest, "E01", "Validation failure"},
	pay.EUNAUTHENTICATED: {http.StatusUnauthorized, "E02", "Invalid API key"},
	pay.EFORBIDDEN:       {http.StatusForbidden, "E08", "Forbidden"},
	pay.ENOTFOUND:        {http.StatusNotFound, "E09", "Not Found"},
	pay.ECONFLICT:        {http.StatusConflict, "E05", "Bad request"},
	pay.EMISMATCH:        {http.StatusUnprocessableEntity, "E05", "Bad request"},
	pay.ERATELIMIT:       {http.StatusTooManyRequests, "E05", "Too many requests"},
	pay.EUNAVAILABLE:     {http.StatusServiceUnavailable, "E90", "Something went wrong"},
	pay.EINTERNAL:        {http.StatusInternalServerError, "E06", "Internal error"},
}

// payoutErrorBody is {"response": {...}, "code": <http status>}.
type payoutErrorBody struct {
	Response payoutErrorResponse `json:"response"`
	Code     int                 `json:"code"`
}

type payoutErrorResponse struct {
	Error        bool         `json:"error"`
	ErrorCode    string       `json:"errorCode"`
	ErrorMessage string       `json:"errorMessage"`
	UserMessage  string       `json:"userMessage"`
	Fields       []fieldError `json:"fields,omitempty"`
}

// payoutAPI authenticates a payout request as the merchant API does and
// renders any error in the payout envelope.
func (s *Server) payoutAPI(h func(c echo.Context, m *pay.Merchant) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := s.merchantAuth(func(c echo.Context) error { return h(c, merchant(c)) })(c)
		if err == nil {
			return nil
		}
		var pe *pay.Error
		if !errors.As(err, &pe) {
			s.log.Error("internal error", "err", err, "request_id", requestID(c), "method", c.Request().Method, "route", c.Path())
			pe = &pay.Error{Code: pay.EINTERNAL, Message: "internal error"}
		}
		kind, ok := payoutErrorKinds[pe.Code]
		if !ok {
			kind = payoutErrorKinds[pay.EINTERNAL]
		}
		if pe.Code == pay.EUNAUTHENTICATED && c.Request().Header.Get(echo.HeaderAuthorization) == "" {
			kind.code, kind.userMessage = "E04", "API key header missing"
		}
		body := payoutErrorBody{Code: kind.status, Response: payoutErrorResponse{
			Error: true, ErrorCode: kind.code, ErrorMessage: pe.Message, UserMessage: kind.userMessage,
		}}
		for _, f := range pe.Fields {
			body.Response.Fields = append(body.Response.Fields, fieldError{f.Field, f.Reason})
		}
		return c.JSON(kind.status, body)
	}
}

// payoutAmountWire accepts an amount as a JSON number or a string of one.
type payoutAmountWire string

func (a *payoutAmountWire) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = payoutAmountWire(s)
		return nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return errors.New("amount must be a number")
	}
	*a = payoutAmountWire(n.String())
	return nil
}

type payoutCreateWire struct {
	OrderID            string                 `json:"orderId"`
	Amount             payoutAmountWire       `json:"amount"`
	CustomerID         string                 `json:"customerId"`
	CustomerPhone      string                 `json:"customerPhone"`
	CustomerEmail      string                 `json:"customerEmail"`
	Type               string                 `json:"type"`
	UDF1               string                 `json:"udf1"`
	UDF2               string                 `json:"udf2"`
	UDF3               string                 `json:"udf3"`
	UDF4               string                 `json:"udf4"`
	UDF5               string                 `json:"udf5"`
	Fulfillments       []payoutFulfillmentIn  `json:"fulfillments"`
	RetryAttemptPolicy *payoutRetryPolicyWire `json:"retryAttemptPolicy"`
}

type payoutFulfillmentIn struct {
	PreferredMethodList []string         `json:"preferredMethodList"`
	Amount              payoutAmountWire `json:"amount"`
	BeneficiaryDetails  struct {
		Type    string            `json:"type"`
		Details map[string]string `json:"details"`
	} `json:"beneficiaryDetails"`
	UDF1           string `json:"udf1"`
	UDF2           string `json:"udf2"`
	UDF3           string `json:"udf3"`
	UDF4           string `json:"udf4"`
	UDF5           string `json:"udf5"`
	AdditionalInfo *struct {
		Remark           string `json:"remark"`
		ScheduleTime     string `json:"scheduleTime"`
		IsRetriable      *bool  `json:"isRetriable"`
		AttemptThreshold int    `json:"attemptThreshold"`
		WebhookDetails   *struct {
			URL      string `json:"url"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"webhookDetails"`
	} `json:"additionalInfo"`
}

type payoutRetryPolicyWire struct {
	MaxAttempts    int      `json:"maxAttempts"`
	RetryOn        []string `json:"retryOn"`
	SwitchMethod   *bool    `json:"switchMethod"`
	BackoffSeconds int      `json:"backoffSeconds"`
	OnUnfulfilled  string   `json:"onUnfulfilled"`
}

// policy converts the wire policy: an absent switchMethod switches, as the
// default policy does; an absent retryOn retries on FAILURE and TIMEOUT.
func (w *payoutRetryPolicyWire) policy() pay.RetryPolicy {
	p := pay.RetryPolicy{MaxAttempts: w.MaxAttempts, RetryOn: w.RetryOn, SwitchMethod: true,
		BackoffSeconds: w.BackoffSeconds, OnUnfulfilled: w.OnUnfulfilled}
	if w.SwitchMethod != nil {
		p.SwitchMethod = *w.SwitchMethod
	}
	if w.RetryOn == nil {
		p.RetryOn = pay.DefaultRetryPolicy().RetryOn
	}
	return p
}

// decodePayoutJSON reads a JSON body into v; a malformed body or a field
// of the wrong type is EINVALID naming the field.
func decodePayoutJSON(c echo.Context, v any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return pay.Invalid("Content-Type", "must be application/json")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return pay.Errorf(pay.EINVALID, "request body could not be read (at most 1 MiB)")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return pay.Invalid(te.Field, "must be a JSON "+te.Value+" of another type ("+te.Type.String()+" expected)")
		}
		return pay.Errorf(pay.EINVALID, "request body must be a JSON object: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func (s *Server) handleCreatePayout(c echo.Context, m *pay.Merchant) error {
	var w payoutCreateWire
	if err := decodePayoutJSON(c, &w); err != nil {
		return err
	}
	in := pay.PayoutInput{
		OrderID: w.OrderID, Amount: string(w.Amount), CustomerID: w.CustomerID, CustomerPhone: w.CustomerPhone,
		CustomerEmail: w.CustomerEmail, Type: w.Type, UDF: [5]string{w.UDF1, w.UDF2, w.UDF3, w.UDF4, w.UDF5},
	}
	if w.RetryAttemptPolicy != nil {
		p := w.RetryAttemptPolicy.policy()
		in.Policy = &p
	}
	for _, f := range w.Fulfillments {
		fi := pay.FulfillmentInput{
			Methods: f.PreferredMethodList, Amount: string(f.Amount),
			Beneficiary: pay.Beneficiary{Type: f.BeneficiaryDetails.Type, Details: f.BeneficiaryDetails.Details},
			UDF:         [5]string{f.UDF1, f.UDF2, f.UDF3, f.UDF4, f.UDF5},
		}
		if ai := f.AdditionalInfo; ai != nil {
			fi.Info = pay.AdditionalInfo{Remark: ai.Remark, ScheduleTime: ai.ScheduleTime, IsRetriable: ai.IsRetriable,
				AttemptThreshold: ai.AttemptThreshold}
			if wd := ai.WebhookDetails; wd != nil {
				fi.Info.Webhook = &pay.WebhookDetails{URL: wd.URL, Username: wd.Username, Password: wd.Password}
			}
		}
		in.Fulfillments = append(in.Fulfillments, fi)
	}
	out, err := s.cfg.Payouts.Create(c.Request().Context(), m, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleGetPayout(c echo.Context, m *pay.Merchant) error {
	if err := payout.ValidExpand(c.QueryParam("expand")); err != nil {
		return err
	}
	out, err := s.cfg.Payouts.Order(c.Request().Context(), m, c.Param("orderId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleCancelFulfillment(c echo.Context, m *pay.Merchant) error {
	out, err := s.cfg.Payouts.Cancel(c.Request().Context(), m, c.Param("fulfillmentId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleAdminGetPayoutSettings(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.svc.Merchant(ctx, c.Param("id")); err != nil {
		return err
	}
	p, err := s.cfg.Payouts.Policy(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"retryAttemptPolicy": p})
}

func (s *Server) handleAdminPutPayoutSettings(c echo.Context) error {
	var w struct {
		RetryAttemptPolicy *payoutRetryPolicyWire `json:"retryAttemptPolicy"`
	}
	if err := decodePayoutJSON(c, &w); err != nil {
		return err
	}
	if w.RetryAttemptPolicy == nil {
		return pay.Invalid("retryAttemptPolicy", "is required")
	}
	p, err := s.cfg.Payouts.PutPolicy(c.Request().Context(), c.Param("id"), w.RetryAttemptPolicy.policy())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"retryAttemptPolicy": p})
}
