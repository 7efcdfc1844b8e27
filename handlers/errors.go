package handlers

import (
	"encoding/json"
	"log/slog"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
)

// writeError answers with err in the spec's error shape, through the one
// mapping of error kinds to statuses, logging the cause of server-side
// failures under the request id.
func (s *Server) writeError(rc *fasthttp.RequestCtx, err error) {
	e := errs.From(err)
	status, code := errs.Status(e.Kind)
	b := api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: e.Message, Details: e.Details, RequestID: requestID(rc)}}
	if b.Error.Details == nil {
		b.Error.Details = map[string]any{}
	}
	if status >= 500 {
		s.Log.Error("request failed", slog.String("request_id", b.Error.RequestID), slog.String("error", err.Error()))
	}
	if e.RetryAfter > 0 {
		rc.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(rc, status, &b)
}

func writeJSON(rc *fasthttp.RequestCtx, status int, v any) {
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	enc := json.NewEncoder(rc)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		rc.Error("cannot encode response", fasthttp.StatusInternalServerError)
	}
}
