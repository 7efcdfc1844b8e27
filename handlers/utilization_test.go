package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const feb = "start_date=2026-02-01&end_date=2026-02-28"
const febVsJan = feb + "&compare_start_date=2026-01-01&compare_end_date=2026-01-31"

func val(m metricJSON) string {
	f := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	pct := "null"
	if m.ChangePct != nil {
		pct = fmt.Sprint(*m.ChangePct)
	}
	return f(m.Value) + "/" + pct + "/" + f(m.CompareValue)
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestUtilizationFebruaryAgainstJanuary(t *testing.T) {
	a := newAPI(t)
	p := a.page("granularity=monthly&" + febVsJan + "&page_size=200")
	if p.TotalCount != 5 || len(p.Data) != 5 || p.NextCursor != nil {
		t.Fatalf("total %d, rows %d, next %v; want the 5 apps used in February", p.TotalCount, len(p.Data), p.NextCursor)
	}
	if p.Period.StartDate != "2026-02-01" || p.Period.EndDate != "2026-02-28" || str(p.Period.CompareStartDate) != "2026-01-01" || str(p.Period.CompareEndDate) != "2026-01-31" {
		t.Fatalf("period = %+v", p.Period)
	}
	alpha := p.byID(t, appAlpha)
	// Feb: users 1-4; 3000+3000+1000+500+700 ms; 2+2+1+1+3 sessions. Jan: users 1-2, 2000 ms, 2 sessions.
	want := map[string]string{
		"unique_users":  "4/100/2",
		"active_time":   "8200/310/2000",
		"avg_monthly":   "8200/310/2000",
		"session_count": "9/350/2",
	}
	got := map[string]string{"unique_users": val(alpha.UniqueUsers), "active_time": val(alpha.ActiveTimeMS),
		"avg_monthly": val(alpha.AvgTimeMSPerDay), "session_count": val(alpha.SessionCount)}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("Alpha %s = %s, want %s", k, got[k], want[k])
		}
	}
	// 5 user-days, licences 2 for 4 users: adoption 1; activity 5/(4*28); 0.35+0.65*0.0446 = 0.379.
	if str(alpha.UsageLevel) != "medium" || alpha.RiskLevel != nil {
		t.Errorf("Alpha usage %s risk %s, want medium and null (approved)", str(alpha.UsageLevel), str(alpha.RiskLevel))
	}
	ca := alpha.App.CatalogApp
	if ca.CanonicalName != "Alpha Chat" || ca.Vendor.Name != "Vendor One, Inc." || ca.Vendor.ID != vendor1 || ca.Type != "desktop" ||
		str(ca.Logo) != "https://logo/a.png" || len(ca.Categories) != 1 || ca.Categories[0].ID != cat1 || ca.Categories[0].Name != "Chat" ||
		!alpha.App.IsFavorite || !alpha.App.IsApproved || alpha.App.LicenseCount == nil || *alpha.App.LicenseCount != 2 ||
		ca.ID != "ca000000-0000-4000-8000-000000000001" {
		t.Errorf("Alpha DTO = %+v", alpha.App)
	}

	beta := p.byID(t, appBeta)
	// No January usage: compare 0, change null; avg has no January bucket, so compare null.
	if v := val(beta.UniqueUsers); v != "1/null/0" {
		t.Errorf("beta users = %s, want 1/null/0", v)
	}
	if v := val(beta.AvgTimeMSPerDay); v != "500/null/null" {
		t.Errorf("beta avg = %s, want 500/null/null", v)
	}
	// 5 user-days by 1 of the client's 4 February users: 0.35*0.25 + 0.65*5/28 = 0.204.
	if str(beta.UsageLevel) != "light" || str(beta.RiskLevel) != "critical" || beta.App.LicenseCount != nil || beta.App.CatalogApp.Logo != nil {
		t.Errorf("beta usage %s risk %s licences %v logo %v", str(beta.UsageLevel), str(beta.RiskLevel), beta.App.LicenseCount, beta.App.CatalogApp.Logo)
	}
	if cats := beta.App.CatalogApp.Categories; len(cats) != 2 || cats[1].Name != "Docs" || cats[1].ID != cat2 {
		t.Errorf("beta categories = %+v", cats)
	}
	eclair := p.byID(t, appEclair)
	// Two user-days only: no usage level. Jan 10 ms vs Feb 100 ms: +900%.
	if eclair.UsageLevel != nil || val(eclair.ActiveTimeMS) != "100/900/10" || val(eclair.UniqueUsers) != "2/100/1" || str(eclair.RiskLevel) != "medium" {
		t.Errorf("ÉCLAIR = usage %s, time %s, users %s, risk %s", str(eclair.UsageLevel), val(eclair.ActiveTimeMS), val(eclair.UniqueUsers), str(eclair.RiskLevel))
	}
	if len(eclair.App.CatalogApp.Categories) != 0 || eclair.App.CatalogApp.Categories == nil {
		t.Errorf("ÉCLAIR categories = %#v, want []", eclair.App.CatalogApp.Categories)
	}
}

