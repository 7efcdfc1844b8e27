package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chserver"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/exportstore"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/jobs"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/respcache"
	"github.com/usagelens/usagelens/store"
)

type serveConfig struct {
	listen, dsn, dataDir, keyFile, logLevel, logFormat string
	pseudonymKeyFile                                   string
	exportDir, exportLinkKeyFile, instance             string
	exportWorkers, exportJobsPerClient                 int
	exportRetention                                    time.Duration
	exportMaxBytes                                     int64
	pprofListen, metricsListen                         string
	demo, rollups                                      bool
	queryTimeout, exportTimeout, shutdownTimeout       time.Duration
	maxConns                                           int
	cluster                                            string
	cacheBytes                                         int64
}

func runServe(args []string) error {
	fs := newFlags("serve")
	var c serveConfig
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&c.dsn, "clickhouse-dsn", "", "ClickHouse native DSN; empty starts a managed clickhouse-server under --data-dir")
	fs.StringVar(&c.dataDir, "data-dir", "data", "directory for the managed ClickHouse, the demo dataset and the demo key")
	fs.BoolVar(&c.demo, "demo", false, "seed the small demo dataset once and print a token and example requests")
	fs.StringVar(&c.keyFile, "token-key-file", "", "file holding the token signing key (else USAGELENS_TOKEN_KEY)")
	fs.StringVar(&c.pseudonymKeyFile, "pseudonym-key-file", "", "file holding the key of pseudonymous clients' user pseudonyms (else USAGELENS_PSEUDONYM_KEY)")
	fs.DurationVar(&c.queryTimeout, "query-timeout", 30*time.Second, "limit of one ClickHouse query (also max_execution_time)")
	fs.DurationVar(&c.exportTimeout, "export-timeout", 30*time.Minute, "limit of one CSV export, query and streaming")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may finish after SIGTERM")
	clusterFlag(fs, &c.cluster)
	fs.IntVar(&c.maxConns, "clickhouse-max-conns", 32, "ClickHouse connection pool size")
	fs.Int64Var(&c.cacheBytes, "cache-bytes", 256<<20, "bound of the in-memory response cache in bytes; 0: no cache")
	fs.BoolVar(&c.rollups, "rollups", true, "answer from the rollups where they give the exact answer; false: always from usage rows")
	host, _ := os.Hostname()
	fs.StringVar(&c.exportDir, "export-dir", "", "directory of export job files, shared by the instances that serve their links; empty: <data-dir>/exports")
	fs.StringVar(&c.exportLinkKeyFile, "export-link-key-file", "", "file holding the key that signs export download links (else USAGELENS_EXPORT_LINK_KEY, else derived from the token key)")
	fs.IntVar(&c.exportWorkers, "export-workers", 2, "export jobs run at once by this instance")
	fs.IntVar(&c.exportJobsPerClient, "export-jobs-per-client", 4, "queued and running export jobs one client may have on this instance; beyond them POST answers 429")
	fs.DurationVar(&c.exportRetention, "export-retention", 24*time.Hour, "how long a finished export's file stays downloadable")
	fs.Int64Var(&c.exportMaxBytes, "export-max-bytes", 10<<30, "bound of the export directory's files in bytes; a job that would pass it fails with storage_full")
	fs.StringVar(&c.instance, "instance", host, "this instance's stable, unique name: at start it takes over the export jobs it left unfinished")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug | info | warn | error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json | text")
	fs.StringVar(&c.pprofListen, "pprof-listen", "", "serve net/http/pprof on this address of its own, e.g. 127.0.0.1:6060; empty: off")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve /metrics on this address of its own (the API port then answers it 404); empty: on the API port")
	if err := parse(fs, args); err != nil {
		return err
	}
	return serve(c)
}

