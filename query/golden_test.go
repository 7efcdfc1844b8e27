package query

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

var update = flag.Bool("update", false, "rewrite the golden SQL files in testdata/golden")

const goldenClient = "c0000000-0000-4000-8000-000000000001"

// defaultUsers is the user usage statement of raw with q replaced (when
// q is not empty).
func defaultUsers(t *testing.T, raw, q string) Statement {
	t.Helper()
	v, _ := url.ParseQuery(raw)
	if q != "" {
		v.Set("q", q)
	}
	r, err := ParseUserUsage(goldenClient, v, Paged, nil)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return UserUsageSQL(r)
}

// defaultSeriesSQL is the series statement the service runs for r with
// rollups on.
func defaultSeriesSQL(r *Series) Statement { return SeriesSQL(r, SeriesSourceFor(r, true)) }

// defaultSQL is the statement the service runs for r with rollups on.
func defaultSQL(r *Utilization) Statement { return UtilizationSQL(r, SourceFor(r, true)) }

// utilizationShapes is every request shape of the utilization builder:
// each granularity, comparison on and off, each filter, every list
// filter, department scope, each sort × order, a cursor page, the export.
var utilizationShapes = map[string]string{
	"util_daily":            "granularity=daily&start_date=2026-02-01&end_date=2026-02-28",
	"util_weekly":           "granularity=weekly&start_date=2026-02-01&end_date=2026-02-28",
	"util_monthly_compare":  "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31",
	"util_quarterly":        "granularity=quarterly&start_date=2026-01-01&end_date=2026-06-30",
	"util_discovered":       "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&filter=discovered",
	"util_dropped_off":      "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&filter=dropped_off",
	"util_q":                "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&q=Slack",
	"util_lists":            "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&category_ids=e0000000-0000-4000-8000-000000000001&vendor_ids=f0000000-0000-4000-8000-000000000001",
	"util_flags":            "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&is_favorite=true&is_approved=false",
	"util_departments":      "granularity=weekly&start_date=2026-02-01&end_date=2026-02-28&department_ids=d0000000-0000-4000-8000-000000000001",
	"util_all_filters":      "granularity=daily&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31&filter=discovered&q=x&category_ids=e0000000-0000-4000-8000-000000000001&vendor_ids=f0000000-0000-4000-8000-000000000001&department_ids=d0000000-0000-4000-8000-000000000001&is_favorite=false&is_approved=true",
	"util_sort_name_asc":    "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=canonical_name&sort_order=asc",
	"util_sort_users_desc":  "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=unique_users",
	"util_sort_active_asc":  "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=active_time&sort_order=asc",
	"util_sort_avg_desc":    "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=avg_time",
	"util_sort_session_asc": "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=session_count&sort_order=asc&page_size=10",
	// Rollups: whole months with days before and after them, and a
	// comparison period inside one month.
	"util_partial_months": "granularity=weekly&start_date=2026-01-15&end_date=2026-04-10&compare_start_date=2025-12-03&compare_end_date=2025-12-20",
}

// rawShapes are shapes the rollups answer, forced through usage rows as
// --rollups=false does.
var rawShapes = []string{"util_weekly", "util_monthly_compare", "util_partial_months"}

// seriesShapes is every request shape of the series builder: each
// group_by, display_all, every filter, a sort by name, the CSV.
var seriesShapes = map[string]string{
	"series_none_month":       "start_date=2026-01-15&end_date=2026-03-10",
	"series_app_week_all":     "start_date=2026-01-15&end_date=2026-03-10&bin_size=week&group_by=app&display_all=true&sort_by=name&sort_order=asc",
	"series_user_day_all":     "start_date=2026-02-01&end_date=2026-02-28&bin_size=day&group_by=user&display_all=true&department_ids=d0000000-0000-4000-8000-000000000001",
	"series_department":       "start_date=2026-01-01&end_date=2026-06-30&bin_size=quarter&group_by=department&department_ids=d0000000-0000-4000-8000-000000000001&metrics=unique_users,avg_session_length_ms&sort_by=avg_session_length_ms",
	"series_category_filters": "start_date=2026-01-01&end_date=2026-03-31&group_by=category&category_ids=e0000000-0000-4000-8000-000000000001&vendor_ids=f0000000-0000-4000-8000-000000000001&application_ids=a0000000-0000-4000-8000-000000000001&user_ids=b0000000-0000-4000-8000-000000000001",
	"series_vendor_csv":       "start_date=2026-01-01&end_date=2026-03-31&group_by=vendor&display_all=true&format=csv",
	// Without users, the rollups answer.
	"series_app_rollups":      "start_date=2026-01-15&end_date=2026-03-10&bin_size=week&group_by=app&metrics=active_time_ms,unique_apps,avg_session_length_ms,active_user_days&category_ids=e0000000-0000-4000-8000-000000000001",
	"series_category_rollups": "start_date=2026-01-01&end_date=2026-03-31&group_by=category&metrics=session_count&display_all=true",
}

