package handlers_test

// Black-box tests of GET /v2/clients/{client_id}/analytics/usage (usage in
// time bins, grouped). Every expected number is worked out by hand from the
// fixture rows (fixture_test.go) plus tsExtraUsage below; none is taken from
// the implementation.
//
// The rows the tests read, with their weekdays (2026-02-01 is a Sunday):
//
//	r1  2025-12-01 Mon Alpha   user1 1    1
//	r2  2026-01-10 Sat Alpha   user1 1000 1
//	r3  2026-01-10 Sat Alpha   user2 1000 1
//	r4  2026-02-02 Mon Alpha   user1 3000 2
//	r5  2026-02-03 Tue Alpha   user1 3000 2
//	r6  2026-02-02 Mon Alpha   user2 1000 1
//	r7  2026-02-09 Mon Alpha   user3 500  1
//	r8  2026-02-16 Mon Alpha   user4 700  3
//	r9  2026-02-01 Sun beta    user1 100  1   (r9..r13: Feb 1..5, 100 ms, 1 session each)
//	r14 2026-01-05 Mon ÉCLAIR  user2 10   1
//	r15 2026-02-10 Tue ÉCLAIR  user2 50   1
//	r16 2026-02-10 Tue ÉCLAIR  user3 50   1
//	r17 2026-01-20 Tue Dropped user1 999  4
//	r18 2026-02-28 Sat New     user4 300  1
//	r19 2026-02-01 Sun Gamma   user3 10   1
//	r20 2026-03-01 Sun Gamma   user3 5    1
//	r21 2026-03-01 Sun Later   user1 40   1
//	E1  2026-02-04 Wed Alpha   user3 200  0   zero sessions
//	E2  2026-03-02 Mon ÉCLAIR  user4 70   0   zero sessions, the Monday after a Sunday row (r20, r21)
//	E3  2026-03-31 Tue beta    user2 60   2   last day of Q1
//	E4  2026-04-01 Wed beta    user2 0    0   first day of Q2, no time and no sessions
//	E5  2025-11-03 Mon Dropped user5 5    1   user5: in no department, known only by this old row
//
// Another client (otherClient) has its own app, used by its own user6 of
// its own department: none of it may show for the fixture client.
//
// Dimensions: Alpha (vendor1, cat1 Chat), beta (vendor2, cat1 Chat + cat2
// Docs), ÉCLAIR (vendor1, no category), Dropped (vendor2, cat2 Docs),
// Never Used, New Tool, Gamma, Later App (vendor2, no category).
// dept1 = user1, user2; dept2 = user2, user3; user4, user5 in none.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

const (
	usagePath = "/v2/clients/" + client + "/analytics/usage"

	user5 = "b0000000-0000-4000-8000-000000000005"

	// The other client's app, user and department.
	appOther   = "a0000000-0000-4000-8000-0000000000f1"
	user6      = "b0000000-0000-4000-8000-000000000006"
	deptOther  = "d0000000-0000-4000-8000-0000000000f1"
	vendorElse = "f0000000-0000-4000-8000-0000000000f1"

	// The app with formula-like names (newFormulaAPI only).
	appFormula = "a0000000-0000-4000-8000-000000000009"
	vendor3    = "f0000000-0000-4000-8000-000000000003"
	cat3       = "e0000000-0000-4000-8000-000000000003"
)

// allMetrics is the default metric list, in the contract's order.
var allMetrics = []string{"active_time_ms", "session_count", "unique_users", "unique_apps", "avg_session_length_ms", "active_user_days"}

var tsExtraUsage = []string{
	"2026-02-04," + appAlpha + "," + user3 + ",200,0",
	"2026-03-02," + appEclair + "," + user4 + ",70,0",
	"2026-03-31," + appBeta + "," + user2 + ",60,2",
	"2026-04-01," + appBeta + "," + user2 + ",0,0",
	"2025-11-03," + appDropped + "," + user5 + ",5,1",
}

// newTSAPI serves the fixture plus tsExtraUsage and the other client's
// app, user, department and usage row.
func newTSAPI(t *testing.T) *api {
	t.Helper()
	dir := writeFixture(t, nil, tsExtraUsage)
	appendLine(t, filepath.Join(dir, dataset.AppsFile), otherClient+","+appOther+",ca000000-0000-4000-8000-0000000000f1,Other App,,browser,"+
		vendorElse+",Other Vendor,https://else.example,"+cat1+",Chat,false,false,,low")
	appendLine(t, filepath.Join(dir, dataset.DepartmentsFile), otherClient+","+user6+","+deptOther)
	appendLine(t, filepath.Join(dir, dataset.UsageFile), otherClient+",2026-02-02,"+appOther+","+user6+",777,7")
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatalf("cannot load the fixture: %v", err)
	}
	return serveAPI(t, conn, nil)
}

