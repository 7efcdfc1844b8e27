package handlers_test

// Black-box tests of GET /v2/clients/{client_id}/analytics/users/usage and
// its /export (per-user usage, the users dimension, privacy modes; spec
// user-usage.md). Every expected value is worked out by hand from the
// fixture rows (fixture_test.go) plus uuExtraUsage and uuUsersCSV below;
// none is taken from the implementation.
//
// The fixture client's rows the tests read (date app user ms sessions):
//
//	r1  2025-12-01 Alpha   user1 1    1
//	r2  2026-01-10 Alpha   user1 1000 1
//	r3  2026-01-10 Alpha   user2 1000 1
//	r4  2026-02-02 Alpha   user1 3000 2
//	r5  2026-02-03 Alpha   user1 3000 2
//	r6  2026-02-02 Alpha   user2 1000 1
//	r7  2026-02-09 Alpha   user3 500  1
//	r8  2026-02-16 Alpha   user4 700  3
//	r9  2026-02-01 beta    user1 100  1   (r9..r13: Feb 1..5, 100 ms, 1 session each)
//	r14 2026-01-05 ÉCLAIR  user2 10   1
//	r15 2026-02-10 ÉCLAIR  user2 50   1
//	r16 2026-02-10 ÉCLAIR  user3 50   1
//	r17 2026-01-20 Dropped user1 999  4
//	r18 2026-02-28 New     user4 300  1
//	r19 2026-02-01 Gamma   user3 10   1
//	r20 2026-03-01 Gamma   user3 5    1
//	r21 2026-03-01 Later   user1 40   1
//	X1  2026-02-05 ÉCLAIR  user1 500  1   user1's 2nd-4th apps tie at 500 ms
//	X2  2026-02-05 Gamma   user1 500  0
//	X3  2026-02-10 Alpha   user3 490  0   user3 ties user2 at 1050 ms in February
//	X4  2026-02-16 beta    user4 8000 1   user4: 9000 ms in February = 0.0025 h exactly
//	X5  2026-02-27 Alpha   user5 9000 2   user5: 18000 ms in February = 0.005 h exactly
//	X6  2026-02-28 Later   user5 9000 3
//	X7  2026-03-15 Alpha   user2 100  1   March: three users tie at 100 ms
//	X8  2026-03-15 Alpha   user9 100  1
//	X9  2026-03-15 Alpha   user10 100 1
//	X10 2026-04-01 Alpha   user7 5400000 3   user7, April only: 1.5 h of Alpha,
//	X11 2026-04-02 beta    user7 3546000 1   8946000 ms = 2.485 h in all
//
// users.csv: user1 "Zoë Müller" zoe@example.com; user2 "Dupont, Jean"
// jean@example.com; user3 `=HYPERLINK("x")` without email; user5 without
// name, u5@example.org; user8 "Never Active" never@example.com (no usage);
// user9 "Straße" without email; user10 "STRASSE" s10@example.net (both
// fold to "strasse"); the other client's row for user1's id, "Wrong
// Client" wrong@example.com. user4 and user7 have no row: name and email
// null. Departments: user1 dept1; user2 dept1 and dept2; user3 dept2; the
// others none.
//
// The other client (otherClient) has its own two apps, three users (two
// with users.csv rows, in deptP) and four usage rows, all in February:
//
//	P-r1 2026-02-03 PChat userP1 5000 2
//	P-r2 2026-02-04 PDocs userP1 100  1
//	P-r3 2026-02-03 PChat userP2 3000 1
//	P-r4 2026-02-10 PDocs userP3 700  1

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

const (
	// uuUsersFile is dataset.UsersFile, spelled out so that this file
	// compiles before the constant lands.
	uuUsersFile = "users.csv"

	user7  = "b0000000-0000-4000-8000-000000000007" // April only, no users.csv row
	user8  = "b0000000-0000-4000-8000-000000000008" // a users.csv row, no usage
	user9  = "b0000000-0000-4000-8000-000000000009" // "Straße"
	user10 = "b0000000-0000-4000-8000-000000000010" // "STRASSE"

	// The other client's apps, users, department and vendor.
	appP1   = "a0000000-0000-4000-8000-0000000000e1"
	appP2   = "a0000000-0000-4000-8000-0000000000e2"
	userP1  = "b0000000-0000-4000-8000-0000000000e1"
	userP2  = "b0000000-0000-4000-8000-0000000000e2"
	userP3  = "b0000000-0000-4000-8000-0000000000e3" // no users.csv row
	deptP   = "d0000000-0000-4000-8000-0000000000e1"
	vendorP = "f0000000-0000-4000-8000-0000000000e1"

	uuHeader = "user_id,display_name,email,department_ids,active_time_ms,active_hours,session_count,active_days,apps_used,first_active_date,last_active_date,top_app_names"

	uuJan       = "start_date=2026-01-01&end_date=2026-01-31"
	uuJan20Mar1 = "start_date=2026-01-20&end_date=2026-03-01"
	uuMar       = "start_date=2026-03-01&end_date=2026-03-31"
	uuApr       = "start_date=2026-04-01&end_date=2026-04-30"
	// feb (utilization_test.go) is start_date=2026-02-01&end_date=2026-02-28.
)

var uuExtraUsage = []string{
	"2026-02-05," + appEclair + "," + user1 + ",500,1",
	"2026-02-05," + appGamma + "," + user1 + ",500,0",
	"2026-02-10," + appAlpha + "," + user3 + ",490,0",
	"2026-02-16," + appBeta + "," + user4 + ",8000,1",
	"2026-02-27," + appAlpha + "," + user5 + ",9000,2",
	"2026-02-28," + appLater + "," + user5 + ",9000,3",
	"2026-03-15," + appAlpha + "," + user2 + ",100,1",
	"2026-03-15," + appAlpha + "," + user9 + ",100,1",
	"2026-03-15," + appAlpha + "," + user10 + ",100,1",
	"2026-04-01," + appAlpha + "," + user7 + ",5400000,3",
	"2026-04-02," + appBeta + "," + user7 + ",3546000,1",
}

var uuUsersCSV = "client_id,user_id,display_name,email\n" +
	client + "," + user1 + ",Zoë Müller,zoe@example.com\n" +
	client + "," + user2 + ",\"Dupont, Jean\",jean@example.com\n" +
	client + "," + user3 + ",\"=HYPERLINK(\"\"x\"\")\",\n" +
	client + "," + user5 + ",,u5@example.org\n" +
	client + "," + user8 + ",Never Active,never@example.com\n" +
	client + "," + user9 + ",Straße,\n" +
	client + "," + user10 + ",STRASSE,s10@example.net\n" +
	otherClient + "," + user1 + ",Wrong Client,wrong@example.com\n" +
	otherClient + "," + userP1 + ",Priya Secretname,priya.secret@private.example\n" +
	otherClient + "," + userP2 + ",Olaf Hiddenperson,olaf.hidden@private.example\n"

// uuClientsCSV is clients.csv with the privacy column.
func uuClientsCSV(clientPrivacy, otherPrivacy string) string {
	return "client_id,name,timezone,privacy\n" + client + ",Fixture Co,UTC," + clientPrivacy + "\n" + otherClient + ",Other Co,UTC," + otherPrivacy + "\n"
}

