package handlers_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// Apps whose names fold differently on different ClickHouse releases (and
// under different Unicode rules): the service's own folding decides.
const (
	appSigmaUpper = "a1000000-0000-4000-8000-000000000001" // ΣΊΣΥΦΟΣ Sync
	appSigmaLower = "a1000000-0000-4000-8000-000000000002" // σίσυφος sync: the same key
	appIstanbulI  = "a1000000-0000-4000-8000-000000000003" // İstanbul Maps
	appIstanbul   = "a1000000-0000-4000-8000-000000000004" // istanbul maps
	appStrasse    = "a1000000-0000-4000-8000-000000000005" // Straße Planner
	appLigature   = "a1000000-0000-4000-8000-000000000006" // ﬁle Vault
	appRoman      = "a1000000-0000-4000-8000-000000000007" // Ⅻ Clock
	appIota       = "a1000000-0000-4000-8000-000000000008" // ᾈ Greek
	appCafeComb   = "a1000000-0000-4000-8000-000000000009" // Cafe + combining acute, Menu
	appCafeUpper  = "a1000000-0000-4000-8000-00000000000a" // CAFÉ Menu: the same key
)

var foldingApps = []string{
	appSigmaUpper + ",ca100000-0000-4000-8000-000000000001,ΣΊΣΥΦΟΣ Sync,,desktop," + vendor1 + ",Σ Vendor,https://s.example,,,false,false,,low",
	appSigmaLower + ",ca100000-0000-4000-8000-000000000002,σίσυφος sync,,desktop," + vendor1 + ",Σ Vendor,https://s.example,,,false,false,,low",
	appIstanbulI + ",ca100000-0000-4000-8000-000000000003,İstanbul Maps,,browser," + vendor2 + ",\"=cmd|' /C calc'!A0\",https://i.example," + cat1 + ",Chat,false,true,3,",
	appIstanbul + ",ca100000-0000-4000-8000-000000000004,istanbul maps,,browser," + vendor2 + ",Tab\tVendor,https://i.example,,,false,false,,",
	appStrasse + ",ca100000-0000-4000-8000-000000000005,Straße Planner,,desktop," + vendor1 + ",Vendor One,https://one.example," + cat2 + ",\"Docs, \"\"quoted\"\"\",true,false,0,medium",
	appLigature + ",ca100000-0000-4000-8000-000000000006,\ufb01le Vault,,desktop," + vendor1 + ",Vendor One,https://one.example,,,false,false,,",
	appRoman + ",ca100000-0000-4000-8000-000000000007,Ⅻ Clock,,mobile," + vendor2 + ",Vendor Two,https://two.example,,,false,false,,",
	appIota + ",ca100000-0000-4000-8000-000000000008,ᾈ Greek,,mobile," + vendor2 + ",Vendor Two,https://two.example,,,false,false,,",
	appCafeComb + ",ca100000-0000-4000-8000-000000000009,Cafe\u0301 Menu,,browser," + vendor2 + ",Vendor Two,https://two.example,,,false,false,,",
	appCafeUpper + ",ca100000-0000-4000-8000-00000000000a,CAFÉ Menu,,browser," + vendor2 + ",Vendor Two,https://two.example,,,false,false,,",
}

// foldingUsage gives the awkward apps a little February activity, some of
// it by user2, who is in both departments.
var foldingUsage = []string{
	"2026-02-03," + appSigmaUpper + "," + user1 + ",100,1",
	"2026-02-04," + appSigmaLower + "," + user2 + ",200,2",
	"2026-02-05," + appIstanbulI + "," + user2 + ",300,1",
	"2026-01-30," + appStrasse + "," + user3 + ",50,1",
	"2026-02-06," + appStrasse + "," + user3 + ",60,1",
	"2026-02-07," + appRoman + "," + user4 + ",70,1",
	"2026-02-08," + appCafeComb + "," + user1 + ",80,1",
	"2026-02-09," + appIstanbul + "," + user1 + ",90,1",
	"2026-02-10," + appLigature + "," + user3 + ",11,1",
	"2026-02-11," + appIota + "," + user4 + ",12,1",
	"2026-02-12," + appCafeUpper + "," + user2 + ",13,1",
}

