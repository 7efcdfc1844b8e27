// Package query turns validated request parameters into parameterised
// ClickHouse SQL and typed rows: parameter parsing, the utilization query
// builder, cursors and the metric maths.
package query

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ParamError is invalid client input: a 400 whose message names the
// parameter and the value.
type ParamError struct {
	Message string
	Details map[string]any
}

func (e *ParamError) Error() string { return e.Message }

func paramErr(param string, value any, msg string) *ParamError {
	return &ParamError{Message: msg, Details: map[string]any{param: value}}
}

// Kind classifies store errors for the client.
type Kind int

// Store error kinds.
const (
	KindInternal Kind = iota
	KindUnavailable
	KindTimeout
)

// KindOf translates a driver error once, at the store boundary: a deadline
// or ClickHouse's TIMEOUT_EXCEEDED is a timeout, a refused or broken
// connection means the server is unavailable, anything else is our bug.
func KindOf(err error) Kind {
	var ex *clickhouse.Exception
	switch {
	case err == nil:
		return KindInternal
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.As(err, &ex):
		if ex.Code == 159 {
			return KindTimeout
		}
		return KindInternal
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return KindUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection") {
		return KindUnavailable
	}
	return KindInternal
}