// userShapes is every request shape of the user usage builder.
var userShapes = map[string]string{
	"users_month":   "start_date=2026-02-01&end_date=2026-02-28",
	"users_filters": "start_date=2026-01-01&end_date=2026-03-31&q=Zoë&min_hours=0.5&max_hours=20&department_ids=d0000000-0000-4000-8000-000000000001&application_ids=a0000000-0000-4000-8000-000000000001&sort_by=display_name&sort_order=asc",
	"users_export":  "start_date=2026-01-01&end_date=2026-12-31&sort_by=last_active_date",
}

var usageShapes = map[string]string{
	"usage_period":      "start_date=2026-02-01&end_date=2026-02-28",
	"usage_apps":        "start_date=2026-02-01&end_date=2026-02-28&application_ids=a0000000-0000-4000-8000-000000000001,a0000000-0000-4000-8000-000000000002",
	"usage_departments": "start_date=2026-02-01&end_date=2026-02-28&department_ids=d0000000-0000-4000-8000-000000000001",
	"usage_both":        "start_date=2026-02-01&end_date=2026-02-28&application_ids=a0000000-0000-4000-8000-000000000001&department_ids=d0000000-0000-4000-8000-000000000001",
}

func utilizationStatement(t *testing.T, raw string, pg Pagination) Statement {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseUtilization(goldenClient, v, pg)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return defaultSQL(r)
}

func usageRequest(t *testing.T, raw string) *UsageExport {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseUsageExport(goldenClient, v)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return r
}

