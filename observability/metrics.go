// Package observability holds the service's Prometheus registry and
// metrics, and its structured logger.
package observability

import (
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// buckets resolve 1 ms to 60 s.
var buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics are the service's instruments, on a registry of their own.
type Metrics struct {
	Registry      *prometheus.Registry
	httpDuration  *prometheus.HistogramVec
	httpSize      *prometheus.HistogramVec
	InFlight      prometheus.Gauge
	queryDuration *prometheus.HistogramVec
	exportRows    *prometheus.CounterVec
	exportBytes   *prometheus.CounterVec
}

// NewMetrics registers every instrument, plus Go runtime, process and build
// info collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usagelens_http_request_duration_seconds", Help: "HTTP request latency by route template, method and status code.", Buckets: buckets,
		}, []string{"route", "method", "code"}),
		httpSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usagelens_http_response_size_bytes", Help: "HTTP response body size by route template.", Buckets: prometheus.ExponentialBuckets(256, 4, 10),
		}, []string{"route"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "usagelens_http_requests_in_flight", Help: "HTTP requests being served, streams included.",
		}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usagelens_clickhouse_query_duration_seconds", Help: "ClickHouse query time by kind and outcome.", Buckets: buckets,
		}, []string{"kind", "outcome"}),
		exportRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usagelens_export_rows_total", Help: "CSV rows written by exports.",
		}, []string{"kind"}),
		exportBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usagelens_export_bytes_total", Help: "CSV bytes written by exports, before compression.",
		}, []string{"kind"}),
	}
	r.MustRegister(m.httpDuration, m.httpSize, m.InFlight, m.queryDuration, m.exportRows, m.exportBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo())
	return m
}

func buildInfo() prometheus.Collector {
	version, goVersion := "devel", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "usagelens_build_info", Help: "Always 1; labels carry the build.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// ObserveHTTP records one finished request. route is the matched route
// template, never the raw path, so label sets stay bounded.
func (m *Metrics) ObserveHTTP(route, method string, code, size int, d time.Duration) {
	m.httpDuration.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
	m.httpSize.WithLabelValues(route).Observe(float64(size))
}

// ObserveQuery records one ClickHouse query of the given kind.
func (m *Metrics) ObserveQuery(kind string, err error, d time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.queryDuration.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// AddExport counts rows and bytes an export wrote.
func (m *Metrics) AddExport(kind string, rows, bytes int) {
	m.exportRows.WithLabelValues(kind).Add(float64(rows))
	m.exportBytes.WithLabelValues(kind).Add(float64(bytes))
}