func TestUtilizationWithoutComparisonHasNullDeltas(t *testing.T) {
	a := newAPI(t)
	resp := a.get(utilPath + "?granularity=monthly&" + feb + "&q=alpha")
	var raw map[string]any
	if err := json.Unmarshal(resp.Body(), &raw); err != nil {
		t.Fatal(err)
	}
	per := raw["period"].(map[string]any)
	if per["compare_start_date"] != nil || per["compare_end_date"] != nil {
		t.Fatalf("period = %v", per)
	}
	row := raw["data"].([]any)[0].(map[string]any)
	for _, m := range []string{"unique_users", "active_time_ms", "avg_time_ms_per_day", "session_count"} {
		obj := row[m].(map[string]any)
		if _, ok := obj["change_pct"]; !ok || obj["change_pct"] != nil || obj["compare_value"] != nil {
			t.Errorf("%s = %v, want change_pct and compare_value present and null", m, obj)
		}
	}
}

func TestUtilizationAverageFollowsGranularity(t *testing.T) {
	a := newAPI(t)
	f := func(query string, want int64) {
		t.Helper()
		alpha := a.page(query+"&q=alpha").byID(t, appAlpha)
		if alpha.AvgTimeMSPerDay.Value == nil || *alpha.AvgTimeMSPerDay.Value != want {
			t.Errorf("%s: avg = %s, want %d", query, val(alpha.AvgTimeMSPerDay), want)
		}
	}
	// February: 8200 ms on Feb 2, 3, 9, 16: four days, three Monday weeks, one month.
	f("granularity=daily&"+feb, 2050)
	f("granularity=weekly&"+feb, 2733)
	f("granularity=monthly&"+feb, 8200)
	f("granularity=quarterly&"+feb, 8200)
	// Q1: Jan 2000 + Feb 8200 ms; two months with activity, one quarter.
	f("granularity=monthly&start_date=2026-01-01&end_date=2026-03-31", 5100)
	f("granularity=quarterly&start_date=2026-01-01&end_date=2026-03-31", 10200)
}

func TestUtilizationDepartmentScoping(t *testing.T) {
	a := newAPI(t)
	p := a.page("granularity=daily&" + febVsJan + "&department_ids=" + dept1)
	if p.TotalCount != 5 || len(p.Data) != 5 {
		t.Fatalf("department scoping changed the app list: total %d rows %d", p.TotalCount, len(p.Data))
	}
	// Department 1 is users 1 and 2.
	alpha := p.byID(t, appAlpha)
	if val(alpha.UniqueUsers) != "2/0/2" || val(alpha.ActiveTimeMS) != "7000/250/2000" || val(alpha.AvgTimeMSPerDay) != "3500/75/2000" || val(alpha.SessionCount) != "5/150/2" {
		t.Errorf("Alpha in dept1: users %s time %s avg %s sessions %s", val(alpha.UniqueUsers), val(alpha.ActiveTimeMS), val(alpha.AvgTimeMSPerDay), val(alpha.SessionCount))
	}
	if alpha.UsageLevel != nil {
		t.Errorf("Alpha in dept1 has 3 user-days, usage level %s, want null", str(alpha.UsageLevel))
	}
	// beta: 5 user-days by user 1 of dept1's 2 February users: 0.35*0.5 + 0.65*5/28 = 0.291.
	if beta := p.byID(t, appBeta); str(beta.UsageLevel) != "light" || val(beta.UniqueUsers) != "1/null/0" {
		t.Errorf("beta in dept1: usage %s users %s", str(beta.UsageLevel), val(beta.UniqueUsers))
	}
	newTool := p.byID(t, appNew)
	if val(newTool.UniqueUsers) != "0/null/0" || val(newTool.ActiveTimeMS) != "0/null/0" || val(newTool.AvgTimeMSPerDay) != "null/null/null" {
		t.Errorf("New Tool (user 4 only) in dept1: users %s time %s avg %s", val(newTool.UniqueUsers), val(newTool.ActiveTimeMS), val(newTool.AvgTimeMSPerDay))
	}
	// Two departments: users 1, 2, 3.
	p = a.page("granularity=monthly&" + feb + "&department_ids=" + dept1 + "," + dept2)
	if g := p.byID(t, appGamma); val(g.UniqueUsers) != "1/null/null" || val(g.ActiveTimeMS) != "10/null/null" {
		t.Errorf("Gamma in dept1+2: %s %s", val(g.UniqueUsers), val(g.ActiveTimeMS))
	}
	if al := p.byID(t, appAlpha); val(al.UniqueUsers) != "3/null/null" {
		t.Errorf("Alpha in dept1+2: %s, want 3 users", val(al.UniqueUsers))
	}
}

