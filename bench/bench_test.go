package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/bench"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// TestBenchSmoke runs the whole harness briefly on the tiny dataset: load,
// replay of the dashboard mix, and the raw SQL, net/http, export, jobs and
// xlsx (both without their child processes) anchors. It uses a private
// server because the export anchor needs the server's HTTP port, which
// only a server of our own tells us. The RSS anchor and the child parts
// of the jobs and xlsx anchors need the usagelens binary and the
// PostgreSQL one a PostgreSQL install; they stay out of the test suite.
func TestBenchSmoke(t *testing.T) {
	srv := chtest.Private(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	st, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		DatasetDir: dir, Mix: bench.MixDashboard, Concurrency: 2, Duration: 2 * time.Second,
		DSN: srv.DSN(), ClickHouseHTTP: srv.HTTPURL(), WorkDir: t.TempDir(),
		AnchorRuns: 1, RawSQL: true, NetHTTP: true, Export: true, RollupSQL: true, CacheHit: true, Wrk: true, Users: true, Jobs: true, JobsNoChild: true, XLSX: true, XLSXNoChild: true,
		CacheBytes: 16 << 20, Rollups: true, Variants: []string{bench.VariantNoCache, bench.VariantRaw}, WrkDuration: time.Second,
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("bench.Run: %v\nprogress:\n%s", err, progress.String())
	}
	if rep.Load == nil || rep.Load.UsageRows != st.UsageRows || rep.Load.RowsPerSecond <= 0 {
		t.Errorf("load = %+v, want %d usage rows at a positive rate", rep.Load, st.UsageRows)
	}
	if rep.Dataset.UsageRows != uint64(st.UsageRows) || rep.Dataset.Busiest.Users == 0 {
		t.Errorf("dataset = %+v", rep.Dataset)
	}
	tot := rep.Replay.Total
	if tot.Count == 0 || tot.Errors != 0 || tot.Rejected != 0 || tot.P50 <= 0 || tot.Throughput <= 0 {
		t.Errorf("replay total = %+v, want requests, no errors, positive latency and throughput", tot)
	}
	kinds := map[string]bench.KindStats{}
	for _, k := range rep.Replay.Kinds {
		kinds[k.Kind] = k
		for _, s := range append(k.ErrorSamples, k.RejectedSamples...) {
			t.Errorf("%s: %s", k.Kind, s)
		}
	}
	for _, k := range []string{workload.KindUtilization, workload.KindUtilizationCompare, workload.KindUtilizationFiltered, workload.KindUtilizationDepartments,
		workload.KindPageWalk, workload.KindUtilizationExport, workload.KindUsageExport} {
		if kinds[k].Count == 0 {
			t.Errorf("the dashboard mix sent no %s request in %gs (kinds: %+v)", k, rep.Config.Seconds, rep.Replay.Kinds)
		}
	}
	if a := rep.RawSQL; a == nil || len(a.Cases) == 0 || a.Ratio <= 0 || a.RawSum <= 0 {
		t.Errorf("raw SQL anchor = %+v", a)
	}
	if a := rep.NetHTTP; a == nil || a.FastHTTP.Count == 0 || a.NetHTTP.Count == 0 || a.FastHTTP.Errors+a.NetHTTP.Errors != 0 {
		t.Errorf("net/http anchor = %+v", a)
	}
	if a := rep.Export; a == nil || a.Rows == 0 || a.Service.Lines != a.ClickHouse.Lines || a.Service.Lines < int64(a.Rows)+1 || a.Ratio <= 0 {
		t.Errorf("export anchor = %+v", a)
	}
	if a := rep.Jobs; a == nil || a.Rows == 0 || len(a.Jobs) != 2 || a.Jobs[0].Records != a.Rows || a.Jobs[0].Ratio <= 0 ||
		a.Download.Lines != a.Streaming.Lines || a.Jobs[1].Bytes == 0 || a.Jobs[1].Bytes >= a.Jobs[0].Bytes {
		t.Errorf("jobs anchor = %+v, want both jobs of every row, the download equal to the streaming export, the gzip file smaller", a)
	}
	if a := rep.XLSX; a == nil || len(a.Exports) < 2 || a.Job == nil || a.Job.DataRows != int64(a.Job.Rows) || a.Job.Sheets == 0 {
		t.Errorf("xlsx anchor = %+v, want a CSV and an XLSX export and a job of every row", a)
	} else {
		for _, x := range a.Exports {
			if x.Rows == 0 || x.DataRows != int64(x.Rows) || x.Bytes == 0 || (x.Format == "xlsx" && x.Sheets == 0) {
				t.Errorf("xlsx anchor's %s export = %+v, want every row", x.Format, x)
			}
		}
	}
	checkDashboardAnchors(t, rep)
	if len(rep.Targets) == 0 {
		t.Error("no targets evaluated")
	}
	var table, js bytes.Buffer
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "utilization_page_walk") {
		t.Errorf("the table lacks the page walk row:\n%s", table.String())
	}
	if err := rep.WriteJSON(&js); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("JSON report: %v\n%s", err, js.String())
	}
}

