// Package errs is usagelens' one error model: a closed set of kinds, and
// the one mapping of a kind to its HTTP status and error code. Every 4xx
// and 5xx answer is an *Error; what caused it goes to the logs only.
package errs

import (
	"errors"
	"net/http"
)

// Kind is what went wrong, as the client is told it.
type Kind int

// The kinds. Internal is the zero value: an error of no known kind is ours.
const (
	Internal Kind = iota
	InvalidParameter
	InvalidRequest
	Unauthenticated
	Forbidden
	NotFound
	Gone
	MethodNotAllowed
	RequestTimeout
	BodyTooLarge
	HeadersTooLarge
	ResultTooLarge
	RangeNotSatisfiable
	TooManyRequests
	Overloaded
	Unavailable
	Timeout
	StorageFull
)

type kindInfo struct {
	status int
	code   string
}

var kinds = map[Kind]kindInfo{
	Internal:            {http.StatusInternalServerError, "internal"},
	InvalidParameter:    {http.StatusBadRequest, "invalid_parameter"},
	InvalidRequest:      {http.StatusBadRequest, "invalid_request"},
	Unauthenticated:     {http.StatusUnauthorized, "unauthenticated"},
	Forbidden:           {http.StatusForbidden, "forbidden"},
	NotFound:            {http.StatusNotFound, "not_found"},
	Gone:                {http.StatusGone, "gone"},
	MethodNotAllowed:    {http.StatusMethodNotAllowed, "method_not_allowed"},
	RequestTimeout:      {http.StatusRequestTimeout, "timeout"},
	BodyTooLarge:        {http.StatusRequestEntityTooLarge, "request_too_large"},
	HeadersTooLarge:     {http.StatusRequestHeaderFieldsTooLarge, "request_too_large"},
	ResultTooLarge:      {http.StatusUnprocessableEntity, "result_too_large"},
	RangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable"},
	TooManyRequests:     {http.StatusTooManyRequests, "too_many_requests"},
	Overloaded:          {http.StatusServiceUnavailable, "overloaded"},
	Unavailable:         {http.StatusServiceUnavailable, "unavailable"},
	Timeout:             {http.StatusGatewayTimeout, "timeout"},
	StorageFull:         {http.StatusInsufficientStorage, "storage_full"},
}

// Status is the HTTP status and error code of a kind.
func Status(k Kind) (status int, code string) {
	ki, ok := kinds[k]
	if !ok {
		ki = kinds[Internal]
	}
	return ki.status, ki.code
}

// Error is an error a client may see.
type Error struct {
	Kind    Kind
	Message string
	Details map[string]any
	// RetryAfter, in seconds, is sent as Retry-After when set.
	RetryAfter int
	// Cause is logged, never sent.
	Cause error
}

func (e *Error) Error() string {
	_, code := Status(e.Kind)
	if e.Cause != nil {
		return code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New is an error of kind with a message for the client.
func New(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }

// Param is an invalid parameter: its name and the value given.
func Param(name string, value any, message string) *Error {
	return &Error{Kind: InvalidParameter, Message: message, Details: map[string]any{name: value}}
}

// From is err as the client may see it: an *Error in its chain as it is,
// anything else an internal error that keeps err as its cause.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "internal error; quote the request id when reporting it", Cause: err}
}

// KindOf is the kind of err (Internal when it has none).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
