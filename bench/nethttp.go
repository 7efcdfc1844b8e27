package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/query"
)

// NetHTTPUtilization serves GET /v2/clients/{client_id}/analytics/apps/utilization
// with net/http and encoding/json instead of fasthttp: the same token check,
// client lookup, parameter parsing, query (query.FetchPage), metrics, log
// line and JSON shape as the service, so that comparing the two shows what
// the HTTP stack costs. Only the bench uses it.
type NetHTTPUtilization struct {
	CH           driver.Conn
	Key          []byte
	Log          *slog.Logger
	Metrics      *observability.Metrics
	QueryTimeout time.Duration

	known sync.Map // client id -> struct{}, clients seen to exist
}

const netHTTPRoute = "/v2/clients/{client_id}/analytics/apps/utilization"

// Handler returns the routed handler.
func (h *NetHTTPUtilization) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+netHTTPRoute, h.utilization)
	return mux
}

type nhPeriod struct {
	StartDate        string  `json:"start_date"`
	EndDate          string  `json:"end_date"`
	CompareStartDate *string `json:"compare_start_date"`
	CompareEndDate   *string `json:"compare_end_date"`
}

type nhResponse struct {
	Period     nhPeriod               `json:"period"`
	Data       []query.AppUtilization `json:"data"`
	TotalCount uint64                 `json:"total_count"`
	NextCursor *string                `json:"next_cursor"`
}

type nhError struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

func (h *NetHTTPUtilization) utilization(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	reqID := hex.EncodeToString(idb)
	w.Header().Set("X-Request-Id", reqID)
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	h.Metrics.InFlight.Inc()
	h.serve(cw, r, reqID)
	h.Metrics.InFlight.Dec()
	d := time.Since(start)
	clientID := r.PathValue("client_id")
	h.Metrics.ObserveHTTP(netHTTPRoute, r.Method, cw.status, cw.n, d)
	h.Log.Info("request", slog.String("request_id", reqID), slog.String("route", netHTTPRoute), slog.String("method", r.Method),
		slog.String("client_id", clientID), slog.Int("status", cw.status), slog.Duration("duration", d), slog.Int("bytes", cw.n))
}

func (h *NetHTTPUtilization) serve(w http.ResponseWriter, r *http.Request, reqID string) {
	c, cancel := context.WithTimeout(r.Context(), h.QueryTimeout)
	defer cancel()
	fail := func(status int, code, msg string, details map[string]any) {
		var b nhError
		b.Error.Code, b.Error.Message, b.Error.Details, b.Error.RequestID = code, msg, details, reqID
		if b.Error.Details == nil {
			b.Error.Details = map[string]any{}
		}
		writeJSONStd(w, status, &b)
	}
	tok, err := auth.FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		fail(http.StatusUnauthorized, "unauthenticated", "missing bearer token: send Authorization: Bearer <token>", nil)
		return
	}
	claims, err := auth.Verify(h.Key, tok, time.Now())
	if err != nil {
		fail(http.StatusUnauthorized, "unauthenticated", "the token is invalid", nil)
		return
	}
	raw := r.PathValue("client_id")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		fail(http.StatusNotFound, "not_found", "client not found", map[string]any{"client_id": raw})
		return
	}
	clientID := id.String()
	if claims.ClientID != clientID {
		fail(http.StatusForbidden, "forbidden", "the token is not scoped to this client", nil)
		return
	}
	if _, ok := h.known.Load(clientID); !ok {
		var n uint64
		if err := h.CH.QueryRow(c, "SELECT count() FROM clients WHERE client_id = toUUID(?)", clientID).Scan(&n); err != nil {
			fail(http.StatusInternalServerError, "internal", "internal error; quote the request id when reporting it", nil)
			return
		}
		if n == 0 {
			fail(http.StatusNotFound, "not_found", "client not found", map[string]any{"client_id": raw})
			return
		}
		h.known.Store(clientID, struct{}{})
	}
	req, err := query.ParseUtilization(clientID, r.URL.Query(), query.Paged)
	if err != nil {
		var pe *query.ParamError
		if errors.As(err, &pe) {
			fail(http.StatusBadRequest, "invalid_parameter", pe.Message, pe.Details)
			return
		}
		fail(http.StatusInternalServerError, "internal", "internal error; quote the request id when reporting it", nil)
		return
	}
	qc, qcancel := context.WithCancel(context.WithoutCancel(c))
	defer qcancel()
	context.AfterFunc(c, qcancel)
	qc = clickhouse.Context(qc, clickhouse.WithSettings(clickhouse.Settings{"max_execution_time": max(1, int(h.QueryTimeout/time.Second))}),
		clickhouse.WithQueryID("utilization-"+reqID))
	page, err := query.FetchPage(qc, h.CH, req, h.Metrics.ObserveQuery)
	if err != nil {
		h.Log.Error("request failed", slog.String("request_id", reqID), slog.String("error", err.Error()))
		fail(http.StatusInternalServerError, "internal", "internal error; quote the request id when reporting it", nil)
		return
	}
	p := nhPeriod{StartDate: req.Period.Start.Format(time.DateOnly), EndDate: req.Period.End.Format(time.DateOnly)}
	if req.Compare != nil {
		cs, ce := req.Compare.Start.Format(time.DateOnly), req.Compare.End.Format(time.DateOnly)
		p.CompareStartDate, p.CompareEndDate = &cs, &ce
	}
	writeJSONStd(w, http.StatusOK, &nhResponse{Period: p, Data: page.Rows, TotalCount: page.TotalCount, NextCursor: page.NextCursor})
}

