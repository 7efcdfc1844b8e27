package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/errs"
)

// ClickHouse error codes the API answers as something other than its own
// bug (ErrorCodes.cpp).
const (
	// A connection closed mid-query: on a cluster, a shard that died
	// while it answered.
	codeReadAfterEOF        = 32
	codeTimeoutExceeded     = 159
	codeTooManySimultaneous = 202
	codeSocketTimeout       = 209
	codeNetworkError        = 210
	codeMemoryLimitExceeded = 241
	codeTooManyParts        = 252
	codeAllConnectionsTried = 279
	codeTooManyRowsOrBytes  = 396
)

// retryAfterSeconds is what an overloaded or unavailable answer asks a
// client to wait.
const retryAfterSeconds = 5

// translateIn is translate for a query of the request ctx: the driver's
// context is cancelled when ctx's deadline passes, and that is a timeout.
func translateIn(ctx context.Context, err error) error {
	if err != nil && errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return translate(err)
}

// translate gives a driver error its kind, once, by ClickHouse error code
// and Go error type (never by message text): the deadline and the server's
// TIMEOUT_EXCEEDED are timeouts; memory and concurrency limits mean the
// server is overloaded for now; result limits mean the request asks for
// too much; a refused, reset or closed connection (ours, or the server's to
// a shard) means it is unavailable;
// anything else (a syntax error, an unknown column) is our bug.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	kind := kindOf(err)
	if kind == errs.Internal {
		return errs.From(err)
	}
	out := &errs.Error{Kind: kind, Cause: err}
	switch kind {
	case errs.Timeout:
		out.Message = "the query took too long; narrow the date range or filters"
	case errs.Overloaded:
		out.Message = "the database is overloaded for this query now; retry shortly, or narrow the date range or filters"
		out.RetryAfter = retryAfterSeconds
	case errs.ResultTooLarge:
		out.Message = "the result exceeds the database's result limits; narrow the date range or filters"
	case errs.Unavailable:
		out.Message = "the database is unavailable; retry shortly"
		out.RetryAfter = retryAfterSeconds
	}
	return out
}

func kindOf(err error) errs.Kind {
	var ex *clickhouse.Exception
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Timeout
	case errors.As(err, &ex):
		switch ex.Code {
		case codeTimeoutExceeded, codeSocketTimeout:
			return errs.Timeout
		case codeMemoryLimitExceeded, codeTooManySimultaneous, codeTooManyParts:
			return errs.Overloaded
		case codeTooManyRowsOrBytes:
			return errs.ResultTooLarge
		case codeNetworkError, codeAllConnectionsTried, codeReadAfterEOF:
			return errs.Unavailable
		}
		return errs.Internal
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.As(err, &ne):
		return errs.Unavailable
	}
	return errs.Internal
}