func TestUtilizationFilters(t *testing.T) {
	a := newAPI(t)
	f := func(query string, want ...string) {
		t.Helper()
		p := a.page("granularity=monthly&" + feb + "&page_size=200&" + query)
		got := p.ids()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || p.TotalCount != len(want) {
			t.Errorf("%s: got %v (total %d), want %v", query, got, p.TotalCount, want)
		}
	}
	f("", appAlpha, appBeta, appEclair, appNew, appGamma)
	// First seen on Feb 1 (beta, Gamma) and Feb 28 (New Tool); Later App's Mar 1 is outside.
	f("filter=discovered", appBeta, appGamma, appNew)
	// Used before Feb and not in it: Dropped App only.
	f("filter=dropped_off", appDropped)
	f("q=%C3%A9clair", appEclair)
	f("q=ALPHA", appAlpha)
	f("q=a", appAlpha, appBeta, appEclair, appGamma)
	f("q=zzz")
	f("category_ids="+cat1, appAlpha, appBeta)
	f("category_ids="+cat2, appBeta)
	f("category_ids="+cat1+","+cat2, appAlpha, appBeta)
	f("vendor_ids="+vendor1, appAlpha, appEclair)
	f("is_favorite=true", appAlpha, appNew)
	f("is_favorite=false", appBeta, appEclair, appGamma)
	f("is_approved=true", appAlpha, appGamma)
	f("is_approved=false&vendor_ids="+vendor2, appBeta, appNew)
	f("filter=dropped_off&is_favorite=false")
	// In March, Later App is new; Gamma (first seen in February) is not.
	if ids := a.page("granularity=monthly&start_date=2026-03-01&end_date=2026-03-31&filter=discovered").ids(); !slices.Equal(ids, []string{appLater}) {
		t.Errorf("discovered in March = %v, want Later App", ids)
	}
}

func TestUtilizationDroppedOffShowsComparison(t *testing.T) {
	a := newAPI(t)
	p := a.page("granularity=monthly&" + febVsJan + "&filter=dropped_off")
	d := p.byID(t, appDropped)
	if val(d.UniqueUsers) != "0/-100/1" || val(d.ActiveTimeMS) != "0/-100/999" || val(d.AvgTimeMSPerDay) != "null/null/999" || d.UsageLevel != nil {
		t.Errorf("Dropped App: users %s time %s avg %s usage %s", val(d.UniqueUsers), val(d.ActiveTimeMS), val(d.AvgTimeMSPerDay), str(d.UsageLevel))
	}
}

func TestUtilizationDeprecatedAliases(t *testing.T) {
	a := newAPI(t)
	resp := a.get(utilPath + "?granularity=monthly&" + feb + "&category_id=" + cat2 + "&category_ids=" + cat1 + "&vendor_id=" + vendor1)
	if resp.StatusCode() != 200 || string(resp.Header.Peek("Deprecation")) == "" {
		t.Fatalf("status %d, Deprecation %q", resp.StatusCode(), resp.Header.Peek("Deprecation"))
	}
	var p pageJSON
	_ = json.Unmarshal(resp.Body(), &p)
	// (cat1 or cat2) and vendor1: Alpha only.
	if ids := p.ids(); len(ids) != 1 || ids[0] != appAlpha {
		t.Fatalf("aliases merged with plurals gave %v, want Alpha", ids)
	}
	if resp := a.get(utilPath + "?granularity=monthly&" + feb + "&category_ids=" + cat1); len(resp.Header.Peek("Deprecation")) != 0 {
		t.Fatalf("Deprecation header without an alias")
	}
}

func TestUtilizationPaginationWalksEverySort(t *testing.T) {
	a := newAPI(t)
	for _, sortBy := range []string{"canonical_name", "unique_users", "active_time", "avg_time", "session_count"} {
		for _, order := range []string{"asc", "desc"} {
			for _, size := range []int{1, 2, 200} {
				walk(t, a, sortBy, order, size)
			}
		}
	}
}

