package handlers_test

// Black-box tests of GET /v2/clients/{client_id}/analytics/apps/{app_id}/activity
// over the rows listed at the top of timeseries_fixture_test.go (the
// fixture plus tsExtraUsage). Every expected number is worked out by hand;
// the totals are also compared with the App Utilization row of the same
// app, period, granularity and department scope.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func activityPath(app string) string {
	return "/v2/clients/" + client + "/analytics/apps/" + app + "/activity"
}

type activityJSON struct {
	App    json.RawMessage `json:"app"`
	Period struct {
		StartDate        string  `json:"start_date"`
		EndDate          string  `json:"end_date"`
		CompareStartDate *string `json:"compare_start_date"`
		CompareEndDate   *string `json:"compare_end_date"`
	} `json:"period"`
	Granularity string `json:"granularity"`
	Data        []struct {
		StartDate       string `json:"start_date"`
		EndDate         string `json:"end_date"`
		UniqueUsers     *int64 `json:"unique_users"`
		ActiveTimeMS    *int64 `json:"active_time_ms"`
		SessionCount    *int64 `json:"session_count"`
		AvgTimeMSPerDay *int64 `json:"avg_time_ms_per_day"`
	} `json:"data"`
	Totals struct {
		UniqueUsers     metricJSON `json:"unique_users"`
		ActiveTimeMS    metricJSON `json:"active_time_ms"`
		AvgTimeMSPerDay metricJSON `json:"avg_time_ms_per_day"`
		SessionCount    metricJSON `json:"session_count"`
	} `json:"totals"`
}

// activity fetches an app's activity and fails the test on anything but 200.
func (a *api) activity(app, query string) activityJSON {
	a.t.Helper()
	resp := a.get(activityPath(app) + "?" + query)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET %s activity?%s: %d %s", labelOf(app), query, resp.StatusCode(), resp.Body())
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body(), &raw); err != nil {
		a.t.Fatalf("GET %s activity?%s: %v in %s", labelOf(app), query, err, resp.Body())
	}
	for _, k := range []string{"app", "period", "granularity", "data", "totals", "data_as_of"} {
		if _, ok := raw[k]; !ok {
			a.t.Errorf("GET %s activity?%s: no %s in %s", labelOf(app), query, k, resp.Body())
		}
	}
	var out activityJSON
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		a.t.Fatalf("GET %s activity?%s: %v in %s", labelOf(app), query, err, resp.Body())
	}
	return out
}

// renderBins writes one line per bin: dates, users, ms, sessions, average.
func (r activityJSON) renderBins() string {
	n := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	var b strings.Builder
	for _, d := range r.Data {
		fmt.Fprintf(&b, "%s..%s %s %s %s %s\n", d.StartDate, d.EndDate, n(d.UniqueUsers), n(d.ActiveTimeMS), n(d.SessionCount), n(d.AvgTimeMSPerDay))
	}
	return b.String()
}

// renderTotals writes the totals as value/change_pct/compare_value, in the
// order users, time, avg, sessions.
func (r activityJSON) renderTotals() string {
	return "users " + val(r.Totals.UniqueUsers) + " time " + val(r.Totals.ActiveTimeMS) + " avg " + val(r.Totals.AvgTimeMSPerDay) + " sessions " + val(r.Totals.SessionCount)
}

type activityCase struct {
	name  string
	app   string
	query string
	bins  string
	// totals as renderTotals writes them
	totals string
}

