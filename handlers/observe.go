package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/observability"
)

// User value keys a handler sets for observe.
const (
	requestIDKey = "request_id"
	rowsKey      = "rows"
)

// observe gives every request an id, then records its metrics and one log
// line once it is answered: when the handler returns, or, for a body set
// with streamBody, when fasthttp has written the stream's last byte.
func (s *Server) observe(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		id := incomingRequestID(ctx)
		ctx.SetUserValue(requestIDKey, id)
		ctx.Response.Header.Set("X-Request-Id", id)
		s.Metrics.InFlight.Inc()
		s.serveRecovering(next, ctx)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = routeUnmatched
		}
		rec := requestRecord{id: id, route: route, method: observability.HTTPMethod(ctx.Method()), status: ctx.Response.StatusCode(), start: start}
		rec.clientID, _ = ctx.UserValue("client_id").(string)
		rec.rows, _ = ctx.UserValue(rowsKey).(int)
		if bs, ok := ctx.Response.BodyStream().(*bodyStream); ok {
			// fasthttp reads the stream after we return, on this goroutine,
			// and closes it when done: the record waits for that.
			bs.s, bs.rec = s, rec
			return
		}
		// Any other stream is measured up to the handler's return only, and
		// its size is not known: Body() would drain it into memory.
		if !ctx.Response.IsBodyStream() {
			rec.bytes = len(ctx.Response.Body())
		}
		s.record(&rec, nil)
	}
}

// serveRecovering runs next, turning a panic into a logged 500 rather
// than the end of the process.
func (s *Server) serveRecovering(next fasthttp.RequestHandler, ctx *fasthttp.RequestCtx) {
	defer func() {
		if p := recover(); p != nil {
			s.Log.Error("handler panicked", slog.String("request_id", requestID(ctx)),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			ctx.Response.ResetBody()
			s.writeError(ctx, errInternal())
		}
	}()
	next(ctx)
}

// requestRecord is what the request's metrics and log line say, copied out
// of the RequestCtx.
type requestRecord struct {
	id, route, method, clientID string
	status, rows, bytes         int
	start                       time.Time
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
func setRows(ctx *fasthttp.RequestCtx, n int) {
	ctx.SetUserValue(rowsKey, n)
}

// streamBody makes r the response body, streamed after the handler
// returns, and has observe record the request when the stream ends: its
// duration then covers the whole transfer, its size the bytes sent, and it
// stays in flight meanwhile. fasthttp closes r when done (io.Closer,
// fasthttp.ReadCloserWithError). The producer may report its row count
// through the result's setRows from any goroutine, before it ends the stream.
func streamBody(ctx *fasthttp.RequestCtx, r io.Reader) *bodyStream {
	bs := &bodyStream{r: r}
	ctx.Response.SetBodyStream(bs, -1)
	return bs
}

// bodyStream counts a streamed body's bytes for observe. fasthttp calls
// Read and CloseWithError on the connection's goroutine, after observe has
// set s and rec on that same goroutine.
type bodyStream struct {
	r      io.Reader
	n      int
	rows   atomic.Int64
	s      *Server
	rec    requestRecord
	closed bool
}

func (b *bodyStream) setRows(n int) { b.rows.Store(int64(n)) }

func (b *bodyStream) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += n
	return n, err
}

// CloseWithError closes the underlying reader as fasthttp would have, with
// err the write error that ended the response early, if any, and records
// the request.
func (b *bodyStream) CloseWithError(err error) error {
	var cerr error
	if c, ok := b.r.(io.Closer); ok {
		cerr = c.Close()
	}
	if c, ok := b.r.(fasthttp.ReadCloserWithError); ok {
		if e := c.CloseWithError(err); cerr == nil {
			cerr = e
		}
	}
	// s is nil when the handler replaced the stream with another body
	// before returning; observe then records the request itself.
	if b.s != nil && !b.closed {
		b.closed = true
		b.rec.bytes = b.n
		if n := b.rows.Load(); n > 0 {
			b.rec.rows = int(n)
		}
		b.s.record(&b.rec, err)
	}
	return cerr
}

func requestID(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue(requestIDKey).(string)
	return id
}

// incomingRequestID honours a caller's X-Request-Id when it is a short
// printable token, so it cannot forge log lines; otherwise it makes one.
func incomingRequestID(ctx *fasthttp.RequestCtx) string {
	in := ctx.Request.Header.Peek("X-Request-Id")
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

// SupportsBodyWriteTo makes fasthttp frame what WriteTo writes as chunks
// instead of reading the stream 4 KiB at a time and flushing each.
func (b *bodyStream) SupportsBodyWriteTo() bool { return true }

// WriteTo copies the stream in reads as large as the producer's writes
// (64 KiB CSV flushes), one chunk and one flush each.
func (b *bodyStream) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 80<<10)
	var total int64
	for {
		n, err := b.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
