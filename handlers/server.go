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
	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/jobs"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/respcache"
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
	// MetricsApart leaves /metrics out of Handler (the API answers it 404):
	// serve puts MetricsHandler on an address of its own, so scrapes can stay
	// on a private network while the API is public.
	MetricsApart bool
	// Cache holds rendered JSON answers; nil caches nothing.
	Cache *respcache.Cache
	// Jobs runs export jobs; nil leaves their routes out.
	Jobs *jobs.Manager
}

// Server is the API's shared state.
type Server struct {
	Config
	limiter tenantLimiter
	tokens  *auth.Verifier
}

// New builds the API; serve and the benchmark both start it this way.
func New(c Config) *Server { return &Server{Config: c, tokens: auth.NewVerifier(c.Key)} }

// routeUnmatched labels requests no route matched.
const routeUnmatched = "unmatched"

// Handler returns the routed API wrapped in request ids, metrics and logs.
func (s *Server) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.GET(api.RouteHealthz, s.healthz)
	r.GET(api.RouteReadyz, s.readyz)
	if !s.MetricsApart {
		r.GET(api.RouteMetrics, s.metrics())
	}
	r.GET(api.RouteOpenAPI, s.openapi())
	r.GET(api.RouteUI, s.uiPage)
	r.GET(api.RouteUIAsset, s.uiAsset)
	r.GET(api.RouteUtilization, s.utilization)
	r.GET(api.RouteUtilizationExport, s.utilizationExport)
	r.GET(api.RouteUsageExport, s.usageExport)
	r.GET(api.RouteUsageSeries, s.usageSeries)
	r.GET(api.RouteAppActivity, s.appActivity)
	r.GET(api.RouteUserUsage, s.userUsage)
	r.GET(api.RouteUserUsageExport, s.userUsageExport)
	if s.Jobs != nil {
		r.POST(api.RouteExports, s.submitExport)
		r.GET(api.RouteExports, s.listExports)
		r.GET(api.RouteExport, s.getExport)
		r.DELETE(api.RouteExport, s.cancelExport)
		r.GET(api.RouteExportDownload, s.download)
		r.HEAD(api.RouteExportDownload, s.download)
	}
	s.routeErrors(r)
	if s.Store != nil {
		s.Metrics.WatchPool(s.Store.Stats)
	}
	s.Metrics.WatchCache(s.Cache.Stats)
	return s.observe(r.Handler)
}

// MetricsHandler serves GET /metrics alone, for the metrics address of
// Config.MetricsApart; every other path is a 404 in the error shape.
// Scrapes are observed like API requests, under the route /metrics.
func (s *Server) MetricsHandler() fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.GET(api.RouteMetrics, s.metrics())
	s.routeErrors(r)
	return s.observe(r.Handler)
}

// metrics answers GET /metrics from the service's own registry.
func (s *Server) metrics() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
}

// routeErrors answers unknown paths and wrong methods in the error shape.
func (s *Server) routeErrors(r *router.Router) {
	r.NotFound = func(rc *fasthttp.RequestCtx) {
		s.writeError(rc, &errs.Error{Kind: errs.NotFound, Message: "no such route", Details: map[string]any{"path": string(rc.Path())}})
	}
	r.MethodNotAllowed = func(rc *fasthttp.RequestCtx) {
		s.writeError(rc, errs.New(errs.MethodNotAllowed, "this route does not take "+string(rc.Method())+"; the Allow header lists what it takes"))
	}
}