func serve(c serveConfig) error {
	log, err := observability.NewLogger(os.Stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	key, err := signingKey(c)
	if err != nil {
		return err
	}
	if c.dsn == "" && c.cluster != "" {
		return errors.New("--clickhouse-cluster needs --clickhouse-dsn: the managed clickhouse-server is one node")
	}
	if c.dsn == "" {
		srv, err := startManaged(ctx, c.dataDir, log)
		if err != nil {
			return err
		}
		// Deferred first, so it runs last: after the HTTP server and the pool.
		defer func() { log.Info("stopping managed clickhouse-server"); _ = srv.Stop() }()
		c.dsn = srv.DSN()
	}
	conn, err := chschema.Connect(ctx, c.dsn, c.maxConns)
	if err != nil {
		return err
	}
	defer func() { log.Info("closing the ClickHouse pool"); conn.Close() }()
	metrics := observability.NewMetrics()
	start := time.Now()
	_, err = migrate(ctx, conn, c.cluster)
	metrics.ObserveQuery("migrate", err, time.Since(start))
	if err != nil {
		return err
	}
	st := store.New(conn, metrics.ObserveQuery)
	st.Rollups = c.rollups
	if st.PseudonymKey, err = pseudonymKey(c); err != nil {
		return err
	}
	go st.WatchVersions(ctx)
	if c.demo {
		start := time.Now()
		err := seedDemo(ctx, st, conn, c.dataDir, log)
		metrics.ObserveQuery("load", err, time.Since(start))
		if err != nil {
			return err
		}
	}
	mgr, err := exportJobs(c, st, key, log, metrics)
	if err != nil {
		return err
	}
	if err := mgr.Recover(ctx); err != nil {
		return fmt.Errorf("cannot take over this instance's export jobs: %w", err)
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		mgr.Run(jobsCtx)
	}()
	// Deferred before the pool closes: running jobs record that they were
	// interrupted while ClickHouse still answers.
	defer func() { stopJobs(); <-jobsDone }()
	srv := handlers.New(handlers.Config{Store: st, Key: key, Log: log, Metrics: metrics, QueryTimeout: c.queryTimeout, ExportTimeout: c.exportTimeout,
		MetricsApart: c.metricsListen != "", Cache: respcache.New(c.cacheBytes), Jobs: mgr})
	if c.pprofListen != "" {
		pp, err := observability.StartPprof(c.pprofListen, log)
		if err != nil {
			return err
		}
		defer func() {
			// A running profile is cut short rather than holding up the exit.
			pctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = pp.Shutdown(pctx)
		}()
		log.Warn("pprof serving; keep this address private", slog.String("listen", pp.Addr()))
	}
	lim := handlers.DefaultLimits(c.exportTimeout)
	hs := srv.NewHTTPServer(lim)
	hs.Logger = slogPrinter{log}
	// Keep-alive clients learn from "Connection: close" not to send more
	// once shutdown began.
	hs.CloseOnShutdown = true
	ln, err := net.Listen("tcp4", c.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", c.listen, err)
	}
	errc := make(chan error, 2)
	var ms *fasthttp.Server
	if c.metricsListen != "" {
		ms = srv.NewMetricsHTTPServer(lim)
		ms.Logger = slogPrinter{log}
		ms.CloseOnShutdown = true
		mln, err := net.Listen("tcp4", c.metricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("cannot listen on %s: %w", c.metricsListen, err)
		}
		go func() { errc <- ms.Serve(mln) }()
		log.Info("serving metrics", slog.String("listen", mln.Addr().String()))
	}
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", slog.String("listen", ln.Addr().String()))
	if c.demo {
		printDemo(ctx, st, key, c)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("cannot serve: %w", err)
	case <-ctx.Done():
	}
	// A second signal ends the process at once.
	stop()
	// Order: stop accepting and let in-flight requests and export streams
	// finish; then (deferred) close the pool they used, then stop the
	// managed ClickHouse.
	log.Info("shutting down: no new connections, in-flight requests may finish", slog.Duration("deadline", c.shutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := hs.ShutdownWithContext(sctx); err != nil {
		log.Warn("shutdown deadline passed with requests in flight; cutting them off", slog.String("error", err.Error()))
	} else {
		log.Info("in-flight requests finished")
	}
	// The metrics address stays up while the API drains, so the drain can
	// be watched.
	if ms != nil {
		if err := ms.ShutdownWithContext(sctx); err != nil {
			log.Warn("metrics server did not stop in time", slog.String("error", err.Error()))
		}
	}
	return nil
}

// exportJobs is the export job manager of c: files under --export-dir,
// links signed with their own key or one derived from the token key.
func exportJobs(c serveConfig, st *store.Store, tokenKey []byte, log *slog.Logger, metrics *observability.Metrics) (*jobs.Manager, error) {
	dir := c.exportDir
	if dir == "" {
		dir = filepath.Join(c.dataDir, "exports")
	}
	files, err := exportstore.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	linkKey := jobs.DeriveLinkKey(tokenKey)
	if os.Getenv(linkKeySource.Env) != "" || c.exportLinkKeyFile != "" {
		if linkKey, err = auth.KeyFrom(linkKeySource, os.Getenv(linkKeySource.Env), c.exportLinkKeyFile); err != nil {
			return nil, err
		}
	}
	log.Info("export jobs", slog.String("dir", dir), slog.String("instance", c.instance), slog.Int("workers", c.exportWorkers))
	return jobs.New(jobs.Config{Store: st, Files: files, LinkKey: linkKey, Instance: c.instance, Workers: c.exportWorkers,
		PerClient: c.exportJobsPerClient, Timeout: c.exportTimeout, Retention: c.exportRetention, MaxBytes: c.exportMaxBytes, Log: log,
		Exported: metrics.AddExport}), nil
}

// startManaged runs clickhouse-server as a child with its data under
// dataDir/clickhouse and restarts it if it dies.
func startManaged(ctx context.Context, dataDir string, log *slog.Logger) (*chserver.Server, error) {
	dir := filepath.Join(dataDir, "clickhouse")
	log.Info("starting managed clickhouse-server", slog.String("dir", dir))
	srv, err := chserver.Start(ctx, dir)
	if err != nil {
		return nil, err
	}
	go srv.Supervise(ctx, func(f string, a ...any) { log.Warn(fmt.Sprintf(f, a...)) })
	log.Info("clickhouse-server ready", slog.String("dsn", srv.DSN()))
	return srv, nil
}

// signingKey reads the token key from the environment or --token-key-file.
// In demo mode without one, a random key is kept in dataDir/token.key so
// demo tokens survive restarts.
func signingKey(c serveConfig) ([]byte, error) {
	return configuredKey(c, tokenKeySource, c.keyFile, "token.key")
}

// pseudonymKey reads the pseudonym key from the environment or
// --pseudonym-key-file, kept like the demo's token key in demo mode. It is
// nil when none is configured: a pseudonymous client's requests then fail.
func pseudonymKey(c serveConfig) ([]byte, error) {
	if !c.demo && os.Getenv("USAGELENS_PSEUDONYM_KEY") == "" && c.pseudonymKeyFile == "" {
		return nil, nil
	}
	return configuredKey(c, pseudonymKeySource, c.pseudonymKeyFile, "pseudonym.key")
}

// The secrets serve reads, and where each is set.
var (
	tokenKeySource     = auth.KeySource{What: "token signing key", Env: "USAGELENS_TOKEN_KEY", Flag: "--token-key-file"}
	pseudonymKeySource = auth.KeySource{What: "pseudonym key", Env: "USAGELENS_PSEUDONYM_KEY", Flag: "--pseudonym-key-file"}
	linkKeySource      = auth.KeySource{What: "export link key", Env: "USAGELENS_EXPORT_LINK_KEY", Flag: "--export-link-key-file"}
)

// configuredKey is a secret from env or file; in demo mode without either,
// a random one kept in dataDir/demoFile.
func configuredKey(c serveConfig, src auth.KeySource, file, demoFile string) ([]byte, error) {
	env := src.Env
	key, err := auth.KeyFrom(src, os.Getenv(env), file)
	if err == nil || !c.demo || os.Getenv(env) != "" || file != "" {
		return key, err
	}
	path := filepath.Join(c.dataDir, demoFile)
	if _, err := os.Stat(path); err == nil {
		return auth.KeyFrom(src, "", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(raw)), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return auth.KeyFrom(src, "", path)
}

// seedDemo loads the small dataset once: a database with clients already
// is left as it is.
func seedDemo(ctx context.Context, st *store.Store, conn driver.Conn, dataDir string, log *slog.Logger) error {
	n, err := st.ClientCount(ctx)
	if err != nil {
		return fmt.Errorf("cannot count clients: %w", err)
	}
	if n > 0 {
		log.Info("demo data already loaded", slog.Uint64("clients", n))
		return nil
	}
	dir := filepath.Join(dataDir, "demo-dataset")
	log.Info("seeding the small demo dataset", slog.String("dir", dir))
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleSmall, Seed: 1, Progress: os.Stderr}); err != nil {
		return err
	}
	loaded, err := dataset.Load(ctx, conn, dir, os.Stderr)
	if err != nil {
		return err
	}
	log.Info("demo data loaded", slog.Int("usage_rows", loaded.UsageRows), slog.Duration("elapsed", loaded.Elapsed))
	return nil
}

// printDemo prints, for the demo's biggest client, shell lines to paste
// (a token, the client, its utilization URL, the header and ids to filter
// by), requests that use them, and how to mint a token for the others.
func printDemo(ctx context.Context, st *store.Store, key []byte, c serveConfig) {
	client, err := st.BusiestClient(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot pick a demo client: %v\n", err)
		return
	}
	ids, err := st.DemoIDs(ctx, client)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot read the demo client's ids: %v\n", err)
		return
	}
	tok, err := auth.Mint(key, client, 30*24*time.Hour, time.Now())
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot mint a demo token: %v\n", err)
		return
	}
	fmt.Print(demoText(client, tok, c, ids))
}

