package pay

import (
	"errors"
	"fmt"
)

// Error codes: a small closed set, mapped to HTTP statuses in one place (api).
const (
	EINVALID         = "invalid"         // the request is malformed or a field is wrong
	EUNAUTHENTICATED = "unauthenticated" // no or bad credentials
	EFORBIDDEN       = "forbidden"       // credentials fine, action not allowed
	ENOTFOUND        = "not_found"       // the resource does not exist (for this merchant)
	ECONFLICT        = "conflict"        // the request collides with current state or a concurrent request
	EMISMATCH        = "mismatch"        // an idempotency key was reused with a different request
	ERATELIMIT       = "rate_limited"    // too many requests
	EUNAVAILABLE     = "unavailable"     // a dependency is down; retry later
	EINTERNAL        = "internal"        // a bug or an unexpected failure; details are only logged
)

// FieldError names one offending input field and why it was refused.
type FieldError struct {
	Field  string
	Reason string
}

// Error is an application error: safe to show to the caller, unlike any other
// error, which the HTTP layer logs and reports as "internal error".
type Error struct {
	Code    string
	Message string
	// Fields lists the inputs at fault, for validation errors.
	Fields []FieldError
	// Compat, when set, is the Juspay error_code merchants' integrations
	// match on (e.g. "duplicate.call"); otherwise the HTTP layer derives one.
	Compat string
}

func (e *Error) Error() string {
	return fmt.Sprintf("switchyard error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, reason string) *Error {
	return &Error{Code: EINVALID, Message: field + ": " + reason, Fields: []FieldError{{field, reason}}}
}

// ErrorCode returns the code of an application error, EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Problems collects validation failures so a request reports every bad field
// at once instead of one per round trip.
type Problems []FieldError

// Add records a problem with field.
func (p *Problems) Add(field, reason string) { *p = append(*p, FieldError{field, reason}) }

// Err returns nil when there are no problems, else an EINVALID *Error naming
// them all.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := p[0].Field + ": " + p[0].Reason
	if len(p) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(p)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: p}
}
