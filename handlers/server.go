// Package handlers holds the HTTP API: routing, authentication, decoding
// requests into typed ones, and writing JSON and CSV. Handlers decode,
// call the store, and render; SQL lives in query, ClickHouse in store.
package handlers

import (
	"log/slog"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/store"
)

// Config is what the API is built from.
type Config struct {
	Store   *store.Store
	Key     []byte
	Log     *slog.Logger
	Metrics *observability.Metrics
	// QueryTimeout bounds each JSON request's queries (context and the
	// server's max_execution_time).
	QueryTimeout time.Duration
	// ExportTimeout bounds a whole CSV export.
	ExportTimeout time.Duration
	// TenantQueries and TenantExports cap one client's concurrent JSON
	// queries and exports (0: 8 and 2); beyond them the answer is 429.
	TenantQueries, TenantExports int
}

// Server is the API's shared state.
type Server struct {
	Config
	limiter tenantLimiter
}

// New builds the API; serve and the benchmark both start it this way.
func New(c Config) *Server { return &Server{Config: c} }

// routeUnmatched labels requests no route matched.
const routeUnmatched = "unmatched"

// Handler returns the routed API wrapped in request ids, metrics and logs.
func (s *Server) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.GET(api.RouteHealthz, s.healthz)
	r.GET(api.RouteReadyz, s.readyz)
	r.GET(api.RouteMetrics, fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	r.GET(api.RouteOpenAPI, s.openapi())
	r.GET(api.RouteUtilization, s.utilization)
	r.GET(api.RouteUtilizationExport, s.utilizationExport)
	r.GET(api.RouteUsageExport, s.usageExport)
	r.NotFound = func(rc *fasthttp.RequestCtx) {
		s.writeError(rc, &errs.Error{Kind: errs.NotFound, Message: "no such route", Details: map[string]any{"path": string(rc.Path())}})
	}
	r.MethodNotAllowed = func(rc *fasthttp.RequestCtx) {
		s.writeError(rc, errs.New(errs.MethodNotAllowed, "only GET is supported"))
	}
	if s.Store != nil {
		s.Metrics.WatchPool(s.Store.Stats)
	}
	return s.observe(r.Handler)
}
