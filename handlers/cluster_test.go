package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// dataAsOf is the load time in a JSON body: each database has its own.
var dataAsOf = regexp.MustCompile(`"data_as_of":"[^"]*"`)

// clusterRequests are the seed's request log and, for each of its
// clients, the other endpoints: series by every grouping, users, the
// activity of one app, and the CSV exports.
func clusterRequests(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, dataset.RequestsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	clients := map[string]string{} // client -> one of its apps
	for _, rec := range readCSVRows(t, filepath.Join(dir, dataset.AppsFile)) {
		clients[rec[0]] = rec[1]
	}
	const period = "start_date=2025-11-01&end_date=2026-10-31"
	for c, app := range clients {
		base := "/v2/clients/" + c + "/analytics/"
		for _, g := range []string{"none", "app", "user", "department", "category", "vendor"} {
			out = append(out, base+"usage?bin_size=month&group_by="+g+"&"+period,
				base+"usage?bin_size=week&group_by="+g+"&start_date=2026-08-01&end_date=2026-10-31&format=csv")
		}
		out = append(out,
			base+"users/usage?"+period+"&page_size=200",
			base+"users/usage?"+period+"&sort_by=apps_used&sort_order=asc&page_size=7",
			base+"users/usage/export?"+period,
			base+"apps/"+app+"/activity?granularity=weekly&"+period+"&compare_start_date=2024-11-01&compare_end_date=2025-10-31",
			base+"apps/utilization/export?granularity=monthly&"+period,
			base+"usage-reports/export?"+period)
	}
	return out
}

func readCSVRows(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i > 0 {
			out = append(out, strings.SplitN(line, ",", 3))
		}
	}
	return out
}

// TestClusterAnswersAsOneNode loads a fresh seed into one node and into a
// cluster of two shards and sends every request of clusterRequests to
// both: the same status and the same bytes, but for the load time.
func TestClusterAnswersAsOneNode(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 20261202}); err != nil {
		t.Fatal(err)
	}
	node := chtest.Open(t, chtest.NewNodeDB(t))
	cluster := chtest.Open(t, chtest.NewClusterDB(t))
	for _, conn := range []driver.Conn{node, cluster} {
		if _, err := dataset.Load(ctx, conn, dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	one, many := serveAPI(t, node, nil), serveAPI(t, cluster, nil)
	reqs := clusterRequests(t, dir)
	ok := 0
	for _, r := range reqs {
		tok := mint(t, strings.Split(r, "/")[3], time.Hour)
		want, got := one.get(r, tok), many.get(r, tok)
		if got.StatusCode() != want.StatusCode() {
			t.Errorf("%s: cluster %d, one node %d: %s", r, got.StatusCode(), want.StatusCode(), got.Body())
			continue
		}
		if w, g := dataAsOf.ReplaceAll(want.Body(), nil), dataAsOf.ReplaceAll(got.Body(), nil); string(g) != string(w) {
			t.Errorf("%s: the cluster answers\n%.400s\none node\n%.400s", r, g, w)
			continue
		}
		if want.StatusCode() == 200 && len(want.Body()) > 0 {
			ok++
		}
	}
	// Nearly all are answers with data, not refusals that agree.
	if ok < len(reqs)*9/10 {
		t.Errorf("only %d of %d requests answered 200 with a body", ok, len(reqs))
	}
}

// TestClusterShardLostMidRequestIs503: a request waiting on a shard that
// hangs and then dies answers 503 with Retry-After in the error shape;
// so do requests while it is down; once it is back the answers are the
// ones from before.
func TestClusterShardLostMidRequestIs503(t *testing.T) {
	nodes, dsn := chtest.NewPrivateCluster(t, 2)
	conn := chtest.Open(t, dsn)
	loadFixture(t, conn)
	a := serveAPI(t, conn, nil)
	a.raw = nil // the twin would ask the shards a second time
	util := "/v2/clients/" + client + "/analytics/apps/utilization?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	before := a.get(util)
	if before.StatusCode() != 200 {
		t.Fatalf("before: %d %s", before.StatusCode(), before.Body())
	}
	want := string(dataAsOf.ReplaceAll(before.Body(), nil))

	nodes[1].Pause()
	done := make(chan *fasthttp.Response, 1)
	go func() { done <- a.getQuietly(util + "&sort_by=active_time") }()
	select {
	case r := <-done:
		t.Fatalf("answered %d with shard 2 hung, before it died: %s", r.StatusCode(), r.Body())
	case <-time.After(500 * time.Millisecond):
	}
	nodes[1].Kill()
	var mid *fasthttp.Response
	select {
	case mid = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("no answer 20 s after shard 2 died")
	}
	check503(t, "the request shard 2 died under", mid)
	check503(t, "a request with shard 2 down", a.getQuietly(util+"&sort_by=unique_users"))

	if err := nodes[1].Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := a.get(util)
	if after.StatusCode() != 200 || string(dataAsOf.ReplaceAll(after.Body(), nil)) != want {
		t.Errorf("after shard 2 came back: %d %s\nwant %s", after.StatusCode(), after.Body(), want)
	}
}

func check503(t *testing.T, what string, r *fasthttp.Response) {
	t.Helper()
	var e errorJSON
	if r.StatusCode() != 503 || string(r.Header.Peek("Retry-After")) == "" || json.Unmarshal(r.Body(), &e) != nil || e.Error.Code != "unavailable" {
		t.Errorf("%s: %d Retry-After=%q %s", what, r.StatusCode(), r.Header.Peek("Retry-After"), r.Body())
	}
}

// getQuietly is get without its checks, for a goroutine.
func (a *api) getQuietly(pathQuery string) *fasthttp.Response {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://usagelens" + pathQuery)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp := &fasthttp.Response{}
	if err := a.client.DoTimeout(req, resp, 60*time.Second); err != nil {
		resp.SetStatusCode(599)
		resp.SetBodyString(err.Error())
	}
	return resp
}