func TestActivityByHand(t *testing.T) {
	a := newTSAPI(t)
	for _, c := range []activityCase{{
		// Monday weeks from Wednesday Feb 4: Feb 4-8, 9-15, 16-22, 23-28. Alpha's rows from Feb 4: E1 (Feb 4,
		// user3, 200/0), r7 (Feb 9, user3, 500/1), r8 (Feb 16, user4, 700/3); r4-r6 (Feb 2-3) are before.
		// A bin's average is per day with activity: one day each. Totals (weekly): users 3, 4 = 2; 1400 ms;
		// 4 sessions; avg floor(1400 / 3 weeks) = 466.
		// January (r2, r3, Sat Jan 10, users 1, 2, 1000/1 each): 2 users, 2000 ms, 2 sessions, one week: 2000.
		// change: users 0; time (1400-2000)/2000 = -30; sessions (4-2)/2 = 100; avg (466-2000)/2000 = -76.7.
		name:  "weekly from a Wednesday, against January",
		app:   appAlpha,
		query: "granularity=weekly&start_date=2026-02-04&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31",
		bins: lines("2026-02-04..2026-02-08 1 200 0 200",
			"2026-02-09..2026-02-15 1 500 1 500",
			"2026-02-16..2026-02-22 1 700 3 700",
			"2026-02-23..2026-02-28 0 0 0 null"),
		totals: "users 2/0/2 time 1400/-30/2000 avg 466/-76.7/2000 sessions 4/100/2",
	}, {
		// Mid-January to March 1: Jan 14-31 (r2, r3 are on Jan 10: nothing), Feb, Mar 1 (nothing).
		// Feb: r4, r5, r6, E1, r7, r8: users 1-4, 8400 ms, 9 sessions, on Feb 2, 3, 4, 9, 16: bin average
		// floor(8400/5) = 1680; the total average is per month with activity: 8400 / 1.
		name:  "monthly from mid-January: the bin average is per day, the total per month",
		app:   appAlpha,
		query: "granularity=monthly&start_date=2026-01-14&end_date=2026-03-01",
		bins: lines("2026-01-14..2026-01-31 0 0 0 null",
			"2026-02-01..2026-02-28 4 8400 9 1680",
			"2026-03-01..2026-03-01 0 0 0 null"),
		totals: "users 4/null/null time 8400/null/null avg 8400/null/null sessions 9/null/null",
	}, {
		// dept1 (users 1, 2): r9-r13 (user1, Feb 1-5, 100/1 each), E3 (user2, Mar 31, 60/2). Q4 2025 part
		// (Dec 15-31): nothing. Q1: 2 users, 560 ms, 7 sessions, 6 days: floor(560/6) = 93; one quarter: 560.
		name:  "quarterly across a year end, department scope",
		app:   appBeta,
		query: "granularity=quarterly&start_date=2025-12-15&end_date=2026-03-31&department_ids=" + dept1,
		bins: lines("2025-12-15..2025-12-31 0 0 0 null",
			"2026-01-01..2026-03-31 2 560 7 93"),
		totals: "users 2/null/null time 560/null/null avg 560/null/null sessions 7/null/null",
	}, {
		// dept2 (users 2, 3): Feb 10 r15 (user2), r16 (user3), 50/1 each. Compare Jan 5-7: r14 (user2, 10/1).
		// change: users (2-1)/1 = 100; time (100-10)/10 = 900; avg 100 vs 10: 900; sessions 100.
		name:  "daily, department scope, against early January",
		app:   appEclair,
		query: "granularity=daily&start_date=2026-02-09&end_date=2026-02-11&compare_start_date=2026-01-05&compare_end_date=2026-01-07&department_ids=" + dept2,
		bins: lines("2026-02-09..2026-02-09 0 0 0 null",
			"2026-02-10..2026-02-10 2 100 2 100",
			"2026-02-11..2026-02-11 0 0 0 null"),
		totals: "users 2/100/1 time 100/900/10 avg 100/900/10 sessions 2/100/1",
	}, {
		// Feb: r15, r16 (Feb 10): 100 ms, 2 sessions, one day. Mar: E2 (user4, Mar 2, 70 ms, 0 sessions): the
		// average is per day, not per session, so 70. Total: users 2, 3, 4; 170 ms; 2 sessions; two months: 85.
		name:  "monthly with a zero-session row",
		app:   appEclair,
		query: "granularity=monthly&start_date=2026-02-01&end_date=2026-03-31",
		bins: lines("2026-02-01..2026-02-28 2 100 2 100",
			"2026-03-01..2026-03-31 1 70 0 70"),
		totals: "users 3/null/null time 170/null/null avg 85/null/null sessions 2/null/null",
	}, {
		// The week Feb 23-Mar 1 clipped from Wednesday Feb 25 holds r20 (Sun Mar 1, 5/1); Mon Mar 2-Wed Mar 4
		// nothing. Compare Feb 1-7: r19 (Sun Feb 1, 10/1), in the week of Jan 26-Feb 1: one week, 10.
		// change: users 0; time and avg (5-10)/10 = -50; sessions 0.
		name:  "weekly across a Sunday/Monday boundary",
		app:   appGamma,
		query: "granularity=weekly&start_date=2026-02-25&end_date=2026-03-04&compare_start_date=2026-02-01&compare_end_date=2026-02-07",
		bins: lines("2026-02-25..2026-03-01 1 5 1 5",
			"2026-03-02..2026-03-04 0 0 0 null"),
		totals: "users 1/0/1 time 5/-50/10 avg 5/-50/10 sessions 1/0/1",
	}, {
		// No February usage; January r17 (user1, 999/4). As in App Utilization's dropped_off row: 0 with
		// -100% against January, and a null average whose compare value is 999 (one month).
		name:   "an app that dropped off",
		app:    appDropped,
		query:  "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31",
		bins:   lines("2026-02-01..2026-02-28 0 0 0 null"),
		totals: "users 0/-100/1 time 0/-100/999 avg null/null/999 sessions 0/-100/4",
	}, {
		// New Tool is used by user4 only, who is in no department: nothing in dept1's scope.
		name:   "an app none of the departments used",
		app:    appNew,
		query:  "granularity=daily&start_date=2026-02-27&end_date=2026-02-28&department_ids=" + dept1,
		bins:   lines("2026-02-27..2026-02-27 0 0 0 null", "2026-02-28..2026-02-28 0 0 0 null"),
		totals: "users 0/null/null time 0/null/null avg null/null/null sessions 0/null/null",
	}, {
		// Never Used has no usage ever. Assumed, mirroring App Utilization for an app without activity in
		// scope (New Tool in dept1 in TestUtilizationDepartmentScoping, Dropped App under dropped_off):
		// users, time and sessions are 0, the average null; the compare values 0 (and null for the
		// average), so every change_pct is null (compare_value 0).
		name:   "an app never used",
		app:    appNever,
		query:  "granularity=monthly&start_date=2026-02-01&end_date=2026-03-31&compare_start_date=2026-01-01&compare_end_date=2026-01-31",
		bins:   lines("2026-02-01..2026-02-28 0 0 0 null", "2026-03-01..2026-03-31 0 0 0 null"),
		totals: "users 0/null/0 time 0/null/0 avg null/null/null sessions 0/null/0",
	}} {
		r := a.activity(c.app, c.query)
		if got := r.renderBins(); got != c.bins {
			t.Errorf("%s: %s ?%s bins:\n%swant:\n%s", c.name, labelOf(c.app), c.query, got, c.bins)
		}
		if got := r.renderTotals(); got != c.totals {
			t.Errorf("%s: %s ?%s totals\n%s\nwant\n%s", c.name, labelOf(c.app), c.query, got, c.totals)
		}
		checkActivityEcho(t, r, c.query)
	}
}

