package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/respcache"
	"github.com/usagelens/usagelens/store"
)

// service is one in-process API instance and a client for it.
type service struct {
	// desc says how it was built, for the report.
	desc   string
	client *apiClient
	// cache is the service's response cache, nil when it has none.
	cache *respcache.Cache
}

// Names of the replay variants: the same traffic against a fresh service
// without a response cache, with and without the rollups.
const (
	VariantNoCache = "nocache"
	VariantRaw     = "raw"
)

// newService serves the real API as `usagelens serve` builds it
// (handlers.Server on fasthttp with serve's default limits, per-client
// concurrency caps included; a response cache of cacheBytes, none for 0;
// rollups on or off; data versions polled) on a loopback port. Its
// request log is formatted as in production and discarded. Everything
// stops when the run ends.
func (e *env) newService(cacheBytes int64, rollups bool) (*service, error) {
	metrics := observability.NewMetrics()
	st := store.New(e.conn, metrics.ObserveQuery)
	st.Rollups = rollups
	// A pseudonym key as serve's: without one a pseudonymous client's user
	// routes fail.
	st.PseudonymKey = e.key
	// Without the poll every request would read its data version from
	// ClickHouse, which serve never does.
	wctx, stop := context.WithCancel(context.Background())
	go st.WatchVersions(wctx)
	e.defer_(stop)
	cache := respcache.New(cacheBytes)
	srv := handlers.New(handlers.Config{Store: st, Key: e.key, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics,
		QueryTimeout: 60 * time.Second, ExportTimeout: 30 * time.Minute, Cache: cache})
	hs := srv.NewHTTPServer(handlers.DefaultLimits(srv.ExportTimeout))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on a loopback port: %w", err)
	}
	go func() { _ = hs.Serve(ln) }()
	e.defer_(func() { _ = hs.Shutdown() })
	ids := make([]string, len(e.clients))
	for i, c := range e.clients {
		ids[i] = c.ID
	}
	s := &service{desc: describeService(cacheBytes, rollups), client: newAPIClient("http://"+ln.Addr().String(), e.key, ids, e.cfg.Concurrency), cache: cache}
	e.defer_(s.client.close)
	e.log("service (%s) listening on %s", s.desc, ln.Addr())
	return s, nil
}

func describeService(cacheBytes int64, rollups bool) string {
	c := "cache off"
	if cacheBytes > 0 {
		c = fmt.Sprintf("cache %d MiB", cacheBytes>>20)
	}
	if rollups {
		return c + ", rollups on"
	}
	return c + ", rollups off"
}

// variant builds the service a replay variant runs against.
func (e *env) variant(name string) (*service, error) {
	switch name {
	case VariantNoCache:
		return e.uncached, nil
	case VariantRaw:
		if !e.cfg.Rollups {
			return e.uncached, nil
		}
		return e.newService(0, false)
	}
	return nil, fmt.Errorf("replay variant %q: want %s or %s", name, VariantNoCache, VariantRaw)
}

// CacheDelta is what a response cache counted during one phase.
type CacheDelta struct {
	Hits     uint64  `json:"hits"`
	Misses   uint64  `json:"misses"`
	HitRatio float64 `json:"hit_ratio"`
	Entries  int64   `json:"entries_after"`
	Bytes    int64   `json:"bytes_after"`
}

// cacheDelta is the change of c's counters since before; nil without a
// cache.
func cacheDelta(c *respcache.Cache, before respcache.Stats) *CacheDelta {
	if c == nil {
		return nil
	}
	now := c.Stats()
	d := &CacheDelta{Hits: now.Hits - before.Hits, Misses: now.Misses - before.Misses, Entries: now.Entries, Bytes: now.Bytes}
	// Five decimals: with a warm cache the misses are a few in a million.
	if n := d.Hits + d.Misses; n > 0 {
		d.HitRatio = float64(int64(float64(d.Hits)/float64(n)*1e5+0.5)) / 1e5
	}
	return d
}
