package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
	"github.com/usagelens/usagelens/workload"
)

// NetHTTPUtilization serves GET /v2/clients/{client_id}/analytics/apps/utilization
// with net/http and encoding/json instead of fasthttp: the same token check,
// store (client lookup, query, metrics, error kinds), parameter parsing,
// log line and JSON shape as the service, so that comparing the two shows
// what the HTTP stack costs. Only the bench uses it.
type NetHTTPUtilization struct {
	Store        *store.Store
	Key          []byte
	Log          *slog.Logger
	Metrics      *observability.Metrics
	QueryTimeout time.Duration
}

// Handler returns the routed handler.
func (h *NetHTTPUtilization) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.RouteUtilization, h.utilization)
	return mux
}

func (h *NetHTTPUtilization) utilization(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	reqID := hex.EncodeToString(idb)
	w.Header().Set("X-Request-Id", reqID)
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	h.Metrics.InFlight.Inc()
	if err := h.serve(cw, r, reqID); err != nil {
		e := errs.From(err)
		status, code := errs.Status(e.Kind)
		if status >= 500 {
			h.Log.Error("request failed", slog.String("request_id", reqID), slog.String("error", err.Error()))
		}
		b := api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: e.Message, Details: e.Details, RequestID: reqID}}
		if b.Error.Details == nil {
			b.Error.Details = map[string]any{}
		}
		writeJSONStd(cw, status, &b)
	}
	h.Metrics.InFlight.Dec()
	d := time.Since(start)
	clientID := r.PathValue("client_id")
	h.Metrics.ObserveHTTP(api.RouteUtilization, r.Method, cw.status, cw.n, d)
	h.Log.Info("request", slog.String("request_id", reqID), slog.String("route", api.RouteUtilization), slog.String("method", r.Method),
		slog.String("client_id", clientID), slog.Int("status", cw.status), slog.Duration("duration", d), slog.Int("bytes", cw.n))
}

func (h *NetHTTPUtilization) serve(w http.ResponseWriter, r *http.Request, reqID string) error {
	ctx, cancel := context.WithTimeout(store.WithRequestID(r.Context(), reqID), h.QueryTimeout)
	defer cancel()
	tok, err := auth.FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		return errs.New(errs.Unauthenticated, "missing bearer token: send Authorization: Bearer <token>")
	}
	claims, err := auth.Verify(h.Key, tok, time.Now())
	if err != nil {
		return errs.New(errs.Unauthenticated, "the token is invalid")
	}
	raw := r.PathValue("client_id")
	notFound := &errs.Error{Kind: errs.NotFound, Message: "client not found", Details: map[string]any{"client_id": raw}}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return notFound
	}
	clientID := id.String()
	if claims.ClientID != clientID {
		return errs.New(errs.Forbidden, "the token is not scoped to this client")
	}
	exists, err := h.Store.ClientExists(ctx, clientID)
	if err != nil {
		return err
	}
	if !exists {
		return notFound
	}
	req, err := query.ParseUtilization(clientID, r.URL.Query(), query.Paged)
	if err != nil {
		return err
	}
	page, err := h.Store.UtilizationPage(ctx, req)
	if err != nil {
		return err
	}
	writeJSONStd(w, http.StatusOK, &api.UtilizationPage{Period: handlers.PeriodOf(req), Data: page.Rows, TotalCount: page.TotalCount, NextCursor: page.NextCursor})
	return nil
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

func (e *env) netHTTPAnchor(ctx context.Context, reqs []workload.Request) (*NetHTTPAnchor, error) {
	cases := utilizationCases(reqs, e.clients[0].ID)
	metrics := observability.NewMetrics()
	st := store.New(e.conn, metrics.ObserveQuery)
	st.Rollups = e.cfg.Rollups
	h := &NetHTTPUtilization{Store: st, Key: e.key, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics: metrics, QueryTimeout: 60 * time.Second}
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
	fh, nh := &acc{out: &a.FastHTTP, c: e.uncached.client}, &acc{out: &a.NetHTTP, c: std}
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