// checkActivityEcho checks period and granularity repeat the request.
func checkActivityEcho(t *testing.T, r activityJSON, query string) {
	t.Helper()
	q := parseQuery(query)
	p := r.Period
	if p.StartDate != q["start_date"] || p.EndDate != q["end_date"] || r.Granularity != q["granularity"] {
		t.Errorf("?%s: period %+v granularity %q", query, p, r.Granularity)
	}
	cs, ce := q["compare_start_date"], q["compare_end_date"]
	if cs == "" {
		if p.CompareStartDate != nil || p.CompareEndDate != nil {
			t.Errorf("?%s: comparison %s..%s, want null", query, str(p.CompareStartDate), str(p.CompareEndDate))
		}
	} else if str(p.CompareStartDate) != cs || str(p.CompareEndDate) != ce {
		t.Errorf("?%s: comparison %s..%s, want %s..%s", query, str(p.CompareStartDate), str(p.CompareEndDate), cs, ce)
	}
}

func parseQuery(query string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// The App object of Never Used (no utilization row to compare it with),
// by hand from fixtureApps.
func TestActivityAppObjectOfAnUnusedApp(t *testing.T) {
	a := newTSAPI(t)
	r := a.activity(appNever, "granularity=daily&start_date=2026-02-01&end_date=2026-02-01")
	var row rowJSON
	if err := json.Unmarshal([]byte(`{"app":`+string(r.App)+`}`), &row); err != nil {
		t.Fatal(err)
	}
	app, ca := row.App, row.App.CatalogApp
	if app.ID != appNever || ca.ID != "ca000000-0000-4000-8000-000000000005" || ca.CanonicalName != "Never Used" || ca.Logo != nil ||
		ca.Type != "mobile" || ca.Vendor.ID != vendor2 || ca.Vendor.Name != `Vendor "Two"` || ca.Vendor.URL != "https://two.example" ||
		ca.Categories == nil || len(ca.Categories) != 0 || app.IsFavorite || app.IsApproved || app.LicenseCount != nil {
		t.Errorf("Never Used app = %s", r.App)
	}
	// The same keys, at every level, as the App of a utilization row (beta, used on Feb 1).
	util := utilApp(t, a, "granularity=daily&start_date=2026-02-01&end_date=2026-02-01&page_size=200", appBeta)
	if got, want := keyShape(t, r.App), keyShape(t, util); got != want {
		t.Errorf("App keys %s, a utilization row's App has %s", got, want)
	}
}

// keyShape lists an object's keys, recursively, ignoring values.
func keyShape(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	var walk func(v any) string
	walk = func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			return "."
		}
		var ks []string
		for k, sub := range m {
			ks = append(ks, k+walk(sub))
		}
		slices.Sort(ks)
		return "{" + strings.Join(ks, ",") + "}"
	}
	return walk(v)
}

