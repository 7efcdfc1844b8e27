package handlers

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/observability/observabilitytest"
)

// lockedBuffer collects log lines written from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}

// A body streamed through stream is recorded when its last byte is
// written: until then it is in flight and not yet in the histogram.
func TestStreamedBodyIsRecordedWhenItEnds(t *testing.T) {
	var logs lockedBuffer
	s := New(Config{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: observability.NewMetrics()})
	release := make(chan struct{})
	chunk := strings.Repeat("x", 1000)
	h := s.observe(func(rc *fasthttp.RequestCtx) {
		rc.SetUserValue("client_id", "c1")
		abort := string(rc.Path()) == "/abort"
		s.stream(rc, "test", "t", exports.Format{}, func(out *exports.Out) error {
			for i := range 7 {
				if i == 0 || i == 6 {
					out.Row.Start()
					out.Row.Text(chunk[:len(chunk)-2]) // 998 bytes and CRLF: one chunk
					out.Row.End()
				}
				if err := out.RowsDone(1); err != nil {
					return err
				}
				if i == 0 {
					if err := out.Flush(); err != nil {
						return err
					}
					<-release
				}
			}
			if abort {
				return errors.New("producer failed")
			}
			return nil
		}, func() {})
	})
	ln := fasthttputil.NewInmemoryListener()
	hs := &fasthttp.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown(); ln.Close() })

	reg := s.Metrics.Registry
	dur := func(code string) uint64 {
		return observabilitytest.HistogramCount(t, reg, "usagelens_http_request_duration_seconds", map[string]string{"route": routeUnmatched, "code": code})
	}
	get := func(path string) (*http.Response, net.Conn) {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp, c
	}

	resp, c := get("/whole")
	if _, err := io.ReadFull(resp.Body, make([]byte, len(chunk))); err != nil {
		t.Fatal(err)
	}
	if n := dur("200"); n != 0 {
		t.Fatalf("%d requests recorded while the stream runs, want 0", n)
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_http_requests_in_flight", nil); v != 1 {
		t.Fatalf("in flight %v while the stream runs, want 1", v)
	}
	release <- struct{}{}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(rest) != len(chunk) {
		t.Fatalf("rest of the body: %d bytes, %v", len(rest), err)
	}
	c.Close()
	if n := dur("200"); n != 1 {
		t.Fatalf("%d requests recorded after the stream, want 1", n)
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_http_requests_in_flight", nil); v != 0 {
		t.Fatalf("in flight %v after the stream, want 0", v)
	}
	// Chunked framing adds a few bytes per chunk to what the client reads;
	// the size is the body's.
	if sum := observabilitytest.HistogramSum(t, reg, "usagelens_http_response_size_bytes", map[string]string{"route": routeUnmatched}); sum != 2000 {
		t.Fatalf("response size %v, want 2000", sum)
	}
	lines := logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(lines), lines)
	}
	l := lines[0]
	if l["msg"] != "request" || l["rows"] != 7.0 || l["bytes"] != 2000.0 || l["client_id"] != "c1" || l["status"] != 200.0 || l["stream_error"] != nil {
		t.Fatalf("log line %v", l)
	}
	if ms, _ := l["duration_ms"].(float64); ms <= 0 {
		t.Fatalf("duration_ms %v", l["duration_ms"])
	}

	// A producer's failure ends the response early and shows in the log.
	resp, c = get("/abort")
	release <- struct{}{}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("an aborted stream read as a whole body")
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	requests := func() []map[string]any { // the export's own WARN line aside
		var out []map[string]any
		for _, l := range logs.lines(t) {
			if l["msg"] == "request" {
				out = append(out, l)
			}
		}
		return out
	}
	for len(requests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	lines = requests()
	if len(lines) != 2 || lines[1]["stream_error"] == nil {
		t.Fatalf("log lines after an aborted stream: %v", lines)
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_http_requests_in_flight", nil); v != 0 {
		t.Fatalf("in flight %v after an aborted stream, want 0", v)
	}
}

// A panicking handler answers 500 in the error shape and the process lives.
func TestPanicBecomes500(t *testing.T) {
	var logs lockedBuffer
	s := New(Config{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: observability.NewMetrics()})
	h := s.observe(func(rc *fasthttp.RequestCtx) { panic("boom") })
	var rc fasthttp.RequestCtx
	rc.Request.SetRequestURI("/x")
	h(&rc)
	if rc.Response.StatusCode() != 500 || !strings.Contains(string(rc.Response.Body()), `"code":"internal"`) {
		t.Fatalf("%d %s", rc.Response.StatusCode(), rc.Response.Body())
	}
	if !strings.Contains(logs.b.String(), "handler panicked") {
		t.Fatalf("no panic log line: %s", logs.b.String())
	}
}
