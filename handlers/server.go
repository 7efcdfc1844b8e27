// Package handlers holds the HTTP API: routing, authentication, parameter
// parsing into typed requests, and JSON and CSV writing. SQL lives in query.
package handlers

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/usagelens/usagelens/observability"
)

// Server is the API's shared state.
type Server struct {
	CH      driver.Conn
	Key     []byte
	Log     *slog.Logger
	Metrics *observability.Metrics
	// QueryTimeout bounds each ClickHouse query (context and the server's
	// max_execution_time).
	QueryTimeout time.Duration
	// ExportTimeout bounds a whole CSV export.
	ExportTimeout time.Duration
	// TenantQueries and TenantExports cap one client's concurrent JSON
	// queries and exports (0: 8 and 2); beyond them the answer is 429.
	TenantQueries, TenantExports int

	clients clientCache
	limiter tenantLimiter
}

// Route templates: the metric and log label of every request.
const (
	routeUtilization       = "/v2/clients/{client_id}/analytics/apps/utilization"
	routeUtilizationExport = "/v2/clients/{client_id}/analytics/apps/utilization/export"
	routeUsageExport       = "/v2/clients/{client_id}/analytics/usage-reports/export"
	routeHealthz           = "/healthz"
	routeReadyz            = "/readyz"
	routeMetrics           = "/metrics"
	routeUnmatched         = "unmatched"
)

// Handler returns the routed API wrapped in request ids, metrics and logs.
func (s *Server) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.GET(routeHealthz, s.healthz)
	r.GET(routeReadyz, s.readyz)
	r.GET(routeMetrics, fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	r.GET(routeUtilization, s.utilization)
	r.GET(routeUtilizationExport, s.utilizationExport)
	r.GET(routeUsageExport, s.usageExport)
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		s.writeError(ctx, errNotFound("no such route", map[string]any{"path": string(ctx.Path())}))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		s.writeError(ctx, &apiError{status: fasthttp.StatusMethodNotAllowed, code: "method_not_allowed", message: "only GET is supported"})
	}
	s.Metrics.WatchPool(s.CH.Stats)
	return s.observe(r.Handler)
}

func itoa(n int) string { return strconv.Itoa(n) }