// The totals are the App Utilization row of the same app, period,
// granularity and scope, and the app object is that row's app.
func TestActivityTotalsEqualUtilization(t *testing.T) {
	a := newTSAPI(t)
	for _, c := range []struct {
		app, query string
		// utilFilter is added to the utilization request (dropped_off for an app without usage)
		utilFilter string
	}{
		{appAlpha, "granularity=weekly&start_date=2026-02-04&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31", ""},
		{appAlpha, "granularity=monthly&start_date=2026-01-14&end_date=2026-03-01", ""},
		{appAlpha, "granularity=daily&start_date=2026-02-01&end_date=2026-03-31&compare_start_date=2026-01-01&compare_end_date=2026-01-31&department_ids=" + dept1 + "," + dept2, ""},
		{appBeta, "granularity=quarterly&start_date=2025-12-15&end_date=2026-03-31&department_ids=" + dept1, ""},
		// Includes E4 (Apr 1, 0 ms, 0 sessions) and a comparison without usage.
		{appBeta, "granularity=quarterly&start_date=2026-01-14&end_date=2026-04-01&compare_start_date=2025-10-01&compare_end_date=2025-12-31", ""},
		{appBeta, "granularity=weekly&start_date=2026-02-01&end_date=2026-04-01&department_ids=" + dept2, ""},
		{appEclair, "granularity=daily&start_date=2026-02-09&end_date=2026-02-11&compare_start_date=2026-01-05&compare_end_date=2026-01-07&department_ids=" + dept2, ""},
		{appEclair, "granularity=monthly&start_date=2026-02-01&end_date=2026-03-31&compare_start_date=2026-01-01&compare_end_date=2026-01-31", ""},
		{appGamma, "granularity=weekly&start_date=2026-02-25&end_date=2026-03-04&compare_start_date=2026-02-01&compare_end_date=2026-02-07", ""},
		{appGamma, "granularity=monthly&start_date=2026-01-01&end_date=2026-03-31", ""},
		{appLater, "granularity=quarterly&start_date=2026-03-01&end_date=2026-04-30&compare_start_date=2026-01-01&compare_end_date=2026-02-28", ""},
		{appNew, "granularity=daily&start_date=2026-02-27&end_date=2026-02-28&department_ids=" + dept1, ""},
		{appDropped, "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31", "&filter=dropped_off"},
		{appDropped, "granularity=weekly&start_date=2026-01-01&end_date=2026-03-31&compare_start_date=2025-11-01&compare_end_date=2025-12-31", ""},
	} {
		r := a.activity(c.app, c.query)
		uq := c.query + c.utilFilter + "&page_size=200"
		row := a.page(uq).byID(t, c.app)
		want := "users " + val(row.UniqueUsers) + " time " + val(row.ActiveTimeMS) + " avg " + val(row.AvgTimeMSPerDay) + " sessions " + val(row.SessionCount)
		if got := r.renderTotals(); got != want {
			t.Errorf("%s ?%s: activity totals\n%s\nutilization row\n%s", labelOf(c.app), c.query, got, want)
		}
		if !sameJSON(t, r.App, utilApp(t, a, uq, c.app)) {
			t.Errorf("%s ?%s: activity app %s differs from the utilization row's", labelOf(c.app), c.query, r.App)
		}
	}
}