// writeUUFixture writes the fixture, uuExtraUsage, users.csv and the
// other client's apps, departments and usage; clientsCSV, if not empty,
// replaces writeFixture's three-column clients.csv.
func writeUUFixture(t *testing.T, clientsCSV string) string {
	t.Helper()
	dir := writeFixture(t, nil, uuExtraUsage)
	if clientsCSV != "" {
		uuWriteFile(t, filepath.Join(dir, dataset.ClientsFile), clientsCSV)
	}
	uuWriteFile(t, filepath.Join(dir, uuUsersFile), uuUsersCSV)
	for _, app := range []string{appP1 + ",ca000000-0000-4000-8000-0000000000e1,Private Chat", appP2 + ",ca000000-0000-4000-8000-0000000000e2,Private Docs"} {
		appendLine(t, filepath.Join(dir, dataset.AppsFile), otherClient+","+app+",,browser,"+vendorP+",Private Vendor,https://p.example,,,false,false,,low")
	}
	appendLine(t, filepath.Join(dir, dataset.DepartmentsFile), otherClient+","+userP1+","+deptP)
	appendLine(t, filepath.Join(dir, dataset.DepartmentsFile), otherClient+","+userP2+","+deptP)
	for _, u := range []string{
		"2026-02-03," + appP1 + "," + userP1 + ",5000,2",
		"2026-02-04," + appP2 + "," + userP1 + ",100,1",
		"2026-02-03," + appP1 + "," + userP2 + ",3000,1",
		"2026-02-10," + appP2 + "," + userP3 + ",700,1",
	} {
		appendLine(t, filepath.Join(dir, dataset.UsageFile), otherClient+","+u)
	}
	return dir
}

func uuWriteFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadUU(t *testing.T, clientsCSV string) *api {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := dataset.Load(context.Background(), conn, writeUUFixture(t, clientsCSV), nil); err != nil {
		t.Fatalf("cannot load the fixture: %v", err)
	}
	return serveAPI(t, conn, nil)
}

// newUUAPI serves the fixture with the client identified explicitly and
// the other client's privacy cell empty.
func newUUAPI(t *testing.T) *api {
	t.Helper()
	return loadUU(t, uuClientsCSV("identified", ""))
}

func uuPath(clientID string) string { return "/v2/clients/" + clientID + "/analytics/users/usage" }

var uuAppName = map[string]string{
	appAlpha: "Alpha Chat", appBeta: "beta Docs", appEclair: "ÉCLAIR Pro", appDropped: "Dropped App", appNever: "Never Used",
	appNew: "New Tool", appGamma: "Gamma", appLater: "Later App", appP1: "Private Chat", appP2: "Private Docs",
}

var uuLabels = map[string]string{
	user7: "user7", user8: "user8", user9: "user9", user10: "user10",
	appP1: "PChat", appP2: "PDocs", userP1: "userP1", userP2: "userP2", userP3: "userP3", deptP: "deptP",
}

func uuLabel(id string) string {
	if l, ok := uuLabels[id]; ok {
		return l
	}
	return labelOf(id)
}

// Decoded shapes; the exact key sets are checked on the raw JSON.
type uuUserJSON struct {
	ID            string   `json:"id"`
	DisplayName   *string  `json:"display_name"`
	Email         *string  `json:"email"`
	DepartmentIDs []string `json:"department_ids"`
}

type uuTopAppJSON struct {
	AppID        string `json:"app_id"`
	Name         string `json:"name"`
	ActiveTimeMS int64  `json:"active_time_ms"`
}

type uuRowJSON struct {
	User            uuUserJSON     `json:"user"`
	ActiveTimeMS    int64          `json:"active_time_ms"`
	SessionCount    int64          `json:"session_count"`
	ActiveDays      int64          `json:"active_days"`
	AppsUsed        int64          `json:"apps_used"`
	FirstActiveDate string         `json:"first_active_date"`
	LastActiveDate  string         `json:"last_active_date"`
	TopApps         []uuTopAppJSON `json:"top_apps"`
}

type uuPageJSON struct {
	Period struct {
		StartDate string `json:"start_date"`
		EndDate   string `json:"end_date"`
	} `json:"period"`
	Data       []uuRowJSON `json:"data"`
	TotalCount int         `json:"total_count"`
	NextCursor *string     `json:"next_cursor"`
}

// uuKeys decodes raw as an object and reports keys other than want.
func uuKeys(t *testing.T, what string, raw json.RawMessage, want ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s: not an object: %v in %s", what, err, raw)
		return nil
	}
	if got, w := keysOf(m), slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
		t.Errorf("%s: keys %v, want exactly %v", what, got, w)
	}
	return m
}

func uuIsArray(raw json.RawMessage) bool {
	return strings.HasPrefix(strings.TrimSpace(string(raw)), "[")
}

// checkUUShape checks the exact keys of an answer, its period and rows, and
// that department_ids and top_apps are arrays, never null.
func checkUUShape(t *testing.T, what string, body []byte) {
	t.Helper()
	top := uuKeys(t, what, body, "period", "data", "total_count", "next_cursor", "data_as_of")
	if top == nil {
		return
	}
	uuKeys(t, what+" period", top["period"], "start_date", "end_date")
	var rows []json.RawMessage
	if err := json.Unmarshal(top["data"], &rows); err != nil || !uuIsArray(top["data"]) {
		t.Errorf("%s: data is not an array: %s", what, top["data"])
	}
	for i, r := range rows {
		row := uuKeys(t, fmt.Sprintf("%s row %d", what, i), r, "user", "active_time_ms", "session_count", "active_days", "apps_used",
			"first_active_date", "last_active_date", "top_apps")
		if row == nil {
			continue
		}
		user := uuKeys(t, fmt.Sprintf("%s row %d user", what, i), row["user"], "id", "display_name", "email", "department_ids")
		if user != nil && !uuIsArray(user["department_ids"]) {
			t.Errorf("%s row %d: department_ids %s, want an array", what, i, user["department_ids"])
		}
		var tops []json.RawMessage
		if err := json.Unmarshal(row["top_apps"], &tops); err != nil || !uuIsArray(row["top_apps"]) {
			t.Errorf("%s row %d: top_apps %s, want an array", what, i, row["top_apps"])
		}
		for j, ta := range tops {
			uuKeys(t, fmt.Sprintf("%s row %d top app %d", what, i, j), ta, "app_id", "name", "active_time_ms")
		}
	}
}

// userUsage fetches a JSON page of clientID (the fixture client's token
// unless tok is given) and fails the test on anything but 200.
func (a *api) userUsage(clientID, query string, tok ...string) (uuPageJSON, []byte) {
	a.t.Helper()
	resp := a.get(uuPath(clientID)+"?"+query, tok...)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET users/usage?%s: %d %s", query, resp.StatusCode(), resp.Body())
	}
	body := slices.Clone(resp.Body())
	checkUUShape(a.t, "users/usage?"+query, body)
	var p uuPageJSON
	if err := json.Unmarshal(body, &p); err != nil {
		a.t.Fatalf("GET users/usage?%s: %v in %s", query, err, body)
	}
	q, _ := url.ParseQuery(query)
	if p.Period.StartDate != q.Get("start_date") || p.Period.EndDate != q.Get("end_date") {
		a.t.Errorf("users/usage?%s: period %+v", query, p.Period)
	}
	return p, body
}

