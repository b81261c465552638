// Package kernel is what every billing domain shares: the error type
// clients see (its codes, docs/api.md), money in minor units and its
// bounds, and transactions that retry on serialisation failures.
package kernel

import (
	"errors"
	"fmt"
	"time"
)

// Error codes clients rely on (docs/api.md, "Conventions").
const (
	CodeUnauthenticated       = "UNAUTHENTICATED"
	CodeForbidden             = "FORBIDDEN"
	CodeNotFound              = "NOT_FOUND"
	CodeBadUserInput          = "BAD_USER_INPUT"
	CodeConflict              = "CONFLICT"
	CodeInternal              = "INTERNAL"
	CodeIdempotencyKeyReused  = "IDEMPOTENCY_KEY_REUSED"
	CodeInsufficientBalance   = "INSUFFICIENT_BALANCE"
	CodeCreditNotTransferable = "CREDIT_NOT_TRANSFERABLE"
	CodeRateLimited           = "RATE_LIMITED"
	// CodeThrottled: too many attempts or too much cost; the error's
	// RetryAfter says when to try again (extensions.retryAfterSeconds).
	CodeThrottled = "THROTTLED"
	// The payment codes.
	CodePaymentMethodNotAllowed = "PAYMENT_METHOD_NOT_ALLOWED"
	CodeRegistrationHours       = "REGISTRATION_HOURS"
	CodeOutsidePaymentWindow    = "OUTSIDE_PAYMENT_WINDOW"
	CodeAmountBelowMinimum      = "AMOUNT_BELOW_MINIMUM"
	CodePaymentDeclined         = "PAYMENT_DECLINED"
	// CodePaymentPending: the gateway has not answered a sale yet.
	CodePaymentPending = "PAYMENT_PENDING"
)

// Error is a failure a client can act on: it carries the extensions.code of
// the GraphQL error and, when one input field is at fault, its name.
type Error struct {
	Code    string
	Message string
	Field   string
	// RetryAfter, when positive, tells the client when to try again; it is
	// answered as extensions.retryAfterSeconds (whole seconds, rounded up).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Errorf makes a client-facing error with a code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError makes a BAD_USER_INPUT error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeBadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the answer for anything missing or belonging to another tenant
// a foreign id never reveals that it exists).
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// Forbidden is the answer for valid credentials without the right.
func Forbidden(format string, args ...any) *Error {
	return &Error{Code: CodeForbidden, Message: fmt.Sprintf(format, args...)}
}

// Throttled refuses an attempt until retryAfter has passed (THROTTLED).
func Throttled(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: CodeThrottled, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up (0 when unset).
func (e *Error) RetryAfterSeconds() int64 {
	if e.RetryAfter <= 0 {
		return 0
	}
	return int64((e.RetryAfter + time.Second - 1) / time.Second)
}

// AsError returns the client-facing error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
