package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured; it marshals as the --out JSON.
type Report struct {
	Config   ReportConfig    `json:"config"`
	Machine  Machine         `json:"machine"`
	Dataset  DatasetInfo     `json:"dataset"`
	Load     *LoadResult     `json:"load,omitempty"`
	Replay   Replay          `json:"replay"`
	Variants []Replay        `json:"replay_variants,omitempty"`
	Cache    *CacheAnchor    `json:"cache_hit,omitempty"`
	Rollup   *RollupAnchor   `json:"rollups,omitempty"`
	Wrk      *WrkAnchor      `json:"wrk,omitempty"`
	RawSQL   *RawSQLAnchor   `json:"raw_sql,omitempty"`
	NetHTTP  *NetHTTPAnchor  `json:"net_http,omitempty"`
	Export   *ExportAnchor   `json:"export,omitempty"`
	RSS      *RSSAnchor      `json:"rss,omitempty"`
	Jobs     *JobsAnchor     `json:"jobs,omitempty"`
	XLSX     *XLSXAnchor     `json:"xlsx,omitempty"`
	Postgres *PostgresAnchor `json:"postgres,omitempty"`
	Users    *UsersAnchor    `json:"users,omitempty"`
	Targets  []Target        `json:"targets"`
}

// ReportConfig is the run's configuration as the report shows it.
type ReportConfig struct {
	Concurrency    int     `json:"concurrency"`
	Seconds        float64 `json:"duration_s"`
	AnchorRuns     int     `json:"anchor_runs"`
	Mix            string  `json:"mix"`
	PrivateServer  bool    `json:"private_clickhouse"`
	StartedAt      string  `json:"started_at"`
	CommandLine    string  `json:"command_line"`
	PostgresAnchor bool    `json:"postgres"`
	// CacheBytes, Rollups and Variants are how the service was built and
	// which replay variants ran.
	CacheBytes int64    `json:"cache_bytes"`
	Rollups    bool     `json:"rollups"`
	Variants   []string `json:"replay_variants,omitempty"`
	// Shards is the private cluster's shard count (absent: one node).
	Shards int `json:"shards,omitempty"`
}

func reportConfig(c Config) ReportConfig {
	rc := ReportConfig{Concurrency: c.Concurrency, Seconds: c.Duration.Seconds(), AnchorRuns: c.AnchorRuns,
		Mix: c.Mix, PrivateServer: c.DSN == "", StartedAt: time.Now().UTC().Format(time.RFC3339), CommandLine: strings.Join(os.Args, " "),
		PostgresAnchor: c.Postgres || c.PostgresDSN != "", CacheBytes: c.CacheBytes, Rollups: c.Rollups, Variants: c.Variants}
	if c.Shards >= 2 {
		rc.Shards = c.Shards
	}
	return rc
}

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    `json:"nproc"`
	CPUModel   string `json:"cpu_model"`
	MemoryGiB  string `json:"memory_gib"`
	GoVersion  string `json:"go_version"`
	ClickHouse string `json:"clickhouse_version"`
	Commit     string `json:"commit"`
	OS         string `json:"os"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-, 5- and 15-minute load
	// averages when the run began and ended: anything else running on the
	// machine shows here.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

func readMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Commit: commit()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.LoadStart = loadAvg()
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil && kb > 0 {
		m.MemoryGiB = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64)
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// commit is the VCS revision built into the binary, else the one of the
// git checkout in the working directory, marked -dirty when it has changes.
func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "-dirty"
	}
	return rev
}

// DatasetInfo is the shape of the loaded data.
type DatasetInfo struct {
	Dir       string        `json:"dir"`
	Scale     string        `json:"scale,omitempty"`
	Seed      *uint64       `json:"seed,omitempty"`
	UsageRows uint64        `json:"usage_rows"`
	Clients   int           `json:"clients_with_usage"`
	Apps      uint64        `json:"apps"`
	Busiest   BusiestClient `json:"busiest_client"`
	// ShardRows are the usage rows each shard holds, on a cluster.
	ShardRows []uint64 `json:"shard_usage_rows,omitempty"`
}

// BusiestClient is the client with the most usage rows: the one the
// anchors measure.
type BusiestClient struct {
	ID        string `json:"id"`
	UsageRows uint64 `json:"usage_rows"`
	Users     uint64 `json:"users"`
	Apps      uint64 `json:"apps_used"`
	First     string `json:"first_day"`
	Last      string `json:"last_day"`
}

// LoadResult is the `usagelens load` figure: dataset.Load of the directory.
type LoadResult struct {
	UsageRows     int     `json:"usage_rows"`
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_s"`
	// RollupsSeconds is the part of Seconds spent building the rollups
	// (dataset.LoadStats.Rollups), RollupsShare its fraction.
	RollupsSeconds float64 `json:"rollups_s"`
	RollupsShare   float64 `json:"rollups_share"`
}