func uuOptQ(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// uuRender writes rows one a line:
//
//	user1 "Zoë Müller" "zoe@example.com" [dept1] 7500 10 5 4 2026-02-01..2026-02-05 Alpha:6000 beta:500 Eclair:500
//
// id, display_name, email, department_ids, active_time_ms, session_count,
// active_days, apps_used, first..last, top_apps as app:ms (a top app whose
// name is not its app's gets "(name …)").
func uuRender(rows []uuRowJSON, label func(string) string) string {
	var b strings.Builder
	for _, r := range rows {
		var depts []string
		for _, d := range r.User.DepartmentIDs {
			depts = append(depts, label(d))
		}
		f := []string{label(r.User.ID), uuOptQ(r.User.DisplayName), uuOptQ(r.User.Email), "[" + strings.Join(depts, " ") + "]",
			fmt.Sprintf("%d %d %d %d %s..%s", r.ActiveTimeMS, r.SessionCount, r.ActiveDays, r.AppsUsed, r.FirstActiveDate, r.LastActiveDate)}
		for _, ta := range r.TopApps {
			s := fmt.Sprintf("%s:%d", label(ta.AppID), ta.ActiveTimeMS)
			if ta.Name != uuAppName[ta.AppID] {
				s += fmt.Sprintf("(name %q)", ta.Name)
			}
			f = append(f, s)
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

// February 2026 (feb), every user with usage:
//
//	user1: r4, r5 (Alpha 6000/4), r9-r13 (beta 500/5), X1 (ÉCLAIR 500/1), X2 (Gamma 500/0): 7500 ms,
//	  10 sessions, days Feb 1-5 = 5, 4 apps; top Alpha 6000, then the 500s by app id: beta (…02),
//	  ÉCLAIR (…03); Gamma (…07) is fourth and left out.
//	user2: r6 (Alpha 1000/1, Feb 2), r15 (ÉCLAIR 50/1, Feb 10): 1050 ms, 2, 2 days, 2 apps.
//	user3: r19 (Gamma 10/1, Feb 1), r7 (Alpha 500/1, Feb 9), r16 (ÉCLAIR 50/1) and X3 (Alpha 490/0) on
//	  Feb 10: 1050 ms, 3 sessions, 3 days, 3 apps; Alpha 500+490 = 990.
//	user4: r8 (Alpha 700/3) and X4 (beta 8000/1) on Feb 16, r18 (New 300/1, Feb 28): 9000 ms, 5, 2 days, 3 apps.
//	user5: X5 (Alpha 9000/2, Feb 27), X6 (Later 9000/3, Feb 28): 18000 ms, 5, 2 days, 2 apps; the tie at
//	  9000 goes by app id: Alpha (…01) before Later (…08).
//	user7 (April), user8 (no usage), user9, user10 (March) are not listed.
var uuFeb = map[string]string{
	user1: `user1 "Zoë Müller" "zoe@example.com" [dept1] 7500 10 5 4 2026-02-01..2026-02-05 Alpha:6000 beta:500 Eclair:500`,
	user2: `user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 1050 2 2 2 2026-02-02..2026-02-10 Alpha:1000 Eclair:50`,
	user3: `user3 "=HYPERLINK(\"x\")" null [dept2] 1050 3 3 3 2026-02-01..2026-02-10 Alpha:990 Eclair:50 Gamma:10`,
	user4: `user4 null null [] 9000 5 2 3 2026-02-16..2026-02-28 beta:8000 Alpha:700 New:300`,
	user5: `user5 null "u5@example.org" [] 18000 5 2 2 2026-02-27..2026-02-28 Alpha:9000 Later:9000`,
}

// January 2026: r2, r17 (user1), r3, r14 (user2); r1 is of December.
var uuJanRows = map[string]string{
	user1: `user1 "Zoë Müller" "zoe@example.com" [dept1] 1999 5 2 2 2026-01-10..2026-01-20 Alpha:1000 Dropped:999`,
	user2: `user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 1010 2 2 2 2026-01-05..2026-01-10 Alpha:1000 Eclair:10`,
}

// Jan 20 .. Mar 1: user2, user4 and user5 as in February (r3, r14 are before the 20th).
//
//	user1: r17 (Dropped 999/4) + February (7500/10, Feb 1-5) + r21 (Later 40/1, Mar 1): 8539 ms, 15 sessions,
//	  7 days, 6 apps (Dropped, Alpha, beta, ÉCLAIR, Gamma, Later); top Alpha 6000, Dropped 999, then of the
//	  three at 500 the lowest app id, beta. First day Jan 20 (r2 of Jan 10 is outside), last Mar 1.
//	user3: February (1050/3) + r20 (Gamma 5/1, Mar 1): 1055 ms, 4, 4 days, 3 apps; Gamma 10+5 = 15.
var uuJan20Mar1Rows = map[string]string{
	user1: `user1 "Zoë Müller" "zoe@example.com" [dept1] 8539 15 7 6 2026-01-20..2026-03-01 Alpha:6000 Dropped:999 beta:500`,
	user2: uuFeb[user2],
	user3: `user3 "=HYPERLINK(\"x\")" null [dept2] 1055 4 4 3 2026-02-01..2026-03-01 Alpha:990 Eclair:50 Gamma:15`,
	user4: uuFeb[user4],
	user5: uuFeb[user5],
}

// March 2026: r20, r21 on Mar 1, X7-X9 on Mar 15; one row each.
var uuMarRows = map[string]string{
	user1:  `user1 "Zoë Müller" "zoe@example.com" [dept1] 40 1 1 1 2026-03-01..2026-03-01 Later:40`,
	user2:  `user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 100 1 1 1 2026-03-15..2026-03-15 Alpha:100`,
	user3:  `user3 "=HYPERLINK(\"x\")" null [dept2] 5 1 1 1 2026-03-01..2026-03-01 Gamma:5`,
	user9:  `user9 "Straße" null [] 100 1 1 1 2026-03-15..2026-03-15 Alpha:100`,
	user10: `user10 "STRASSE" "s10@example.net" [] 100 1 1 1 2026-03-15..2026-03-15 Alpha:100`,
}

// April 2026: X10, X11 only. 5400000 + 3546000 = 8946000 ms; 3 + 1 sessions.
const uuAprUser7 = `user7 null null [] 8946000 4 2 2 2026-04-01..2026-04-02 Alpha:5400000 beta:3546000`

// uuPick lists the rows of m for ids, in that order.
func uuPick(m map[string]string, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		r, ok := m[id]
		if !ok {
			panic("no row for " + id)
		}
		out[i] = r
	}
	return out
}

type uuCase struct {
	name, query string
	want        []string // rendered rows, in order; total_count is their number
}

func checkUU(t *testing.T, a *api, c uuCase) {
	t.Helper()
	p, _ := a.userUsage(client, c.query)
	if p.TotalCount != len(c.want) || p.NextCursor != nil {
		t.Errorf("%s: total_count %d next_cursor %v, want %d and null", c.name, p.TotalCount, p.NextCursor, len(c.want))
	}
	if got, want := uuRender(p.Data, uuLabel), lines(c.want...); got != want {
		t.Errorf("%s: ?%s\ngot:\n%swant:\n%s", c.name, c.query, got, want)
	}
}

func TestUserUsageRowsByHand(t *testing.T) {
	a := newUUAPI(t)
	for _, c := range []uuCase{{
		// By active time, descending: 18000, 9000, 7500, then the tie at 1050 by user id descending.
		name:  "February, defaults",
		query: feb,
		want:  uuPick(uuFeb, user5, user4, user1, user3, user2),
	}, {
		name:  "January: only users 1 and 2 have usage",
		query: uuJan,
		want:  uuPick(uuJanRows, user1, user2),
	}, {
		// 18000, 9000, 8539, 1055, 1050: first and last days within the period.
		name:  "Jan 20 to Mar 1",
		query: uuJan20Mar1,
		want:  uuPick(uuJan20Mar1Rows, user5, user4, user1, user3, user2),
	}, {
		// 100 ms three times (user10, user9, user2 by id descending), 40, 5.
		name:  "March, a three-way tie",
		query: uuMar,
		want:  uuPick(uuMarRows, user10, user9, user2, user1, user3),
	}, {
		name:  "April, a user without a users.csv row and hours above 1",
		query: uuApr,
		want:  []string{uuAprUser7},
	}, {
		name:  "a period without usage",
		query: "start_date=2026-05-01&end_date=2026-05-31",
	}, {
		// Alpha only: user5 X5 9000/2; user1 r4, r5 6000/4 (Feb 2, 3); user2 r6 1000/1; user3 r7 500/1 (Feb 9)
		// + X3 490/0 (Feb 10, no session, still an active day and the last one); user4 r8 700/3.
		name:  "application_ids=Alpha",
		query: feb + "&application_ids=" + appAlpha,
		want: []string{
			`user5 null "u5@example.org" [] 9000 2 1 1 2026-02-27..2026-02-27 Alpha:9000`,
			`user1 "Zoë Müller" "zoe@example.com" [dept1] 6000 4 2 1 2026-02-02..2026-02-03 Alpha:6000`,
			`user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 1000 1 1 1 2026-02-02..2026-02-02 Alpha:1000`,
			`user3 "=HYPERLINK(\"x\")" null [dept2] 990 1 2 1 2026-02-09..2026-02-10 Alpha:990`,
			`user4 null null [] 700 3 1 1 2026-02-16..2026-02-16 Alpha:700`,
		},
	}, {
		// New Tool is only r18 (user4), Later App in February only X6 (user5); the others are left out.
		name:  "application_ids=New,Later",
		query: feb + "&application_ids=" + appNew + "," + appLater,
		want: []string{
			`user5 null "u5@example.org" [] 9000 3 1 1 2026-02-28..2026-02-28 Later:9000`,
			`user4 null null [] 300 1 1 1 2026-02-28..2026-02-28 New:300`,
		},
	}, {
		name:  "application_ids of an app without usage",
		query: feb + "&application_ids=" + appNever,
	}, {
		name:  "department_ids=dept1",
		query: feb + "&department_ids=" + dept1,
		want:  uuPick(uuFeb, user1, user2),
	}, {
		// user2 still lists both of its departments.
		name:  "department_ids=dept2",
		query: feb + "&department_ids=" + dept2,
		want:  uuPick(uuFeb, user3, user2),
	}, {
		// user2 is in both and listed once.
		name:  "department_ids=dept1,dept2",
		query: feb + "&department_ids=" + dept1 + "," + dept2,
		want:  uuPick(uuFeb, user1, user3, user2),
	}, {
		// r15 (user2) and r16 (user3): 50 ms each on Feb 10; the tie by user id descending.
		name:  "department_ids and application_ids",
		query: feb + "&department_ids=" + dept2 + "&application_ids=" + appEclair,
		want: []string{
			`user3 "=HYPERLINK(\"x\")" null [dept2] 50 1 1 1 2026-02-10..2026-02-10 Eclair:50`,
			`user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 50 1 1 1 2026-02-10..2026-02-10 Eclair:50`,
		},
	}, {
		name:  "department_ids and application_ids, ascending: the tie by user id ascending",
		query: feb + "&department_ids=" + dept2 + "&application_ids=" + appEclair + "&sort_order=asc",
		want: []string{
			`user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 50 1 1 1 2026-02-10..2026-02-10 Eclair:50`,
			`user3 "=HYPERLINK(\"x\")" null [dept2] 50 1 1 1 2026-02-10..2026-02-10 Eclair:50`,
		},
	}} {
		checkUU(t, a, c)
	}
}

func TestUserUsageSearch(t *testing.T) {
	a := newUUAPI(t)
	q := func(period, s string) string { return period + "&q=" + url.QueryEscape(s) }
	for _, c := range []uuCase{
		{name: "upper-case Ë", query: q(feb, "ZOË"), want: uuPick(uuFeb, user1)},
		{name: "lower-case ü", query: q(feb, "müller"), want: uuPick(uuFeb, user1)},
		{name: "upper-case Ü", query: q(feb, "MÜLLER"), want: uuPick(uuFeb, user1)},
		// zoe@ and jean@; u5@example.org does not match, never@example.com has no usage, and
		// wrong@example.com is the other client's row.
		{name: "emails, upper case", query: q(feb, "EXAMPLE.COM"), want: uuPick(uuFeb, user1, user2)},
		{name: "example, in three emails", query: q(feb, "example"), want: uuPick(uuFeb, user5, user1, user2)},
		{name: "a comma inside the name", query: q(feb, "dupont, J"), want: uuPick(uuFeb, user2)},
		{name: "quotes and a parenthesis", query: q(feb, `HYPERLINK("X")`), want: uuPick(uuFeb, user3)},
		{name: "an email of a user without a name", query: q(feb, "U5@"), want: uuPick(uuFeb, user5)},
		{name: "a user with a row but no usage", query: q(feb, "never")},
		{name: "another client's row for user1's id", query: q(feb, "wrong")},
		{name: "user ids are not searched", query: q(feb, "b0000000")},
		{name: "no match", query: q(feb, "zz")},
		{name: "users with usage in other months only", query: q(feb, "strasse")},
		// Straße and STRASSE both fold to "strasse" (ß → ss); the 100 ms tie by user id descending.
		{name: "ß folds to ss", query: q(uuMar, "straße"), want: uuPick(uuMarRows, user10, user9)},
		{name: "STRASSE", query: q(uuMar, "STRASSE"), want: uuPick(uuMarRows, user10, user9)},
		{name: "ß alone", query: q(uuMar, "ß"), want: uuPick(uuMarRows, user10, user9)},
		{name: "with department_ids", query: q(feb, "example.com") + "&department_ids=" + dept2, want: uuPick(uuFeb, user2)},
		{name: "with application_ids: user1's X1, user2's r15", query: q(feb, "example.com") + "&application_ids=" + appEclair, want: []string{
			`user1 "Zoë Müller" "zoe@example.com" [dept1] 500 1 1 1 2026-02-05..2026-02-05 Eclair:500`,
			`user2 "Dupont, Jean" "jean@example.com" [dept1 dept2] 50 1 1 1 2026-02-10..2026-02-10 Eclair:50`,
		}},
	} {
		checkUU(t, a, c)
	}
}

// Hours are active_time_ms / 3 600 000, compared exactly: 0.0025 h is
// 9000 ms (user4 in February), 0.005 h is 18000 ms (user5), 2.485 h is
// 8946000 ms and 1.5 h is 5400000 ms (user7 in April, all apps / Alpha).
func TestUserUsageHours(t *testing.T) {
	a := newUUAPI(t)
	const user7Alpha = `user7 null null [] 5400000 3 1 1 2026-04-01..2026-04-01 Alpha:5400000`
	all := uuPick(uuFeb, user5, user4, user1, user3, user2)
	for _, c := range []uuCase{
		{name: "min at user4 exactly", query: feb + "&min_hours=0.0025", want: uuPick(uuFeb, user5, user4)},
		{name: "min with a trailing zero", query: feb + "&min_hours=0.00250", want: uuPick(uuFeb, user5, user4)},
		{name: "min just above user4 (9000.36 ms)", query: feb + "&min_hours=0.0025001", want: uuPick(uuFeb, user5)},
		{name: "max at user4 exactly", query: feb + "&max_hours=0.0025", want: uuPick(uuFeb, user4, user1, user3, user2)},
		{name: "max just below user4 (8999.64 ms)", query: feb + "&max_hours=0.0024999", want: uuPick(uuFeb, user1, user3, user2)},
		{name: "min = max at user4", query: feb + "&min_hours=0.0025&max_hours=0.0025", want: uuPick(uuFeb, user4)},
		{name: "min = max at user5", query: feb + "&min_hours=0.005&max_hours=0.005", want: uuPick(uuFeb, user5)},
		{name: "both boundaries kept", query: feb + "&min_hours=0.0025&max_hours=0.005", want: uuPick(uuFeb, user5, user4)},
		{name: "around user1's 7500 ms (7499.88 .. 7500.24)", query: feb + "&min_hours=0.0020833&max_hours=0.0020834", want: uuPick(uuFeb, user1)},
		{name: "min 1049.976 ms keeps the 1050s", query: feb + "&min_hours=0.00029166", want: all},
		{name: "min 1050.12 ms drops the 1050s", query: feb + "&min_hours=0.0002917", want: uuPick(uuFeb, user5, user4, user1)},
		{name: "min 0", query: feb + "&min_hours=0", want: all},
		{name: "0 to 1 hour", query: feb + "&min_hours=0&max_hours=1", want: all},
		{name: "integer min, nobody", query: feb + "&min_hours=1"},
		{name: "max 0, nobody", query: feb + "&max_hours=0"},
		// Hours count the scope: user4 has 700 ms of Alpha, user5 9000.
		{name: "min with application_ids", query: feb + "&min_hours=0.0025&application_ids=" + appAlpha,
			want: []string{`user5 null "u5@example.org" [] 9000 2 1 1 2026-02-27..2026-02-27 Alpha:9000`}},
		// 0.0003 h = 1080 ms.
		{name: "max with department_ids", query: feb + "&max_hours=0.0003&department_ids=" + dept1 + "," + dept2, want: uuPick(uuFeb, user3, user2)},
		{name: "min = max at 2.485 h", query: uuApr + "&min_hours=2.485&max_hours=2.485", want: []string{uuAprUser7}},
		{name: "min just above 2.485 h", query: uuApr + "&min_hours=2.4850001"},
		{name: "max just below 2.485 h", query: uuApr + "&max_hours=2.4849999"},
		{name: "min = max at 1.5 h of Alpha", query: uuApr + "&min_hours=1.5&max_hours=1.5&application_ids=" + appAlpha, want: []string{user7Alpha}},
	} {
		checkUU(t, a, c)
	}
}

// Descending orders, ties by user id descending; ascending is each
// reversed (ties by user id ascending).
//
// February (uuFeb): active_time 18000, 9000, 7500, 1050 (user3, user2);
// session_count 10, 5 (user5, user4), 3, 2; active_days 5, 3, 2 (user5,
// user4, user2); apps_used 4, 3 (user4, user3), 2 (user5, user2);
// last_active_date Feb 28 (user5, user4), Feb 10 (user3, user2), Feb 5;
// display_name folded: "zoë müller" > "dupont, jean" > "=hyperlink(\"x\")"
// ('=' is 0x3D) > null as "" (user5, user4).
//
// March (uuMarRows): every count is 1, so session_count, active_days and
// apps_used are by id alone; active_time 100 (user10, user9, user2), 40,
// 5; last_active_date Mar 15 (user10, user9, user2), Mar 1 (user3,
// user1); display_name "zoë müller" > "strasse" (user10 "STRASSE", user9
// "Straße": a tie, by id) > "dupont, jean" > "=hyperlink…". Byte order
// without folding would put "STRASSE" before "Straße" and lower-casing
// alone "strasse" before "straße": both differ.
var uuOrders = []struct {
	period string
	rows   map[string]string
	desc   map[string][]string
}{{feb, uuFeb, map[string][]string{
	"active_time":      {user5, user4, user1, user3, user2},
	"session_count":    {user1, user5, user4, user3, user2},
	"active_days":      {user1, user3, user5, user4, user2},
	"apps_used":        {user1, user4, user3, user5, user2},
	"last_active_date": {user5, user4, user3, user2, user1},
	"display_name":     {user1, user2, user3, user5, user4},
}}, {uuMar, uuMarRows, map[string][]string{
	"active_time":      {user10, user9, user2, user1, user3},
	"session_count":    {user10, user9, user3, user2, user1},
	"active_days":      {user10, user9, user3, user2, user1},
	"apps_used":        {user10, user9, user3, user2, user1},
	"last_active_date": {user10, user9, user2, user3, user1},
	"display_name":     {user1, user10, user9, user2, user3},
}}}

func TestUserUsageSortsEveryWay(t *testing.T) {
	a := newUUAPI(t)
	for _, o := range uuOrders {
		for sortBy, desc := range o.desc {
			for _, order := range []string{"desc", "asc", ""} {
				want := slices.Clone(desc)
				if order == "asc" {
					slices.Reverse(want)
				}
				q := o.period + "&sort_by=" + sortBy
				if order != "" {
					q += "&sort_order=" + order
				}
				checkUU(t, a, uuCase{name: "sort", query: q, want: uuPick(o.rows, want...)})
			}
		}
		// Without sort_by: active_time.
		asc := slices.Clone(o.desc["active_time"])
		slices.Reverse(asc)
		checkUU(t, a, uuCase{name: "default sort_by", query: o.period, want: uuPick(o.rows, o.desc["active_time"]...)})
		checkUU(t, a, uuCase{name: "default sort_by, asc", query: o.period + "&sort_order=asc", want: uuPick(o.rows, asc...)})
	}
}

// walkUU pages through q with page_size size and returns every row, the
// page bodies, and checks total_count, page sizes and cursors on the way.
func walkUU(t *testing.T, a *api, clientID, q string, size int, tok ...string) ([]uuRowJSON, [][]byte) {
	t.Helper()
	var rows []uuRowJSON
	var bodies [][]byte
	cursor, total := "", -1
	for page := 0; ; page++ {
		if page > 50 {
			t.Fatalf("?%s: more than 50 pages of %d", q, size)
		}
		p, body := a.userUsage(clientID, fmt.Sprintf("%s&page_size=%d%s", q, size, cursor), tok...)
		bodies = append(bodies, body)
		if total == -1 {
			total = p.TotalCount
		}
		if p.TotalCount != total || len(p.Data) > size || (p.NextCursor != nil && len(p.Data) != size) {
			t.Fatalf("?%s page %d: total_count %d (first page %d), %d rows of %d, cursor %v", q, page, p.TotalCount, total, len(p.Data), size, p.NextCursor)
		}
		rows = append(rows, p.Data...)
		if p.NextCursor == nil {
			if len(rows) != total {
				t.Errorf("?%s: %d rows walked, total_count %d", q, len(rows), total)
			}
			return rows, bodies
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
}

func TestUserUsageCursorWalkEqualsOnePage(t *testing.T) {
	a := newUUAPI(t)
	for _, q := range []string{
		feb,
		feb + "&sort_by=display_name&sort_order=asc",
		feb + "&sort_by=last_active_date&sort_order=asc",
		feb + "&sort_by=session_count",
		feb + "&sort_by=apps_used&sort_order=asc&min_hours=0.0025",
		feb + "&sort_by=active_days&sort_order=asc&department_ids=" + dept1 + "," + dept2,
		uuMar + "&sort_by=apps_used",
		uuMar + "&sort_by=display_name",
		uuJan20Mar1 + "&q=example",
	} {
		one, _ := walkUU(t, a, client, q, 200)
		if len(one) < 2 {
			t.Errorf("?%s: %d rows; the case proves nothing", q, len(one))
		}
		for _, size := range []int{1, 2} {
			got, _ := walkUU(t, a, client, q, size)
			if g, w := uuRender(got, uuLabel), uuRender(one, uuLabel); g != w {
				t.Errorf("?%s: pages of %d\n%sdiffer from one page\n%s", q, size, g, w)
			}
		}
	}
	// The walk is the hand-worked table.
	if got, _ := walkUU(t, a, client, feb, 2); uuRender(got, uuLabel) != lines(uuPick(uuFeb, user5, user4, user1, user3, user2)...) {
		t.Errorf("February in pages of 2:\n%s", uuRender(got, uuLabel))
	}
	// A cursor is bound to its request.
	p, _ := a.userUsage(client, feb+"&page_size=2")
	if p.NextCursor == nil || len(p.Data) != 2 || p.TotalCount != 5 {
		t.Fatalf("first page of 2: %d rows of %d, cursor %v", len(p.Data), p.TotalCount, p.NextCursor)
	}
	cur := "&page_size=2&cursor=" + url.QueryEscape(*p.NextCursor)
	for _, other := range []string{
		feb + "&sort_by=session_count",
		feb + "&sort_by=active_time&sort_order=asc",
		feb + "&q=example",
		feb + "&min_hours=0",
		feb + "&max_hours=1",
		feb + "&department_ids=" + dept1,
		feb + "&application_ids=" + appAlpha,
		"start_date=2026-02-01&end_date=2026-02-27",
		uuMar,
	} {
		expectUU400(t, a, uuPath(client)+"?"+other+cur, "cursor")
	}
	// The export takes no cursor, not even a good one.
	expectUU400(t, a, uuPath(client)+"/export?"+feb+"&cursor="+url.QueryEscape(*p.NextCursor), "cursor")
	// Nor does another endpoint's cursor work here.
	u := a.usage(feb + "&group_by=user&page_size=1")
	if u.NextCursor == nil {
		t.Fatalf("usage?group_by=user&page_size=1 has no cursor")
	}
	expectUU400(t, a, uuPath(client)+"?"+feb+"&page_size=1&cursor="+url.QueryEscape(*u.NextCursor), "cursor")
}

// uuCSV fetches an export, checks its framing and returns its body and
// records.
func uuCSV(t *testing.T, a *api, clientID, query string, tok ...string) (string, [][]string) {
	t.Helper()
	resp := a.get(uuPath(clientID)+"/export?"+query, tok...)
	if resp.StatusCode() != 200 {
		t.Fatalf("GET users/usage/export?%s: %d %s", query, resp.StatusCode(), resp.Body())
	}
	if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("export?%s: Content-Type %q", query, ct)
	}
	q, _ := url.ParseQuery(query)
	if cd, want := string(resp.Header.Peek("Content-Disposition")), `attachment; filename="user-usage-`+q.Get("start_date")+`-to-`+q.Get("end_date")+`.csv"`; cd != want {
		t.Errorf("export?%s: Content-Disposition %q, want %q", query, cd, want)
	}
	body := string(resp.Body())
	if !strings.HasSuffix(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		t.Errorf("export?%s: lines do not all end in CRLF: %q", query, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export?%s: not CSV: %v\n%s", query, err, body)
	}
	return body, recs
}

func uuCSVLines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

func TestUserUsageExportIsExact(t *testing.T) {
	a := newUUAPI(t)
	// February by active time. active_hours: 18000 ms = 0.005 h, half up to 0.01; 9000 ms = 0.0025 h
	// and 7500 ms = 0.00208 h to 0.00; 1050 ms to 0.00. user3's name starts with '=': a leading '
	// and, for its quotes, RFC 4180 quoting; the comma in "Dupont, Jean" is quoted too.
	body, _ := uuCSV(t, a, client, feb)
	want := uuCSVLines(uuHeader,
		user5+",,u5@example.org,,18000,0.01,5,2,2,2026-02-27,2026-02-28,Alpha Chat;Later App",
		user4+",,,,9000,0.00,5,2,3,2026-02-16,2026-02-28,beta Docs;Alpha Chat;New Tool",
		user1+",Zoë Müller,zoe@example.com,"+dept1+",7500,0.00,10,5,4,2026-02-01,2026-02-05,Alpha Chat;beta Docs;ÉCLAIR Pro",
		user3+`,"'=HYPERLINK(""x"")",,`+dept2+",1050,0.00,3,3,3,2026-02-01,2026-02-10,Alpha Chat;ÉCLAIR Pro;Gamma",
		user2+`,"Dupont, Jean",jean@example.com,`+dept1+";"+dept2+",1050,0.00,2,2,2,2026-02-02,2026-02-10,Alpha Chat;ÉCLAIR Pro")
	if body != want {
		t.Errorf("February export =\n%s\nwant\n%s", body, want)
	}
	// April: 8946000 ms = 2.485 h exactly, half up to 2.49 (a float64 division gives 2.4849999… and
	// %.2f 2.48); 5400000 ms = 1.50 with its trailing zero.
	body, _ = uuCSV(t, a, client, uuApr)
	if want := uuCSVLines(uuHeader, user7+",,,,8946000,2.49,4,2,2,2026-04-01,2026-04-02,Alpha Chat;beta Docs"); body != want {
		t.Errorf("April export =\n%s\nwant\n%s", body, want)
	}
	body, _ = uuCSV(t, a, client, uuApr+"&application_ids="+appAlpha)
	if want := uuCSVLines(uuHeader, user7+",,,,5400000,1.50,3,1,1,2026-04-01,2026-04-01,Alpha Chat"); body != want {
		t.Errorf("April Alpha export =\n%s\nwant\n%s", body, want)
	}
	// March by name ascending: the STRASSE/Straße tie by id ascending.
	body, _ = uuCSV(t, a, client, uuMar+"&sort_by=display_name&sort_order=asc")
	want = uuCSVLines(uuHeader,
		user3+`,"'=HYPERLINK(""x"")",,`+dept2+",5,0.00,1,1,1,2026-03-01,2026-03-01,Gamma",
		user2+`,"Dupont, Jean",jean@example.com,`+dept1+";"+dept2+",100,0.00,1,1,1,2026-03-15,2026-03-15,Alpha Chat",
		user9+",Straße,,,100,0.00,1,1,1,2026-03-15,2026-03-15,Alpha Chat",
		user10+",STRASSE,s10@example.net,,100,0.00,1,1,1,2026-03-15,2026-03-15,Alpha Chat",
		user1+",Zoë Müller,zoe@example.com,"+dept1+",40,0.00,1,1,1,2026-03-01,2026-03-01,Later App")
	if body != want {
		t.Errorf("March export =\n%s\nwant\n%s", body, want)
	}
	// No rows: the header alone.
	if body, _ := uuCSV(t, a, client, feb+"&application_ids="+appNever); body != uuHeader+"\r\n" {
		t.Errorf("empty export = %q", body)
	}
}

// uuHours is ms / 3 600 000 rounded half up to two decimals, in integers.
func uuHours(ms int64) string {
	cents := (ms*100 + 1_800_000) / 3_600_000
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

func uuOptCell(s *string) string {
	if s == nil {
		return ""
	}
	return neutralise(*s)
}

// uuCSVRow is the export record a JSON row must have.
func uuCSVRow(r uuRowJSON) []string {
	var names []string
	for _, ta := range r.TopApps {
		names = append(names, ta.Name)
	}
	return []string{r.User.ID, uuOptCell(r.User.DisplayName), uuOptCell(r.User.Email), strings.Join(r.User.DepartmentIDs, ";"),
		fmt.Sprint(r.ActiveTimeMS), uuHours(r.ActiveTimeMS), fmt.Sprint(r.SessionCount), fmt.Sprint(r.ActiveDays), fmt.Sprint(r.AppsUsed),
		r.FirstActiveDate, r.LastActiveDate, neutralise(strings.Join(names, ";"))}
}

func TestUserUsageExportAgreesWithJSON(t *testing.T) {
	a := newUUAPI(t)
	for _, q := range []string{
		feb,
		feb + "&sort_by=display_name&sort_order=asc",
		uuJan20Mar1 + "&sort_by=apps_used&sort_order=asc",
		uuMar + "&sort_by=display_name",
		uuApr,
		feb + "&department_ids=" + dept2 + "&application_ids=" + appEclair,
		feb + "&q=example&min_hours=0.0025",
		feb + "&sort_by=last_active_date&max_hours=0.0025",
	} {
		p, _ := a.userUsage(client, q+"&page_size=200")
		_, recs := uuCSV(t, a, client, q)
		if len(recs) == 0 || strings.Join(recs[0], ",") != uuHeader {
			t.Errorf("?%s: header %v", q, recs[:min(1, len(recs))])
			continue
		}
		if len(p.Data) == 0 {
			t.Errorf("?%s: no rows; the case proves nothing", q)
		}
		if len(recs)-1 != len(p.Data) || len(p.Data) != p.TotalCount {
			t.Errorf("?%s: %d CSV rows, %d JSON rows, total_count %d", q, len(recs)-1, len(p.Data), p.TotalCount)
			continue
		}
		for i, r := range p.Data {
			if want := uuCSVRow(r); !slices.Equal(recs[i+1], want) {
				t.Errorf("?%s: CSV row %d\n%q\nJSON gives\n%q", q, i+1, recs[i+1], want)
			}
		}
	}
}

// expectUU400 checks a 400 invalid_parameter in the error shape whose
// details name one of params.
func expectUU400(t *testing.T, a *api, pathQuery string, params ...string) {
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
	for _, p := range params {
		if _, ok := e.Error.Details[p]; ok {
			return
		}
	}
	t.Errorf("%s: details %v name none of %v", pathQuery, e.Error.Details, params)
}

func TestUserUsageRejectsBadInput(t *testing.T) {
	a := newUUAPI(t)
	bad := []struct {
		query  string
		params []string
	}{
		{"end_date=2026-02-28", []string{"start_date"}},
		{"start_date=2026-02-01", []string{"end_date"}},
		{"", []string{"start_date", "end_date"}},
		{"start_date=2026-02-30&end_date=2026-03-01", []string{"start_date"}},
		{"start_date=2026/02/01&end_date=2026-03-01", []string{"start_date"}},
		{"start_date=2026-02-01&end_date=28-02-2026", []string{"end_date"}},
		{"start_date=2026-02-10&end_date=2026-02-01", []string{"end_date", "start_date"}},
		{"start_date=2025-01-01&end_date=2026-01-02", []string{"start_date", "end_date"}}, // 367 days
		{feb + "&min_hours=abc", []string{"min_hours"}},
		{feb + "&max_hours=abc", []string{"max_hours"}},
		{feb + "&min_hours=-1", []string{"min_hours"}},
		{feb + "&max_hours=-0.5", []string{"max_hours"}},
		{feb + "&min_hours=NaN", []string{"min_hours"}},
		{feb + "&max_hours=Inf", []string{"max_hours"}},
		{feb + "&min_hours=0.005&max_hours=0.0025", []string{"max_hours", "min_hours"}},
		{feb + "&min_hours=0.0025001&max_hours=0.0025", []string{"max_hours", "min_hours"}},
		{feb + "&sort_by=active_time_ms", []string{"sort_by"}},
		{feb + "&sort_by=name", []string{"sort_by"}},
		{feb + "&sort_by=first_active_date", []string{"sort_by"}},
		{feb + "&sort_order=up", []string{"sort_order"}},
		{feb + "&colour=red", []string{"colour"}},
		{feb + "&granularity=monthly", []string{"granularity"}},
		{feb + "&user_ids=" + user1, []string{"user_ids"}}, // not a parameter of this endpoint
		{feb + "&start_date=2026-02-01", []string{"start_date"}},
		{feb + "&q=a&q=b", []string{"q"}},
		{feb + "&min_hours=0&min_hours=1", []string{"min_hours"}},
		{feb + "&sort_by=active_time&sort_by=active_time", []string{"sort_by"}},
		{feb + "&department_ids=x", []string{"department_ids"}},
		{feb + "&department_ids=" + dept1 + ";" + dept2, []string{"department_ids"}},
		{feb + "&application_ids=" + appAlpha + ",nope", []string{"application_ids"}},
		{feb + "&application_ids=" + appAlpha + "x", []string{"application_ids"}},
	}
	for _, c := range bad {
		expectUU400(t, a, uuPath(client)+"?"+c.query, c.params...)
		expectUU400(t, a, uuPath(client)+"/export?"+c.query, c.params...)
	}
	for _, c := range []struct{ query, param string }{
		{feb + "&page_size=0", "page_size"},
		{feb + "&page_size=201", "page_size"},
		{feb + "&page_size=ten", "page_size"},
		{feb + "&cursor=garbage!", "cursor"},
	} {
		expectUU400(t, a, uuPath(client)+"?"+c.query, c.param)
	}
	for _, c := range []struct{ query, param string }{
		{feb + "&page_size=10", "page_size"},
		{feb + "&page_size=50", "page_size"},
		{feb + "&cursor=abc", "cursor"},
	} {
		expectUU400(t, a, uuPath(client)+"/export?"+c.query, c.param)
	}
	// The edges that are fine.
	for _, q := range []string{
		"start_date=2025-01-01&end_date=2026-01-01", // 366 days
		feb + "&page_size=1", feb + "&page_size=200", feb + "&min_hours=0&max_hours=0", feb + "&min_hours=2&max_hours=2.5",
		feb + "&sort_by=display_name&sort_order=asc",
	} {
		if resp := a.get(uuPath(client) + "?" + q); resp.StatusCode() != 200 {
			t.Errorf("?%s: %d %s, want 200", q, resp.StatusCode(), resp.Body())
		}
	}
}

func TestUserUsageAuth(t *testing.T) {
	a := newUUAPI(t)
	unknown := "c0000000-0000-4000-8000-00000000dead"
	for _, path := range []string{"", "/export"} {
		for _, c := range []struct {
			clientID, tok string
			status        int
			code          string
		}{
			{client, "", 401, "unauthenticated"},
			{client, "not-a-token", 401, "unauthenticated"},
			{client, mint(t, otherClient, time.Hour), 403, "forbidden"},
			{unknown, mint(t, unknown, time.Hour), 404, "not_found"},
		} {
			resp := a.get(uuPath(c.clientID)+path+"?"+feb, c.tok)
			var e errorJSON
			_ = json.Unmarshal(resp.Body(), &e)
			if resp.StatusCode() != c.status || e.Error.Code != c.code {
				t.Errorf("%s%s with token %.12q: %d %s, want %d %s", uuPath(c.clientID), path, c.tok, resp.StatusCode(), resp.Body(), c.status, c.code)
			}
		}
	}
}

// Without the privacy column, and with an empty cell, a client is
// identified: names, emails and raw ids are shown.
func TestUserUsagePrivacyDefaults(t *testing.T) {
	// userP1: P-r1 5000/2 (Feb 3) + P-r2 100/1 (Feb 4); userP2: P-r3; userP3: P-r4 (no users.csv row).
	other := lines(
		`userP1 "Priya Secretname" "priya.secret@private.example" [deptP] 5100 3 2 2 2026-02-03..2026-02-04 PChat:5000 PDocs:100`,
		`userP2 "Olaf Hiddenperson" "olaf.hidden@private.example" [deptP] 3000 1 1 1 2026-02-03..2026-02-03 PChat:3000`,
		`userP3 null null [] 700 1 1 1 2026-02-10..2026-02-10 PDocs:700`)
	for name, clientsCSV := range map[string]string{"three columns": "", "empty cells": uuClientsCSV("", "")} {
		a := loadUU(t, clientsCSV)
		p, _ := a.userUsage(client, feb)
		if got, want := uuRender(p.Data, uuLabel), lines(uuPick(uuFeb, user5, user4, user1, user3, user2)...); got != want {
			t.Errorf("%s: the fixture client\n%swant\n%s", name, got, want)
		}
		p, _ = a.userUsage(otherClient, feb, mint(t, otherClient, time.Hour))
		if got := uuRender(p.Data, uuLabel); got != other {
			t.Errorf("%s: the other client\n%swant\n%s", name, got, other)
		}
	}
}

var uuPseudonymShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// The other client is pseudonymous, the fixture client's privacy cell is
// empty (identified). No output of the other client may carry a raw user
// id, a name or an email of its users; pseudonyms agree across endpoints
// and servers, and user_ids and q take them.
func TestUserUsagePseudonymousClient(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := dataset.Load(context.Background(), conn, writeUUFixture(t, uuClientsCSV("", "pseudonymous")), nil); err != nil {
		t.Fatalf("cannot load the fixture: %v", err)
	}
	a := serveAPI(t, conn, nil)
	tok := mint(t, otherClient, time.Hour)
	type body struct{ what, text string }
	var bodies []body
	keep := func(what string, b []byte) { bodies = append(bodies, body{what, string(b)}) }
	fetch := func(path string) []byte {
		t.Helper()
		resp := a.get(path, tok)
		if resp.StatusCode() != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode(), resp.Body())
		}
		b := slices.Clone(resp.Body())
		keep(path, b)
		return b
	}

	// users/usage, by active time: userP1 5100, userP2 3000, userP3 700.
	p, b := a.userUsage(otherClient, feb, tok)
	keep("users/usage", b)
	raws := []string{userP1, userP2, userP3}
	if len(p.Data) != 3 {
		t.Fatalf("users/usage: %d rows, want 3: %s", len(p.Data), b)
	}
	pseud := map[string]string{} // raw id → pseudonym
	names := map[string]string{} // pseudonym → label
	for i, raw := range raws {
		id := p.Data[i].User.ID
		if !uuPseudonymShape.MatchString(id) || strings.EqualFold(id, raw) {
			t.Errorf("row %d: id %q, want a UUID-shaped pseudonym other than %s", i, id, raw)
		}
		if _, dup := names[id]; dup {
			t.Errorf("pseudonym %s given to two users", id)
		}
		pseud[raw], names[id] = id, "P"+fmt.Sprint(i+1)
	}
	label := func(id string) string {
		if l, ok := names[id]; ok {
			return l
		}
		return uuLabel(id)
	}
	want := lines(
		`P1 null null [deptP] 5100 3 2 2 2026-02-03..2026-02-04 PChat:5000 PDocs:100`,
		`P2 null null [deptP] 3000 1 1 1 2026-02-03..2026-02-03 PChat:3000`,
		`P3 null null [] 700 1 1 1 2026-02-10..2026-02-10 PDocs:700`)
	if got := uuRender(p.Data, label); got != want {
		t.Errorf("users/usage:\n%swant\n%s", got, want)
	}
	// Its next pages, another request, another sort, and a second server over the same data (a restart).
	rows, pages := walkUU(t, a, otherClient, feb, 1, tok)
	for i, pg := range pages {
		keep(fmt.Sprintf("users/usage page %d", i), pg)
	}
	if got := uuRender(rows, label); got != want {
		t.Errorf("users/usage in pages of 1:\n%swant\n%s", got, want)
	}
	asc, b := a.userUsage(otherClient, feb+"&sort_order=asc&sort_by=session_count", tok)
	keep("users/usage asc", b)
	// session_count 3, 1, 1 descending; ascending: the two 1s (tie order not checked here), then P1.
	if len(asc.Data) != 3 || asc.Data[2].User.ID != pseud[userP1] {
		t.Errorf("users/usage by sessions ascending: %s", uuRender(asc.Data, label))
	}
	restarted := serveAPI(t, conn, nil)
	if p2, _ := restarted.userUsage(otherClient, feb, tok); uuRender(p2.Data, label) != want {
		t.Errorf("another server's pseudonyms:\n%swant\n%s", uuRender(p2.Data, label), want)
	}

	// q searches the pseudonym text only, case-insensitively.
	for _, c := range []struct {
		q    string
		want string
	}{
		{"Priya", ""}, {"secretname", ""}, {"private.example", ""}, {"olaf", ""}, {userP1, ""}, {"b0000000", ""},
		{pseud[userP1][:8], want[:strings.Index(want, "\n")+1]},
		{strings.ToUpper(pseud[userP3][9:23]), lines(`P3 null null [] 700 1 1 1 2026-02-10..2026-02-10 PDocs:700`)},
	} {
		p, b := a.userUsage(otherClient, feb+"&q="+url.QueryEscape(c.q), tok)
		keep("users/usage q="+c.q, b)
		if got := uuRender(p.Data, label); got != c.want {
			t.Errorf("q=%s:\n%swant\n%s", c.q, got, c.want)
		}
	}

	// The export: pseudonyms, empty name and email cells.
	csvBody, recs := uuCSV(t, a, otherClient, feb, tok)
	keep("users/usage/export", []byte(csvBody))
	wantCSV := uuCSVLines(uuHeader,
		pseud[userP1]+",,,"+deptP+",5100,0.00,3,2,2,2026-02-03,2026-02-04,Private Chat;Private Docs",
		pseud[userP2]+",,,"+deptP+",3000,0.00,1,1,1,2026-02-03,2026-02-03,Private Chat",
		pseud[userP3]+",,,,700,0.00,1,1,1,2026-02-10,2026-02-10,Private Docs")
	if csvBody != wantCSV {
		t.Errorf("users/usage/export =\n%s\nwant\n%s (%d records)", csvBody, wantCSV, len(recs))
	}

	// The usage-reports export: every row's user is its pseudonym.
	recs = uuRecords(t, fetch("/v2/clients/"+otherClient+"/analytics/usage-reports/export?"+feb))
	var got []string
	for _, r := range recs[1:] {
		got = append(got, strings.Join(r, ","))
	}
	sort.Strings(got)
	wantRows := []string{
		"2026-02-03," + appP1 + ",Private Chat," + pseud[userP1] + "," + deptP + ",5000,2",
		"2026-02-03," + appP1 + ",Private Chat," + pseud[userP2] + "," + deptP + ",3000,1",
		"2026-02-04," + appP2 + ",Private Docs," + pseud[userP1] + "," + deptP + ",100,1",
		"2026-02-10," + appP2 + ",Private Docs," + pseud[userP3] + ",,700,1",
	}
	sort.Strings(wantRows)
	if !slices.Equal(got, wantRows) {
		t.Errorf("usage-reports export rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}

	// usage?group_by=user, JSON and CSV: groups are the pseudonyms, names null / empty.
	otherUsage := "/v2/clients/" + otherClient + "/analytics/usage?" + feb + "&metrics=active_time_ms"
	var u usageJSON
	if err := json.Unmarshal(fetch(otherUsage+"&group_by=user"), &u); err != nil {
		t.Fatal(err)
	}
	if got := uuGroups(u); got != pseud[userP1]+" null 5100\n"+pseud[userP2]+" null 3000\n"+pseud[userP3]+" null 700\n" {
		t.Errorf("usage?group_by=user:\n%s", got)
	}
	recs = uuRecords(t, fetch(otherUsage+"&group_by=user&format=csv"))
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[3]+"|"+r[4]+"|"+r[5])
	}
	if w := []string{pseud[userP1] + "||5100", pseud[userP2] + "||3000", pseud[userP3] + "||700"}; !slices.Equal(ids, w) {
		t.Errorf("usage?group_by=user&format=csv: %v, want %v", ids, w)
	}
	// user_ids takes pseudonyms.
	for _, c := range []struct{ users, want string }{
		{pseud[userP1], pseud[userP1] + " null 5100\n"},
		{pseud[userP3] + "," + pseud[userP2], pseud[userP2] + " null 3000\n" + pseud[userP3] + " null 700\n"},
	} {
		if err := json.Unmarshal(fetch(otherUsage+"&group_by=user&user_ids="+c.users), &u); err != nil {
			t.Fatal(err)
		}
		if got := uuGroups(u); got != c.want {
			t.Errorf("usage?user_ids=%s:\n%swant\n%s", c.users, got, c.want)
		}
	}
	if err := json.Unmarshal(fetch(otherUsage+"&user_ids="+pseud[userP3]), &u); err != nil {
		t.Fatal(err)
	}
	if len(u.Data) != 1 || string(u.Data[0].Total["active_time_ms"]) != "700" {
		t.Errorf("usage?user_ids=<userP3's pseudonym> without groups: %+v", u.Data)
	}

	// Utilization and its export (no user ids in them; scanned all the same).
	fetch("/v2/clients/" + otherClient + "/analytics/apps/utilization?granularity=monthly&" + feb)
	fetch("/v2/clients/" + otherClient + "/analytics/apps/utilization/export?granularity=monthly&" + feb)

	// The fixture client stays identified in the same load.
	if p, _ := a.userUsage(client, feb); uuRender(p.Data, uuLabel) != lines(uuPick(uuFeb, user5, user4, user1, user3, user2)...) {
		t.Errorf("the identified client:\n%s", uuRender(p.Data, uuLabel))
	}

	// Nothing identifying in any body of the other client.
	secrets := []string{"Priya Secretname", "priya.secret@private.example", "Olaf Hiddenperson", "olaf.hidden@private.example",
		"Wrong Client", "wrong@example.com"}
	for _, raw := range append(raws, user1) {
		secrets = append(secrets, raw, strings.ReplaceAll(raw, "-", ""))
	}
	for _, bd := range bodies {
		low := strings.ToLower(bd.text)
		for _, s := range secrets {
			if strings.Contains(low, strings.ToLower(s)) {
				t.Errorf("%s shows %q:\n%s", bd.what, s, bd.text)
			}
		}
	}
	if len(bodies) < 15 {
		t.Errorf("only %d bodies scanned", len(bodies))
	}
}

// uuGroups renders usage groups as "id name active_time_ms" lines.
func uuGroups(u usageJSON) string {
	var b strings.Builder
	for _, g := range u.Data {
		if g.Group == nil {
			b.WriteString("none\n")
			continue
		}
		fmt.Fprintf(&b, "%s %s %s\n", g.Group.ID, uuOptQ(g.Group.Name), g.Total["active_time_ms"])
	}
	return b.String()
}

func uuRecords(t *testing.T, body []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	return recs
}