// newFormulaAPI serves the fixture plus an app whose name, vendor name and
// category name start with =, + and @, used once on 2026-02-02.
func newFormulaAPI(t *testing.T) *api {
	t.Helper()
	app := appFormula + ",ca000000-0000-4000-8000-000000000009,=1+1,,browser," + vendor3 + ",+Plus Vendor,https://three.example," + cat3 + ",@cat,false,false,,low"
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := dataset.Load(context.Background(), conn, writeFixture(t, []string{app}, []string{"2026-02-02," + appFormula + "," + user1 + ",10,1"}), nil); err != nil {
		t.Fatalf("cannot load the fixture: %v", err)
	}
	return serveAPI(t, conn, nil)
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// usageJSON is the decoded answer; metric values stay raw so that null,
// a missing key and a non-integer are all visible.
type usageJSON struct {
	Period struct {
		StartDate string `json:"start_date"`
		EndDate   string `json:"end_date"`
	} `json:"period"`
	BinSize    string           `json:"bin_size"`
	GroupBy    string           `json:"group_by"`
	Metrics    []string         `json:"metrics"`
	Data       []usageGroupJSON `json:"data"`
	TotalCount int              `json:"total_count"`
	NextCursor *string          `json:"next_cursor"`
}

type usageGroupJSON struct {
	Group *struct {
		Type string  `json:"type"`
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"group"`
	Total map[string]json.RawMessage   `json:"total"`
	Bins  []map[string]json.RawMessage `json:"bins"`
}

// usage fetches a JSON answer and fails the test on anything but 200.
func (a *api) usage(query string) usageJSON {
	a.t.Helper()
	resp := a.get(usagePath + "?" + query)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET usage?%s: %d %s", query, resp.StatusCode(), resp.Body())
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body(), &raw); err != nil {
		a.t.Fatalf("GET usage?%s: %v in %s", query, err, resp.Body())
	}
	if _, ok := raw["data_as_of"]; !ok {
		a.t.Errorf("GET usage?%s: no data_as_of in %s", query, resp.Body())
	}
	var u usageJSON
	if err := json.Unmarshal(resp.Body(), &u); err != nil {
		a.t.Fatalf("GET usage?%s: %v in %s", query, err, resp.Body())
	}
	return u
}

// label names the fixture's ids in rendered answers.
var label = map[string]string{
	appAlpha: "Alpha", appBeta: "beta", appEclair: "Eclair", appDropped: "Dropped", appNever: "Never", appNew: "New",
	appGamma: "Gamma", appLater: "Later", appOther: "OTHER-CLIENT-APP", appFormula: "Formula",
	user1: "user1", user2: "user2", user3: "user3", user4: "user4", user5: "user5", user6: "OTHER-CLIENT-USER",
	dept1: "dept1", dept2: "dept2", deptOther: "OTHER-CLIENT-DEPT",
	cat1: "cat1", cat2: "cat2", cat3: "cat3", vendor1: "vendor1", vendor2: "vendor2", vendor3: "vendor3", vendorElse: "OTHER-CLIENT-VENDOR",
}

func labelOf(id string) string {
	if l, ok := label[id]; ok {
		return l
	}
	return id
}

// render writes the groups of an answer one per line, then their bins:
//
//	app:Alpha "Alpha Chat" = 8400 9 4 1 933 6
//	  2026-02-01..2026-02-28 8400 9 4 1 933 6
//
// with the metric values in the answer's metrics order. It reports keys
// in total or a bin that are not exactly the requested metrics.
func render(t *testing.T, u usageJSON) string {
	t.Helper()
	var b strings.Builder
	for _, g := range u.Data {
		if g.Group == nil {
			b.WriteString("none")
		} else {
			name := "null"
			if g.Group.Name != nil {
				name = fmt.Sprintf("%q", *g.Group.Name)
			}
			fmt.Fprintf(&b, "%s:%s %s", g.Group.Type, labelOf(g.Group.ID), name)
		}
		b.WriteString(" =" + values(t, u.Metrics, g.Total, nil) + "\n")
		for _, bin := range g.Bins {
			fmt.Fprintf(&b, "  %s..%s%s\n", unquote(bin["start_date"]), unquote(bin["end_date"]), values(t, u.Metrics, bin, []string{"start_date", "end_date"}))
		}
	}
	return b.String()
}

func values(t *testing.T, metrics []string, m map[string]json.RawMessage, extra []string) string {
	t.Helper()
	if len(m) != len(metrics)+len(extra) {
		t.Errorf("keys %v, want exactly %v plus %v", keysOf(m), metrics, extra)
	}
	var b strings.Builder
	for _, k := range metrics {
		v, ok := m[k]
		switch {
		case !ok:
			b.WriteString(" MISSING")
		case string(v) != "null" && strings.ContainsAny(string(v), ".eE\""):
			b.WriteString(" NOT-AN-INTEGER:" + string(v))
		default:
			b.WriteString(" " + string(v))
		}
	}
	return b.String()
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func unquote(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "BAD-DATE:" + string(v)
	}
	return s
}

// lines joins want lines, each ending in a newline as render writes them.
func lines(ls ...string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

// zeroBins is a group's dense bins without usage under the six metrics.
func zeroBins(bins ...string) []string {
	var out []string
	for _, b := range bins {
		out = append(out, "  "+b+" 0 0 0 0 null 0")
	}
	return out
}

func group(head string, bins ...string) []string { return append([]string{head}, bins...) }

func flat(groups ...[]string) string { return lines(slices.Concat(groups...)...) }

type usageCase struct {
	name  string
	query string
	// metrics the answer must echo (allMetrics when nil)
	metrics []string
	total   int
	want    string
}

func checkUsage(t *testing.T, a *api, c usageCase) {
	t.Helper()
	u := a.usage(c.query)
	metrics := c.metrics
	if metrics == nil {
		metrics = allMetrics
	}
	q, _ := url.ParseQuery(c.query)
	binSize, groupBy := q.Get("bin_size"), q.Get("group_by")
	if binSize == "" {
		binSize = "month"
	}
	if groupBy == "" {
		groupBy = "none"
	}
	if u.Period.StartDate != q.Get("start_date") || u.Period.EndDate != q.Get("end_date") || u.BinSize != binSize || u.GroupBy != groupBy || !slices.Equal(u.Metrics, metrics) {
		t.Errorf("%s: period %+v bin_size %q group_by %q metrics %v, want %s..%s %s %s %v", c.name, u.Period, u.BinSize, u.GroupBy, u.Metrics,
			q.Get("start_date"), q.Get("end_date"), binSize, groupBy, metrics)
	}
	if u.TotalCount != c.total || u.NextCursor != nil {
		t.Errorf("%s: total_count %d next_cursor %v, want %d and null", c.name, u.TotalCount, u.NextCursor, c.total)
	}
	if got := render(t, u); got != c.want {
		t.Errorf("%s: ?%s\ngot:\n%swant:\n%s", c.name, c.query, got, c.want)
	}
}

// Bins of 2026-01-14 (a Wednesday, mid-month) to 2026-04-01 (a Wednesday,
// the first day of Q2) by month.
var janToAprByMonth = []string{"2026-01-14..2026-01-31", "2026-02-01..2026-02-28", "2026-03-01..2026-03-31", "2026-04-01..2026-04-01"}

func TestUsageWithoutGroupsEveryBinSize(t *testing.T) {
	a := newTSAPI(t)
	for _, c := range []usageCase{{
		// Jan 14-31: r17 only (999 ms, 4 sessions): avg floor(999/4) = 249.
		// Feb: r4-r13, r15, r16, r18, r19, E1 = 15 rows; ms 8200+200 (Alpha) + 500 (beta) + 100 (ÉCLAIR)
		//   + 300 (New) + 10 (Gamma) = 9310; sessions 9+0+5+2+1+1 = 18; users 1-4; apps Alpha, beta,
		//   ÉCLAIR, New, Gamma; avg floor(9310/18) = 517 (18*517 = 9306).
		// Mar: r20 5/1, r21 40/1, E2 70/0, E3 60/2: 175 ms, 4 sessions, users 3, 1, 4, 2; apps Gamma,
		//   Later, ÉCLAIR, beta; avg floor(175/4) = 43.
		// Apr 1: E4 0/0: 1 user, 1 app, avg null (no sessions), 1 row.
		// Total: 999+9310+175+0 = 10484 ms; 4+18+4 = 26 sessions; users 1-4 (not 1+4+4+1);
		//   apps Dropped + the 5 of Feb + Later = 7; avg floor(10484/26) = 403 (26*403 = 10478); 1+15+4+1 = 21 rows.
		name:  "month, from mid-January to the first day of Q2, default metrics and bin size",
		query: "start_date=2026-01-14&end_date=2026-04-01",
		total: 1,
		want: lines("none = 10484 26 4 7 403 21",
			"  2026-01-14..2026-01-31 999 4 1 1 249 1",
			"  2026-02-01..2026-02-28 9310 18 4 5 517 15",
			"  2026-03-01..2026-03-31 175 4 4 4 43 4",
			"  2026-04-01..2026-04-01 0 0 1 1 null 1"),
	}, {
		// Monday weeks from Wednesday Feb 4 to Wednesday Mar 4:
		// Feb 4-8: r12, r13 (beta user1 100/1 each), E1 (Alpha user3 200/0): 400 ms, 2 sessions, avg 200.
		// Feb 9-15: r7 500/1, r15 50/1, r16 50/1: 600 ms, 3 sessions, users 3, 2; apps Alpha, ÉCLAIR; avg 200.
		// Feb 16-22: r8 700/3: avg floor(700/3) = 233.
		// Feb 23-Mar 1 (Sunday): r18 300/1, r20 5/1, r21 40/1: 345 ms, 3 sessions, users 4, 3, 1; avg 115.
		// Mar 2-4 (from the Monday): E2 70/0: avg null.
		// Total: 2115 ms, 11 sessions, users 1-4, apps beta, Alpha, ÉCLAIR, New, Gamma, Later;
		//   avg floor(2115/11) = 192 (11*192 = 2112); 3+3+1+3+1 = 11 rows.
		name:  "week from a Wednesday, across a Sunday/Monday boundary",
		query: "start_date=2026-02-04&end_date=2026-03-04&bin_size=week",
		total: 1,
		want: lines("none = 2115 11 4 6 192 11",
			"  2026-02-04..2026-02-08 400 2 2 2 200 3",
			"  2026-02-09..2026-02-15 600 3 2 2 200 3",
			"  2026-02-16..2026-02-22 700 3 1 1 233 1",
			"  2026-02-23..2026-03-01 345 3 3 3 115 3",
			"  2026-03-02..2026-03-04 70 0 1 1 null 1"),
	}, {
		// Jan 31: nothing. Feb 1: r9 100/1, r19 10/1. Feb 2: r4 3000/2, r6 1000/1, r10 100/1: avg
		// floor(4100/4) = 1025. Feb 3: r5 3000/2, r11 100/1: avg floor(3100/3) = 1033.
		// Total: 7310 ms, 9 sessions, users 1, 2, 3; apps beta, Gamma, Alpha; floor(7310/9) = 812; 7 rows.
		name:  "day, with an empty first day",
		query: "start_date=2026-01-31&end_date=2026-02-03&bin_size=day",
		total: 1,
		want: lines("none = 7310 9 3 3 812 7",
			"  2026-01-31..2026-01-31 0 0 0 0 null 0",
			"  2026-02-01..2026-02-01 110 2 2 2 55 2",
			"  2026-02-02..2026-02-02 4100 4 2 2 1025 3",
			"  2026-02-03..2026-02-03 3100 3 1 2 1033 2"),
	}, {
		// Quarters clipped to Nov 15 2025 .. Apr 1 2026 (E5 on Nov 3 is outside):
		// Nov 15-Dec 31: r1 1/1. Q1: r2..r21 (20 rows) + E1, E2, E3 = 23 rows, users 1-4;
		//   ms Jan 1000+1000+10+999 = 3009, Feb 9310, Mar 175: 12494; sessions Jan 7, Feb 18, Mar 4: 29;
		//   avg floor(12494/29) = 430 (29*430 = 12470). Apr 1: E4, avg null.
		// Total: 25 rows, users 1-4, avg floor(12495/30) = 416.
		name:    "quarter, clipped both ends, metrics in a non-default order",
		query:   "start_date=2025-11-15&end_date=2026-04-01&bin_size=quarter&metrics=active_user_days,unique_users,avg_session_length_ms",
		metrics: []string{"active_user_days", "unique_users", "avg_session_length_ms"},
		total:   1,
		want: lines("none = 25 4 416",
			"  2025-11-15..2025-12-31 1 1 1",
			"  2026-01-01..2026-03-31 23 4 430",
			"  2026-04-01..2026-04-01 1 1 null"),
	}, {
		// A single metric; the Jan 10 rows (r2, r3) fall in the first bin only when the period starts before them.
		name:    "month, one metric, from the 10th",
		query:   "start_date=2026-01-10&end_date=2026-02-10&metrics=unique_apps",
		metrics: []string{"unique_apps"},
		total:   1,
		// Jan 10-31: Alpha (r2, r3), Dropped (r17). Feb 1-10: beta, Gamma, Alpha, ÉCLAIR. Total: Alpha,
		// Dropped, beta, Gamma, ÉCLAIR = 5 (not 2+4).
		want: lines("none = 5", "  2026-01-10..2026-01-31 2", "  2026-02-01..2026-02-10 4"),
	}, {
		// Feb 2 is r4 (user1, 2 sessions), r6 (user2, 1), r10 (user1, 1): 4 sessions, 2 users; the other
		// client's row of that day (user6, 7 sessions) is not ours.
		name:    "the other client's rows do not count",
		query:   "start_date=2026-02-02&end_date=2026-02-02&bin_size=day&metrics=session_count,unique_users",
		metrics: []string{"session_count", "unique_users"},
		total:   1,
		want:    lines("none = 4 2", "  2026-02-02..2026-02-02 4 2"),
	}, {
		// Nothing at all in April 2-30: one entry, zeros, null average. The contract gives group_by=none
		// "one entry, group null, total_count 1"; the rule that only groups with a counted row are listed
		// is read as applying to real groups, not to this one entry.
		name:  "an empty period still has its one entry",
		query: "start_date=2026-04-02&end_date=2026-04-30",
		total: 1,
		want:  lines("none = 0 0 0 0 null 0", "  2026-04-02..2026-04-30 0 0 0 0 null 0"),
	}} {
		checkUsage(t, a, c)
	}
}

// The Feb-Mar 2026 totals per app (month bins), shared by the grouping,
// sorting and paging tests:
//
//	        ms    sessions users apps avg  rows
//	Alpha   8400  9        4     1    933  6   r4-r8 + E1: 8200+200 ms, 9+0 sessions, floor(8400/9) = 933
//	beta    560   7        2     1    80   6   Feb r9-r13 500/5; Mar E3 60/2; floor(560/7) = 80
//	ÉCLAIR  170   2        3     1    85   3   Feb r15, r16 100/2 (users 2, 3); Mar E2 70/0 (user4)
//	New     300   1        1     1    300  1   r18
//	Gamma   15    2        1     1    7    2   r19 10/1, r20 5/1: floor(15/2) = 7
//	Later   40    1        1     1    40   1   r21
//	Dropped 0     0        0     0    null 0   (display_all only)
//	Never   0     0        0     0    null 0   (display_all only)
var febMarByApp = map[string][]string{
	appAlpha: group(`app:Alpha "Alpha Chat" = 8400 9 4 1 933 6`,
		"  2026-02-01..2026-02-28 8400 9 4 1 933 6", "  2026-03-01..2026-03-31 0 0 0 0 null 0"),
	appBeta: group(`app:beta "beta Docs" = 560 7 2 1 80 6`,
		"  2026-02-01..2026-02-28 500 5 1 1 100 5", "  2026-03-01..2026-03-31 60 2 1 1 30 1"),
	appEclair: group(`app:Eclair "ÉCLAIR Pro" = 170 2 3 1 85 3`,
		"  2026-02-01..2026-02-28 100 2 2 1 50 2", "  2026-03-01..2026-03-31 70 0 1 1 null 1"),
	appNew: group(`app:New "New Tool" = 300 1 1 1 300 1`,
		"  2026-02-01..2026-02-28 300 1 1 1 300 1", "  2026-03-01..2026-03-31 0 0 0 0 null 0"),
	appGamma: group(`app:Gamma "Gamma" = 15 2 1 1 7 2`,
		"  2026-02-01..2026-02-28 10 1 1 1 10 1", "  2026-03-01..2026-03-31 5 1 1 1 5 1"),
	appLater: group(`app:Later "Later App" = 40 1 1 1 40 1`,
		"  2026-02-01..2026-02-28 0 0 0 0 null 0", "  2026-03-01..2026-03-31 40 1 1 1 40 1"),
	appDropped: group(`app:Dropped "Dropped App" = 0 0 0 0 null 0`, zeroBins("2026-02-01..2026-02-28", "2026-03-01..2026-03-31")...),
	appNever:   group(`app:Never "Never Used" = 0 0 0 0 null 0`, zeroBins("2026-02-01..2026-02-28", "2026-03-01..2026-03-31")...),
}

const febMar = "start_date=2026-02-01&end_date=2026-03-31"

func byApps(ids ...string) string {
	var gs [][]string
	for _, id := range ids {
		gs = append(gs, febMarByApp[id])
	}
	return flat(gs...)
}

func TestUsageGroupedEveryDimension(t *testing.T) {
	a := newTSAPI(t)
	for _, c := range []usageCase{{
		// Sorted by active_time_ms (the first metric), descending: 8400, 560, 300, 170, 40, 15.
		name:  "app by month",
		query: febMar + "&group_by=app",
		total: 6,
		want:  byApps(appAlpha, appBeta, appNew, appEclair, appLater, appGamma),
	}, {
		// Never Used and Dropped App join with zeros; their tie at 0 ms goes by id, descending: ...05, ...04.
		name:  "app by month, display_all",
		query: febMar + "&group_by=app&display_all=true",
		total: 8,
		want:  byApps(appAlpha, appBeta, appNew, appEclair, appLater, appGamma, appNever, appDropped),
	}, {
		// Monday weeks Feb 4 (Wed)-8, 9-15, 16-17 (Tue):
		// user1: r12, r13 (beta 100/1 each) in week 1: 200 ms, 2 sessions, avg 100.
		// user2: r15 (ÉCLAIR 50/1) in week 2.
		// user3: E1 (Alpha 200/0) in week 1, avg null; r7 (Alpha 500/1) + r16 (ÉCLAIR 50/1) in week 2:
		//   550 ms, 2 sessions, 2 apps, avg 275; total 750 ms, 2 sessions, 2 apps (Alpha, ÉCLAIR),
		//   floor(750/2) = 375, 3 rows.
		// user4: r8 (Alpha 700/3) in week 3: floor(700/3) = 233.
		// By ms: user3 750, user4 700, user1 200, user2 50. A user's name is null.
		name:  "user by week, from a Wednesday to a Tuesday",
		query: "start_date=2026-02-04&end_date=2026-02-17&bin_size=week&group_by=user",
		total: 4,
		want: lines(
			"user:user3 null = 750 2 1 2 375 3",
			"  2026-02-04..2026-02-08 200 0 1 1 null 1",
			"  2026-02-09..2026-02-15 550 2 1 2 275 2",
			"  2026-02-16..2026-02-17 0 0 0 0 null 0",
			"user:user4 null = 700 3 1 1 233 1",
			"  2026-02-04..2026-02-08 0 0 0 0 null 0",
			"  2026-02-09..2026-02-15 0 0 0 0 null 0",
			"  2026-02-16..2026-02-17 700 3 1 1 233 1",
			"user:user1 null = 200 2 1 1 100 2",
			"  2026-02-04..2026-02-08 200 2 1 1 100 2",
			"  2026-02-09..2026-02-15 0 0 0 0 null 0",
			"  2026-02-16..2026-02-17 0 0 0 0 null 0",
			"user:user2 null = 50 1 1 1 50 1",
			"  2026-02-04..2026-02-08 0 0 0 0 null 0",
			"  2026-02-09..2026-02-15 50 1 1 1 50 1",
			"  2026-02-16..2026-02-17 0 0 0 0 null 0"),
	}, {
		// Quarter bins of Jan 14 .. Apr 1: Jan 14-Mar 31, Apr 1. Rows by user:
		// user1: r17 999/4 (Dropped), r4, r5 3000/2 each (Alpha), r9-r13 100/1 each (beta), r21 40/1 (Later):
		//   7539 ms, 14 sessions, 4 apps, 9 rows.
		// user2: r6 1000/1 (Alpha), r15 50/1 (ÉCLAIR), E3 60/2 (beta): 1110 ms, 4 sessions, 3 apps, 3 rows;
		//   Apr 1: E4 0/0 (beta).
		// user3: r7 500/1, E1 200/0 (Alpha), r16 50/1 (ÉCLAIR), r19 10/1, r20 5/1 (Gamma): 765 ms,
		//   4 sessions, 3 apps, 5 rows.
		// user4 is in no department: none of r8, r18, E2 counts.
		// dept1 (users 1, 2): 8649 ms, 18 sessions, apps Dropped, Alpha, beta, Later, ÉCLAIR = 5,
		//   floor(8649/18) = 480 (18*480 = 8640), 12 rows; Apr 1: E4; total 13 rows.
		// dept2 (users 2, 3; user2 counts here too): 1875 ms, 8 sessions, apps Alpha, ÉCLAIR, beta, Gamma = 4,
		//   floor(1875/8) = 234, 8 rows; Apr 1: E4; total 9 rows.
		name:  "department by quarter, a user in two departments",
		query: "start_date=2026-01-14&end_date=2026-04-01&bin_size=quarter&group_by=department",
		total: 2,
		want: lines(
			`department:dept1 "`+dept1+`" = 8649 18 2 5 480 13`,
			"  2026-01-14..2026-03-31 8649 18 2 5 480 12",
			"  2026-04-01..2026-04-01 0 0 1 1 null 1",
			`department:dept2 "`+dept2+`" = 1875 8 2 4 234 9`,
			"  2026-01-14..2026-03-31 1875 8 2 4 234 8",
			"  2026-04-01..2026-04-01 0 0 1 1 null 1"),
	}, {
		// Days Jan 31 .. Feb 3. cat1 Chat = Alpha + beta; cat2 Docs = beta + Dropped (no usage then).
		// cat1: Feb 1 r9 100/1; Feb 2 r4 3000/2, r6 1000/1, r10 100/1 (users 1, 2; 2 apps; floor(4100/4) = 1025);
		//   Feb 3 r5 3000/2, r11 100/1 (floor(3100/3) = 1033); total 7300 ms, 8 sessions, floor(7300/8) = 912, 6 rows.
		// cat2: beta's r9, r10, r11 only: 100/1 a day.
		name:  "category by day, an app in two categories",
		query: "start_date=2026-01-31&end_date=2026-02-03&bin_size=day&group_by=category",
		total: 2,
		want: lines(
			`category:cat1 "Chat" = 7300 8 2 2 912 6`,
			"  2026-01-31..2026-01-31 0 0 0 0 null 0",
			"  2026-02-01..2026-02-01 100 1 1 1 100 1",
			"  2026-02-02..2026-02-02 4100 4 2 2 1025 3",
			"  2026-02-03..2026-02-03 3100 3 1 2 1033 2",
			`category:cat2 "Docs" = 300 3 1 1 100 3`,
			"  2026-01-31..2026-01-31 0 0 0 0 null 0",
			"  2026-02-01..2026-02-01 100 1 1 1 100 1",
			"  2026-02-02..2026-02-02 100 1 1 1 100 1",
			"  2026-02-03..2026-02-03 100 1 1 1 100 1"),
	}, {
		// Month bins of Jan 14 .. Apr 1. vendor1 = Alpha + ÉCLAIR; vendor2 = the rest.
		// vendor1: Jan 14-31 nothing (r2, r3, r14 are before the 14th); Feb Alpha 8400/9 + ÉCLAIR 100/2 =
		//   8500 ms, 11 sessions, users 1-4, floor(8500/11) = 772, 8 rows; Mar E2 70/0; total 8570 ms,
		//   11 sessions, floor(8570/11) = 779 (11*779 = 8569), 9 rows.
		// vendor2: Jan r17 999/4 (249); Feb beta 500/5 + New 300/1 + Gamma 10/1 = 810 ms, 7 sessions,
		//   users 1, 4, 3, floor(810/7) = 115, 7 rows; Mar r20 5/1 + r21 40/1 + E3 60/2 = 105 ms, 4 sessions,
		//   users 3, 1, 2, floor(105/4) = 26; Apr E4 0/0; total 1914 ms, 15 sessions, users 1-4,
		//   apps Dropped, beta, New, Gamma, Later = 5, floor(1914/15) = 127, 12 rows.
		// Check: 8570 + 1914 = 10484 and 9 + 12 = 21, as without groups.
		name:  "vendor by month",
		query: "start_date=2026-01-14&end_date=2026-04-01&group_by=vendor",
		total: 2,
		want: lines(
			`vendor:vendor1 "Vendor One, Inc." = 8570 11 4 2 779 9`,
			"  2026-01-14..2026-01-31 0 0 0 0 null 0",
			"  2026-02-01..2026-02-28 8500 11 4 2 772 8",
			"  2026-03-01..2026-03-31 70 0 1 1 null 1",
			"  2026-04-01..2026-04-01 0 0 0 0 null 0",
			`vendor:vendor2 "Vendor \"Two\"" = 1914 15 4 5 127 12`,
			"  2026-01-14..2026-01-31 999 4 1 1 249 1",
			"  2026-02-01..2026-02-28 810 7 3 3 115 7",
			"  2026-03-01..2026-03-31 105 4 3 3 26 3",
			"  2026-04-01..2026-04-01 0 0 1 1 null 1"),
	}, {
		// March 1-30 has only uncategorised apps (r20 Gamma, r21 Later, E2 ÉCLAIR; E3 is on the 31st).
		name:  "category without usage: no groups",
		query: "start_date=2026-03-01&end_date=2026-03-30&group_by=category",
		total: 0,
		want:  "",
	}, {
		// ... and with display_all both categories of the client's apps, tied at 0: by id descending.
		name:  "category without usage, display_all",
		query: "start_date=2026-03-01&end_date=2026-03-30&group_by=category&display_all=true",
		total: 2,
		want: flat(group(`category:cat2 "Docs" = 0 0 0 0 null 0`, zeroBins("2026-03-01..2026-03-30")...),
			group(`category:cat1 "Chat" = 0 0 0 0 null 0`, zeroBins("2026-03-01..2026-03-30")...)),
	}} {
		checkUsage(t, a, c)
	}
}

// display_all over a period with no usage at all lists every group of each
// dimension with zeros, ties at 0 by id descending; nothing of the other
// client's (its app, vendor, user, department) is listed.
func TestUsageDisplayAllOnAnEmptyPeriod(t *testing.T) {
	a := newTSAPI(t)
	const empty = "start_date=2026-04-02&end_date=2026-04-30"
	zeros := func(head ...string) string {
		var gs [][]string
		for _, h := range head {
			gs = append(gs, group(h+" = 0 0 0 0 null 0", zeroBins("2026-04-02..2026-04-30")...))
		}
		return flat(gs...)
	}
	for _, c := range []usageCase{
		{name: "app", query: empty + "&group_by=app&display_all=true", total: 8, want: zeros(
			`app:Later "Later App"`, `app:Gamma "Gamma"`, `app:New "New Tool"`, `app:Never "Never Used"`,
			`app:Dropped "Dropped App"`, `app:Eclair "ÉCLAIR Pro"`, `app:beta "beta Docs"`, `app:Alpha "Alpha Chat"`)},
		// Users 1-3 are members of departments, user4 has usage, user5 has only a row of November 2025.
		{name: "user", query: empty + "&group_by=user&display_all=true", total: 5, want: zeros(
			"user:user5 null", "user:user4 null", "user:user3 null", "user:user2 null", "user:user1 null")},
		{name: "department", query: empty + "&group_by=department&display_all=true", total: 2, want: zeros(
			`department:dept2 "`+dept2+`"`, `department:dept1 "`+dept1+`"`)},
		{name: "category", query: empty + "&group_by=category&display_all=true", total: 2, want: zeros(`category:cat2 "Docs"`, `category:cat1 "Chat"`)},
		{name: "vendor", query: empty + "&group_by=vendor&display_all=true", total: 2, want: zeros(`vendor:vendor2 "Vendor \"Two\""`, `vendor:vendor1 "Vendor One, Inc."`)},
		{name: "vendor without display_all", query: empty + "&group_by=vendor", total: 0, want: ""},
		// display_all lists groups without usage; for group_by=none that is its one entry.
		{name: "none with display_all", query: empty + "&display_all=true", total: 1, want: zeros("none")},
	} {
		checkUsage(t, a, c)
	}
}

func TestUsageFiltersCombine(t *testing.T) {
	a := newTSAPI(t)
	march := zeroBins("2026-03-01..2026-03-31")
	for _, c := range []usageCase{{
		// Alpha or ÉCLAIR, by users of dept2 (2, 3): r6 1000/1, r7 500/1, E1 200/0, r15 50/1, r16 50/1;
		// E2 (ÉCLAIR in March) is user4's. 1800 ms, 4 sessions, avg 450, 5 rows.
		name:  "application_ids and department_ids",
		query: febMar + "&application_ids=" + appAlpha + "," + appEclair + "&department_ids=" + dept2,
		total: 1,
		want:  flat([]string{"none = 1800 4 2 2 450 5", "  2026-02-01..2026-02-28 1800 4 2 2 450 5"}, march),
	}, {
		// vendor2 apps in cat2: beta and Dropped; user2's rows of them: E3 (Mar 31, 60/2) only.
		name:  "vendor_ids, category_ids and user_ids",
		query: febMar + "&vendor_ids=" + vendor2 + "&category_ids=" + cat2 + "&user_ids=" + user2,
		total: 1,
		want:  lines("none = 60 2 1 1 30 1", "  2026-02-01..2026-02-28 0 0 0 0 null 0", "  2026-03-01..2026-03-31 60 2 1 1 30 1"),
	}, {
		// cat1 (Alpha, beta) by users 1 or 4: r4, r5 3000/2 each, r8 700/3, r9-r13 100/1 each:
		// 7200 ms, 12 sessions, avg 600, 8 rows; nothing in March (E3 is user2's).
		name:  "category_ids and user_ids",
		query: febMar + "&category_ids=" + cat1 + "&user_ids=" + user1 + "," + user4,
		total: 1,
		want:  flat([]string{"none = 7200 12 2 2 600 8", "  2026-02-01..2026-02-28 7200 12 2 2 600 8"}, march),
	}, {
		// New Tool is only user4's, who is in no department: nothing matches, yet the one entry of
		// group_by=none stays (see "an empty period still has its one entry").
		name:  "filters matching nothing",
		query: febMar + "&application_ids=" + appNew + "&department_ids=" + dept1,
		total: 1,
		want:  flat([]string{"none = 0 0 0 0 null 0"}, zeroBins("2026-02-01..2026-02-28", "2026-03-01..2026-03-31")),
	}, {
		// display_all lists only the apps the filter keeps: cat2 is beta and Dropped.
		name:  "group_by=app with category_ids and display_all",
		query: febMar + "&group_by=app&display_all=true&category_ids=" + cat2,
		total: 2,
		want:  byApps(appBeta, appDropped),
	}, {
		// Only dept2 is a group. Users 2, 3 in Feb-Mar: r6, r7, E1 (Alpha 1700/2, 3 rows), r15, r16 (ÉCLAIR 100/2),
		// r19, r20 (Gamma 15/2), E3 (beta 60/2): Feb 1000+500+200+50+50+10 = 1810 ms, 5 sessions, apps Alpha,
		// ÉCLAIR, Gamma, avg 362, 6 rows; Mar r20 5/1 + E3 60/2 = 65 ms, 3 sessions, users 3, 2, apps Gamma,
		// beta, avg 21, 2 rows; total 1875 ms, 8 sessions, 4 apps, floor(1875/8) = 234, 8 rows.
		name:  "group_by=department with department_ids",
		query: febMar + "&group_by=department&display_all=true&department_ids=" + dept2,
		total: 1,
		want: lines(`department:dept2 "`+dept2+`" = 1875 8 2 4 234 8`,
			"  2026-02-01..2026-02-28 1810 5 2 3 362 6",
			"  2026-03-01..2026-03-31 65 3 2 2 21 2"),
	}, {
		name:  "group_by=category with category_ids",
		query: "start_date=2026-01-31&end_date=2026-02-03&bin_size=day&group_by=category&category_ids=" + cat2,
		total: 1,
		want: lines(`category:cat2 "Docs" = 300 3 1 1 100 3`,
			"  2026-01-31..2026-01-31 0 0 0 0 null 0",
			"  2026-02-01..2026-02-01 100 1 1 1 100 1",
			"  2026-02-02..2026-02-02 100 1 1 1 100 1",
			"  2026-02-03..2026-02-03 100 1 1 1 100 1"),
	}, {
		// user5's only row is of November 2025: no group without display_all ...
		name:  "group_by=user with user_ids, no usage",
		query: febMar + "&group_by=user&user_ids=" + user5,
		total: 0,
		want:  "",
	}, {
		// ... one zero group with it, and no other user.
		name:  "group_by=user with user_ids and display_all",
		query: febMar + "&group_by=user&user_ids=" + user5 + "&display_all=true",
		total: 1,
		want:  flat(group("user:user5 null = 0 0 0 0 null 0", zeroBins("2026-02-01..2026-02-28", "2026-03-01..2026-03-31")...)),
	}} {
		checkUsage(t, a, c)
	}
}

// Descending orders of the eight apps over Feb-Mar with display_all (the
// febMarByApp table), ties by id descending; ascending is each reversed.
var febMarAppOrder = map[string][]string{
	"active_time_ms": {appAlpha, appBeta, appNew, appEclair, appLater, appGamma, appNever, appDropped},
	// 9, 7, then 2: Gamma (…07) before ÉCLAIR (…03); 1: Later, New; 0: Never, Dropped.
	"session_count": {appAlpha, appBeta, appGamma, appEclair, appLater, appNew, appNever, appDropped},
	// 4, 3, 2, then 1: Later, Gamma, New; 0.
	"unique_users": {appAlpha, appEclair, appBeta, appLater, appGamma, appNew, appNever, appDropped},
	// 1 for each used app, by id descending; 0.
	"unique_apps": {appLater, appGamma, appNew, appEclair, appBeta, appAlpha, appNever, appDropped},
	// 933, 300, 85, 80, 40, 7; the nulls last.
	"avg_session_length_ms": {appAlpha, appNew, appEclair, appBeta, appLater, appGamma, appNever, appDropped},
	// 6 for beta (…02) and Alpha (…01), 3, 2, 1: Later, New; 0.
	"active_user_days": {appBeta, appAlpha, appEclair, appGamma, appLater, appNew, appNever, appDropped},
	// Case-folded names: "éclair pro" (é is 0xC3, after ASCII) > "new tool" > "never used" ('w' > 'v')
	// > "later app" > "gamma" > "dropped app" > "beta docs" > "alpha chat".
	"name": {appEclair, appNew, appNever, appLater, appGamma, appDropped, appBeta, appAlpha},
}

func TestUsageSortsByEveryMetricAndName(t *testing.T) {
	a := newTSAPI(t)
	for sortBy, desc := range febMarAppOrder {
		for _, order := range []string{"desc", "asc", ""} {
			want := desc
			if order == "asc" {
				want = slices.Clone(desc)
				slices.Reverse(want)
			}
			q := febMar + "&group_by=app&display_all=true&page_size=200&sort_by=" + sortBy
			if order != "" {
				q += "&sort_order=" + order
			}
			if got := groupIDs(a.usage(q)); !slices.Equal(got, want) {
				t.Errorf("?%s: %v, want %v", q, labels(got), labels(want))
			}
		}
	}
	// Without sort_by the first requested metric leads: unique_users descending.
	if got := groupIDs(a.usage(febMar + "&group_by=app&display_all=true&metrics=unique_users,active_time_ms")); !slices.Equal(got, febMarAppOrder["unique_users"]) {
		t.Errorf("default sort with metrics=unique_users,...: %v", labels(got))
	}
	// Names of the other dimensions: departments and users by id; categories "Chat" < "Docs";
	// vendors `vendor "two"` < "vendor one, inc." ('"' 0x22 < 'o').
	for _, c := range []struct {
		query string
		asc   []string
	}{
		{"&group_by=user&display_all=true", []string{user1, user2, user3, user4, user5}},
		{"&group_by=department&display_all=true", []string{dept1, dept2}},
		{"&group_by=category&display_all=true", []string{cat1, cat2}},
		{"&group_by=vendor&display_all=true", []string{vendor2, vendor1}},
	} {
		if got := groupIDs(a.usage(febMar + c.query + "&sort_by=name&sort_order=asc")); !slices.Equal(got, c.asc) {
			t.Errorf("%s by name asc: %v, want %v", c.query, labels(got), labels(c.asc))
		}
		desc := slices.Clone(c.asc)
		slices.Reverse(desc)
		if got := groupIDs(a.usage(febMar + c.query + "&sort_by=name")); !slices.Equal(got, desc) {
			t.Errorf("%s by name desc: %v, want %v", c.query, labels(got), labels(desc))
		}
	}
}

func groupIDs(u usageJSON) []string {
	var ids []string
	for _, g := range u.Data {
		if g.Group == nil {
			ids = append(ids, "none")
			continue
		}
		ids = append(ids, g.Group.ID)
	}
	return ids
}

func labels(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = labelOf(id)
	}
	return out
}

// walkUsage pages through q with page_size size and returns the rendered
// groups; every page must have total_count total and at most size groups.
func walkUsage(t *testing.T, a *api, q string, size, total int) string {
	t.Helper()
	var all usageJSON
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > total+1 {
			t.Fatalf("?%s: more than %d pages", q, total+1)
		}
		p := a.usage(fmt.Sprintf("%s&page_size=%d%s", q, size, cursor))
		if p.TotalCount != total || len(p.Data) > size {
			t.Fatalf("?%s page %d: total_count %d, %d groups; want %d and at most %d", q, pages, p.TotalCount, len(p.Data), total, size)
		}
		all.Metrics = p.Metrics
		all.Data = append(all.Data, p.Data...)
		if p.NextCursor == nil {
			return render(t, all)
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
}

func TestUsageCursorWalkEqualsOnePage(t *testing.T) {
	a := newTSAPI(t)
	for _, c := range []struct {
		query string
		total int
	}{
		{febMar + "&group_by=app&display_all=true", 8},
		{febMar + "&group_by=app&display_all=true&sort_by=name&sort_order=asc", 8},
		{febMar + "&group_by=app&display_all=true&sort_by=avg_session_length_ms&sort_order=asc", 8},
		{febMar + "&group_by=app&sort_by=session_count&metrics=session_count,unique_users", 6},
		{febMar + "&group_by=user&display_all=true&bin_size=week&sort_by=unique_apps", 5},
		{"start_date=2026-01-14&end_date=2026-04-01&group_by=vendor&bin_size=quarter&sort_order=asc", 2},
	} {
		one := walkUsage(t, a, c.query, 200, c.total)
		for _, size := range []int{1, 3} {
			if got := walkUsage(t, a, c.query, size, c.total); got != one {
				t.Errorf("?%s: walking pages of %d\n%s\ndiffers from one page\n%s", c.query, size, got, one)
			}
		}
	}
	// With display_all, the one page is the febMarByApp table in time order.
	if got := walkUsage(t, a, febMar+"&group_by=app&display_all=true", 3, 8); got != byApps(febMarAppOrder["active_time_ms"]...) {
		t.Errorf("walk of the apps:\n%s", got)
	}
	// A page of 3 from 8 groups has a cursor; it is bound to its request.
	p := a.usage(febMar + "&group_by=app&display_all=true&page_size=3")
	if p.NextCursor == nil || len(p.Data) != 3 {
		t.Fatalf("first page of 3: %d groups, cursor %v", len(p.Data), p.NextCursor)
	}
	cur := "&page_size=3&cursor=" + url.QueryEscape(*p.NextCursor)
	for _, other := range []string{
		febMar + "&group_by=app" + cur,
		febMar + "&group_by=app&display_all=true&category_ids=" + cat1 + cur,
		febMar + "&group_by=app&display_all=true&sort_by=name" + cur,
		febMar + "&group_by=user&display_all=true" + cur,
		"start_date=2026-02-01&end_date=2026-03-30&group_by=app&display_all=true" + cur,
		febMar + "&group_by=app&display_all=true&bin_size=week" + cur,
	} {
		expectUsage400(t, a, other, "cursor")
	}
}

// csvRows renders a JSON answer as the CSV rows it must export: one per
// (group, bin), nulls as empty cells, text cells neutralised.
func csvRows(u usageJSON) [][]string {
	var out [][]string
	for _, g := range u.Data {
		typ, id, name := "none", "", ""
		if g.Group != nil {
			typ, id = g.Group.Type, g.Group.ID
			if g.Group.Name != nil {
				name = neutralise(*g.Group.Name)
			}
		}
		for _, bin := range g.Bins {
			row := []string{unquote(bin["start_date"]), unquote(bin["end_date"]), typ, id, name}
			for _, m := range u.Metrics {
				v := string(bin[m])
				if v == "null" {
					v = ""
				}
				row = append(row, v)
			}
			out = append(out, row)
		}
	}
	return out
}

func neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// usageCSV fetches a CSV answer, checks its framing and returns its records.
func usageCSV(t *testing.T, a *api, query, filename string) (string, [][]string) {
	t.Helper()
	resp := a.get(usagePath + "?" + query)
	if resp.StatusCode() != 200 {
		t.Fatalf("GET usage?%s: %d %s", query, resp.StatusCode(), resp.Body())
	}
	if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("?%s: Content-Type %q", query, ct)
	}
	if cd := string(resp.Header.Peek("Content-Disposition")); cd != `attachment; filename="`+filename+`"` {
		t.Errorf("?%s: Content-Disposition %q, want filename %s", query, cd, filename)
	}
	body := string(resp.Body())
	if !strings.HasSuffix(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		t.Errorf("?%s: lines do not all end in CRLF: %q", query, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("?%s: not CSV: %v\n%s", query, err, body)
	}
	return body, recs
}

func TestUsageCSVIsExact(t *testing.T) {
	a := newTSAPI(t)
	// The vendor table of TestUsageGroupedEveryDimension under three metrics; sorted by unique_users
	// (the first), both vendors have 4: tie by id descending, vendor2 first.
	body, _ := usageCSV(t, a, "start_date=2026-01-14&end_date=2026-04-01&group_by=vendor&format=csv&metrics=unique_users,avg_session_length_ms,active_time_ms",
		"usage-month-2026-01-14-to-2026-04-01.csv")
	want := strings.Join([]string{
		"bin_start,bin_end,group_type,group_id,group_name,unique_users,avg_session_length_ms,active_time_ms",
		"2026-01-14,2026-01-31,vendor," + vendor2 + `,"Vendor ""Two""",1,249,999`,
		"2026-02-01,2026-02-28,vendor," + vendor2 + `,"Vendor ""Two""",3,115,810`,
		"2026-03-01,2026-03-31,vendor," + vendor2 + `,"Vendor ""Two""",3,26,105`,
		"2026-04-01,2026-04-01,vendor," + vendor2 + `,"Vendor ""Two""",1,,0`,
		"2026-01-14,2026-01-31,vendor," + vendor1 + `,"Vendor One, Inc.",0,,0`,
		"2026-02-01,2026-02-28,vendor," + vendor1 + `,"Vendor One, Inc.",4,772,8500`,
		"2026-03-01,2026-03-31,vendor," + vendor1 + `,"Vendor One, Inc.",1,,70`,
		"2026-04-01,2026-04-01,vendor," + vendor1 + `,"Vendor One, Inc.",0,,0`,
	}, "\r\n") + "\r\n"
	if body != want {
		t.Errorf("vendor CSV =\n%s\nwant\n%s", body, want)
	}
	// group_by=none: type none, empty id and name (the week table of TestUsageWithoutGroupsEveryBinSize).
	body, _ = usageCSV(t, a, "start_date=2026-02-04&end_date=2026-03-04&bin_size=week&format=csv", "usage-week-2026-02-04-to-2026-03-04.csv")
	want = strings.Join([]string{
		"bin_start,bin_end,group_type,group_id,group_name,active_time_ms,session_count,unique_users,unique_apps,avg_session_length_ms,active_user_days",
		"2026-02-04,2026-02-08,none,,,400,2,2,2,200,3",
		"2026-02-09,2026-02-15,none,,,600,3,2,2,200,3",
		"2026-02-16,2026-02-22,none,,,700,3,1,1,233,1",
		"2026-02-23,2026-03-01,none,,,345,3,3,3,115,3",
		"2026-03-02,2026-03-04,none,,,70,0,1,1,,1",
	}, "\r\n") + "\r\n"
	if body != want {
		t.Errorf("none CSV =\n%s\nwant\n%s", body, want)
	}
	// A grouping with no groups is the header alone.
	body, _ = usageCSV(t, a, "start_date=2026-03-01&end_date=2026-03-30&group_by=category&format=csv&metrics=session_count",
		"usage-month-2026-03-01-to-2026-03-30.csv")
	if body != "bin_start,bin_end,group_type,group_id,group_name,session_count\r\n" {
		t.Errorf("empty CSV = %q", body)
	}
}

// Text cells starting with =, + or @ are prefixed with a quote. On Feb 2:
// Alpha r4 3000 + r6 1000 = 4000 ms, beta r10 100, the formula app 10;
// cat1 = Alpha + beta = 4100.
func TestUsageCSVNeutralisesFormulas(t *testing.T) {
	a := newFormulaAPI(t)
	const day = "start_date=2026-02-02&end_date=2026-02-02&bin_size=day&format=csv&metrics=active_time_ms"
	for _, c := range []struct {
		groupBy string
		want    []string
	}{
		{"app", []string{appAlpha + ",Alpha Chat,4000", appBeta + ",beta Docs,100", appFormula + ",'=1+1,10"}},
		{"vendor", []string{vendor1 + `,"Vendor One, Inc.",4000`, vendor2 + `,"Vendor ""Two""",100`, vendor3 + ",'+Plus Vendor,10"}},
		{"category", []string{cat1 + ",Chat,4100", cat2 + ",Docs,100", cat3 + ",'@cat,10"}},
	} {
		body, _ := usageCSV(t, a, day+"&group_by="+c.groupBy, "usage-day-2026-02-02-to-2026-02-02.csv")
		want := "bin_start,bin_end,group_type,group_id,group_name,active_time_ms\r\n"
		for _, w := range c.want {
			want += "2026-02-02,2026-02-02," + c.groupBy + "," + w + "\r\n"
		}
		if body != want {
			t.Errorf("group_by=%s CSV =\n%s\nwant\n%s", c.groupBy, body, want)
		}
	}
}

// The CSV of a request has exactly the cells of its JSON (one big page).
func TestUsageCSVAgreesWithJSON(t *testing.T) {
	a := newTSAPI(t)
	for _, q := range []string{
		"start_date=2026-01-14&end_date=2026-04-01",
		"start_date=2026-02-04&end_date=2026-03-04&bin_size=week&group_by=user&display_all=true&sort_by=name&sort_order=asc",
		"start_date=2025-11-15&end_date=2026-04-01&bin_size=quarter&group_by=department&metrics=avg_session_length_ms,unique_apps",
		"start_date=2026-01-31&end_date=2026-02-03&bin_size=day&group_by=category&sort_order=asc",
		febMar + "&group_by=app&display_all=true&sort_by=avg_session_length_ms&sort_order=asc",
		febMar + "&group_by=vendor&metrics=active_user_days&user_ids=" + user2 + "," + user3,
	} {
		u := a.usage(q + "&page_size=200")
		_, recs := usageCSV(t, a, q+"&format=csv", "usage-"+u.BinSize+"-"+u.Period.StartDate+"-to-"+u.Period.EndDate+".csv")
		header := append([]string{"bin_start", "bin_end", "group_type", "group_id", "group_name"}, u.Metrics...)
		if len(recs) == 0 || !slices.Equal(recs[0], header) {
			t.Errorf("?%s: CSV header %v, want %v", q, recs[:min(1, len(recs))], header)
			continue
		}
		want := csvRows(u)
		if len(want) == 0 {
			t.Errorf("?%s: no rows; the case proves nothing", q)
		}
		if len(recs)-1 != len(want) {
			t.Errorf("?%s: %d CSV rows, %d (group, bin)s in JSON", q, len(recs)-1, len(want))
			continue
		}
		for i, row := range want {
			if !slices.Equal(recs[i+1], row) {
				t.Errorf("?%s: CSV row %d = %v, JSON gives %v", q, i+1, recs[i+1], row)
			}
		}
	}
}

// expectUsage400 checks a 400 invalid_parameter in the error shape whose
// details name param.
func expectUsage400(t *testing.T, a *api, query, param string) {
	t.Helper()
	expect400(t, a, usagePath+"?"+query, param)
}

func expect400(t *testing.T, a *api, pathQuery, param string) {
	t.Helper()
	resp := a.get(pathQuery)
	var e errorJSON
	err := json.Unmarshal(resp.Body(), &e)
	if resp.StatusCode() != 400 || err != nil || e.Error.Code != "invalid_parameter" || e.Error.Message == "" ||
		e.Error.RequestID == "" || e.Error.RequestID != string(resp.Header.Peek("X-Request-Id")) ||
		!strings.HasPrefix(string(resp.Header.ContentType()), "application/json") {
		t.Errorf("%s: %d %s, want 400 invalid_parameter", pathQuery, resp.StatusCode(), resp.Body())
		return
	}
	if _, ok := e.Error.Details[param]; !ok {
		t.Errorf("%s: details %v do not name %s", pathQuery, e.Error.Details, param)
	}
	if !bytes.Contains(resp.Body(), []byte(`"details":{`)) {
		t.Errorf("%s: details is not an object: %s", pathQuery, resp.Body())
	}
}

func TestUsageRejectsBadInput(t *testing.T) {
	a := newTSAPI(t)
	const ok = "start_date=2026-02-01&end_date=2026-02-28"
	for _, c := range []struct{ query, param string }{
		{"end_date=2026-02-28", "start_date"},
		{"start_date=2026-02-01", "end_date"},
		{"start_date=2026-02-30&end_date=2026-03-01", "start_date"},
		{"start_date=2026/02/01&end_date=2026-03-01", "start_date"},
		{"start_date=2026-02-01&end_date=2026-2-28", "end_date"},
		{"start_date=2026-02-10&end_date=2026-02-01", "end_date"},
		{"start_date=2025-01-01&end_date=2026-01-02", "start_date"}, // 367 days; 2025-01-01..2026-01-01 is 366
		{"start_date=1999-12-31&end_date=2000-01-31", "start_date"}, // before the first day the API knows
		{ok + "&bin_size=year", "bin_size"},
		{ok + "&bin_size=monthly", "bin_size"},
		{ok + "&group_by=team", "group_by"},
		{ok + "&group_by=app,user", "group_by"},
		{ok + "&metrics=active_time", "metrics"},
		{ok + "&metrics=active_time_ms,nope", "metrics"},
		{ok + "&sort_by=active_time", "sort_by"},
		{ok + "&sort_by=canonical_name", "sort_by"},
		{ok + "&sort_order=up", "sort_order"},
		{ok + "&format=xml", "format"},
		{ok + "&display_all=yes", "display_all"},
		{ok + "&colour=red", "colour"},
		{ok + "&granularity=monthly", "granularity"},
		{ok + "&bin_size=day&bin_size=week", "bin_size"},
		{ok + "&start_date=2026-02-01", "start_date"},
		{ok + "&application_ids=" + appAlpha + ",nope", "application_ids"},
		{ok + "&department_ids=x", "department_ids"},
		{ok + "&user_ids=123", "user_ids"},
		{ok + "&category_ids=" + cat1 + ";" + cat2, "category_ids"},
		{ok + "&vendor_ids=" + vendor1 + "x", "vendor_ids"},
		{ok + "&page_size=0", "page_size"},
		{ok + "&page_size=201", "page_size"},
		{ok + "&page_size=ten", "page_size"},
		{ok + "&cursor=garbage!", "cursor"},
		{ok + "&format=csv&page_size=10", "page_size"},
		{ok + "&format=csv&cursor=abc", "cursor"},
	} {
		expectUsage400(t, a, c.query, c.param)
	}
	// The edges that are fine: 366 days, page sizes 1 and 200, an explicit format=json.
	for _, q := range []string{"start_date=2025-01-01&end_date=2026-01-01", ok + "&page_size=1", ok + "&page_size=200", ok + "&format=json&display_all=false"} {
		if resp := a.get(usagePath + "?" + q); resp.StatusCode() != 200 {
			t.Errorf("?%s: %d %s, want 200", q, resp.StatusCode(), resp.Body())
		}
	}
}