// Target is one performance claim and whether this run met it.
type Target struct {
	Name   string  `json:"name"`
	Want   string  `json:"want"`
	Got    float64 `json:"got"`
	Unit   string  `json:"unit"`
	Met    bool    `json:"met"`
	Note   string  `json:"note,omitempty"`
	Absent bool    `json:"not_measured,omitempty"`
}

func targets(r *Report) []Target {
	var ts []Target
	add := func(t Target) { ts = append(ts, t) }
	if r.RawSQL != nil {
		add(Target{Name: "utilization latency / raw ClickHouse", Want: "<= 1.1", Got: r.RawSQL.Ratio, Unit: "x", Met: r.RawSQL.Ratio > 0 && r.RawSQL.Ratio <= 1.1,
			Note: "sum of per-request median latencies, service over clickhouse-go, same SQL"})
	}
	if r.Export != nil {
		add(Target{Name: "usage export rows/s / ClickHouse CSVWithNames", Want: ">= 0.9", Got: r.Export.Ratio, Unit: "x", Met: r.Export.Ratio >= 0.9,
			Note: fmt.Sprintf("%d rows, median of %d runs each", r.Export.Rows, len(r.Export.Service.Runs))})
	}
	if r.Postgres != nil {
		t := Target{Name: "12-month utilization speed-up over PostgreSQL", Want: ">= 30", Got: r.Postgres.TwelveMonths.SpeedUp, Unit: "x",
			Met: r.Postgres.TwelveMonths.SpeedUp >= 30, Note: "PostgreSQL / the service instance without a response cache"}
		if r.Dataset.Scale != "" && r.Dataset.Scale != "large" {
			t.Note = "target is for scale large; this run is " + r.Dataset.Scale
		}
		add(t)
	}
	if r.Load != nil {
		add(Target{Name: "load throughput", Want: ">= 500000", Got: r.Load.RowsPerSecond, Unit: "rows/s", Met: r.Load.RowsPerSecond >= 500000,
			Note: fmt.Sprintf("rollups %.2fs of %.2fs (%.1f %%)", r.Load.RollupsSeconds, r.Load.Seconds, 100*r.Load.RollupsShare)})
	}
	ts = append(ts, dashboardTargets(r)...)
	if r.Users != nil {
		ts = append(ts, usersTargets(r.Users)...)
	}
	if r.Jobs != nil {
		ts = append(ts, jobsTargets(r.Jobs)...)
	}
	if r.XLSX != nil {
		ts = append(ts, xlsxTargets(r.XLSX)...)
	}
	if r.RSS != nil && len(r.RSS.Exports) == 2 {
		g := r.RSS.GrowthRatio
		add(Target{Name: "peak RSS, larger / smaller usage export", Want: "<= 1.1", Got: g, Unit: "x", Met: g > 0 && g <= 1.1,
			Note: fmt.Sprintf("%d vs %d rows", r.RSS.Exports[1].Rows, r.RSS.Exports[0].Rows)})
	}
	return ts
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the human-readable summary.
func (r *Report) WriteTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s GiB, %s, ClickHouse %s, commit %s; load average %s at the start, %s at the end\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.GoVersion, m.ClickHouse, m.Commit, m.LoadStart, m.LoadEnd)
	if r.Config.Shards >= 2 {
		fmt.Fprintf(w, "clickhouse: a private cluster %s of %d shards on this machine, the bench through node 1\n", ClusterName, r.Config.Shards)
	}
	d := r.Dataset
	shape := "recorded"
	if d.Seed != nil {
		shape = fmt.Sprintf("scale %s, seed %d", d.Scale, *d.Seed)
	}
	fmt.Fprintf(w, "dataset: %s (%s): %d usage rows, %d clients, %d apps; busiest client %s: %d rows, %d users, %d apps used, %s..%s\n",
		d.Dir, shape, d.UsageRows, d.Clients, d.Apps, d.Busiest.ID, d.Busiest.UsageRows, d.Busiest.Users, d.Busiest.Apps, d.Busiest.First, d.Busiest.Last)
	if len(d.ShardRows) > 0 {
		fmt.Fprintf(w, "usage rows per shard: %v\n", d.ShardRows)
	}
	if r.Load != nil {
		fmt.Fprintf(w, "load: %d usage rows in %.2fs = %.0f rows/s; building the rollups took %.2fs of it (%.1f %%)\n",
			r.Load.UsageRows, r.Load.Seconds, r.Load.RowsPerSecond, r.Load.RollupsSeconds, 100*r.Load.RollupsShare)
	}
	writeReplay(w, r.Replay)
	for _, v := range r.Variants {
		writeReplay(w, v)
	}
	r.writeDashboards(w)
	if r.Users != nil {
		writeUsers(w, r.Users)
	}
	var tw *tabwriter.Writer
	if a := r.RawSQL; a != nil {
		fmt.Fprintf(w, "\nutilization, service vs the same SQL through clickhouse-go (sequential, median of %d runs):\n", a.Runs)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "request\tservice ms\traw ms\tratio\t")
		for _, c := range a.Cases {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t\n", c.Label, c.Service, c.Raw, c.Ratio)
		}
		fmt.Fprintf(tw, "sum of medians\t%.2f\t%.2f\t%.3f\t\n", a.ServiceSum, a.RawSum, a.Ratio)
		tw.Flush()
		fmt.Fprintf(w, "median of per-request ratios %.3f; median absolute overhead %.2f ms\n", a.MedianRatio, a.MedianOverhead)
	}
	if a := r.NetHTTP; a != nil {
		fmt.Fprintf(w, "\nutilization route, fasthttp service vs net/http + encoding/json variant (%d workers, 2 rounds of the same %d requests each):\n", a.Concurrency, a.Requests)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "server\trequests\terrors\tseconds\treq/s\tp50 ms\tp99 ms\tbench CPU us/req\tper round\t")
		for _, s := range []NetHTTPSide{a.FastHTTP, a.NetHTTP} {
			var rounds []string
			for _, r := range s.Rounds {
				rounds = append(rounds, fmt.Sprintf("%.1fs %.0fus", r.Seconds, r.CPUPerRequest))
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.0f\t%s\t\n", s.Name, s.Count, s.Errors, s.Seconds, s.Throughput, s.P50, s.P99, s.CPUPerRequest, strings.Join(rounds, ", "))
		}
		tw.Flush()
		fmt.Fprintf(w, "fasthttp/net-http: throughput %.3fx, CPU per request %.3fx\n", a.ThroughputRatio, a.CPURatio)
	}
	if a := r.Export; a != nil {
		fmt.Fprintf(w, "\nusage export of client %s, %s..%s, %d rows (median of %d runs):\n", a.ClientID, a.Start, a.End, a.Rows, len(a.Service.Runs))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "source\tseconds\trows/s\tMB/s\tbytes\tbench CPU s\tClickHouse CPU s\t")
		for _, s := range []ExportSide{a.Service, a.ClickHouse} {
			fmt.Fprintf(tw, "%s\t%.3f\t%.0f\t%.1f\t%d\t%.2f\t%.2f\t\n", s.Name, s.Seconds, s.RowsPerSecond, s.MBps, s.Bytes, s.BenchCPU, s.ClickHouseCPU)
		}
		tw.Flush()
		fmt.Fprintf(w, "service / ClickHouse rows/s: %.3fx\n", a.Ratio)
	}
	if r.Jobs != nil {
		writeJobs(w, r.Jobs)
	}
	if r.XLSX != nil {
		writeXLSX(w, r.XLSX)
	}
	if a := r.RSS; a != nil {
		fmt.Fprintf(w, "\npeak RSS of a child `usagelens serve` (VmHWM), one usage export per fresh process, median of %d processes:\n", rssRepeats)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "rows\trange\tidle MiB\tpeak MiB\tpeaks MiB\tseconds\trows/s\t")
		for _, x := range a.Exports {
			peaks := make([]string, len(x.Peaks))
			for i, p := range x.Peaks {
				peaks[i] = strconv.FormatFloat(p, 'f', 1, 64)
			}
			fmt.Fprintf(tw, "%d\t%s..%s\t%.1f\t%.1f\t%s\t%.2f\t%.0f\t\n", x.Rows, x.Start, x.End, x.IdleMiB, x.PeakMiB, strings.Join(peaks, " "), x.Seconds, x.RowsPerSecond)
		}
		tw.Flush()
		if len(a.Exports) == 2 {
			fmt.Fprintf(w, "peak RSS ratio (larger / smaller export): %.3f\n", a.GrowthRatio)
		}
	}
	if a := r.Postgres; a != nil {
		fmt.Fprintf(w, "\nPostgreSQL %s reference (monthly partitions, COUNT(DISTINCT user_id)), busiest client, median of %d runs:\n", a.Version, a.Runs)
		if a.LoadSeconds > 0 {
			fmt.Fprintf(w, "PostgreSQL setup and COPY load of %d rows: %.1fs (%.0f rows/s incl. indexes and VACUUM ANALYZE)\n", a.Rows, a.LoadSeconds, a.LoadRowsPerSecond)
		}
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "query\tPostgreSQL ms\tservice ms\traw ClickHouse ms\tspeed-up (service)\tspeed-up (raw)\tagree\t")
		for _, q := range []PGQuery{a.OneMonth, a.TwelveMonths} {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1fx\t%.1fx\t%d/%d\t\n", q.Label, q.Postgres, q.Service, q.Raw, q.SpeedUp, q.SpeedUpRaw, q.Agree, q.Compared)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\ntargets:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		met := "MET"
		if !t.Met {
			met = "MISSED"
		}
		fmt.Fprintf(tw, "%s\twant %s %s\tgot %.3f %s\t%s\t%s\n", t.Name, t.Want, t.Unit, t.Got, t.Unit, met, t.Note)
	}
	tw.Flush()
}

