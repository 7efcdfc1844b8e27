// Package handlers holds the HTTP API: routing, authentication, parameter
// parsing into typed requests, and JSON and CSV writing. SQL lives in query.
package handlers

import (
	"crypto/rand"
	"encoding/hex"
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
	return s.observe(r.Handler)
}

// observe gives every request an id, then records its metrics and one log
// line once it is answered.
func (s *Server) observe(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		id := incomingRequestID(ctx)
		ctx.SetUserValue(requestIDKey, id)
		ctx.Response.Header.Set("X-Request-Id", id)
		s.Metrics.InFlight.Inc()
		next(ctx)
		s.Metrics.InFlight.Dec()
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = routeUnmatched
		}
		d := time.Since(start)
		code, size := ctx.Response.StatusCode(), 0
		// Body() would drain a streamed export into memory; streams count
		// their bytes themselves (usagelens_export_bytes_total).
		if !ctx.Response.IsBodyStream() {
			size = len(ctx.Response.Body())
		}
		s.Metrics.ObserveHTTP(route, string(ctx.Method()), code, size, d)
		clientID, _ := ctx.UserValue("client_id").(string)
		s.Log.Info("request", slog.String("request_id", id), slog.String("route", route), slog.String("method", string(ctx.Method())),
			slog.String("client_id", clientID), slog.Int("status", code), slog.Duration("duration", d), slog.Int("bytes", size))
	}
}

const requestIDKey = "request_id"

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

func itoa(n int) string { return strconv.Itoa(n) }