// walk pages through a sort and checks every app comes once, in order.
func walk(t *testing.T, a *api, sortBy, order string, size int) {
	t.Helper()
	base := fmt.Sprintf("granularity=daily&%s&sort_by=%s&sort_order=%s&page_size=%d", feb, sortBy, order, size)
	var rows []rowJSON
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("%s: more than 10 pages", base)
		}
		q := base
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := a.page(q)
		if p.TotalCount != 5 {
			t.Fatalf("%s page %d: total_count %d, want 5", base, pages, p.TotalCount)
		}
		if len(p.Data) > size {
			t.Fatalf("%s: page of %d rows", base, len(p.Data))
		}
		rows = append(rows, p.Data...)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.App.ID] {
			t.Fatalf("%s: app %s twice", base, r.App.ID)
		}
		seen[r.App.ID] = true
	}
	if len(rows) != 5 {
		t.Fatalf("%s: walked %d apps, want 5", base, len(rows))
	}
	want := expectedOrder[sortBy]
	if order == "asc" {
		want = slices.Clone(want)
		slices.Reverse(want)
	}
	for i, r := range rows {
		if key := sortKeyOf(sortBy, r); key != want[i] {
			t.Fatalf("%s: row %d has key %s, want order %v", base, i, key, want)
		}
	}
}

// expectedOrder is each sort's descending key sequence for February (daily
// granularity). Names sort case-insensitively; apps without activity sort
// as the lowest average.
var expectedOrder = map[string][]string{
	"canonical_name": {"éclair pro", "new tool", "gamma", "beta docs", "alpha chat"},
	"unique_users":   {"4", "2", "1", "1", "1"},
	"active_time":    {"8200", "500", "300", "100", "10"},
	// Alpha 8200/4 days; beta 500/5; New Tool 300/1; ÉCLAIR 100/1; Gamma 10/1.
	"avg_time":      {"2050", "300", "100", "100", "10"},
	"session_count": {"9", "5", "2", "1", "1"},
}

func sortKeyOf(sortBy string, r rowJSON) string {
	switch sortBy {
	case "canonical_name":
		return strings.ToLower(r.App.CatalogApp.CanonicalName)
	case "unique_users":
		return fmt.Sprint(*r.UniqueUsers.Value)
	case "active_time":
		return fmt.Sprint(*r.ActiveTimeMS.Value)
	case "avg_time":
		return fmt.Sprint(*r.AvgTimeMSPerDay.Value)
	}
	return fmt.Sprint(*r.SessionCount.Value)
}

// Apps without activity in scope (dropped off, or outside the departments)
// have no average: they sort lowest under avg_time, and must not fail it.
func TestUtilizationAverageSortWithAppsWithoutActivity(t *testing.T) {
	a := newAPI(t)
	p := a.page("granularity=daily&" + feb + "&department_ids=" + dept1 + "&sort_by=avg_time&sort_order=desc")
	// dept1 (users 1, 2): Alpha 7000 ms on Feb 2 and 3 = 3500; beta 500/5 = 100;
	// ÉCLAIR 50/1; New Tool and Gamma none.
	var got []string
	for _, r := range p.Data {
		got = append(got, r.App.CatalogApp.CanonicalName+"="+val(r.AvgTimeMSPerDay))
	}
	want := "Alpha Chat=3500/null/null beta Docs=100/null/null ÉCLAIR Pro=50/null/null"
	if strings.Join(got[:3], " ") != want || len(got) != 5 || !strings.Contains(got[3]+got[4], "null/null/null") {
		t.Fatalf("avg_time desc in dept1 = %v", got)
	}
	if p := a.page("granularity=monthly&" + feb + "&filter=dropped_off&sort_by=avg_time&sort_order=asc"); len(p.Data) != 1 || p.Data[0].AvgTimeMSPerDay.Value != nil {
		t.Fatalf("dropped_off by avg_time = %+v", p.Data)
	}
}

func TestUtilizationEmptyResult(t *testing.T) {
	a := newAPI(t)
	resp := a.get(utilPath + "?granularity=monthly&start_date=2020-01-01&end_date=2020-01-31")
	want := `{"period":{"start_date":"2020-01-01","end_date":"2020-01-31","compare_start_date":null,"compare_end_date":null},"data":[],"total_count":0,"next_cursor":null,"data_as_of":"`
	if got := strings.TrimSpace(string(resp.Body())); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, `Z"}`) {
		t.Fatalf("empty result = %s\nwant %s", got, want)
	}
}

