package handlers_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
)

const exportPath = utilPath + "/export"
const usageExportPath = "/v2/clients/" + client + "/analytics/usage-reports/export"

const utilHeader = "app_id,catalog_app_id,app_name,vendor_name,category_names,is_favorite,is_approved,license_count,unique_users,unique_users_change_pct,unique_users_compare_value,active_time_ms,active_time_change_pct,active_time_compare_value,avg_time_ms_per_day,avg_time_ms_per_day_change_pct,avg_time_ms_per_day_compare_value,session_count,session_count_change_pct,session_count_compare_value,usage_level,risk_level"

func (a *api) csv(path string) (string, [][]string) {
	a.t.Helper()
	resp := a.get(path)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET %s: %d %s", path, resp.StatusCode(), resp.Body())
	}
	body := string(resp.Body())
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		a.t.Fatalf("GET %s: not CSV: %v\n%s", path, err, body)
	}
	return body, recs
}

func TestUtilizationExportIsExactCSV(t *testing.T) {
	a := newAPI(t)
	resp := a.get(exportPath + "?granularity=monthly&" + febVsJan + "&sort_by=active_time")
	if ct := string(resp.Header.ContentType()); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := string(resp.Header.Peek("Content-Disposition")); cd != `attachment; filename="app-utilization-2026-02-01-to-2026-02-28.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	lines := strings.Split(strings.TrimRight(string(resp.Body()), "\r\n"), "\r\n")
	want := []string{
		utilHeader,
		appAlpha + ",ca000000-0000-4000-8000-000000000001,Alpha Chat,\"Vendor One, Inc.\",Chat,true,true,2,4,100,2,8200,310,2000,8200,310,2000,9,350,2,medium,",
		appBeta + ",ca000000-0000-4000-8000-000000000002,beta Docs,\"Vendor \"\"Two\"\"\",Chat; Docs,false,false,,1,,0,500,,0,500,,,5,,0,light,critical",
		appNew + ",ca000000-0000-4000-8000-000000000006,New Tool,\"Vendor \"\"Two\"\"\",,true,false,,1,,0,300,,0,300,,,1,,0,,low",
		appEclair + ",ca000000-0000-4000-8000-000000000003,ÉCLAIR Pro,\"Vendor One, Inc.\",,false,false,0,2,100,1,100,900,10,100,900,10,2,100,1,,medium",
		appGamma + ",ca000000-0000-4000-8000-000000000007,Gamma,\"Vendor \"\"Two\"\"\",,false,true,,1,,0,10,,0,10,,,1,,0,,",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("export =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Without a comparison every comparison cell is empty.
	_, recs := a.csv(exportPath + "?granularity=monthly&" + feb + "&q=alpha")
	if got := strings.Join(recs[1], "|"); got != appAlpha+"|ca000000-0000-4000-8000-000000000001|Alpha Chat|Vendor One, Inc.|Chat|true|true|2|4|||8200|||8200|||9|||medium|" {
		t.Fatalf("row without comparison = %s", got)
	}
}

// TestUtilizationExportMatchesJSONPages checks the export has exactly the
// rows, order and values of walking every JSON page.
func TestUtilizationExportMatchesJSONPages(t *testing.T) {
	a := newAPI(t)
	for _, q := range []string{
		"granularity=monthly&" + feb,
		"granularity=daily&" + febVsJan + "&sort_by=active_time&sort_order=asc",
		"granularity=weekly&" + febVsJan + "&sort_by=avg_time",
		"granularity=monthly&" + feb + "&filter=discovered&sort_by=unique_users",
		"granularity=monthly&" + febVsJan + "&filter=dropped_off",
		"granularity=daily&" + febVsJan + "&department_ids=" + dept1 + "&sort_by=session_count&sort_order=asc",
		"granularity=monthly&" + feb + "&q=a&is_approved=false&sort_order=asc",
		"granularity=quarterly&start_date=2026-01-01&end_date=2026-03-31&category_ids=" + cat1,
	} {
		var fromJSON []string
		cursor := ""
		for {
			p := a.page(q + "&page_size=2" + cursor)
			for _, r := range p.Data {
				fromJSON = append(fromJSON, strings.Join([]string{r.App.ID, metricCells(r.UniqueUsers), metricCells(r.ActiveTimeMS),
					metricCells(r.AvgTimeMSPerDay), metricCells(r.SessionCount), strOrEmpty(r.UsageLevel), strOrEmpty(r.RiskLevel)}, ","))
			}
			if p.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		_, recs := a.csv(exportPath + "?" + q)
		var fromCSV []string
		for _, r := range recs[1:] {
			fromCSV = append(fromCSV, strings.Join(append([]string{r[0]}, r[8:]...), ","))
		}
		if strings.Join(fromCSV, "\n") != strings.Join(fromJSON, "\n") {
			t.Errorf("?%s\nexport:\n%s\npages:\n%s", q, strings.Join(fromCSV, "\n"), strings.Join(fromJSON, "\n"))
		}
		if len(fromJSON) == 0 {
			t.Errorf("?%s: no rows; the case proves nothing", q)
		}
	}
}

func metricCells(m metricJSON) string {
	f := func(p *int64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	}
	pct := ""
	if m.ChangePct != nil {
		pct = fmt.Sprint(*m.ChangePct)
	}
	return f(m.Value) + "," + pct + "," + f(m.CompareValue)
}

func strOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestUtilizationExportRejectsPaginationAndBadInput(t *testing.T) {
	a := newAPI(t)
	for _, q := range []string{"&cursor=abc", "&page_size=10", "&sort_by=nope", "&compare_start_date=2026-01-01"} {
		resp := a.get(exportPath + "?granularity=monthly&" + feb + q)
		if resp.StatusCode() != 400 || !strings.HasPrefix(string(resp.Header.ContentType()), "application/json") ||
			!strings.Contains(string(resp.Body()), `"code":"invalid_parameter"`) {
			t.Errorf("%s: %d %s %s", q, resp.StatusCode(), resp.Header.ContentType(), resp.Body())
		}
	}
	if resp := a.get(exportPath+"?granularity=monthly&"+feb, ""); resp.StatusCode() != 401 {
		t.Errorf("export without a token: %d", resp.StatusCode())
	}
}

func TestUsageExport(t *testing.T) {
	a := newAPI(t)
	resp := a.get(usageExportPath + "?" + feb)
	if cd := string(resp.Header.Peek("Content-Disposition")); cd != `attachment; filename="usage-reports-2026-02-01-to-2026-02-28.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	lines := strings.Split(strings.TrimRight(string(resp.Body()), "\r\n"), "\r\n")
	if lines[0] != "activity_date,application_id,app_name,user_id,department_ids,total_active_ms,total_session_count" {
		t.Fatalf("header = %s", lines[0])
	}
	// 14 February rows: Alpha 5, beta 5, ÉCLAIR 2, New Tool 1, Gamma 1.
	if len(lines) != 15 {
		t.Fatalf("%d rows, want 14:\n%s", len(lines)-1, strings.Join(lines, "\n"))
	}
	for i := 2; i < len(lines); i++ {
		if lines[i][:10] < lines[i-1][:10] {
			t.Fatalf("rows not in date order: %s after %s", lines[i], lines[i-1])
		}
	}
	has := func(line string) {
		t.Helper()
		for _, l := range lines {
			if l == line {
				return
			}
		}
		t.Errorf("missing row %s in\n%s", line, strings.Join(lines, "\n"))
	}
	has("2026-02-28," + appNew + ",New Tool," + user4 + ",,300,1")
	has("2026-02-02," + appAlpha + ",Alpha Chat," + user2 + "," + dept1 + ";" + dept2 + ",1000,1")
	has("2026-02-10," + appEclair + ",ÉCLAIR Pro," + user3 + "," + dept2 + ",50,1")

	_, recs := a.csv(usageExportPath + "?" + feb + "&application_ids=" + appAlpha + "," + appGamma + "&department_ids=" + dept2)
	// Alpha and Gamma rows of users 2 and 3: Alpha Feb 2 (user 2), Feb 9 (user 3); Gamma Feb 1 (user 3).
	if len(recs) != 4 {
		t.Fatalf("filtered usage export has %d rows, want 3: %v", len(recs)-1, recs)
	}
	for _, q := range []string{"start_date=2026-02-01", "start_date=2025-01-01&end_date=2026-01-02", "start_date=2026-02-01&end_date=2026-02-02&application_ids=x", "start_date=2026-02-01&end_date=2026-02-02&page_size=3"} {
		if resp := a.get(usageExportPath + "?" + q); resp.StatusCode() != 400 {
			t.Errorf("?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
	}
}

func TestExportGzip(t *testing.T) {
	a := newAPI(t)
	plain := a.get(usageExportPath + "?" + feb).Body()
	req := "http://usagelens" + usageExportPath + "?" + feb
	resp := a.getWith(req, map[string]string{"Accept-Encoding": "gzip"})
	if string(resp.Header.Peek("Content-Encoding")) != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Peek("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(resp.Body()))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gunzipped export differs from the plain one (%v)", err)
	}
}