// day formats a date as the report and the API write it.
func day(t time.Time) string { return t.Format(time.DateOnly) }

// truncate keeps reported samples short.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// dashboardTargets are issue 13's: cache hits, rollups against the minimal
// raw-row SQL, the replay and wrk.
func dashboardTargets(r *Report) []Target {
	var ts []Target
	add := func(t Target) { ts = append(ts, t) }
	if a := r.Cache; a != nil && len(a.Cases) > 0 {
		c := a.Cases[0]
		note := fmt.Sprintf("%s, %d sequential hits", c.Label, c.Hits)
		add(Target{Name: "cache hit p50", Want: "<= 1", Got: float64(c.Hit.P50), Unit: "ms", Met: c.Hit.P50 <= 1, Note: note})
		add(Target{Name: "cache hit p99", Want: "<= 5", Got: float64(c.Hit.P99), Unit: "ms", Met: c.Hit.P99 <= 5, Note: note})
		for _, c := range a.Cases {
			add(Target{Name: "cache hit speed-up, " + c.Label, Want: ">= 100", Got: c.SpeedUp, Unit: "x", Met: c.SpeedUp >= 100,
				Note: "median uncached (second service, Cache nil) / hit p50"})
		}
	}
	if a := r.Rollup; a != nil {
		for i, c := range a.Cases {
			want := map[int]float64{0: 0.35, 1: 0.2}[i]
			add(Target{Name: "through rollups / minimal raw SQL, " + c.Label, Want: fmt.Sprintf("<= %.2f", want), Got: c.Ratio, Unit: "x",
				Met: c.Ratio > 0 && c.Ratio <= want, Note: fmt.Sprintf("uncached service %.1f ms, minimal raw SQL %.1f ms; %d apps equal", c.Service, c.Minimal, c.Checked)})
		}
	}
	rp := r.Replay
	note := rp.Source + "; " + rp.Service
	if rp.Cache != nil {
		note += fmt.Sprintf("; hit ratio %.5f", rp.Cache.HitRatio)
	}
	add(Target{Name: "replay throughput", Want: ">= 110", Got: rp.Total.Throughput, Unit: "req/s", Met: rp.Total.Throughput >= 110 && rp.Total.Errors == 0, Note: note})
	add(Target{Name: "replay p99", Want: "<= 500", Got: float64(rp.Total.P99), Unit: "ms", Met: rp.Total.Count > 0 && rp.Total.P99 <= 500})
	if a := r.Wrk; a != nil {
		for _, w := range a.Runs {
			if w.Connections != 8 || w.Threads != 1 {
				continue
			}
			ok := w.Non2xx == 0 && w.SocketErrors == 0
			note := fmt.Sprintf("1 wrk thread; %d non-2xx, %d socket errors", w.Non2xx, w.SocketErrors)
			add(Target{Name: "wrk, 8 connections, throughput", Want: ">= 1000", Got: w.RequestsPerSecond, Unit: "req/s", Met: ok && w.RequestsPerSecond >= 1000, Note: note})
			add(Target{Name: "wrk, 8 connections, p99", Want: "<= 5", Got: float64(w.P99), Unit: "ms", Met: ok && w.P99 <= 5, Note: note})
		}
	}
	return ts
}