// TestBenchShards runs the harness briefly on a private cluster of two
// shards: the dataset spread over them, the replay and the anchors that go
// through ClickHouse answering as on one node.
func TestBenchShards(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	st, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		DatasetDir: dir, Mix: bench.MixDashboard, Concurrency: 2, Duration: time.Second, Shards: 2, WorkDir: t.TempDir(),
		AnchorRuns: 1, RawSQL: true, Export: true, RollupSQL: true, Users: true, Rollups: true, Variants: []string{bench.VariantRaw},
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("bench.Run: %v\nprogress:\n%s", err, progress.String())
	}
	if rep.Config.Shards != 2 || len(rep.Dataset.ShardRows) != 2 || rep.Dataset.ShardRows[0]+rep.Dataset.ShardRows[1] != uint64(st.UsageRows) {
		t.Errorf("shards %d, rows per shard %v, want 2 shards holding %d rows between them", rep.Config.Shards, rep.Dataset.ShardRows, st.UsageRows)
	}
	for _, rp := range append([]bench.Replay{rep.Replay}, rep.Variants...) {
		if tot := rp.Total; tot.Count == 0 || tot.Errors != 0 {
			t.Errorf("replay %q total = %+v, want requests and no errors", rp.Variant, tot)
		}
		if rp.CPU == nil || len(rp.CPU.ClickHouse) != 2 {
			t.Errorf("replay %q CPU = %+v, want both nodes'", rp.Variant, rp.CPU)
		}
	}
	if a := rep.Rollup; a == nil || len(a.Cases) != 2 || a.Cases[0].Checked == 0 {
		t.Errorf("rollups anchor = %+v, want two cases with apps checked", a)
	}
	if a := rep.Export; a == nil || a.Rows == 0 || a.Service.Lines != a.ClickHouse.Lines || a.Service.ClickHouseCPU != 0 {
		t.Errorf("export anchor = %+v, want the same lines and no ClickHouse CPU figure", a)
	}
	if !strings.Contains(progress.String(), "== starting shards") || !strings.Contains(progress.String(), "== loading") {
		t.Errorf("progress does not say it started shards and loaded:\n%s", progress.String())
	}
}

// TestBenchShardsRefuseDSN checks shards are only of a private cluster.
func TestBenchShardsRefuseDSN(t *testing.T) {
	_, err := bench.Run(context.Background(), bench.Config{DatasetDir: t.TempDir(), Shards: 2, DSN: "clickhouse://127.0.0.1:9000/x"})
	if err == nil || !strings.Contains(err.Error(), "private cluster") {
		t.Errorf("bench.Run with shards and a DSN: %v, want a refusal", err)
	}
}

// checkDashboardAnchors checks issue 13's parts of a smoke run: cache hits
// faster than no cache, the rollups' answers equal to the minimal raw-row
// SQL's (the anchor fails the run otherwise), the variants replayed
// without a cache, and wrk when it is installed.
func checkDashboardAnchors(t *testing.T, rep *bench.Report) {
	t.Helper()
	if c := rep.Replay.Cache; c == nil || c.Hits == 0 {
		t.Errorf("replay cache counters = %+v, want hits", c)
	}
	if a := rep.Cache; a == nil || len(a.Cases) != 2 || a.Cases[0].Hit.P50 <= 0 || a.Cases[0].Uncached <= a.Cases[0].Hit.P50 {
		t.Errorf("cache anchor = %+v, want two cases, hits faster than uncached", a)
	}
	if a := rep.Rollup; a == nil || len(a.Cases) != 2 || a.Cases[0].Checked == 0 || a.Cases[1].Minimal <= 0 {
		t.Errorf("rollups anchor = %+v, want two cases with apps checked", a)
	}
	if a := rep.Users; a == nil || len(a.Cases) != 2 || a.Cases[1].Rows == 0 || !a.LinesMatch || a.ExportRows == 0 || a.ExportRatio <= 0 {
		t.Errorf("users anchor = %+v, want two pages with users and an export of the same lines as ClickHouse's", a)
	}
	if len(rep.Variants) != 2 {
		t.Fatalf("%d replay variants, want 2", len(rep.Variants))
	}
	for _, v := range rep.Variants {
		if v.Cache != nil || v.Total.Count == 0 || v.Total.Errors+v.Total.Rejected != 0 {
			t.Errorf("variant %s: %s, total %+v", v.Variant, v.Service, v.Total)
		}
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Logf("wrk is not installed: its anchor was skipped")
		return
	}
	if a := rep.Wrk; a == nil || len(a.Runs) != 3 || a.Runs[1].Requests == 0 || a.Runs[1].Non2xx != 0 {
		t.Errorf("wrk anchor = %+v", a)
	}
}

// TestRenderSQLQuotesValues checks the literals the ClickHouse HTTP anchor
// substitutes: quotes and backslashes are escaped, lists become arrays,
// and @name inside a string literal of the SQL is left alone.
func TestRenderSQLQuotesValues(t *testing.T) {
	st := query.Statement{
		SQL:  "SELECT '@client', x FROM t WHERE c = toUUID(@client) AND has(@ids, y) AND z = @n AND w = '\\'@ids'",
		Args: []any{clickhouse.Named("client", `a'b\c`), clickhouse.Named("ids", []string{"x", "y'"}), clickhouse.Named("n", uint8(1))},
	}
	got, err := bench.RenderSQL(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT '@client', x FROM t WHERE c = toUUID('a\'b\\c') AND has(['x', 'y\''], y) AND z = 1 AND w = '\'@ids'`
	if got != want {
		t.Errorf("RenderSQL =\n%s\nwant\n%s", got, want)
	}
	if _, err := bench.RenderSQL(query.Statement{SQL: "SELECT @missing"}); err == nil {
		t.Error("a placeholder without an argument rendered without error")
	}
}
