package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/respcache"
	"github.com/usagelens/usagelens/store"
)

// TestRollupsAreTheSource shows that the rollup and raw paths the fixture
// suite compares really read different tables: with the rollups emptied,
// the rollup path loses the usage and the raw path keeps it.
func TestRollupsAreTheSource(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	for _, table := range []string{"usage_app_days", "usage_app_month_users", "usage_client_month_users"} {
		chtest.OnShards(t, conn, "TRUNCATE TABLE "+table)
	}
	q := "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	rollups := serveAPI(t, conn, func(s *handlers.Server) { s.Cache = nil })
	if resp := rollups.getWith("http://usagelens"+utilPath+q, nil); !strings.Contains(string(resp.Body()), `"data":[]`) {
		t.Errorf("with empty rollups the rollup path still found usage: %s", resp.Body())
	}
	raw := serveAPI(t, conn, func(s *handlers.Server) { s.Store.Rollups = false })
	if p := raw.page(q[1:]); len(p.Data) != 5 {
		t.Errorf("usage rows give %d apps in February, want 5", len(p.Data))
	}
}

// TestRollupsCombineMonthsWithEdgeDays: periods that start and end inside
// months, worked out by hand from the fixture; get also compares every
// answer with the usage-rows path.
func TestRollupsCombineMonthsWithEdgeDays(t *testing.T) {
	a := newAPI(t)
	// 2026-01-06..2026-03-01: January 6-31 from usage rows, February from
	// its month states, March 1 from usage rows.
	p := a.page("granularity=monthly&start_date=2026-01-06&end_date=2026-03-01&sort_by=canonical_name&sort_order=asc")
	got := map[string]string{}
	for _, r := range p.Data {
		got[r.App.CatalogApp.CanonicalName] = fmt.Sprintf("%d users, %d ms, %d sessions", *r.UniqueUsers.Value, *r.ActiveTimeMS.Value, *r.SessionCount.Value)
	}
	want := map[string]string{
		// Jan 10 users 1 and 2; February users 1-4: 4 users, not 6.
		"Alpha Chat": "4 users, 10200 ms, 11 sessions",
		// User 3 on Feb 1 (month state) and Mar 1 (edge day): one user.
		"Gamma":       "1 users, 15 ms, 2 sessions",
		"ÉCLAIR Pro":  "2 users, 100 ms, 2 sessions", // Jan 5 is before the period
		"Dropped App": "1 users, 999 ms, 4 sessions",
		"Later App":   "1 users, 40 ms, 1 sessions",
		"New Tool":    "1 users, 300 ms, 1 sessions",
		"beta Docs":   "1 users, 500 ms, 5 sessions",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d apps, want %d: %v", len(got), len(want), got)
	}
	// Periods without a whole month, one day, across a year, and a
	// comparison of partial months: compared with usage rows by get.
	for _, q := range []string{
		"granularity=weekly&start_date=2026-01-10&end_date=2026-02-09",
		"granularity=daily&start_date=2026-02-28&end_date=2026-02-28",
		"granularity=quarterly&start_date=2025-12-01&end_date=2026-03-01&compare_start_date=2025-11-15&compare_end_date=2026-01-14",
		"granularity=monthly&start_date=2026-02-02&end_date=2026-03-31&compare_start_date=2026-01-01&compare_end_date=2026-02-01&sort_by=unique_users",
		"granularity=daily&start_date=2025-12-01&end_date=2026-03-31&page_size=2&sort_by=avg_time",
	} {
		a.page(q)
	}
}

// TestETagAndNormalisedRequests: the same request written another way
// (parameter order, list order and repeats, singular aliases) is the same
// cache entry and ETag; If-None-Match with it answers 304 without a body.
func TestETagAndNormalisedRequests(t *testing.T) {
	a := newAPI(t)
	base := "http://usagelens" + utilPath + "?"
	first := a.getWith(base+"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&category_ids="+cat1+","+cat2, nil)
	etag := string(first.Header.Peek("ETag"))
	if first.StatusCode() != 200 || etag == "" || string(first.Header.Peek("X-Cache")) != "miss" {
		t.Fatalf("first answer: %d ETag=%q X-Cache=%q", first.StatusCode(), etag, first.Header.Peek("X-Cache"))
	}
	for _, q := range []string{
		"end_date=2026-02-28&category_ids=" + cat2 + "," + cat1 + "&start_date=2026-02-01&granularity=monthly",
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&category_ids=" + cat1 + "," + cat2 + "," + cat1,
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&category_id=" + cat2 + "&category_ids=" + cat1,
	} {
		resp := a.getWith(base+q, nil)
		if string(resp.Header.Peek("ETag")) != etag || string(resp.Header.Peek("X-Cache")) != "hit" || string(resp.Body()) != string(first.Body()) {
			t.Errorf("?%s: ETag %q X-Cache %q, want %q and a hit with the same body", q, resp.Header.Peek("ETag"), resp.Header.Peek("X-Cache"), etag)
		}
	}
	resp := a.getWith(base+"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&category_ids="+cat1+","+cat2, map[string]string{"If-None-Match": `"other", ` + etag})
	if resp.StatusCode() != 304 || len(resp.Body()) != 0 || string(resp.Header.Peek("ETag")) != etag {
		t.Errorf("If-None-Match with the ETag: %d, %d body bytes, ETag %q", resp.StatusCode(), len(resp.Body()), resp.Header.Peek("ETag"))
	}
	other := a.getWith(base+"granularity=weekly&start_date=2026-02-01&end_date=2026-02-28", map[string]string{"If-None-Match": etag})
	if other.StatusCode() != 200 || string(other.Header.Peek("ETag")) == etag {
		t.Errorf("another request with the first one's ETag: %d, ETag %q", other.StatusCode(), other.Header.Peek("ETag"))
	}
}