// writeReplay writes one replay's table.
func writeReplay(w io.Writer, rp Replay) {
	name := "replay"
	if rp.Variant != "" {
		name = "replay variant " + rp.Variant
	}
	fmt.Fprintf(w, "\n%s: %s; %d workers for %.1fs; service: %s\n", name, rp.Source, rp.Concurrency, rp.Seconds, rp.Service)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\terrors\t4xx\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tMB/s\t")
	for _, k := range append(append([]KindStats{}, rp.Kinds...), rp.Total) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t\n", k.Kind, k.Count, k.Errors, k.Rejected, k.Throughput, k.P50, k.P95, k.P99, k.Max, k.MBps)
	}
	tw.Flush()
	for _, k := range rp.Kinds {
		for _, s := range k.ErrorSamples {
			fmt.Fprintf(w, "  error (%s): %s\n", k.Kind, s)
		}
		for _, s := range k.RejectedSamples {
			fmt.Fprintf(w, "  rejected (%s): %s\n", k.Kind, s)
		}
	}
	if c := rp.CPU; c != nil {
		ch := make([]string, len(c.ClickHouse))
		for i, x := range c.ClickHouse {
			ch[i] = strconv.FormatFloat(x, 'f', 0, 64)
		}
		q := make([]string, len(c.Queries))
		for i, x := range c.Queries {
			q[i] = strconv.FormatFloat(x, 'f', 2, 64)
		}
		fmt.Fprintf(w, "CPU per request: bench %.0f us, clickhouse-server %s us; ClickHouse queries per request %s\n", c.Bench, strings.Join(ch, " + "), strings.Join(q, " + "))
	}
	if c := rp.Cache; c != nil {
		fmt.Fprintf(w, "response cache: %d hits, %d misses, hit ratio %.5f; %d entries, %d bytes after\n", c.Hits, c.Misses, c.HitRatio, c.Entries, c.Bytes)
	}
}

