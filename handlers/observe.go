package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/observability"
)

// recordKey is the user value holding the request's *requestRecord.
const recordKey = "usagelens_record"

// observe gives every request an id, then records its metrics and one log
// line once it is answered: when the handler returns, or, for a streamed
// export, when fasthttp has written the stream's last byte (see stream).
func (s *Server) observe(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		rec := &requestRecord{id: incomingRequestID(rc), start: time.Now()}
		rc.SetUserValue(recordKey, rec)
		rc.Response.Header.Set("X-Request-Id", rec.id)
		s.Metrics.InFlight.Inc()
		s.serveRecovering(next, rc)
		rec.route, _ = rc.UserValue(router.MatchedRoutePathParam).(string)
		if rec.route == "" {
			rec.route = routeUnmatched
		}
		rec.method = observability.HTTPMethod(rc.Method())
		rec.status = rc.Response.StatusCode()
		rec.clientID, _ = rc.UserValue("client_id").(string)
		if rec.streamed {
			return // fasthttp writes the stream after we return; it records then
		}
		// Body() would read a body stream (a download) whole into memory.
		if rc.Response.IsBodyStream() {
			rec.bytes = max(0, rc.Response.Header.ContentLength())
		} else {
			rec.bytes = len(rc.Response.Body())
		}
		s.record(rec, nil)
	}
}

// serveRecovering runs next, turning a panic into a logged 500 rather
// than the end of the process.
func (s *Server) serveRecovering(next fasthttp.RequestHandler, rc *fasthttp.RequestCtx) {
	defer func() {
		if p := recover(); p != nil {
			s.Log.Error("handler panicked", slog.String("request_id", requestID(rc)),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			rc.Response.ResetBody()
			s.writeError(rc, errs.From(fmt.Errorf("handler panicked: %v", p)))
		}
	}()
	next(rc)
}

// requestRecord is what the request's metrics and log line say, copied out
// of the RequestCtx.
type requestRecord struct {
	id, route, method, clientID string
	status, rows, bytes         int
	start                       time.Time
	// streamed: a stream took the recording over (see stream).
	streamed bool
}

// record counts a finished request and writes its log line. streamErr is
// why a streamed body ended early, if it did.
func (s *Server) record(r *requestRecord, streamErr error) {
	d := time.Since(r.start)
	s.Metrics.InFlight.Dec()
	s.Metrics.ObserveHTTP(r.route, r.method, r.status, r.bytes, d)
	attrs := []slog.Attr{
		slog.String("request_id", r.id), slog.String("route", r.route), slog.String("method", r.method),
		slog.String("client_id", r.clientID), slog.Int("status", r.status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.Int("rows", r.rows), slog.Int("bytes", r.bytes),
	}
	if streamErr != nil {
		attrs = append(attrs, slog.String("stream_error", streamErr.Error()))
	}
	s.Log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// setRows reports how many data rows the response carries, for the
// request's log line.
func setRows(rc *fasthttp.RequestCtx, n int) { recordOf(rc).rows = n }

func recordOf(rc *fasthttp.RequestCtx) *requestRecord {
	if rec, ok := rc.UserValue(recordKey).(*requestRecord); ok {
		return rec
	}
	return &requestRecord{} // outside observe (tests of single handlers)
}

func requestID(rc *fasthttp.RequestCtx) string { return recordOf(rc).id }

// incomingRequestID honours a caller's X-Request-Id when it is a short
// printable token, so it cannot forge log lines; otherwise it makes one.
func incomingRequestID(rc *fasthttp.RequestCtx) string {
	in := rc.Request.Header.Peek("X-Request-Id")
	if len(in) > 0 && len(in) <= 128 {
		ok := true
		for _, c := range in {
			if c <= ' ' || c > '~' || c == '"' || c == '\\' {
				ok = false
				break
			}
		}
		if ok {
			return string(in)
		}
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
