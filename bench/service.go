package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/usagelens/usagelens/exportstore"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/jobs"
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
	// jobs runs its export jobs, nil when it serves none.
	jobs *jobs.Manager
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
// rollups on or off; data versions polled) on a loopback port; with
// withJobs it also runs export jobs as serve does (a jobs.Manager with
// files in the work directory, taken over and run). Its request log is
// formatted as in production and discarded. Everything stops when the run
// ends.
func (e *env) newService(cacheBytes int64, rollups, withJobs bool) (*service, error) {
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
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	const exportTimeout = 30 * time.Minute
	var mgr *jobs.Manager
	if withJobs {
		var err error
		if mgr, err = e.jobsManager(st, exportTimeout, log); err != nil {
			return nil, err
		}
	}
	srv := handlers.New(handlers.Config{Store: st, Key: e.key, Log: log, Metrics: metrics,
		QueryTimeout: 60 * time.Second, ExportTimeout: exportTimeout, Cache: cache, Jobs: mgr})
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
	s := &service{desc: describeService(cacheBytes, rollups), client: newAPIClient("http://"+ln.Addr().String(), e.key, ids, e.cfg.Concurrency), cache: cache, jobs: mgr}
	if mgr != nil {
		s.desc += ", export jobs"
	}
	e.defer_(s.client.close)
	e.log("service (%s) listening on %s", s.desc, ln.Addr())
	return s, nil
}

// jobsManager is an export job manager as serve's exportJobs builds it
// (files under a directory, links signed with a key derived from the
// token key, serve's defaults) but with the export directory in the work
// directory, two workers and room for many jobs of one client; it is
// taken over (Recover) and run until the run ends.
func (e *env) jobsManager(st *store.Store, timeout time.Duration, log *slog.Logger) (*jobs.Manager, error) {
	dir := filepath.Join(e.work, "exports")
	files, err := exportstore.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	mgr := jobs.New(jobs.Config{Store: st, Files: files, LinkKey: jobs.DeriveLinkKey(e.key), Instance: "bench-" + hex.EncodeToString(suffix),
		Workers: 2, PerClient: 64, Timeout: timeout, Retention: 24 * time.Hour, MaxBytes: 10 << 30, Log: log})
	ctx, stop := context.WithCancel(context.Background())
	if err := mgr.Recover(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("cannot take over the bench's export jobs: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mgr.Run(ctx)
	}()
	// Before the ClickHouse pool closes: running jobs record that they were
	// interrupted.
	e.defer_(func() { stop(); <-done; os.RemoveAll(dir) })
	e.log("export jobs: files in %s, 2 workers", dir)
	return mgr, nil
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
		return e.newService(0, false, false)
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