func writeJSONStd(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// countingWriter remembers the status and counts body bytes for the metrics.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += n
	return n, err
}

// NetHTTPSide is one server's result in the net/http comparison.
type NetHTTPSide struct {
	Name       string  `json:"name"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput_rps"`
	Latency
	// CPUPerRequest is this process's user+system CPU time per request, in
	// microseconds: client and server together, the client being the same
	// for both sides, ClickHouse (another process) excluded.
	CPUPerRequest float64  `json:"bench_cpu_us_per_request"`
	ErrorSamples  []string `json:"error_samples,omitempty"`
	// Rounds are each round's seconds and CPU per request, which show how
	// much the figures vary between rounds of the same server.
	Rounds []NetHTTPRound `json:"rounds"`
}

// NetHTTPRound is one round of one server.
type NetHTTPRound struct {
	Seconds       float64 `json:"seconds"`
	CPUPerRequest float64 `json:"bench_cpu_us_per_request"`
}

// NetHTTPAnchor compares the service's fasthttp stack with net/http on the
// same utilization requests under the same concurrent load: each side
// answers the same fixed work (every request twice per worker) in two
// rounds, in the order fasthttp, net/http, net/http, fasthttp, so drift
// hits both alike.
type NetHTTPAnchor struct {
	Concurrency     int         `json:"concurrency"`
	Requests        int         `json:"requests_per_round"`
	Distinct        int         `json:"distinct_requests"`
	FastHTTP        NetHTTPSide `json:"fasthttp"`
	NetHTTP         NetHTTPSide `json:"net_http"`
	ThroughputRatio float64     `json:"throughput_ratio"`
	CPURatio        float64     `json:"cpu_ratio"`
}

func (e *env) netHTTPAnchor(ctx context.Context, reqs []Request) (*NetHTTPAnchor, error) {
	cases := utilizationCases(reqs, e.clients[0].ID)
	h := &NetHTTPUtilization{CH: e.conn, Key: e.key, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics: observability.NewMetrics(), QueryTimeout: 60 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	ids := make([]string, len(e.clients))
	for i, c := range e.clients {
		ids[i] = c.ID
	}
	std := newAPIClient("http://"+ln.Addr().String(), e.key, ids, e.cfg.Concurrency)
	defer std.close()
	n := len(cases) * e.cfg.Concurrency * 2
	a := &NetHTTPAnchor{Concurrency: e.cfg.Concurrency, Requests: n, Distinct: len(cases),
		FastHTTP: NetHTTPSide{Name: "fasthttp (service)"}, NetHTTP: NetHTTPSide{Name: "net/http variant"}}
	type acc struct {
		out  *NetHTTPSide
		c    *apiClient
		durs []time.Duration
		cpu  time.Duration
		wall time.Duration
	}
	fh, nh := &acc{out: &a.FastHTTP, c: e.svc}, &acc{out: &a.NetHTTP, c: std}
	for _, s := range []*acc{fh, nh, nh, fh} {
		before, start := cpuTime(), time.Now()
		rp := replayN(ctx, s.c, cases, e.cfg.Concurrency, time.Hour, int64(n), io.Discard)
		cpu, wall := cpuTime()-before, time.Since(start)
		s.cpu += cpu
		s.wall += wall
		if rp.Total.Count > 0 {
			s.out.Rounds = append(s.out.Rounds, NetHTTPRound{Seconds: round3(wall.Seconds()), CPUPerRequest: round3(float64(cpu.Microseconds()) / float64(rp.Total.Count))})
		}
		s.out.Count += rp.Total.Count
		s.out.Errors += rp.Total.Errors + rp.Total.Rejected
		s.out.ErrorSamples = appendUpTo(s.out.ErrorSamples, append(rp.Total.ErrorSamples, rp.Total.RejectedSamples...), 3)
		s.durs = append(s.durs, rp.durations...)
		e.log("  %s: %d requests in %.1fs, %.0f us CPU per request", s.out.Name, rp.Total.Count, wall.Seconds(), float64(cpu.Microseconds())/float64(max(1, rp.Total.Count)))
	}
	for _, s := range []*acc{fh, nh} {
		s.out.Seconds = round3(s.wall.Seconds())
		s.out.Throughput = round3(float64(s.out.Count) / s.wall.Seconds())
		s.out.Latency = summarize(s.durs)
		if s.out.Count > 0 {
			s.out.CPUPerRequest = round3(float64(s.cpu.Microseconds()) / float64(s.out.Count))
		}
	}
	a.ThroughputRatio = ratio(a.FastHTTP.Throughput, a.NetHTTP.Throughput)
	a.CPURatio = ratio(a.FastHTTP.CPUPerRequest, a.NetHTTP.CPUPerRequest)
	return a, nil
}

// cpuTime is this process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
