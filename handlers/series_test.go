package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

const seriesPath = "/v2/clients/" + client + "/analytics/usage"

type seriesJSON struct {
	Data []struct {
		Group *struct {
			Type string  `json:"type"`
			ID   string  `json:"id"`
			Name *string `json:"name"`
		} `json:"group"`
		Total map[string]*int64 `json:"total"`
		Bins  []map[string]any  `json:"bins"`
	} `json:"data"`
	Metrics    []string `json:"metrics"`
	TotalCount int      `json:"total_count"`
	NextCursor *string  `json:"next_cursor"`
}

func (a *api) series(q string) seriesJSON {
	a.t.Helper()
	resp := a.get(seriesPath + "?" + q)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET usage?%s: %d %s", q, resp.StatusCode(), resp.Body())
	}
	var s seriesJSON
	if err := json.Unmarshal(resp.Body(), &s); err != nil {
		a.t.Fatalf("GET usage?%s: %v", q, err)
	}
	return s
}

// TestSeriesCursorWalkAndCSVAgreeWithOnePage: for every group_by, paging
// two groups at a time gives the one big page, and the CSV of the same
// request has the same cells, bin by bin.
func TestSeriesCursorWalkAndCSVAgreeWithOnePage(t *testing.T) {
	a := newAPI(t)
	for _, g := range []string{"none", "app", "user", "department", "category", "vendor"} {
		for _, extra := range []string{"&sort_by=active_user_days&sort_order=asc", "&display_all=true&sort_by=name", "&metrics=avg_session_length_ms,unique_apps"} {
			q := "start_date=2026-01-14&end_date=2026-03-01&bin_size=week&group_by=" + g + extra
			whole := a.series(q + "&page_size=200")
			var walked []string
			cursor := ""
			for pages := 0; ; pages++ {
				p := a.series(q + "&page_size=2" + cursor)
				if p.TotalCount != whole.TotalCount {
					t.Fatalf("%s: total_count %d on a page, %d on the whole", q, p.TotalCount, whole.TotalCount)
				}
				for _, d := range p.Data {
					b, _ := json.Marshal(d)
					walked = append(walked, string(b))
				}
				if p.NextCursor == nil || pages > 10 {
					break
				}
				cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
			}
			var all []string
			for _, d := range whole.Data {
				b, _ := json.Marshal(d)
				all = append(all, string(b))
			}
			if strings.Join(walked, "\n") != strings.Join(all, "\n") {
				t.Errorf("%s: the cursor walk differs from one page:\n%s\nvs\n%s", q, strings.Join(walked, "\n"), strings.Join(all, "\n"))
			}
			compareSeriesCSV(t, a, q, whole)
		}
	}
}

func compareSeriesCSV(t *testing.T, a *api, q string, whole seriesJSON) {
	t.Helper()
	_, recs := a.csv(seriesPath + "?" + q + "&format=csv")
	want := [][]string{append([]string{"bin_start", "bin_end", "group_type", "group_id", "group_name"}, whole.Metrics...)}
	for _, d := range whole.Data {
		typ, id, name := "none", "", ""
		if d.Group != nil {
			typ, id = d.Group.Type, d.Group.ID
			if d.Group.Name != nil {
				name = *d.Group.Name
			}
		}
		for _, b := range d.Bins {
			rec := []string{b["start_date"].(string), b["end_date"].(string), typ, id, name}
			for _, m := range whole.Metrics {
				cell := ""
				if v, ok := b[m].(float64); ok {
					cell = strconv.FormatInt(int64(v), 10)
				}
				rec = append(rec, cell)
			}
			want = append(want, rec)
		}
	}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("%s: CSV\n%v\nJSON as CSV\n%v", q, recs, want)
	}
}