// utilApp is the raw app object of an app's utilization row.
func utilApp(t *testing.T, a *api, query, app string) json.RawMessage {
	t.Helper()
	var p struct {
		Data []struct {
			App json.RawMessage `json:"app"`
		} `json:"data"`
	}
	resp := a.get(utilPath + "?" + query)
	if err := json.Unmarshal(resp.Body(), &p); err != nil {
		t.Fatalf("?%s: %v", query, err)
	}
	for _, d := range p.Data {
		var id struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(d.App, &id) == nil && id.ID == app {
			return d.App
		}
	}
	t.Fatalf("?%s: no row of %s", query, labelOf(app))
	return nil
}

func sameJSON(t *testing.T, x, y json.RawMessage) bool {
	t.Helper()
	var a, b any
	if json.Unmarshal(x, &a) != nil || json.Unmarshal(y, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func TestActivityUnknownAppsAndAuth(t *testing.T) {
	a := newTSAPI(t)
	const q = "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	f := func(path, token string, status int, code string) {
		t.Helper()
		resp := a.get(path+q, token)
		var e errorJSON
		_ = json.Unmarshal(resp.Body(), &e)
		if resp.StatusCode() != status || e.Error.Code != code || e.Error.RequestID == "" || e.Error.RequestID != string(resp.Header.Peek("X-Request-Id")) {
			t.Errorf("%s: %d %s, want %d %s", path, resp.StatusCode(), resp.Body(), status, code)
		}
	}
	f(activityPath(appOther), a.token, 404, "not_found")                               // the other client's app
	f(activityPath("a0000000-0000-4000-8000-00000000dead"), a.token, 404, "not_found") // nobody's
	f(activityPath("not-a-uuid"), a.token, 404, "not_found")
	f(activityPath(appAlpha), "", 401, "unauthenticated")
	f(activityPath(appAlpha), "not-a-token", 401, "unauthenticated")
	f(activityPath(appAlpha), mint(t, otherClient, time.Hour), 403, "forbidden")
	// The other client sees its own app, and not ours.
	other := mint(t, otherClient, time.Hour)
	if resp := a.get("/v2/clients/"+otherClient+"/analytics/apps/"+appOther+"/activity"+q, other); resp.StatusCode() != 200 {
		t.Errorf("the other client's own app: %d %s", resp.StatusCode(), resp.Body())
	}
	f("/v2/clients/"+otherClient+"/analytics/apps/"+appAlpha+"/activity", other, 404, "not_found")
}

func TestActivityRejectsBadInput(t *testing.T) {
	a := newTSAPI(t)
	const ok = "start_date=2026-02-01&end_date=2026-02-28"
	const gok = "granularity=monthly&" + ok
	for _, c := range []struct{ query, param string }{
		{ok, "granularity"},
		{"granularity=hourly&" + ok, "granularity"},
		{"granularity=month&" + ok, "granularity"},
		{gok + "&granularity=daily", "granularity"},
		{"granularity=monthly&end_date=2026-02-28", "start_date"},
		{"granularity=monthly&start_date=2026-02-01", "end_date"},
		{"granularity=monthly&start_date=2026-02-30&end_date=2026-03-01", "start_date"},
		{"granularity=monthly&start_date=2026-02-01&end_date=28-02-2026", "end_date"},
		{"granularity=monthly&start_date=2026-02-10&end_date=2026-02-01", "end_date"},
		{"granularity=monthly&start_date=2025-01-01&end_date=2026-01-02", "start_date"},
		{gok + "&compare_start_date=2026-01-01", "compare_start_date"},
		{gok + "&compare_end_date=2026-01-31", "compare_end_date"},
		{gok + "&compare_start_date=2024-01-01&compare_end_date=2025-01-02", "compare_start_date"},
		{gok + "&compare_start_date=2026-01-31&compare_end_date=2026-01-01", "compare_end_date"},
		{gok + "&compare_start_date=2026-01-xx&compare_end_date=2026-01-31", "compare_start_date"},
		{gok + "&department_ids=" + dept1 + ",x", "department_ids"},
		{gok + "&bin_size=month", "bin_size"},
		{gok + "&sort_by=unique_users", "sort_by"},
		{gok + "&colour=red", "colour"},
	} {
		expect400(t, a, activityPath(appAlpha)+"?"+c.query, c.param)
	}
}
