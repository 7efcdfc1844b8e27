package handlers_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/observability/observabilitytest"
)

const (
	obsQuery      = "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	obsUtilRoute  = "/v2/clients/{client_id}/analytics/apps/utilization"
	obsUsageRoute = "/v2/clients/{client_id}/analytics/usage-reports/export"
	obsDuration   = "usagelens_http_request_duration_seconds"
	obsSize       = "usagelens_http_response_size_bytes"
)

// obsLog collects the server's JSON log lines, written from its goroutines.
type obsLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *obsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// request returns the "request" log line with the given request id.
func (l *obsLog) request(t *testing.T, id string) map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(l.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no request log line with request_id %s in:\n%s", id, l.b.String())
	return nil
}

// obsAPI serves the fixture and hands back the server, for its registry,
// with JSON logs collected.
func obsAPI(t *testing.T) (*api, *handlers.Server, *obsLog) {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	var srv *handlers.Server
	logs := &obsLog{}
	a := serveAPI(t, conn, func(s *handlers.Server) {
		s.Log = slog.New(slog.NewJSONHandler(logs, nil))
		srv = s
	})
	return a, srv, logs
}

func obsRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// After real requests, the histograms hold one observation per request
// under the route template, method and code, and /metrics says so.
func TestMetricsCarryRouteMethodAndCode(t *testing.T) {
	a, srv, _ := obsAPI(t)
	reg := srv.Metrics.Registry
	f := func(path, token string, status int) {
		t.Helper()
		if resp := a.get(path, token); resp.StatusCode() != status {
			t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode(), resp.Body(), status)
		}
	}
	f(utilPath+obsQuery, a.token, 200)
	f(utilPath+obsQuery, a.token, 200)
	f(utilPath+obsQuery+"&granularity=yearly", a.token, 400)
	f(utilPath+obsQuery, "", 401)
	f("/v2/clients/"+client+"/analytics/apps/nothing", a.token, 404)
	f("/healthz", "", 200)

	want := []struct {
		route, code string
		n           uint64
	}{
		{obsUtilRoute, "200", 2}, {obsUtilRoute, "400", 1}, {obsUtilRoute, "401", 1},
		{"unmatched", "404", 1}, {"/healthz", "200", 1},
	}
	for _, w := range want {
		labels := map[string]string{"route": w.route, "method": "GET", "code": w.code}
		if n := observabilitytest.HistogramCount(t, reg, obsDuration, labels); n != w.n {
			t.Errorf("%s%v: %d, want %d", obsDuration, labels, n, w.n)
		}
	}
	if n := observabilitytest.HistogramCount(t, reg, obsSize, map[string]string{"route": obsUtilRoute}); n != 4 {
		t.Errorf("%d response sizes for the utilization route, want 4", n)
	}
	if n := observabilitytest.HistogramCount(t, reg, "usagelens_clickhouse_query_duration_seconds", map[string]string{"kind": "utilization", "outcome": "ok"}); n == 0 {
		t.Error("no ClickHouse utilization query recorded")
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_http_requests_in_flight", nil); v != 0 {
		t.Errorf("%v requests in flight after all answered", v)
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_clickhouse_pool_in_use_connections", nil); v != 0 {
		t.Errorf("%v pool connections in use after all answered", v)
	}
	if v := observabilitytest.Gauge(t, reg, "usagelens_clickhouse_pool_idle_connections", nil); v < 1 {
		t.Errorf("%v idle pool connections after queries, want at least 1", v)
	}

	// The exposition /metrics serves, as a scraper reads it.
	body := string(a.get("/metrics", "").Body())
	for _, line := range []string{
		`usagelens_http_request_duration_seconds_count{code="200",method="GET",route="` + obsUtilRoute + `"} 2`,
		`usagelens_http_request_duration_seconds_count{code="401",method="GET",route="` + obsUtilRoute + `"} 1`,
		`usagelens_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`usagelens_http_requests_in_flight 1`, // the scrape itself
		`usagelens_clickhouse_pool_max_open_connections `,
		`usagelens_build_info{`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// Client ids, unknown paths and odd methods come from clients: none of
// them may add a series.
func TestMetricLabelSetsDoNotGrowWithClientInput(t *testing.T) {
	a, srv, _ := obsAPI(t)
	reg := srv.Metrics.Registry
	series := func() int {
		t.Helper()
		n, err := testutil.GatherAndCount(reg, obsDuration, obsSize)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	oddMethod := func(path string) {
		t.Helper()
		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		req.SetRequestURI("http://usagelens" + path)
		req.Header.SetMethod("X" + strings.ToUpper(obsRandomHex(4)))
		var resp fasthttp.Response
		if err := a.client.DoTimeout(req, &resp, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	round := func() {
		t.Helper()
		id := uuid.NewString()
		utilOf := "/v2/clients/" + id + "/analytics/apps/utilization" + obsQuery
		if code := a.get(utilOf, mint(t, id, time.Hour)).StatusCode(); code != 404 {
			t.Fatalf("unknown client: %d, want 404", code)
		}
		if code := a.get(utilOf).StatusCode(); code != 403 {
			t.Fatalf("another client's id: %d, want 403", code)
		}
		if code := a.get("/" + obsRandomHex(6) + "/" + obsRandomHex(3) + "?x=" + obsRandomHex(2)).StatusCode(); code != 404 {
			t.Fatalf("unknown path: %d, want 404", code)
		}
		oddMethod(utilPath + obsQuery)
		oddMethod("/" + obsRandomHex(5))
	}
	round()
	before := series()
	for range 50 {
		round()
	}
	if after := series(); after != before {
		t.Fatalf("%d series after 50 distinct client ids, paths and methods, %d before", after, before)
	}
	if n := observabilitytest.HistogramCount(t, reg, obsDuration, map[string]string{"route": "unmatched", "method": "GET", "code": "404"}); n != 51 {
		t.Errorf("%d unmatched 404s, want 51", n)
	}
	if n := observabilitytest.HistogramCount(t, reg, obsDuration, map[string]string{"method": "OTHER"}); n != 102 {
		t.Errorf("%d requests with method OTHER, want 102", n)
	}
}

// One JSON line per request, with the fields an operator filters on.
func TestRequestLogLine(t *testing.T) {
	a, _, logs := obsAPI(t)
	resp := a.getWith("http://usagelens"+utilPath+obsQuery+"&page_size=3", map[string]string{"X-Request-Id": "obs-log-1"})
	if resp.StatusCode() != 200 || string(resp.Header.Peek("X-Request-Id")) != "obs-log-1" {
		t.Fatalf("%d, X-Request-Id %q", resp.StatusCode(), resp.Header.Peek("X-Request-Id"))
	}
	page := decodePage(t, resp.Body())
	l := logs.request(t, "obs-log-1")
	want := map[string]any{"level": "INFO", "route": obsUtilRoute, "method": "GET", "client_id": client, "status": 200.0,
		"rows": float64(len(page.Data)), "bytes": float64(len(resp.Body()))}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, l[k], v, l)
		}
	}
	if len(page.Data) != 3 {
		t.Errorf("page of %d rows, want 3", len(page.Data))
	}
	if ms, ok := l["duration_ms"].(float64); !ok || ms <= 0 {
		t.Errorf("duration_ms = %v", l["duration_ms"])
	}

	// An error: the id generated here is in the body, the header and the log.
	resp = a.get("/no/such/route")
	var e errorJSON
	if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Error.RequestID == "" || e.Error.RequestID != string(resp.Header.Peek("X-Request-Id")) {
		t.Fatalf("404 body %s, X-Request-Id %q", resp.Body(), resp.Header.Peek("X-Request-Id"))
	}
	l = logs.request(t, e.Error.RequestID)
	if l["route"] != "unmatched" || l["status"] != 404.0 || l["client_id"] != "" || l["rows"] != 0.0 {
		t.Errorf("404 line %v", l)
	}
}

// /readyz follows the test's own ClickHouse down and back up, by itself;
// the first requests after the restart already succeed, and the outage
// leaves no goroutines behind.
func TestReadinessFollowsClickHouse(t *testing.T) {
	ch := chtest.Private(t)
	conn := chtest.Open(t, ch.DSN())
	ctx := context.Background()
	if _, err := chschema.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	loadFixture(t, conn)
	var srv *handlers.Server
	a := serveAPI(t, conn, func(s *handlers.Server) { srv = s })
	ready := func(want int) {
		t.Helper()
		resp := a.get("/readyz", "")
		if resp.StatusCode() != want {
			t.Fatalf("/readyz: %d %s, want %d", resp.StatusCode(), resp.Body(), want)
		}
		if want == 200 {
			return
		}
		var e errorJSON
		if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Error.Code != "unavailable" || e.Error.RequestID != string(resp.Header.Peek("X-Request-Id")) {
			t.Fatalf("/readyz body %s", resp.Body())
		}
		if ra := string(resp.Header.Peek("Retry-After")); ra != "5" {
			t.Fatalf("Retry-After %q, want 5", ra)
		}
	}
	util := func(want int) {
		t.Helper()
		if resp := a.get(utilPath + obsQuery); resp.StatusCode() != want {
			t.Fatalf("utilization: %d %s, want %d", resp.StatusCode(), resp.Body(), want)
		}
	}
	ready(200)
	util(200)
	goroutines := obsSettle()

	if err := ch.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ready(503)
	}
	util(503)
	if resp := a.get("/healthz", ""); resp.StatusCode() != 200 {
		t.Fatalf("/healthz during the outage: %d", resp.StatusCode())
	}
	pingErrors := observabilitytest.HistogramCount(t, srv.Metrics.Registry, "usagelens_clickhouse_query_duration_seconds", map[string]string{"kind": "ping", "outcome": "error"})
	if pingErrors != 3 {
		t.Errorf("%d failed pings recorded, want 3", pingErrors)
	}

	if err := ch.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	ready(200)
	util(200)
	for range 5 {
		ready(200)
	}
	if g := obsSettle(); g > goroutines+5 {
		t.Errorf("%d goroutines before the outage, %d after the recovery", goroutines, g)
	}

	// A crash rather than a clean stop: the same.
	ch.Kill()
	ready(503)
	if err := ch.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	ready(200)
	util(200)
	if g := obsSettle(); g > goroutines+5 {
		t.Errorf("%d goroutines before the outages, %d after the recoveries", goroutines, g)
	}
}

// obsSettle lets exiting goroutines finish and returns how many remain.
func obsSettle() int {
	n := runtime.NumGoroutine()
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return m
		}
		n = m
	}
	return n
}

// Shutdown closes the listener at once but lets a running export stream
// to its end, whole.
func TestShutdownLetsAnExportFinish(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	// Far more CSV than socket buffers hold, so the export is still
	// streaming while its client waits.
	const users, days = 2000, 180
	err := conn.Exec(context.Background(), `INSERT INTO app_usage_reports (client_id, activity_date, application_id, user_id, total_active_ms, total_session_count)
SELECT toUUID('`+client+`'), toDate('2025-01-01') + (number % `+strconv.Itoa(days)+`), toUUID('`+appAlpha+`'),
       toUUID(concat('b1000000-0000-4000-8000-', toString(100000000000 + intDiv(number, `+strconv.Itoa(days)+`)))), number, 1
FROM system.numbers LIMIT `+strconv.Itoa(users*days))
	if err != nil {
		t.Fatal(err)
	}
	var srv *handlers.Server
	serveAPI(t, conn, func(s *handlers.Server) { srv = s })
	hs := srv.NewHTTPServer(handlers.DefaultLimits(time.Minute))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path := "/v2/clients/" + client + "/analytics/usage-reports/export?start_date=2025-01-01&end_date=2025-06-29"
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: usagelens\r\nAuthorization: Bearer "+mint(t, client, time.Hour)+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	header, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(header, "activity_date,") {
		t.Fatalf("header %q: %v", header, err)
	}

	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- hs.ShutdownWithContext(sctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned with an export in flight: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if c2, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c2.Close()
		t.Error("a new connection was accepted during shutdown")
	}

	lines, last := 0, ""
	for {
		s, err := br.ReadString('\n')
		if err == io.EOF && s == "" {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", lines, err)
		}
		lines++
		last = s
	}
	if lines != users*days {
		t.Fatalf("%d rows arrived, want %d", lines, users*days)
	}
	if !strings.HasPrefix(last, "2025-06-29,"+appAlpha+",Alpha Chat,b1000000-") {
		t.Fatalf("last row %q", last)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown still waiting after the export ended")
	}
	labels := map[string]string{"route": obsUsageRoute, "code": "200"}
	if n := observabilitytest.HistogramCount(t, srv.Metrics.Registry, obsDuration, labels); n != 1 {
		t.Errorf("%d usage exports recorded, want 1", n)
	}
	if v := observabilitytest.Gauge(t, srv.Metrics.Registry, "usagelens_http_requests_in_flight", nil); v != 0 {
		t.Errorf("%v requests in flight after shutdown", v)
	}
}