// TestSeriesBadInputIs400: every refusal of the spec, in the error shape.
func TestSeriesBadInputIs400(t *testing.T) {
	a := newAPI(t)
	ok := "start_date=2026-01-01&end_date=2026-01-31"
	for _, q := range []string{
		"end_date=2026-01-31", "start_date=2026-01-01", "start_date=2026-02-30&end_date=2026-03-01",
		"start_date=2026-02-01&end_date=2026-01-01", "start_date=2025-01-01&end_date=2026-01-31",
		ok + "&bin_size=year", ok + "&group_by=team", ok + "&metrics=active_time_ms,bogus", ok + "&sort_by=active_time",
		ok + "&sort_order=up", ok + "&format=xml", ok + "&bogus=1", ok + "&bin_size=day&bin_size=week",
		ok + "&application_ids=x", ok + "&user_ids=b0000000-0000-4000-8000-00000000000", ok + "&department_ids=1,2",
		ok + "&category_ids=zz", ok + "&vendor_ids=" + strings.Repeat("f", 36), ok + "&page_size=0", ok + "&page_size=201",
		ok + "&format=csv&page_size=10", ok + "&format=csv&cursor=abc", ok + "&cursor=abc", ok + "&display_all=maybe",
	} {
		resp := a.get(seriesPath + "?" + q)
		var e errorJSON
		if resp.StatusCode() != 400 || json.Unmarshal(resp.Body(), &e) != nil || e.Error.Code != "invalid_parameter" || e.Error.Message == "" {
			t.Errorf("?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
	}
	// A cursor of one request does not serve another.
	p := a.series(ok + "&group_by=app&page_size=1")
	if p.NextCursor == nil {
		t.Fatal("no next page")
	}
	if resp := a.get(seriesPath + "?" + ok + "&group_by=vendor&page_size=1&cursor=" + url.QueryEscape(*p.NextCursor)); resp.StatusCode() != 400 {
		t.Errorf("another request's cursor: %d %s", resp.StatusCode(), resp.Body())
	}
}

// TestActivityNotFound: an app the client does not have, or no app id.
func TestActivityNotFound(t *testing.T) {
	a := newAPI(t)
	for _, app := range []string{"a0000000-0000-4000-8000-0000000000ff", "not-an-id", strings.ToUpper(appAlpha) + "x"} {
		resp := a.get("/v2/clients/" + client + "/analytics/apps/" + app + "/activity?granularity=monthly&start_date=2026-01-01&end_date=2026-01-31")
		var e errorJSON
		if resp.StatusCode() != 404 || json.Unmarshal(resp.Body(), &e) != nil || e.Error.Code != "not_found" {
			t.Errorf("app %s: %d %s", app, resp.StatusCode(), resp.Body())
		}
	}
	for _, q := range []string{"granularity=monthly&start_date=2026-01-01", "granularity=hourly&start_date=2026-01-01&end_date=2026-01-31",
		"granularity=monthly&start_date=2026-01-01&end_date=2026-01-31&page_size=3", "granularity=monthly&start_date=2026-01-01&end_date=2026-01-31&compare_start_date=2025-12-01"} {
		if resp := a.get("/v2/clients/" + client + "/analytics/apps/" + appAlpha + "/activity?" + q); resp.StatusCode() != 400 {
			t.Errorf("?%s: %d %s", q, resp.StatusCode(), resp.Body())
		}
	}
}

// TestSeriesNamesUsersFromTheUsersFile: group_by=user names a user by the
// users dimension, and a user without a row by null.
func TestSeriesNamesUsersFromTheUsersFile(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := writeFixture(t, nil, nil)
	body := "client_id,user_id,display_name,email\n" + client + "," + user1 + ",Zoë Müller,zoe@example.com\n" + client + "," + user2 + ",,\n"
	if err := os.WriteFile(filepath.Join(dir, dataset.UsersFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	a := serveAPI(t, conn, nil)
	for _, extra := range []string{"", "&display_all=true"} {
		names := map[string]string{}
		for _, d := range a.series("start_date=2026-02-01&end_date=2026-02-28&group_by=user" + extra).Data {
			names[d.Group.ID] = "null"
			if d.Group.Name != nil {
				names[d.Group.ID] = *d.Group.Name
			}
		}
		want := map[string]string{user1: "Zoë Müller", user2: "null", user3: "null", user4: "null"}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("group_by=user%s names %v, want %v", extra, names, want)
		}
	}
}
