package handlers_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	uapi "github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/observability/observabilitytest"
)

// serveInMemory serves hs in-process and returns a client dialling it.
func serveInMemory(t *testing.T, hs *fasthttp.Server) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Shutdown(); ln.Close() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

// metricsServers builds the API without a store (the routes used here need
// none) and serves its API handler and its metrics handler apart.
func metricsServers(t *testing.T, apart bool) (srv *handlers.Server, apiClient, metricsClient *fasthttp.Client) {
	t.Helper()
	srv = handlers.New(handlers.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: observability.NewMetrics(), MetricsApart: apart})
	lim := handlers.DefaultLimits(srv.ExportTimeout)
	return srv, serveInMemory(t, srv.NewHTTPServer(lim)), serveInMemory(t, srv.NewMetricsHTTPServer(lim))
}

type answer struct {
	status      int
	contentType string
	body        string
}

func get(t *testing.T, c *fasthttp.Client, method, path string) answer {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://usagelens" + path)
	if err := c.Do(req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return answer{resp.StatusCode(), string(resp.Header.ContentType()), string(resp.Body())}
}

// checkError checks a in the spec's error shape with code and a request id.
func checkError(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	var b uapi.ErrorBody
	if a.status != status || json.Unmarshal([]byte(a.body), &b) != nil || b.Error.Code != code || b.Error.RequestID == "" {
		t.Fatalf("%s: want %d %s in the error shape with a request id, got %d %q", what, status, code, a.status, a.body)
	}
}

func checkExposition(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != fasthttp.StatusOK || !strings.HasPrefix(a.contentType, "text/plain") ||
		!strings.Contains(a.body, "usagelens_build_info") {
		t.Fatalf("%s: want 200 Prometheus text with usagelens_build_info, got %d %q %.200q", what, a.status, a.contentType, a.body)
	}
}

func TestMetricsOnTheAPIByDefault(t *testing.T) {
	_, apiClient, _ := metricsServers(t, false)
	checkExposition(t, "API GET /metrics", get(t, apiClient, "GET", uapi.RouteMetrics))
}

func TestMetricsApart(t *testing.T) {
	srv, apiClient, metricsClient := metricsServers(t, true)
	checkExposition(t, "metrics GET /metrics", get(t, metricsClient, "GET", uapi.RouteMetrics))
	// The scrape is observed under its route, as it is on the API address.
	if n := observabilitytest.HistogramCount(t, srv.Metrics.Registry, "usagelens_http_request_duration_seconds",
		map[string]string{"route": uapi.RouteMetrics, "method": "GET", "code": "200"}); n != 1 {
		t.Fatalf("scrapes recorded under route /metrics: %d, want 1", n)
	}
	if a := get(t, apiClient, "GET", uapi.RouteHealthz); a.status != fasthttp.StatusOK {
		t.Fatalf("API GET /healthz with metrics apart: %d %q", a.status, a.body)
	}
}

func TestMetricsApartRejects(t *testing.T) {
	_, apiClient, metricsClient := metricsServers(t, true)
	checkError(t, "API GET /metrics", get(t, apiClient, "GET", uapi.RouteMetrics), fasthttp.StatusNotFound, "not_found")
	checkError(t, "metrics GET /healthz", get(t, metricsClient, "GET", uapi.RouteHealthz), fasthttp.StatusNotFound, "not_found")
	checkError(t, "metrics GET /v2/...", get(t, metricsClient, "GET", uapi.Path(uapi.RouteUtilization, "aa7cf840-9ca9-46a3-9778-9015d6580d50")),
		fasthttp.StatusNotFound, "not_found")
	checkError(t, "metrics POST /metrics", get(t, metricsClient, "POST", uapi.RouteMetrics), fasthttp.StatusMethodNotAllowed, "method_not_allowed")
}