// TestCrossVersion runs every kind of statement the service sends on
// ClickHouse 18.16 and on current ClickHouse (chDB 26.7), on the same data
// at every step, and fails on any statement that fails or answers
// differently on either: migrations, a load, a re-load and a correcting
// load of a dataset with edge cases, the health checks, and every request
// shape of every endpoint. Run it alone with
// `go test ./handlers -run TestCrossVersion -v`.
func TestCrossVersion(t *testing.T) {
	m := chtest.NewMirror(t)
	defer m.Check(t)
	ctx := context.Background()
	for range 2 { // the second run finds every migration applied
		if _, err := chschema.Migrate(ctx, m); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	dir := writeFixture(t, foldingApps, foldingUsage)
	for range 2 {
		if _, err := dataset.Load(ctx, m, dir, nil); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	if _, err := dataset.Load(ctx, m, correction(t), nil); err != nil {
		t.Fatalf("Load of a correction: %v", err)
	}

	a := serveAPI(t, m, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp := a.get(path); resp.StatusCode() != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode(), resp.Body())
		}
	}
	requests := 0
	for _, q := range utilizationShapes() {
		requests += walkPages(t, a, q)
		whole := pageParams.ReplaceAllString(q, "")
		if resp := a.get(exportPath + "?" + whole); resp.StatusCode() != 200 {
			t.Fatalf("GET export?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
		requests++
	}
	for _, q := range seriesShapes() {
		for _, format := range []string{"&page_size=3", "&format=csv"} {
			requests += walkSeries(t, a, q+format)
		}
	}
	for _, app := range []string{appAlpha, appBeta, appNever, appStrasse} {
		for _, q := range []string{"granularity=weekly&start_date=2026-01-14&end_date=2026-03-01&compare_start_date=2025-12-01&compare_end_date=2026-01-13",
			"granularity=monthly&" + feb + "&department_ids=" + dept1 + "," + dept2, "granularity=daily&" + febVsJan} {
			if resp := a.get("/v2/clients/" + client + "/analytics/apps/" + app + "/activity?" + q); resp.StatusCode() != 200 {
				t.Fatalf("GET activity of %s?%s: %d %s", app, q, resp.StatusCode(), resp.Body())
			}
			requests++
		}
	}
	for _, q := range []string{"start_date=2026-01-01&end_date=2026-03-31", "start_date=2026-02-01&end_date=2026-02-28&q=" + url.QueryEscape("ΣΊΣΥΦΟΣ") + "&min_hours=0.00001&max_hours=1.5&sort_by=display_name&sort_order=asc",
		"start_date=2026-01-01&end_date=2026-03-31&department_ids=" + dept2 + "&application_ids=" + appStrasse + "," + appAlpha + "&sort_by=last_active_date"} {
		for cursor := ""; ; {
			resp := a.get("/v2/clients/" + client + "/analytics/users/usage?" + q + "&page_size=2" + cursor)
			var p struct {
				NextCursor *string `json:"next_cursor"`
			}
			if resp.StatusCode() != 200 || json.Unmarshal(resp.Body(), &p) != nil {
				t.Fatalf("GET users/usage?%s: %d %s", q, resp.StatusCode(), resp.Body())
			}
			requests++
			if p.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if resp := a.get("/v2/clients/" + client + "/analytics/users/usage/export?" + q); resp.StatusCode() != 200 {
			t.Fatalf("GET users/usage/export?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
		requests++
	}
	for _, q := range usageExportShapes() {
		if resp := a.get(usageExportPath + "?" + q); resp.StatusCode() != 200 {
			t.Fatalf("GET usage export?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
		requests++
	}
	requests += exportJobs(t, m)
	demoQueries(t, m)
	dumpTables(t, m)
	t.Logf("%d API requests", requests)
}

// exportJobs writes and reads export job records as the job routes and
// workers do (a job's versions through its states, the list's pages, the
// sweep's and a start's reads), and returns how many statements it made.
func exportJobs(t *testing.T, m *chtest.Mirror) int {
	t.Helper()
	ctx := context.Background()
	st := store.New(m, nil)
	ids := []string{"e0000000-0000-4000-8000-000000000001", "e0000000-0000-4000-8000-000000000002", "e0000000-0000-4000-8000-000000000003"}
	n := 0
	for i, id := range ids {
		rec := query.JobRecord{ClientID: uuid.MustParse(client), ID: uuid.MustParse(id), Type: "usage_reports", Params: `{"start_date":"2026-02-01"}`,
			Compression: "gzip", Instance: "xv", CreatedMS: uint64(1_796_000_000_000 + i), FileName: "usage-reports-2026-02-01-to-2026-02-28.csv.gz"}
		for v, status := range []string{"queued", "running", "succeeded", "expired"}[:2+i] {
			rec.Status, rec.Version, rec.UpdatedMS, rec.RecordsWritten = status, uint64(v)<<56|uint64(10+v), rec.CreatedMS+uint64(v), uint64(100*v)
			if status == "succeeded" {
				rec.RecordCount, rec.Bytes, rec.SHA256, rec.FirstDate, rec.LastDate, rec.FileKey = 200, 4096, "ab12", "2026-02-01", "2026-02-28", client+"/"+id
			}
			if err := st.SaveJob(ctx, &rec); err != nil {
				t.Fatalf("SaveJob: %v", err)
			}
			n++
		}
		if got, err := st.Job(ctx, client, id); err != nil || got == nil || got.Status != []string{"running", "succeeded", "expired"}[i] {
			t.Fatalf("Job %s: %+v, %v", id, got, err)
		}
		n++
	}
	page, err := st.Jobs(ctx, client, nil, 2)
	if err != nil || len(page) != 3 || page[0].ID.String() != ids[2] {
		t.Fatalf("Jobs: %d, %v", len(page), err)
	}
	after := &query.Cursor{Key: strconv.FormatUint(page[1].CreatedMS, 10), ID: page[1].ID.String()}
	if rest, err := st.Jobs(ctx, client, after, 2); err != nil || len(rest) != 1 || rest[0].ID.String() != ids[0] {
		t.Fatalf("Jobs after %s: %d, %v", after.ID, len(rest), err)
	}
	if open, err := st.JobsIn(ctx, "queued", "running"); err != nil || len(open) != 1 || open[0].ID.String() != ids[0] {
		t.Fatalf("JobsIn: %d, %v", len(open), err)
	}
	if done, err := st.JobsIn(ctx, "succeeded", "running"); err != nil || len(done) != 2 {
		t.Fatalf("JobsIn: %d, %v", len(done), err)
	}
	return n + 4
}

// seriesShapes are series requests of every group_by, bin size, filter
// and sort.
func seriesShapes() []string {
	var out []string
	bins := []string{"day", "week", "month", "quarter"}
	for i, g := range []string{"none", "app", "user", "department", "category", "vendor"} {
		base := "start_date=2026-01-14&end_date=2026-03-01&group_by=" + g + "&bin_size=" + bins[i%4]
		out = append(out, base, base+"&display_all=true&sort_by=name&sort_order=asc",
			base+"&department_ids="+dept1+"&category_ids="+cat1+"&metrics=avg_session_length_ms,unique_users&sort_by=avg_session_length_ms",
			base+"&user_ids="+user2+"&vendor_ids="+vendor2+"&application_ids="+appBeta+","+appIstanbulI+"&display_all=true")
	}
	return out
}

// walkSeries follows a series request's pages (or takes its CSV) and
// returns how many requests it made.
func walkSeries(t *testing.T, a *api, q string) int {
	t.Helper()
	n := 0
	for cursor := ""; ; n++ {
		resp := a.get("/v2/clients/" + client + "/analytics/usage?" + q + cursor)
		if resp.StatusCode() != 200 {
			t.Fatalf("GET usage?%s: %d %s", q+cursor, resp.StatusCode(), resp.Body())
		}
		var p struct {
			NextCursor *string `json:"next_cursor"`
		}
		if strings.Contains(q, "format=csv") || json.Unmarshal(resp.Body(), &p) != nil || p.NextCursor == nil {
			return n + 1
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
}

// pageParams are what the export does not take: it returns every row.
var pageParams = regexp.MustCompile(`&page_size=[0-9]+`)

// correction replaces one day of the fixture with other rows.
func correction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	body := strings.Join(dataset.UsageHeader, ",") + "\n" +
		client + ",2026-02-10," + appEclair + "," + user2 + ",55,2\n" +
		client + ",2026-02-10," + appSigmaUpper + "," + user4 + ",7,1\n" +
		// the ends of the dates a load accepts
		client + ",2000-01-01," + appAlpha + "," + user1 + ",1,1\n" +
		client + ",2000-01-02," + appAlpha + "," + user2 + ",1,1\n" +
		client + ",2099-12-31," + appAlpha + "," + user1 + ",1,1\n"
	if err := os.WriteFile(filepath.Join(dir, dataset.UsageFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// utilizationShapes is every parameter the utilization endpoint takes, each
// value of each enumerated one, alone and in combination.
func utilizationShapes() []string {
	var out []string
	for _, g := range []string{"daily", "weekly", "monthly", "quarterly"} {
		out = append(out, "granularity="+g+"&"+feb, "granularity="+g+"&"+febVsJan)
	}
	for _, by := range []string{"canonical_name", "unique_users", "active_time", "avg_time", "session_count"} {
		for _, order := range []string{"asc", "desc"} {
			out = append(out, "granularity=monthly&"+febVsJan+"&sort_by="+by+"&sort_order="+order+"&page_size=4")
		}
	}
	filters := []string{
		"filter=discovered", "filter=dropped_off",
		"department_ids=" + dept1, "department_ids=" + dept1 + "," + dept2,
		"category_ids=" + cat1, "category_ids=" + cat1 + "," + cat2, "vendor_ids=" + vendor2,
		"is_favorite=true", "is_favorite=false", "is_approved=true", "is_approved=false",
		"category_id=" + cat2,
	}
	for _, q := range []string{"é", "ÉCLAIR", "σίσυφος", "ΣΊΣΥΦΟΣ", "istanbul", "İSTANBUL", "strasse", "STRAẞE", "FILE", "ⅻ", "ᾀ", "café", "'", `\`, "%", "_", "{x:String}"} {
		filters = append(filters, "q="+url.QueryEscape(q))
	}
	for _, f := range filters {
		out = append(out, "granularity=weekly&"+feb+"&"+f, "granularity=monthly&"+febVsJan+"&"+f+"&sort_by=active_time&page_size=3")
	}
	out = append(out,
		"granularity=daily&start_date=2025-12-01&end_date=2026-03-31&compare_start_date=2025-08-01&compare_end_date=2025-11-30&filter=discovered",
		"granularity=quarterly&start_date=2000-01-01&end_date=2000-12-31&compare_start_date=2099-01-01&compare_end_date=2099-12-31",
		"granularity=weekly&start_date=2000-01-01&end_date=2000-01-31&filter=discovered",
		"granularity=monthly&start_date=2099-12-01&end_date=2099-12-31&filter=dropped_off",
		"granularity=weekly&start_date=2099-01-01&end_date=2099-12-31&compare_start_date=2026-01-01&compare_end_date=2026-12-31",
		// Rollups with edge days: whole months between partial ones, a
		// period inside one month, and a comparison across a month's end.
		"granularity=weekly&start_date=2026-01-06&end_date=2026-03-01&compare_start_date=2025-12-01&compare_end_date=2026-01-05",
		"granularity=daily&start_date=2026-02-02&end_date=2026-02-27&compare_start_date=2026-01-20&compare_end_date=2026-02-01&sort_by=unique_users",
		"granularity=quarterly&start_date=2025-12-15&end_date=2026-02-28&page_size=2",
	)
	return out
}

func usageExportShapes() []string {
	return []string{
		"start_date=2025-12-01&end_date=2026-03-31",
		"start_date=2026-02-01&end_date=2026-02-28&application_ids=" + appAlpha + "," + appSigmaUpper,
		"start_date=2026-02-01&end_date=2026-02-28&department_ids=" + dept2,
		"start_date=2026-01-01&end_date=2026-03-31&department_ids=" + dept1 + "," + dept2 + "&application_ids=" + appStrasse,
		"start_date=2030-01-01&end_date=2030-01-31",
		"start_date=2000-01-01&end_date=2000-01-31",
		"start_date=2099-12-01&end_date=2099-12-31",
	}
}

// walkPages follows next_cursor through every page of a request that has
// page_size, and returns the number of requests made.
func walkPages(t *testing.T, a *api, q string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		p := a.page(q + cursor)
		n++
		if p.NextCursor == nil || !strings.Contains(q, "page_size") {
			return n
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		if n > 50 {
			t.Fatalf("?%s: more than 50 pages", q)
		}
	}
}

// demoQueries runs what `serve --demo` asks the store for.
func demoQueries(t *testing.T, m *chtest.Mirror) {
	t.Helper()
	ctx := context.Background()
	st := store.New(m, nil)
	if n, err := st.ClientCount(ctx); err != nil || n != 2 {
		t.Fatalf("ClientCount: %d, %v", n, err)
	}
	busiest, err := st.BusiestClient(ctx)
	if err != nil || busiest != client {
		t.Fatalf("BusiestClient: %q, %v", busiest, err)
	}
	if _, err := st.DemoIDs(ctx, busiest); err != nil {
		t.Fatalf("DemoIDs: %v", err)
	}
}

// dumpTables reads every table whole, in a full order, through the mirror,
// so the loads must have left the same rows on both engines.
func dumpTables(t *testing.T, m *chtest.Mirror) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"SELECT * FROM clients FINAL ORDER BY client_id",
		"SELECT client_id, app_id, catalog_app_id, canonical_name, name_key, logo, CAST(type AS String), vendor_id, vendor_name, vendor_url, category_ids, category_names, is_favorite, is_approved, license_count, risk_level FROM apps FINAL ORDER BY client_id, app_id",
		"SELECT client_id, user_id, department_id FROM user_departments FINAL ORDER BY client_id, department_id, user_id",
		"SELECT * FROM app_usage_reports ORDER BY client_id, activity_date, application_id, user_id",
		"SELECT client_id, application_id, minMerge(first_seen), maxMerge(last_seen) FROM app_activity_bounds GROUP BY client_id, application_id ORDER BY client_id, application_id",
		"SELECT version, name FROM schema_migrations ORDER BY version",
	} {
		rows, err := m.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
}
