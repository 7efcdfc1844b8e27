package handlers

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
)

// apiError is every error a client sees, in the spec's shape. Causes stay
// in the logs.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
	// retryAfter, in seconds, is sent as Retry-After when set.
	retryAfter int
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errUnauthenticated(msg string) *apiError {
	return &apiError{status: fasthttp.StatusUnauthorized, code: "unauthenticated", message: msg}
}

func errForbidden() *apiError {
	return &apiError{status: fasthttp.StatusForbidden, code: "forbidden", message: "the token is not scoped to this client"}
}

func errNotFound(msg string, details map[string]any) *apiError {
	return &apiError{status: fasthttp.StatusNotFound, code: "not_found", message: msg, details: details}
}

func errUnavailable() *apiError {
	return &apiError{status: fasthttp.StatusServiceUnavailable, code: "unavailable", message: "the database is unavailable; retry shortly", retryAfter: 5}
}

func errTimeout() *apiError {
	return &apiError{status: fasthttp.StatusGatewayTimeout, code: "timeout", message: "the query took too long; narrow the date range or filters"}
}

func errInternal() *apiError {
	return &apiError{status: fasthttp.StatusInternalServerError, code: "internal", message: "internal error; quote the request id when reporting it"}
}

// toAPIError maps any error to what the client may see: parameter errors
// keep their message, store errors keep their kind, anything else is a 500.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var pe *query.ParamError
	if errors.As(err, &pe) {
		return &apiError{status: fasthttp.StatusBadRequest, code: "invalid_parameter", message: pe.Message, details: pe.Details}
	}
	switch query.KindOf(err) {
	case query.KindUnavailable:
		return errUnavailable()
	case query.KindTimeout:
		return errTimeout()
	}
	return errInternal()
}

type errorBody struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

// writeError answers with err in the spec's error shape, logging the cause
// of server-side failures under the request id.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	ae := toAPIError(err)
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Details = ae.code, ae.message, ae.details
	if b.Error.Details == nil {
		b.Error.Details = map[string]any{}
	}
	b.Error.RequestID = requestID(ctx)
	if ae.status >= 500 {
		s.Log.Error("request failed", slog.String("request_id", b.Error.RequestID), slog.String("error", err.Error()))
	}
	if ae.retryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", itoa(ae.retryAfter))
	}
	writeJSON(ctx, ae.status, &b)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		ctx.Error("cannot encode response", fasthttp.StatusInternalServerError)
	}
}