// writeDashboards writes the cache, rollups and wrk anchors.
func (r *Report) writeDashboards(w io.Writer) {
	if a := r.Cache; a != nil {
		fmt.Fprintf(w, "\nresponse cache hits (%s) against the same request to a service without a cache (%s):\n", a.Service, a.Uncached)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "request\thits\thit p50 ms\thit p95 ms\thit p99 ms\thit max ms\tuncached ms\tspeed-up\t")
		for _, c := range a.Cases {
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t%.0fx\t\n", c.Label, c.Hits, c.Hit.P50, c.Hit.P95, c.Hit.P99, c.Hit.Max, c.Uncached, c.SpeedUp)
		}
		tw.Flush()
	}
	if a := r.Rollup; a != nil {
		fmt.Fprintf(w, "\nuncached service through the rollups against the minimal raw-row SQL for the same answer (sequential, median of %d runs):\n", a.Runs)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "request\tservice ms\trollup SQL ms\tservice raw SQL ms\tminimal raw SQL ms\tservice/minimal\trollup SQL/minimal\tapps equal\t")
		for _, c := range a.Cases {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%d/%d\t\n", c.Label, c.Service, c.RollupSQL, c.ServiceRawSQL, c.Minimal, c.Ratio, c.RatioSQL, c.Checked, c.Apps)
		}
		tw.Flush()
	}
	if a := r.Wrk; a != nil {
		fmt.Fprintf(w, "\nwrk against %s (%s):\n", a.Path, a.Service)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "connections\tthreads\trequests\treq/s\tp50 ms\tp75 ms\tp90 ms\tp99 ms\tnon-2xx\tsocket errors\thit ratio\t")
		for _, x := range a.Runs {
			hit := 0.0
			if x.Cache != nil {
				hit = x.Cache.HitRatio
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%.5f\t\n", x.Connections, x.Threads, x.Requests, x.RequestsPerSecond, x.P50, x.P75, x.P90, x.P99, x.Non2xx, x.SocketErrors, hit)
		}
		tw.Flush()
		for _, x := range a.Runs {
			fmt.Fprintf(w, "$ %s\n%s", x.Command, x.Output)
		}
	}
}
