// Package observability holds the service's Prometheus registry and
// metrics, its structured logger and its pprof listener.
package observability

import (
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/usagelens/usagelens/respcache"
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
	pool          *poolCollector
	cacheOnce     sync.Once

	// Children of the vectors, cached: label sets are few and fixed, and
	// WithLabelValues hashes its labels and takes a lock on every call.
	http    cache[httpKey, httpObservers]
	queries cache[queryKey, prometheus.Observer]
	exports cache[string, exportCounters]
}

type httpKey struct {
	route, method string
	code          int
}

type httpObservers struct{ duration, size prometheus.Observer }

type queryKey struct {
	kind string
	ok   bool
}

type exportCounters struct{ rows, bytes prometheus.Counter }

// NewMetrics registers every instrument, plus Go runtime, process and build
// info collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usagelens_http_request_duration_seconds", Help: "HTTP request latency by route template, method and status code; a streamed response counts until its last byte.", Buckets: buckets,
		}, []string{"route", "method", "code"}),
		httpSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usagelens_http_response_size_bytes", Help: "HTTP response body size, as sent (compressed when compressed), by route template.", Buckets: prometheus.ExponentialBuckets(256, 4, 10),
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
		pool: newPoolCollector(),
	}
	r.MustRegister(m.httpDuration, m.httpSize, m.InFlight, m.queryDuration, m.exportRows, m.exportBytes, m.pool,
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
// template, never the raw path, and method one of HTTPMethod's results, so
// label sets stay bounded.
func (m *Metrics) ObserveHTTP(route, method string, code, size int, d time.Duration) {
	o := m.http.get(httpKey{route, method, code}, func() httpObservers {
		return httpObservers{
			duration: m.httpDuration.WithLabelValues(route, method, strconv.Itoa(code)),
			size:     m.httpSize.WithLabelValues(route),
		}
	})
	o.duration.Observe(d.Seconds())
	o.size.Observe(float64(size))
}

// ObserveQuery records one ClickHouse query of the given kind.
func (m *Metrics) ObserveQuery(kind string, err error, d time.Duration) {
	ok := err == nil
	o := m.queries.get(queryKey{kind, ok}, func() prometheus.Observer {
		outcome := "ok"
		if !ok {
			outcome = "error"
		}
		return m.queryDuration.WithLabelValues(kind, outcome)
	})
	o.Observe(d.Seconds())
}

// AddExport counts rows and bytes an export wrote.
func (m *Metrics) AddExport(kind string, rows, bytes int) {
	c := m.exports.get(kind, func() exportCounters {
		return exportCounters{rows: m.exportRows.WithLabelValues(kind), bytes: m.exportBytes.WithLabelValues(kind)}
	})
	c.rows.Add(float64(rows))
	c.bytes.Add(float64(bytes))
}

// WatchCache exports the response cache's counters and size (the first
// call's cache: one registry serves one API).
func (m *Metrics) WatchCache(stats func() respcache.Stats) {
	m.cacheOnce.Do(func() { m.watchCache(stats) })
}

func (m *Metrics) watchCache(stats func() respcache.Stats) {
	counter := func(name, help string, v func(respcache.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(stats())) })
	}
	gauge := func(name, help string, v func(respcache.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v(stats())) })
	}
	m.Registry.MustRegister(
		counter("usagelens_response_cache_hits_total", "JSON answers served from the response cache.", func(s respcache.Stats) uint64 { return s.Hits }),
		counter("usagelens_response_cache_misses_total", "JSON answers not in the response cache (computed, or joined to a computation under way).", func(s respcache.Stats) uint64 { return s.Misses }),
		counter("usagelens_response_cache_evictions_total", "Answers dropped to keep the response cache within --cache-bytes.", func(s respcache.Stats) uint64 { return s.Evictions }),
		gauge("usagelens_response_cache_bytes", "Bytes the response cache holds (keys, bodies and per-entry overhead).", func(s respcache.Stats) int64 { return s.Bytes }),
		gauge("usagelens_response_cache_entries", "Answers the response cache holds.", func(s respcache.Stats) int64 { return s.Entries }),
	)
}

// WatchPool reports the ClickHouse connection pool that stats describes
// (a driver.Conn's Stats) at every scrape. A later call replaces the pool.
func (m *Metrics) WatchPool(stats func() driver.Stats) {
	m.pool.stats.Store(&stats)
}

// HTTPMethod maps a request method to its label value: the standard methods
// as they are, anything else "OTHER", since clients choose the method.
func HTTPMethod(method []byte) string {
	switch string(method) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return "OTHER"
}

// cache memoises a vector's children by label values.
type cache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *cache[K, V]) get(k K, newV func() V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = newV()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// poolCollector reads the driver's pool counters at scrape time.
type poolCollector struct {
	stats                atomic.Pointer[func() driver.Stats]
	inUse, idle, maxOpen *prometheus.Desc
}

func newPoolCollector() *poolCollector {
	return &poolCollector{
		inUse:   prometheus.NewDesc("usagelens_clickhouse_pool_in_use_connections", "ClickHouse connections taken from the pool by a running query or stream.", nil, nil),
		idle:    prometheus.NewDesc("usagelens_clickhouse_pool_idle_connections", "Open ClickHouse connections waiting in the pool.", nil, nil),
		maxOpen: prometheus.NewDesc("usagelens_clickhouse_pool_max_open_connections", "Most ClickHouse connections the pool lends at once (--clickhouse-max-conns).", nil, nil),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inUse
	ch <- c.idle
	ch <- c.maxOpen
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.stats.Load()
	if f == nil {
		return
	}
	st := (*f)()
	// clickhouse-go counts in Open the connections currently acquired (its
	// semaphore), not those open in total: idle ones are in Idle only.
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.Open))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.Idle))
	ch <- prometheus.MustNewConstMetric(c.maxOpen, prometheus.GaugeValue, float64(st.MaxOpenConns))
}
