package observability_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/observability/observabilitytest"
)

// used gives every vector of m a child, so that every metric is gathered.
func used(m *observability.Metrics) *observability.Metrics {
	m.ObserveHTTP("/healthz", "GET", 200, 16, time.Millisecond)
	m.ObserveQuery("utilization", nil, 40*time.Millisecond)
	m.ObserveQuery("ping", errors.New("down"), time.Second)
	m.AddExport("usage_export", 10, 1000)
	m.WatchPool(func() driver.Stats { return driver.Stats{Open: 3, Idle: 2, MaxOpenConns: 32, MaxIdleConns: 32} })
	return m
}

func TestMetricsLint(t *testing.T) {
	m := used(observability.NewMetrics())
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestMetricsValues(t *testing.T) {
	m := used(observability.NewMetrics())
	g := m.Registry
	f := func(name string, labels map[string]string, want uint64) {
		t.Helper()
		if n := observabilitytest.HistogramCount(t, g, name, labels); n != want {
			t.Errorf("%s%v: %d observations, want %d", name, labels, n, want)
		}
	}
	f("usagelens_http_request_duration_seconds", map[string]string{"route": "/healthz", "method": "GET", "code": "200"}, 1)
	f("usagelens_http_response_size_bytes", map[string]string{"route": "/healthz"}, 1)
	f("usagelens_clickhouse_query_duration_seconds", map[string]string{"kind": "utilization", "outcome": "ok"}, 1)
	f("usagelens_clickhouse_query_duration_seconds", map[string]string{"kind": "ping", "outcome": "error"}, 1)
	f("usagelens_clickhouse_query_duration_seconds", map[string]string{"kind": "ping", "outcome": "ok"}, 0)

	g2 := func(name string, want float64) {
		t.Helper()
		if v := observabilitytest.Gauge(t, g, name, nil); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	g2("usagelens_clickhouse_pool_in_use_connections", 3)
	g2("usagelens_clickhouse_pool_idle_connections", 2)
	g2("usagelens_clickhouse_pool_max_open_connections", 32)
	g2("usagelens_build_info", 1)
	g2("usagelens_http_requests_in_flight", 0)

	m.AddExport("usage_export", 5, 500)
	if n, _ := testutil.GatherAndCount(g, "usagelens_export_rows_total"); n != 1 {
		t.Errorf("%d export row series, want 1", n)
	}
	if err := testutil.GatherAndCompare(g, strings.NewReader(`
# HELP usagelens_export_bytes_total CSV bytes written by exports, before compression.
# TYPE usagelens_export_bytes_total counter
usagelens_export_bytes_total{kind="usage_export"} 1500
# HELP usagelens_export_rows_total CSV rows written by exports.
# TYPE usagelens_export_rows_total counter
usagelens_export_rows_total{kind="usage_export"} 15
`), "usagelens_export_rows_total", "usagelens_export_bytes_total"); err != nil {
		t.Error(err)
	}
}

func TestPoolGaugesNeedAPool(t *testing.T) {
	m := observability.NewMetrics()
	if n, _ := testutil.GatherAndCount(m.Registry, "usagelens_clickhouse_pool_in_use_connections"); n != 0 {
		t.Fatalf("%d pool series before WatchPool, want 0", n)
	}
}

func TestHTTPMethodIsBounded(t *testing.T) {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"} {
		if got := observability.HTTPMethod([]byte(m)); got != m {
			t.Errorf("HTTPMethod(%q) = %q", m, got)
		}
	}
	for _, m := range []string{"get", "FOO", "", "GETX", strings.Repeat("A", 100)} {
		if got := observability.HTTPMethod([]byte(m)); got != "OTHER" {
			t.Errorf("HTTPMethod(%q) = %q, want OTHER", m, got)
		}
	}
}

// The cached children make a request's metrics free of allocations.
func TestObserveDoesNotAllocate(t *testing.T) {
	m := used(observability.NewMetrics())
	route, method := "/v2/clients/{client_id}/analytics/apps/utilization", observability.HTTPMethod([]byte("GET"))
	if n := testing.AllocsPerRun(1000, func() {
		m.ObserveHTTP(route, method, 200, 1234, 3*time.Millisecond)
		m.ObserveQuery("utilization", nil, time.Millisecond)
		m.AddExport("export", 1, 100)
	}); n != 0 {
		t.Fatalf("%v allocations per request, want 0", n)
	}
}

// Every metric the Grafana dashboard queries exists under that exact name.
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("grafana/dashboards/usagelens.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	m := used(observability.NewMetrics())
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	re := regexp.MustCompile(`usagelens_[a-z0-9_]+`)
	seen := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range re.FindAllString(tg.Expr, -1) {
				seen++
				base := name
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(name, suf); ok && slices.Contains(names, b) {
						base = b
					}
				}
				if !slices.Contains(names, base) {
					t.Errorf("panel %q queries %s, which the service does not export", p.Title, name)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no usagelens metric in the dashboard")
	}
}

func TestLogger(t *testing.T) {
	var b strings.Builder
	log, err := observability.NewLogger(&b, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal([]byte(b.String()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", b.String())
	}
	if line["msg"] != "shown" || line["level"] != "WARN" || line["k"] != 1.0 {
		t.Fatalf("line %v", line)
	}
	for _, bad := range [][2]string{{"json", "loud"}, {"xml", "info"}} {
		if _, err := observability.NewLogger(io.Discard, bad[0], bad[1]); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestPprofOnItsOwnListener(t *testing.T) {
	p, err := observability.StartPprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get("http://" + p.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if code := get(path); code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	if code := get("/metrics"); code != 404 {
		t.Errorf("GET /metrics on the pprof listener: %d, want 404", code)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + p.Addr() + "/debug/pprof/"); err == nil {
		t.Fatal("pprof still answers after Shutdown")
	}
}