// demoText is what printDemo prints. Values are single-quoted so a paste
// into any POSIX shell takes them as they are.
func demoText(client, tok string, c serveConfig, ids store.DemoIDs) string {
	host := c.listen
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nusagelens demo is ready. Client %s; token valid 30 days.\n\n", client)
	// The token rides in the fragment, which the browser never sends, so
	// it reaches no server log; the page moves it to session storage.
	// as_of: the demo's data ends on 2026-10-31.
	fmt.Fprintf(&b, "Open the App Metrics page (the link signs you in):\n\n%s\n\n", demoUILink(host, client, tok))
	b.WriteString("Or paste into a shell:\n\n")
	fmt.Fprintf(&b, "export TOKEN='%s'\n", tok)
	fmt.Fprintf(&b, "export C='%s'\n", client)
	fmt.Fprintf(&b, "export U='http://%s%s'\n", host, api.Path(api.RouteUtilization, client))
	fmt.Fprintf(&b, "export H='Authorization: Bearer %s'\n", tok)
	const month = "granularity=monthly&start_date=2026-10-01&end_date=2026-10-31"
	queries := []string{
		month + "&page_size=5",
		month + "&compare_start_date=2026-09-01&compare_end_date=2026-09-30&sort_by=unique_users",
		"granularity=weekly&start_date=2026-10-01&end_date=2026-10-31&filter=discovered",
	}
	if cats := ids.CategoryIDs; len(cats) > 0 {
		vars := []string{}
		for i, id := range cats {
			fmt.Fprintf(&b, "export CAT%d='%s'\n", i+1, id)
			vars = append(vars, fmt.Sprintf("$CAT%d", i+1))
		}
		queries = append(queries, month+"&category_ids="+strings.Join(vars, ","))
	}
	for _, id := range ids.VendorIDs {
		fmt.Fprintf(&b, "export VENDOR='%s'\n", id)
		queries = append(queries, month+"&vendor_ids=$VENDOR")
	}
	for _, id := range ids.DepartmentIDs {
		fmt.Fprintf(&b, "export DEPT='%s'\n", id)
		queries = append(queries, month+"&department_ids=$DEPT")
	}
	b.WriteString("\n")
	for _, q := range queries {
		fmt.Fprintf(&b, "curl -s -H \"$H\" \"$U?%s\"\n", q)
	}
	if len(ids.OtherClients) > 0 {
		bin, err := os.Executable()
		if err != nil {
			bin = "usagelens"
		}
		var keyArg string
		switch {
		case os.Getenv("USAGELENS_TOKEN_KEY") != "":
			keyArg = "   # with USAGELENS_TOKEN_KEY set as it is for serve"
		case c.keyFile != "":
			keyArg = " --token-key-file " + absPath(c.keyFile)
		default:
			keyArg = " --token-key-file " + absPath(filepath.Join(c.dataDir, "token.key"))
		}
		fmt.Fprintf(&b, "\nA token for another demo client (%s):\n\n", strings.Join(ids.OtherClients, ", "))
		fmt.Fprintf(&b, "%s token --client %s%s\n", bin, ids.OtherClients[0], keyArg)
	}
	b.WriteString("\n")
	return b.String()
}

// demoUILink is the App Metrics page's sign-in link for client.
func demoUILink(host, client, tok string) string {
	return "http://" + host + api.RouteUI + "#token=" + url.QueryEscape(tok) + "&client=" + client + "&as_of=2026-10-31"
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// slogPrinter routes fasthttp's own messages to the structured log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) { p.log.Warn(fmt.Sprintf(format, args...)) }
