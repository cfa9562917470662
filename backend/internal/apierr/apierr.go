// Package apierr holds the typed errors services return and the single mapping from an error
// to an HTTP status and wire body.
package apierr

import (
	"errors"
	"net/http"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// CodeUnsupportedMediaType is the code of a request body that is not application/json.
const CodeUnsupportedMediaType = "unsupported_media_type"

// CodeMethodNotAllowed is the code of a known path asked with the wrong method.
const CodeMethodNotAllowed = "method_not_allowed"

// CodeTooLarge is the code of a body over the limit.
const CodeTooLarge = "payload_too_large"

// Error is an error meant for the API client.
type Error struct {
	// Code is one of the api.Code* constants (or a Code* constant of this package).
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, in seconds, is sent as the Retry-After header when positive.
	RetryAfter int
	// Err is an underlying cause, kept for logs only.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with code and message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

// InvalidJSON is a request body that cannot be decoded.
func InvalidJSON(message string, fields map[string]string) *Error {
	return &Error{Code: api.CodeInvalidJSON, Message: message, Fields: fields}
}

// Validation is a well-formed request with invalid values; fields maps field → problem.
func Validation(fields map[string]string) *Error {
	return &Error{Code: api.CodeValidation, Message: "the request has invalid fields", Fields: fields}
}

// NotFound is a missing (or invisible) resource.
func NotFound(message string) *Error { return New(api.CodeNotFound, message) }

// Unauthorized is a request without valid credentials.
func Unauthorized(message string) *Error { return New(api.CodeUnauthorized, message) }

// Forbidden is an authenticated request without the right to do this.
func Forbidden(message string) *Error { return New(api.CodeForbidden, message) }

// Conflict is a request that clashes with the current state.
func Conflict(message string) *Error { return New(api.CodeConflict, message) }

// Unavailable is a dependency that is down.
func Unavailable(message string, cause error) *Error {
	return &Error{Code: api.CodeUnavailable, Message: message, Err: cause}
}

// Status maps an error code to its HTTP status.
func Status(code string) int {
	switch code {
	case api.CodeInvalidJSON, api.CodeBadIdempotencyKey:
		return http.StatusBadRequest
	case api.CodeValidation, api.CodeUnknownImage, api.CodeVMUnsupported:
		return http.StatusUnprocessableEntity
	case api.CodeServerSuspended, api.CodeQuotaExceeded, api.CodeResellerFunds, api.CodeOutOfStock,
		api.CodeTrialUnavailable:
		return http.StatusConflict
	case api.CodeCouponInvalid, api.CodeCurrencyMismatch, api.CodeGatewayUnavailable:
		return http.StatusUnprocessableEntity
	case api.CodeEmailNotVerified:
		return http.StatusForbidden
	case api.CodeInvalidToken, api.CodeInvalidSignature:
		return http.StatusBadRequest
	case api.CodeUnauthorized, api.CodeTwoFactorRequired:
		return http.StatusUnauthorized
	case api.CodeForbidden:
		return http.StatusForbidden
	case api.CodeNotFound:
		return http.StatusNotFound
	case api.CodeConflict, api.CodeNoCapacity, api.CodeInsufficientFunds:
		return http.StatusConflict
	case api.CodeRateLimited:
		return http.StatusTooManyRequests
	case api.CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Resolve turns any error into a status and the body to send. Errors that are not *Error
// become 500 "internal error"; 5xx bodies never carry internals.
func Resolve(err error, requestID string) (int, api.Error, *Error) {
	var e *Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, api.Error{
			Error:     api.ErrorBody{Code: api.CodeInternal, Message: "internal error"},
			RequestID: requestID,
		}, nil
	}
	status := Status(e.Code)
	body := api.ErrorBody{Code: e.Code, Message: e.Message, Fields: e.Fields}
	if status >= 500 && status != http.StatusServiceUnavailable {
		body = api.ErrorBody{Code: api.CodeInternal, Message: "internal error"}
	}
	return status, api.Error{Error: body, RequestID: requestID}, e
}