// TestGoldenSQL compares every shape's statement, text and bound args,
// with testdata/golden/NAME.sql; -update rewrites them. A reviewer sees
// every change of the generated SQL there.
func TestGoldenSQL(t *testing.T) {
	shapes := map[string]Statement{}
	for name, raw := range utilizationShapes {
		shapes[name] = utilizationStatement(t, raw, Paged)
	}
	shapes["util_export"] = utilizationStatement(t, utilizationShapes["util_monthly_compare"], Unpaged)
	for _, name := range rawShapes {
		v, _ := url.ParseQuery(utilizationShapes[name])
		r, err := ParseUtilization(goldenClient, v, Paged)
		if err != nil {
			t.Fatal(err)
		}
		shapes["util_raw_"+name[len("util_"):]] = UtilizationSQL(r, Raw)
	}
	v, _ := url.ParseQuery(utilizationShapes["util_sort_name_asc"] + "&page_size=3")
	first, err := ParseUtilization(goldenClient, v, Paged)
	if err != nil {
		t.Fatal(err)
	}
	v.Set("cursor", Cursor{Key: "beta docs", ID: "a0000000-0000-4000-8000-000000000002", Fingerprint: first.Fingerprint()}.Encode())
	shapes["util_cursor"] = utilizationStatement(t, v.Encode(), Paged)
	for name, raw := range seriesShapes {
		v, _ := url.ParseQuery(raw)
		r, err := ParseSeries(goldenClient, v, nil)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		shapes[name] = defaultSeriesSQL(r)
	}
	v, _ = url.ParseQuery(seriesShapes["series_none_month"] + "&page_size=1")
	firstSeries, err := ParseSeries(goldenClient, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Set("cursor", Cursor{Key: "123", ID: "00000000-0000-0000-0000-000000000000", Fingerprint: fingerprint(firstSeries.resultKey())}.Encode())
	cur, err := ParseSeries(goldenClient, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	shapes["series_cursor"] = defaultSeriesSQL(cur)
	v, _ = url.ParseQuery("granularity=weekly&start_date=2026-01-14&end_date=2026-02-28&compare_start_date=2025-12-01&compare_end_date=2026-01-13&department_ids=d0000000-0000-4000-8000-000000000001")
	act, err := ParseActivity(goldenClient, "a0000000-0000-4000-8000-000000000001", v)
	if err != nil {
		t.Fatal(err)
	}
	shapes["activity_totals"] = UtilizationSQL(act.Util, SourceFor(act.Util, true))
	shapes["activity_bins"] = defaultSeriesSQL(act.Series)
	for name, raw := range userShapes {
		v, _ := url.ParseQuery(raw)
		pg := Paged
		if name == "users_export" {
			pg = Unpaged
		}
		r, err := ParseUserUsage(goldenClient, v, pg, nil)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		shapes[name] = UserUsageSQL(r)
	}
	v, _ = url.ParseQuery(userShapes["users_month"])
	u, err := ParseUserUsage(goldenClient, v, Paged, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.Only = []string{"b0000000-0000-4000-8000-000000000001"}
	shapes["users_pseudonymous_q"] = UserUsageSQL(u)
	for name, raw := range usageShapes {
		r := usageRequest(t, raw)
		shapes[name] = UsageExportSQL(r)
	}
	r := usageRequest(t, usageShapes["usage_period"])
	shapes["usage_app_names"] = UsageAppNamesSQL(r)
	shapes["usage_departments_lookup"] = UsageDepartmentsSQL(r)
	const job = "e0000000-0000-4000-8000-000000000001"
	shapes["job"] = JobSQL(goldenClient, job)
	shapes["jobs_first_page"] = JobsSQL(goldenClient, nil, 50)
	shapes["jobs_after"] = JobsSQL(goldenClient, &Cursor{Key: "1796000000000", ID: job}, 2)
	shapes["jobs_in"] = JobsInSQL([]string{"queued", "running"})
	shapes["job_kill"] = KillJobSQL(job)
	shapes["job_insert"] = Statement{SQL: JobInsertSQL()}

	for name, st := range shapes {
		got := render(st)
		path := filepath.Join("testdata", "golden", name+".sql")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./query -run TestGoldenSQL -update)", name, err)
			continue
		}
		if got != string(want) {
			t.Errorf("%s: SQL differs from %s (go test ./query -run TestGoldenSQL -update rewrites it; review the diff):\n%s", name, path, got)
		}
	}
}

func render(st Statement) string {
	var b strings.Builder
	b.WriteString(st.SQL)
	b.WriteString("\n")
	for _, a := range st.Args {
		if nv, ok := a.(driver.NamedValue); ok {
			fmt.Fprintf(&b, "-- @%s = %#v\n", nv.Name, nv.Value)
			continue
		}
		fmt.Fprintf(&b, "-- ? = %#v\n", a)
	}
	return b.String()
}

// injections are values that would change a statement if they were
// spliced into its text.
var injections = []string{"'", `\`, ";", "`", "{x:String}", "\t", "\x00", "') OR 1=1 --", "@client", "?", "%s", "é"}

// TestInjectionsChangeOnlyArgs: every user-given text, in every builder,
// changes the bound args and never the SQL text.
func TestInjectionsChangeOnlyArgs(t *testing.T) {
	base := utilizationStatement(t, utilizationShapes["util_q"], Paged)
	for _, evil := range injections {
		v, _ := url.ParseQuery(utilizationShapes["util_q"])
		v.Set("q", evil)
		r, err := ParseUtilization(goldenClient, v, Paged)
		if err != nil {
			continue // refused before any SQL exists (NUL): fine
		}
		st := defaultSQL(r)
		if st.SQL != base.SQL {
			t.Errorf("q=%q changed the SQL text", evil)
		}
		if render(st) == render(base) {
			t.Errorf("q=%q is not among the bound args", evil)
		}
	}
	users := defaultUsers(t, userShapes["users_filters"], "")
	for _, evil := range injections {
		if strings.ContainsRune(evil, 0) {
			continue // refused before any SQL exists
		}
		if got := defaultUsers(t, userShapes["users_filters"], evil); got.SQL != users.SQL || render(got) == render(users) {
			t.Errorf("user usage q=%q changed the SQL text or is not bound", evil)
		}
	}
	// The client id comes from the path (validated as a UUID by the
	// handlers), but the builders still bind it.
	for _, evil := range injections {
		for name, raw := range usageShapes {
			v, _ := url.ParseQuery(raw)
			r, err := ParseUsageExport(evil, v)
			if err != nil {
				t.Fatal(err)
			}
			want := UsageExportSQL(usageRequest(t, raw))
			if got := UsageExportSQL(r); got.SQL != want.SQL {
				t.Errorf("%s: client id %q changed the SQL text", name, evil)
			}
		}
		for name, raw := range seriesShapes {
			v, _ := url.ParseQuery(raw)
			good, err1 := ParseSeries(goldenClient, v, nil)
			bad, err2 := ParseSeries(evil, v, nil)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if defaultSeriesSQL(bad).SQL != defaultSeriesSQL(good).SQL {
				t.Errorf("%s: client id %q changed the SQL text", name, evil)
			}
		}
		v, _ := url.ParseQuery(utilizationShapes["util_all_filters"])
		r, err := ParseUtilization(evil, v, Paged)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultSQL(r); got.SQL != utilizationStatement(t, utilizationShapes["util_all_filters"], Paged).SQL {
			t.Errorf("client id %q changed the utilization SQL text", evil)
		}
	}
}
