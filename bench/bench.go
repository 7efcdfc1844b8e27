// Package bench is usagelens' benchmark harness: it loads a recorded (or
// generated) dataset into ClickHouse, serves the real API in-process,
// replays a request log or a built-in dashboard mix with concurrent workers,
// and measures, in the same run and on the same rows, the anchors the
// service's performance claims are ratios against: the same SQL sent
// straight through clickhouse-go, ClickHouse's own CSV over HTTP, a
// PostgreSQL version of the spec's "DB source" design, a net/http variant
// of the hot path, the service's peak RSS during large exports, and export
// jobs against the streaming export of the same rows.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chserver"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/workload"
)

// Mixes of replayed traffic.
const (
	MixLog       = "log"       // the request log only
	MixDashboard = "dashboard" // the built-in dashboard mix only
	MixBoth      = "both"      // the log followed by the mix
	MixZipf      = "zipf"      // many users of a few tenants opening default views (workload.ZipfMix)
)

// Config is one bench run.
type Config struct {
	// DatasetDir is the dataset directory to load. With Scale set it is
	// generated there first unless it already holds a dataset; with Scale
	// set and DatasetDir empty it is generated in the work directory.
	DatasetDir string
	Scale      dataset.Scale
	Seed       uint64
	// RequestsFile is the request log; empty means the dataset's
	// requests.txt when it has one.
	RequestsFile string
	// Mix is MixLog, MixDashboard or MixBoth; empty means MixBoth when a
	// request log exists, else MixDashboard.
	Mix         string
	Concurrency int
	Duration    time.Duration
	// DSN is a ClickHouse to use; empty starts a private clickhouse-server
	// in the work directory and stops it afterwards.
	DSN string
	// ClickHouseHTTP is that ClickHouse's HTTP interface; empty means the
	// DSN's host on port 8123.
	ClickHouseHTTP string
	// Shards is how many shards the private ClickHouse has: 0 or 1 is one
	// clickhouse-server; N >= 2 starts a cluster of N (ClusterName, one
	// replica per shard) and spreads the database ClusterDatabase over it
	// (chschema.MigrateCluster). It needs an empty DSN.
	Shards int
	// SkipLoad uses the rows the database already holds (a previous run
	// against the same DSN); Load figures are then absent.
	SkipLoad bool
	// WorkDir holds generated data, the private servers and logs; empty
	// means a new temporary directory, removed at the end.
	WorkDir string
	// AnchorRuns is how many timed repetitions each anchor measurement
	// takes; figures are their medians.
	AnchorRuns int
	// CacheBytes bounds the service's response cache as serve's
	// --cache-bytes does; 0 runs it without one.
	CacheBytes int64
	// Rollups lets the service answer from the rollups, as serve's
	// --rollups does.
	Rollups bool
	// Variants are more replays of the same traffic, each against a fresh
	// service: VariantNoCache (no response cache) or VariantRaw (no
	// cache, no rollups).
	Variants []string
	// Anchors switches the anchors on and off.
	RawSQL, Export, NetHTTP, RSS, RollupSQL, CacheHit, Wrk, Users, Jobs, XLSX bool
	// JobsNoChild leaves out the jobs anchor's part in a child `usagelens
	// serve` (its peak RSS), which needs the usagelens binary.
	JobsNoChild bool
	// XLSXNoChild runs the xlsx anchor's exports and job through the
	// in-process service instead of fresh children: no peak RSS.
	XLSXNoChild bool
	// WrkDuration is how long each wrk run lasts (default 20s).
	WrkDuration time.Duration
	// Postgres runs the PostgreSQL anchor: a private cluster loaded with
	// the dataset by bench/pg/setup.sh, unless PostgresDSN names one
	// already loaded.
	Postgres    bool
	PostgresDSN string
	// Binary is the usagelens executable the RSS anchor runs as a child;
	// empty means this process's own executable.
	Binary string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

func (c *Config) defaults() error {
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Duration <= 0 {
		c.Duration = 60 * time.Second
	}
	if c.AnchorRuns <= 0 {
		c.AnchorRuns = 5
	}
	if c.WrkDuration <= 0 {
		c.WrkDuration = 20 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.DatasetDir == "" && c.Scale == "" {
		return errors.New("give a dataset directory or a scale to generate one")
	}
	if c.Shards >= 2 && c.DSN != "" {
		return errors.New("shards start a private cluster: give no DSN (a database already spread over a cluster by `usagelens migrate --clickhouse-cluster` is benched through its DSN alone)")
	}
	switch c.Mix {
	case "", MixLog, MixDashboard, MixBoth, MixZipf:
	default:
		return fmt.Errorf("mix %q: want log, dashboard, both or zipf", c.Mix)
	}
	for _, v := range c.Variants {
		if v != VariantNoCache && v != VariantRaw {
			return fmt.Errorf("replay variant %q: want %s or %s", v, VariantNoCache, VariantRaw)
		}
	}
	return nil
}

// env is what a run has set up: the work directory, ClickHouse, the
// in-process service and a client for it.
type env struct {
	cfg      Config
	work     string
	data     string
	dsn      string
	httpURL  string
	database string
	conn     driver.Conn // the service's pool
	raw      driver.Conn // the anchors' own pool
	key      []byte
	// main is the service as the flags build it; the replay, the cache and
	// wrk anchors measure it. uncached is the same without a response
	// cache (main itself when that has none): the anchors that time
	// ClickHouse's work go through it.
	main, uncached *service
	svc            *apiClient    // main's client
	chPID          int           // the private clickhouse-server's process, 0 for a DSN's or a cluster
	chPIDs         []int         // every private clickhouse-server's process, node 1 first
	cluster        string        // the private cluster the database is spread over, "" for one node
	nodes          []driver.Conn // a connection to every shard (conn itself on one node)
	clients        []workload.ClientShape
	log            func(format string, args ...any)
	cleanup        []func()
}

func (e *env) defer_(f func()) { e.cleanup = append(e.cleanup, f) }

func (e *env) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

// Run performs a bench run and returns its report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, log: func(f string, a ...any) { fmt.Fprintf(cfg.Progress, f+"\n", a...) }}
	defer e.close()
	rep := &Report{Config: reportConfig(cfg), Machine: readMachine()}
	if err := e.setup(ctx, rep); err != nil {
		return nil, err
	}
	reqs, source, err := e.requests()
	if err != nil {
		return nil, err
	}
	rep.Replay = e.replayOn(ctx, e.main, reqs, source)
	for _, name := range cfg.Variants {
		s, err := e.variant(name)
		if err != nil {
			return nil, err
		}
		s.client.addTokens(e.key, clientIDs(reqs))
		rp := e.replayOn(ctx, s, reqs, source)
		rp.Variant = name
		rep.Variants = append(rep.Variants, rp)
	}
	if err := e.newAnchors(ctx, rep); err != nil {
		return nil, err
	}
	if cfg.Users {
		e.log("== anchor: user usage pages and export against the same SQL and ClickHouse's CSV")
		if rep.Users, err = e.usersAnchor(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.RawSQL {
		e.log("== anchor: the same utilization SQL straight through clickhouse-go")
		if rep.RawSQL, err = e.rawSQLAnchor(ctx, reqs); err != nil {
			return nil, err
		}
	}
	if cfg.NetHTTP {
		e.log("== anchor: net/http + encoding/json variant of the utilization route")
		if rep.NetHTTP, err = e.netHTTPAnchor(ctx, reqs); err != nil {
			return nil, err
		}
	}
	if cfg.Export {
		e.log("== anchor: ClickHouse's own CSVWithNames over HTTP against /usage-reports/export")
		if rep.Export, err = e.exportAnchor(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Jobs {
		e.log("== anchor: usage_reports export jobs against the streaming export of the same rows")
		if rep.Jobs, err = e.jobsAnchor(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.XLSX {
		e.log("== anchor: usage exports as XLSX against CSV, peak RSS of a child `usagelens serve`")
		if rep.XLSX, err = e.xlsxAnchor(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.RSS {
		e.log("== peak RSS of a child `usagelens serve` during usage exports")
		if rep.RSS, err = e.rssAnchor(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Postgres || cfg.PostgresDSN != "" {
		e.log("== anchor: PostgreSQL reference of the spec's DB source design")
		if rep.Postgres, err = e.postgresAnchor(ctx); err != nil {
			return nil, err
		}
	}
	rep.Targets = targets(rep)
	rep.Machine.LoadEnd = loadAvg()
	return rep, nil
}

// setup prepares the dataset, ClickHouse and the in-process service.
func (e *env) setup(ctx context.Context, rep *Report) error {
	cfg := e.cfg
	e.work = cfg.WorkDir
	if e.work == "" {
		dir, err := os.MkdirTemp("", "usagelens-bench-")
		if err != nil {
			return fmt.Errorf("cannot create a work directory: %w", err)
		}
		e.work = dir
		e.defer_(func() { os.RemoveAll(dir) })
	} else if err := os.MkdirAll(e.work, 0o755); err != nil {
		return fmt.Errorf("cannot create work directory %s: %w", e.work, err)
	}
	e.data = cfg.DatasetDir
	if cfg.Scale != "" {
		if e.data == "" {
			e.data = filepath.Join(e.work, "dataset")
		}
		if _, err := os.Stat(filepath.Join(e.data, dataset.ClientsFile)); err == nil {
			e.log("== dataset %s exists: not generating it again", e.data)
		} else {
			e.log("== generating dataset: scale %s, seed %d, into %s", cfg.Scale, cfg.Seed, e.data)
			start := time.Now()
			if _, err := dataset.Generate(e.data, dataset.SeedOptions{Scale: cfg.Scale, Seed: cfg.Seed, Progress: cfg.Progress}); err != nil {
				return err
			}
			e.log("generated in %s", time.Since(start).Round(time.Millisecond))
		}
	}
	rep.Dataset.Dir = e.data
	if cfg.Scale != "" {
		rep.Dataset.Scale, rep.Dataset.Seed = string(cfg.Scale), &cfg.Seed
	}

	e.dsn, e.httpURL = cfg.DSN, cfg.ClickHouseHTTP
	if e.dsn == "" {
		if err := e.startClickHouse(ctx); err != nil {
			return err
		}
	}
	opts, err := clickhouse.ParseDSN(e.dsn)
	if err != nil {
		return fmt.Errorf("ClickHouse DSN %q: %w", e.dsn, err)
	}
	e.database = opts.Auth.Database
	if e.httpURL == "" {
		host, _, err := net.SplitHostPort(opts.Addr[0])
		if err != nil {
			return fmt.Errorf("ClickHouse DSN %q: cannot read its host: %w", e.dsn, err)
		}
		e.httpURL = "http://" + net.JoinHostPort(host, "8123") + "/"
	}
	e.httpURL = withAuth(e.httpURL, opts.Auth.Username, opts.Auth.Password, e.database)
	if e.conn, err = chschema.Connect(ctx, e.dsn, e.cfg.Concurrency+4); err != nil {
		return err
	}
	e.defer_(func() { e.conn.Close() })
	if e.raw, err = chschema.Connect(ctx, e.dsn, e.cfg.Concurrency+4); err != nil {
		return err
	}
	e.defer_(func() { e.raw.Close() })
	if err := e.conn.QueryRow(ctx, "SELECT version()").Scan(&rep.Machine.ClickHouse); err != nil {
		return fmt.Errorf("cannot read the ClickHouse version: %w", err)
	}
	if e.cluster != "" {
		e.log("== spreading database %s over cluster %s (chschema.MigrateCluster)", e.database, e.cluster)
		_, err = chschema.MigrateCluster(ctx, e.conn, e.cluster)
	} else {
		_, err = chschema.Migrate(ctx, e.conn)
	}
	if err != nil {
		return err
	}
	if !cfg.SkipLoad {
		e.log("== loading %s (usagelens load)", e.data)
		st, err := dataset.Load(ctx, e.conn, e.data, e.cfg.Progress)
		if err != nil {
			return err
		}
		rep.Load = &LoadResult{UsageRows: st.UsageRows, Seconds: round3(st.Elapsed.Seconds()),
			RowsPerSecond:  round3(float64(st.UsageRows) / st.Elapsed.Seconds()),
			RollupsSeconds: round3(st.Rollups.Seconds()), RollupsShare: ratio(st.Rollups.Seconds(), st.Elapsed.Seconds())}
		e.log("loaded %d usage rows in %s: %.0f rows/s; rollups %s of it", st.UsageRows, st.Elapsed.Round(time.Millisecond), rep.Load.RowsPerSecond, st.Rollups.Round(time.Millisecond))
		if err := e.waitForMerges(ctx); err != nil {
			return err
		}
	}
	if e.clients, err = readClients(ctx, e.conn); err != nil {
		return err
	}
	if err := describeDataset(ctx, e.conn, e.clients, &rep.Dataset); err != nil {
		return err
	}
	shards, err := chschema.OpenShards(ctx, e.conn, 1)
	if err != nil {
		return err
	}
	e.defer_(shards.Close)
	e.nodes = shards.Conns
	if e.cluster != "" {
		if rep.Dataset.ShardRows, err = shardRows(ctx, shards); err != nil {
			return err
		}
		e.log("usage rows per shard: %v", rep.Dataset.ShardRows)
	}
	return e.startServices()
}

// ClusterName and ClusterDatabase are the private cluster Shards starts
// and the database on node 1 the dataset is loaded into.
const (
	ClusterName     = "usagelens_bench"
	ClusterDatabase = "bench"
)

// startClickHouse starts the private server, or the private cluster of
// cfg.Shards, in the work directory; node 1 serves the bench.
func (e *env) startClickHouse(ctx context.Context) error {
	dir := filepath.Join(e.work, "clickhouse")
	if e.cfg.Shards < 2 {
		e.log("== starting a private clickhouse-server in %s", dir)
		srv, err := chserver.Start(ctx, dir)
		if err != nil {
			return err
		}
		e.defer_(func() { e.log("stopping the private clickhouse-server"); _ = srv.Stop() })
		e.dsn, e.httpURL = srv.DSN(), srv.HTTPURL()
		e.chPID = serverPID(filepath.Join(srv.Dir, "data"))
		e.chPIDs = []int{e.chPID}
		return nil
	}
	e.log("== starting shards: a private cluster %s of %d clickhouse-servers in %s", ClusterName, e.cfg.Shards, dir)
	start := time.Now()
	nodes, err := chserver.StartCluster(ctx, dir, ClusterName, e.cfg.Shards)
	if err != nil {
		return err
	}
	e.defer_(func() {
		e.log("stopping the %d shards", len(nodes))
		for _, n := range nodes {
			_ = n.Stop()
		}
	})
	var addrs []string
	for _, n := range nodes {
		e.chPIDs = append(e.chPIDs, serverPID(filepath.Join(n.Dir, "data")))
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", n.TCPPort))
	}
	e.log("%d shards up in %s: %s; the bench goes through node 1", len(nodes), time.Since(start).Round(time.Millisecond), strings.Join(addrs, ", "))
	e.dsn = fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/%s", nodes[0].TCPPort, ClusterDatabase)
	e.httpURL, e.cluster = nodes[0].HTTPURL(), ClusterName
	return nil
}

// waitForMerges lets the merges of the freshly loaded parts finish (up to
// ten minutes) before anything is measured: they take a core of the two,
// so a run measured during them reports the merges, not the service. On a
// cluster the parts are in each shard's local database.
func (e *env) waitForMerges(ctx context.Context) error {
	shards, err := chschema.OpenShards(ctx, e.conn, 1)
	if err != nil {
		return err
	}
	defer shards.Close()
	start := time.Now()
	for {
		var n uint64
		for _, c := range shards.Conns {
			var m uint64
			if err := c.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = currentDatabase()").Scan(&m); err != nil {
				return fmt.Errorf("cannot read system.merges: %w", err)
			}
			n += m
		}
		if n == 0 {
			e.log("merges after the load done in %s", time.Since(start).Round(time.Second))
			return nil
		}
		if time.Since(start) > 10*time.Minute {
			e.log("%d merges still running after %s: measuring anyway", n, time.Since(start).Round(time.Second))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// withAuth adds the database and credentials as URL parameters, which
// every ClickHouse release's HTTP interface reads.
func withAuth(base, user, password, database string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	if user != "" && user != "default" {
		q.Set("user", user)
	}
	if password != "" {
		q.Set("password", password)
	}
	if database != "" {
		q.Set("database", database)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// startServices starts the service as the flags build it and, when that
// has a response cache, the same without one.
func (e *env) startServices() error {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	e.key = []byte(hex.EncodeToString(raw))
	var err error
	if e.main, err = e.newService(e.cfg.CacheBytes, e.cfg.Rollups, e.cfg.Jobs || (e.cfg.XLSX && e.cfg.XLSXNoChild)); err != nil {
		return err
	}
	e.svc, e.uncached = e.main.client, e.main
	if e.main.cache != nil {
		e.uncached, err = e.newService(0, e.cfg.Rollups, false)
	}
	return err
}

// replayOn replays reqs against s for the configured duration, and says
// what s's response cache counted meanwhile.
func (e *env) replayOn(ctx context.Context, s *service, reqs []workload.Request, source string) Replay {
	e.log("== replay: %d requests, %d distinct (%s), %d workers, %s, service: %s", len(reqs), distinct(reqs), source, e.cfg.Concurrency, e.cfg.Duration, s.desc)
	before := s.cache.Stats()
	cpu0, ch0, q0 := cpuTime(), e.clickHouseCPU(), e.queries(ctx)
	rp := replay(ctx, s.client, reqs, e.cfg.Concurrency, e.cfg.Duration, e.cfg.Progress)
	rp.Source, rp.Service, rp.Cache = source, s.desc, cacheDelta(s.cache, before)
	if n := float64(rp.Total.Count); n > 0 {
		rp.CPU = &ReplayCPU{Bench: round3(float64((cpuTime() - cpu0).Microseconds()) / n)}
		for i, t := range e.clickHouseCPU() {
			rp.CPU.ClickHouse = append(rp.CPU.ClickHouse, round3(float64((t-ch0[i]).Microseconds())/n))
		}
		if q := e.queries(ctx); len(q) == len(q0) {
			for i := range q {
				rp.CPU.Queries = append(rp.CPU.Queries, round3(float64(q[i]-q0[i])/n))
			}
		}
	}
	if rp.Cache != nil {
		e.log("cache during the replay: %d hits, %d misses (hit ratio %.5f)", rp.Cache.Hits, rp.Cache.Misses, rp.Cache.HitRatio)
	}
	return rp
}

// shardRows counts the usage rows in each shard's local table.
func shardRows(ctx context.Context, shards *chschema.Shards) ([]uint64, error) {
	var rows []uint64
	for i, c := range shards.Conns {
		var n uint64
		if err := c.QueryRow(ctx, "SELECT count() FROM app_usage_reports").Scan(&n); err != nil {
			return nil, fmt.Errorf("cannot count the usage rows of %s: %w", shards.Names[i], err)
		}
		rows = append(rows, n)
	}
	return rows, nil
}

// clickHouseCPU is the CPU time so far of each private clickhouse-server.
func (e *env) clickHouseCPU() []time.Duration {
	var ts []time.Duration
	for _, pid := range e.chPIDs {
		ts = append(ts, procCPU(pid))
	}
	return ts
}

// queries reads each node's count of queries so far (system.events'
// Query, which counts a shard's part of a distributed query too); nil
// when a node does not answer.
func (e *env) queries(ctx context.Context) []uint64 {
	var qs []uint64
	for _, c := range e.nodes {
		var n uint64
		if err := c.QueryRow(ctx, "SELECT value FROM system.events WHERE event = 'Query'").Scan(&n); err != nil {
			return nil
		}
		qs = append(qs, n)
	}
	return qs
}

func clientIDs(reqs []workload.Request) []string {
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.ClientID)
	}
	return ids
}

// requests returns the replayed traffic and says where it came from.
func (e *env) requests() ([]workload.Request, string, error) {
	logPath := e.cfg.RequestsFile
	if logPath == "" && e.data != "" {
		if p := filepath.Join(e.data, dataset.RequestsFile); fileExists(p) {
			logPath = p
		}
	}
	mix := e.cfg.Mix
	if mix == "" {
		mix = MixDashboard
		if logPath != "" {
			mix = MixBoth
		}
	}
	var reqs []workload.Request
	var source []string
	if mix == MixLog || mix == MixBoth {
		if logPath == "" {
			return nil, "", errors.New("no request log: the dataset has no requests.txt and none was given")
		}
		log, err := workload.ReadRequestLog(logPath)
		if err != nil {
			return nil, "", err
		}
		reqs = append(reqs, log...)
		source = append(source, "log "+logPath+" ("+strconv.Itoa(len(log))+" lines)")
	}
	if mix == MixDashboard || mix == MixBoth {
		m := workload.DashboardMix(e.clients)
		reqs = append(reqs, m...)
		source = append(source, "dashboard mix ("+strconv.Itoa(len(m))+" requests)")
	}
	if mix == MixZipf {
		m := workload.ZipfMix(e.clients, e.cfg.Seed)
		reqs = append(reqs, m...)
		source = append(source, fmt.Sprintf("zipf mix (%d draws, s=%.1f, over %d default views of the %d busiest clients, seed %d)",
			len(m), workload.ZipfExponent, len(workload.DefaultViews(&e.clients[0])), min(workload.ZipfTenants, len(e.clients)), e.cfg.Seed))
	}
	for _, s := range []*service{e.main, e.uncached} {
		s.client.addTokens(e.key, clientIDs(reqs))
	}
	return reqs, strings.Join(source, " + "), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// describeDataset counts the loaded rows and describes the busiest client.
func describeDataset(ctx context.Context, conn driver.Conn, cs []workload.ClientShape, d *DatasetInfo) error {
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM app_usage_reports").Scan(&rows); err != nil {
		return fmt.Errorf("cannot count usage rows: %w", err)
	}
	var apps uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM apps FINAL").Scan(&apps); err != nil {
		return fmt.Errorf("cannot count apps: %w", err)
	}
	d.UsageRows, d.Clients, d.Apps = rows, len(cs), apps
	b := cs[0]
	d.Busiest = BusiestClient{ID: b.ID, UsageRows: b.Rows, Users: b.Users, Apps: b.Apps, First: day(b.First), Last: day(b.Last)}
	return nil
}
