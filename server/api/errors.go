package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// errorKind is how one pay error code appears on the wire.
type errorKind struct {
	status int
	// compat is Juspay's top-level error_code family.
	compat string
	// code and category are Juspay's unified error_info fields.
	code, category string
}

// errorKinds maps every pay error code to HTTP; the only such table.
var errorKinds = map[string]errorKind{
	pay.EINVALID:         {http.StatusBadRequest, "invalid_request_error", "INVALID_INPUT", "USER_ERROR"},
	pay.EUNAUTHENTICATED: {http.StatusUnauthorized, "access_denied", "UNAUTHENTICATED", "USER_ERROR"},
	pay.EFORBIDDEN:       {http.StatusForbidden, "forbidden", "UNAUTHORIZED", "USER_ERROR"},
	pay.ENOTFOUND:        {http.StatusNotFound, "not_found", "RESOURCE_NOT_FOUND", "USER_ERROR"},
	pay.ECONFLICT:        {http.StatusConflict, "conflict", "INVALID_ACTION", "USER_ERROR"},
	pay.EMISMATCH:        {http.StatusUnprocessableEntity, "idempotency_key_reused", "DUPLICATE_REQUEST", "USER_ERROR"},
	pay.ERATELIMIT:       {http.StatusTooManyRequests, "rate_limited", "TOO_MANY_REQUESTS", "USER_ERROR"},
	pay.EUNAVAILABLE:     {http.StatusServiceUnavailable, "service_unavailable", "SERVICE_UNAVAILABLE", "SERVER_ERROR"},
	pay.EINTERNAL:        {http.StatusInternalServerError, "internal_error", "INTERNAL_ERROR", "SERVER_ERROR"},
}

// errorBody is Juspay's error shape.
type errorBody struct {
	Status       string    `json:"status"`
	ErrorCode    string    `json:"error_code"`
	ErrorMessage string    `json:"error_message"`
	ErrorInfo    errorInfo `json:"error_info"`
}

type errorInfo struct {
	RequestID        string       `json:"request_id,omitempty"`
	UserMessage      string       `json:"user_message"`
	DeveloperMessage string       `json:"developer_message"`
	Fields           []fieldError `json:"fields,omitempty"`
	Code             string       `json:"code"`
	Category         string       `json:"category"`
}

type fieldError struct {
	FieldName string `json:"field_name"`
	Reason    string `json:"reason"`
}

// userMessages are what a shopper-facing client may show, per code.
var userMessages = map[string]string{
	pay.EINVALID:         "Some details of the request are not valid.",
	pay.EUNAUTHENTICATED: "Authentication failed.",
	pay.EFORBIDDEN:       "This action is not allowed.",
	pay.ENOTFOUND:        "The requested resource was not found.",
	pay.ECONFLICT:        "The request conflicts with the current state; please retry.",
	pay.EMISMATCH:        "This request was already made with different details.",
	pay.ERATELIMIT:       "Too many requests; please retry later.",
	pay.EUNAVAILABLE:     "The service is temporarily unavailable; please retry.",
	pay.EINTERNAL:        "Something went wrong; please retry.",
}

// handleError renders every error returned by a handler or middleware. An
// application error (*pay.Error) is shown as it is; echo's own errors (no
// route, wrong method, body too large) are translated; anything else is
// logged with the request id and shown as "internal error", so no SQL or
// gateway detail ever reaches a client.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var pe *pay.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &he):
		pe = echoError(he)
	default:
		s.log.Error("internal error", "err", err, "request_id", requestID(c),
			"method", c.Request().Method, "route", c.Path())
		pe = &pay.Error{Code: pay.EINTERNAL, Message: "internal error"}
	}
	kind, ok := errorKinds[pe.Code]
	if !ok {
		kind = errorKinds[pay.EINTERNAL]
	}
	body := errorBody{
		Status:       http.StatusText(kind.status),
		ErrorCode:    kind.compat,
		ErrorMessage: pe.Message,
		ErrorInfo: errorInfo{
			RequestID:        requestID(c),
			UserMessage:      userMessages[pe.Code],
			DeveloperMessage: pe.Message,
			Code:             kind.code,
			Category:         kind.category,
		},
	}
	if pe.Compat != "" {
		body.ErrorCode = pe.Compat
	}
	for _, f := range pe.Fields {
		body.ErrorInfo.Fields = append(body.ErrorInfo.Fields, fieldError{f.Field, f.Reason})
		if f.Reason == "is required" {
			body.ErrorInfo.Code = "MISSING_MANDATORY_PARAMETER"
		}
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(kind.status)
	} else if nf, ok := notFoundOrder(c, pe); ok {
		err = c.JSON(kind.status, nf)
	} else {
		err = c.JSON(kind.status, body)
	}
	if err != nil {
		s.log.Warn("writing error response", "err", err)
	}
}

// echoError translates echo's routing and middleware errors.
func echoError(he *echo.HTTPError) *pay.Error {
	msg, _ := he.Message.(string)
	switch he.Code {
	case http.StatusNotFound:
		return pay.Errorf(pay.ENOTFOUND, "no such endpoint")
	case http.StatusMethodNotAllowed:
		return pay.Errorf(pay.EINVALID, "method not allowed on this endpoint")
	case http.StatusRequestEntityTooLarge:
		return pay.Errorf(pay.EINVALID, "request body too large (at most 1 MiB)")
	case http.StatusUnauthorized:
		return pay.Errorf(pay.EUNAUTHENTICATED, "authentication required")
	case http.StatusBadRequest:
		return pay.Errorf(pay.EINVALID, "%s", strings.ToLower(msg))
	}
	if he.Code >= 400 && he.Code < 500 {
		return pay.Errorf(pay.EINVALID, "%s", http.StatusText(he.Code))
	}
	return pay.Errorf(pay.EINTERNAL, "internal error")
}

// notFoundOrder renders an unknown order the way Juspay does on the order
// status API: {"status":"NOT_FOUND","status_id":40,...}, plus our error
// fields so generic error handling still works.
func notFoundOrder(c echo.Context, pe *pay.Error) (any, bool) {
	orderID := c.Param("order_id")
	if pe.Code != pay.ENOTFOUND || orderID == "" || pe.Message != "order not found" {
		return nil, false
	}
	return map[string]any{
		"status":        string(pay.StatusNotFound),
		"status_id":     pay.StatusNotFound.ID(),
		"order_id":      orderID,
		"error_code":    "not_found",
		"error_message": "order not found",
	}, true
}