// TestLoadIsSeenByTheNextRequest: with the version watcher running as in
// serve, a request sent after a load returned gets the loaded data, a new
// ETag and a new data_as_of.
func TestLoadIsSeenByTheNextRequest(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	a := serveAPI(t, conn, func(s *handlers.Server) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go s.Store.WatchVersions(ctx)
	})
	q := "http://usagelens" + utilPath + "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=canonical_name&sort_order=asc"
	beta := func() (ms int64, etag, asOf string) {
		resp := a.getWith(q, nil)
		var p struct {
			pageJSON
			DataAsOf string `json:"data_as_of"`
		}
		if err := json.Unmarshal(resp.Body(), &p); err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Data {
			if r.App.ID == appBeta {
				ms = *r.ActiveTimeMS.Value
			}
		}
		return ms, string(resp.Header.Peek("ETag")), p.DataAsOf
	}
	for i, step := range []struct {
		row    string
		wantMS int64
	}{{"", 500}, {"2026-02-05," + appBeta + "," + user1 + ",5000,1", 5400}, {"2026-02-05," + appBeta + "," + user1 + ",7000,1", 7400}} {
		if step.row != "" {
			dir := t.TempDir()
			body := strings.Join(dataset.UsageHeader, ",") + "\n" + client + "," + step.row + "\n"
			if err := os.WriteFile(filepath.Join(dir, dataset.UsageFile), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
				t.Fatal(err)
			}
		}
		ms, etag, asOf := beta()
		if ms != step.wantMS {
			t.Fatalf("step %d: beta Docs active time %d, want %d", i, ms, step.wantMS)
		}
		if again, etag2, asOf2 := beta(); again != ms || etag2 != etag || asOf2 != asOf {
			t.Fatalf("step %d: a repeat changed the answer", i)
		}
		t.Logf("step %d: %d ms, ETag %s, data_as_of %s", i, ms, etag, asOf)
	}
}

// TestConcurrentMissesRunOneQuery: identical requests that arrive together
// share one ClickHouse query.
func TestConcurrentMissesRunOneQuery(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	var queries atomic.Int64
	a := serveAPI(t, conn, func(s *handlers.Server) {
		s.Store = store.New(conn, func(kind string, _ error, _ time.Duration) {
			if kind == "utilization" {
				queries.Add(1)
			}
		})
	})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req := fasthttp.AcquireRequest()
			defer fasthttp.ReleaseRequest(req)
			req.SetRequestURI("http://usagelens" + utilPath + "?granularity=daily&start_date=2025-12-01&end_date=2026-03-31")
			req.Header.Set("Authorization", "Bearer "+a.token)
			var resp fasthttp.Response
			if err := a.client.DoTimeout(req, &resp, 30*time.Second); err != nil || resp.StatusCode() != 200 {
				t.Errorf("concurrent request: %v %d", err, resp.StatusCode())
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := queries.Load(); n != 1 {
		t.Errorf("8 identical concurrent requests ran %d utilization queries, want 1", n)
	}
}

// TestCacheStaysWithinItsBound: a soak of distinct requests through a
// small cache evicts and never holds more than its bound.
func TestCacheStaysWithinItsBound(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	const bound = 64 << 10
	cache := respcache.New(bound)
	a := serveAPI(t, conn, func(s *handlers.Server) { s.Cache = cache })
	for i := range 300 {
		a.getWith(fmt.Sprintf("http://usagelens%s?granularity=daily&start_date=2026-02-01&end_date=2026-02-28&q=%d", utilPath, i), nil)
		if st := cache.Stats(); st.Bytes > bound {
			t.Fatalf("after %d requests the cache holds %d bytes, over its bound %d", i+1, st.Bytes, bound)
		}
	}
	st := cache.Stats()
	if st.Evictions == 0 || st.Misses != 300 || st.Entries == 0 {
		t.Errorf("after 300 distinct requests: %+v", st)
	}
}

// TestJSONHangupCancelsTheQuery: a client that closes its connection while
// its utilization query runs stops that query on the server.
func TestJSONHangupCancelsTheQuery(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	// Ten million distinct users in February make the usage-rows query take
	// seconds (4.6 s here), long enough to hang up during it.
	err := conn.Exec(context.Background(), "INSERT INTO app_usage_reports SELECT toUUID(?), toDate('2026-02-01') + number % 28, toUUID(?), toUUID(UUIDNumToString(toFixedString(reinterpretAsString(number), 16))), 1, 1 FROM numbers(10000000)", client, appAlpha)
	if err != nil {
		t.Fatal(err)
	}
	base := serveTCP(t, testServer(conn, time.Minute, func(s *handlers.Server) { s.Store.Rollups = false }))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s?granularity=daily&start_date=2026-02-01&end_date=2026-02-28 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Request-Id: hangup-json\r\n\r\n", utilPath, mint(t, client, time.Hour))
	running := func() uint64 {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query_id LIKE 'utilization-hangup-json-%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); running() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			resp, _ := http.ReadResponse(bufio.NewReader(c), nil)
			t.Fatalf("the utilization query never showed in system.processes (answer: %v)", resp)
		}
	}
	c.Close()
	for deadline := time.Now().Add(2 * time.Second); running() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the utilization query still runs 2s after its client hung up")
		}
	}
}