func TestUtilizationAuth(t *testing.T) {
	a := newAPI(t)
	q := "?granularity=monthly&" + feb
	f := func(path, token string, status int, code string) {
		t.Helper()
		resp := a.get(path+q, token)
		var e errorJSON
		_ = json.Unmarshal(resp.Body(), &e)
		if resp.StatusCode() != status || e.Error.Code != code || e.Error.RequestID == "" || e.Error.RequestID != string(resp.Header.Peek("X-Request-Id")) {
			t.Errorf("%s: %d %s, want %d %s", path, resp.StatusCode(), resp.Body(), status, code)
		}
	}
	expired, _ := mintAt(client, time.Now().Add(-2*time.Hour))
	f(utilPath, "", 401, "unauthenticated")
	f(utilPath, "not-a-token", 401, "unauthenticated")
	f(utilPath, expired, 401, "unauthenticated")
	f(utilPath, mint(t, otherClient, time.Hour), 403, "forbidden")
	unknown := "c0000000-0000-4000-8000-00000000dead"
	f("/v2/clients/"+unknown+"/analytics/apps/utilization", mint(t, unknown, time.Hour), 404, "not_found")
	f("/v2/clients/not-a-uuid/analytics/apps/utilization", a.token, 404, "not_found")
	f("/v2/nothing", a.token, 404, "not_found")
}

func mintAt(clientID string, now time.Time) (string, error) {
	return mintWith(clientID, now)
}

func TestUtilizationRejectsBadInput(t *testing.T) {
	a := newAPI(t)
	other := a.page("granularity=monthly&" + feb + "&page_size=1&sort_by=unique_users")
	f := func(query, param string) {
		t.Helper()
		resp := a.get(utilPath + "?" + query)
		var e errorJSON
		_ = json.Unmarshal(resp.Body(), &e)
		if resp.StatusCode() != 400 || e.Error.Code != "invalid_parameter" || !strings.Contains(e.Error.Message, param) {
			t.Errorf("?%s: %d %s, want 400 naming %s", query, resp.StatusCode(), resp.Body(), param)
		}
		if _, ok := e.Error.Details[param]; !ok {
			t.Errorf("?%s: details %v do not name %s", query, e.Error.Details, param)
		}
	}
	f(feb, "granularity")
	f("granularity=hourly&"+feb, "granularity")
	f("granularity=monthly&start_date=2026-02-30&end_date=2026-03-01", "start_date")
	f("granularity=monthly&start_date=2026/02/01&end_date=2026-03-01", "start_date")
	f("granularity=monthly&start_date=2026-02-01", "end_date")
	f("granularity=monthly&start_date=2026-02-10&end_date=2026-02-01", "end_date")
	f("granularity=monthly&start_date=2025-01-01&end_date=2026-01-02", "start_date")
	f("granularity=monthly&"+feb+"&compare_start_date=2024-01-01&compare_end_date=2025-01-02", "compare_start_date")
	f("granularity=monthly&"+feb+"&compare_start_date=2026-01-01", "compare_start_date")
	f("granularity=monthly&"+feb+"&compare_end_date=2026-01-31", "compare_end_date")
	f("granularity=monthly&"+feb+"&filter=new", "filter")
	f("granularity=monthly&"+feb+"&sort_by=name", "sort_by")
	f("granularity=monthly&"+feb+"&sort_order=up", "sort_order")
	f("granularity=monthly&"+feb+"&category_ids="+cat1+",nope", "category_ids")
	f("granularity=monthly&"+feb+"&vendor_ids=123", "vendor_ids")
	f("granularity=monthly&"+feb+"&department_ids=x", "department_ids")
	f("granularity=monthly&"+feb+"&department_id=x", "department_id")
	f("granularity=monthly&"+feb+"&is_favorite=yes", "is_favorite")
	f("granularity=monthly&"+feb+"&is_approved=1", "is_approved")
	f("granularity=monthly&"+feb+"&page_size=0", "page_size")
	f("granularity=monthly&"+feb+"&page_size=201", "page_size")
	f("granularity=monthly&"+feb+"&page_size=ten", "page_size")
	f("granularity=monthly&"+feb+"&cursor=garbage!", "cursor")
	f("granularity=monthly&"+feb+"&cursor="+url.QueryEscape(*other.NextCursor), "cursor") // made for sort_by=unique_users
	f("granularity=monthly&"+feb+"&granularity=daily", "granularity")
	f("granularity=monthly&"+feb+"&colour=red", "colour")
}
