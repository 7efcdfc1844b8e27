package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/handlers"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// The fixture: one client, seven apps, four users, two departments. Every
// expected value in the tests is worked out by hand from these rows.
const (
	client      = "c0000000-0000-4000-8000-000000000001"
	otherClient = "c0000000-0000-4000-8000-000000000002"

	appAlpha   = "a0000000-0000-4000-8000-000000000001" // Alpha Chat: used Dec, Jan, Feb
	appBeta    = "a0000000-0000-4000-8000-000000000002" // beta Docs: first seen Feb 1
	appEclair  = "a0000000-0000-4000-8000-000000000003" // ÉCLAIR Pro: Jan and Feb, 2 points in Feb
	appDropped = "a0000000-0000-4000-8000-000000000004" // Dropped App: Jan only
	appNever   = "a0000000-0000-4000-8000-000000000005" // Never Used: no usage
	appNew     = "a0000000-0000-4000-8000-000000000006" // New Tool: first seen Feb 28
	appGamma   = "a0000000-0000-4000-8000-000000000007" // Gamma: first seen Feb 1, also used Mar 1
	appLater   = "a0000000-0000-4000-8000-000000000008" // Later App: first seen Mar 1

	vendor1 = "f0000000-0000-4000-8000-000000000001"
	vendor2 = "f0000000-0000-4000-8000-000000000002"
	cat1    = "e0000000-0000-4000-8000-000000000001"
	cat2    = "e0000000-0000-4000-8000-000000000002"

	user1 = "b0000000-0000-4000-8000-000000000001"
	user2 = "b0000000-0000-4000-8000-000000000002"
	user3 = "b0000000-0000-4000-8000-000000000003"
	user4 = "b0000000-0000-4000-8000-000000000004"

	dept1 = "d0000000-0000-4000-8000-000000000001" // user1, user2
	dept2 = "d0000000-0000-4000-8000-000000000002" // user2, user3
)

var fixtureApps = []string{
	// app, catalog, name, logo, type, vendor, vendor name, url, category ids, names, fav, approved, licenses, risk
	appAlpha + ",ca000000-0000-4000-8000-000000000001,Alpha Chat,https://logo/a.png,desktop," + vendor1 + ",\"Vendor One, Inc.\",https://one.example," + cat1 + ",Chat,true,true,2,low",
	appBeta + ",ca000000-0000-4000-8000-000000000002,beta Docs,,browser," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example," + cat1 + ";" + cat2 + ",Chat;Docs,false,false,,critical",
	appEclair + ",ca000000-0000-4000-8000-000000000003,ÉCLAIR Pro,,desktop," + vendor1 + ",\"Vendor One, Inc.\",https://one.example,,,false,false,0,medium",
	appDropped + ",ca000000-0000-4000-8000-000000000004,Dropped App,,mobile," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example," + cat2 + ",Docs,true,false,10,",
	appNever + ",ca000000-0000-4000-8000-000000000005,Never Used,,mobile," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example,,,false,false,,low",
	appNew + ",ca000000-0000-4000-8000-000000000006,New Tool,,browser," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example,,,true,false,,low",
	appGamma + ",ca000000-0000-4000-8000-000000000007,Gamma,,browser," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example,,,false,true,,critical",
	appLater + ",ca000000-0000-4000-8000-000000000008,Later App,,browser," + vendor2 + ",\"Vendor \"\"Two\"\"\",https://two.example,,,false,false,,",
}

var fixtureUsage = []string{
	// date, app, user, ms, sessions
	"2025-12-01," + appAlpha + "," + user1 + ",1,1",
	"2026-01-10," + appAlpha + "," + user1 + ",1000,1",
	"2026-01-10," + appAlpha + "," + user2 + ",1000,1",
	"2026-02-02," + appAlpha + "," + user1 + ",3000,2",
	"2026-02-03," + appAlpha + "," + user1 + ",3000,2",
	"2026-02-02," + appAlpha + "," + user2 + ",1000,1",
	"2026-02-09," + appAlpha + "," + user3 + ",500,1",
	"2026-02-16," + appAlpha + "," + user4 + ",700,3",
	"2026-02-01," + appBeta + "," + user1 + ",100,1",
	"2026-02-02," + appBeta + "," + user1 + ",100,1",
	"2026-02-03," + appBeta + "," + user1 + ",100,1",
	"2026-02-04," + appBeta + "," + user1 + ",100,1",
	"2026-02-05," + appBeta + "," + user1 + ",100,1",
	"2026-01-05," + appEclair + "," + user2 + ",10,1",
	"2026-02-10," + appEclair + "," + user2 + ",50,1",
	"2026-02-10," + appEclair + "," + user3 + ",50,1",
	"2026-01-20," + appDropped + "," + user1 + ",999,4",
	"2026-02-28," + appNew + "," + user4 + ",300,1",
	"2026-02-01," + appGamma + "," + user3 + ",10,1",
	"2026-03-01," + appGamma + "," + user3 + ",5,1",
	"2026-03-01," + appLater + "," + user1 + ",40,1",
}

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// api is the real router over a migrated database holding the fixture,
// served in-process.
type api struct {
	t      *testing.T
	conn   driver.Conn
	client *fasthttp.Client
	// raw serves the same API forced through usage rows, without a cache:
	// every utilization, activity and series request get sends is sent to
	// it too, and the two answers must be the same bytes.
	raw   *fasthttp.Client
	token string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	return serveAPI(t, conn, nil)
}

// serveAPI serves the real router over conn in-process; tune, if given,
// adjusts the server first.
func serveAPI(t *testing.T, conn driver.Conn, tune func(*handlers.Server)) *api {
	t.Helper()
	raw := testServer(conn, time.Minute, func(s *handlers.Server) {
		if tune != nil {
			tune(s)
		}
		s.Store.Rollups, s.Cache = false, nil
	})
	a := &api{t: t, conn: conn, client: serveInMemory(t, &fasthttp.Server{Handler: testServer(conn, time.Minute, tune).Handler()}),
		raw: serveInMemory(t, &fasthttp.Server{Handler: raw.Handler()})}
	a.token = mint(t, client, time.Hour)
	return a
}

func mint(t *testing.T, clientID string, ttl time.Duration) string {
	t.Helper()
	tok, err := auth.Mint(testKey, clientID, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func loadFixture(t *testing.T, conn driver.Conn) {
	t.Helper()
	if _, err := dataset.Load(context.Background(), conn, writeFixture(t, nil, nil), nil); err != nil {
		t.Fatalf("cannot load the fixture: %v", err)
	}
}

// writeFixture writes the fixture, with extra app and usage lines in the
// fixture's own shapes, as a dataset directory.
func writeFixture(t *testing.T, extraApps, extraUsage []string) string {
	t.Helper()
	dir := t.TempDir()
	var apps, usage strings.Builder
	apps.WriteString(strings.Join(dataset.AppsHeader, ",") + "\n")
	for _, a := range append(fixtureApps[:len(fixtureApps):len(fixtureApps)], extraApps...) {
		apps.WriteString(client + "," + a + "\n")
	}
	usage.WriteString(strings.Join(dataset.UsageHeader, ",") + "\n")
	for _, u := range append(fixtureUsage[:len(fixtureUsage):len(fixtureUsage)], extraUsage...) {
		d, rest, _ := strings.Cut(u, ",")
		usage.WriteString(client + "," + d + "," + rest + "\n")
	}
	files := map[string]string{
		dataset.ClientsFile: "client_id,name,timezone\n" + client + ",Fixture Co,UTC\n" + otherClient + ",Other Co,UTC\n",
		dataset.AppsFile:    apps.String(),
		dataset.DepartmentsFile: "client_id,user_id,department_id\n" +
			client + "," + user1 + "," + dept1 + "\n" + client + "," + user2 + "," + dept1 + "\n" +
			client + "," + user2 + "," + dept2 + "\n" + client + "," + user3 + "," + dept2 + "\n",
		dataset.UsageFile: usage.String(),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// get requests path+query with the client's token (or tok if given).
func (a *api) get(pathQuery string, tok ...string) *fasthttp.Response {
	a.t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://usagelens" + pathQuery)
	bearer := a.token
	if len(tok) > 0 {
		bearer = tok[0]
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp := &fasthttp.Response{}
	if err := a.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		a.t.Fatalf("GET %s: %v", pathQuery, err)
	}
	checkFastHTTP(a.t, pathQuery, resp)
	if a.raw != nil && (strings.Contains(pathQuery, "/analytics/apps/") || strings.Contains(pathQuery, "/analytics/usage?")) {
		a.sameThroughRawRows(pathQuery, req, resp)
	}
	return resp
}

// sameThroughRawRows sends req to the raw-rows twin: a success must be the
// same bytes, a refusal the same status.
func (a *api) sameThroughRawRows(pathQuery string, req *fasthttp.Request, resp *fasthttp.Response) {
	a.t.Helper()
	raw := &fasthttp.Response{}
	if err := a.raw.DoTimeout(req, raw, 30*time.Second); err != nil {
		a.t.Fatalf("GET %s through usage rows: %v", pathQuery, err)
	}
	switch {
	case raw.StatusCode() != resp.StatusCode():
		a.t.Errorf("GET %s: %d from the rollups, %d from usage rows", pathQuery, resp.StatusCode(), raw.StatusCode())
	case resp.StatusCode() == 200 && !bytes.Equal(raw.Body(), resp.Body()):
		a.t.Errorf("GET %s: the rollups and usage rows disagree:\nrollups:    %s\nusage rows: %s", pathQuery, resp.Body(), raw.Body())
	}
}

// Decoded JSON shapes, with pointers where the spec allows null.
type metricJSON struct {
	Value        *int64   `json:"value"`
	ChangePct    *float64 `json:"change_pct"`
	CompareValue *int64   `json:"compare_value"`
}

type rowJSON struct {
	App struct {
		ID         string `json:"id"`
		CatalogApp struct {
			ID            string  `json:"id"`
			CanonicalName string  `json:"canonical_name"`
			Logo          *string `json:"logo"`
			Type          string  `json:"type"`
			Vendor        struct {
				ID, Name, URL string
			} `json:"vendor"`
			Categories []struct{ ID, Name string } `json:"categories"`
		} `json:"catalog_app"`
		IsFavorite   bool    `json:"is_favorite"`
		IsApproved   bool    `json:"is_approved"`
		LicenseCount *uint32 `json:"license_count"`
	} `json:"app"`
	UniqueUsers     metricJSON `json:"unique_users"`
	ActiveTimeMS    metricJSON `json:"active_time_ms"`
	AvgTimeMSPerDay metricJSON `json:"avg_time_ms_per_day"`
	SessionCount    metricJSON `json:"session_count"`
	UsageLevel      *string    `json:"usage_level"`
	RiskLevel       *string    `json:"risk_level"`
}

type pageJSON struct {
	Period struct {
		StartDate        string  `json:"start_date"`
		EndDate          string  `json:"end_date"`
		CompareStartDate *string `json:"compare_start_date"`
		CompareEndDate   *string `json:"compare_end_date"`
	} `json:"period"`
	Data       []rowJSON `json:"data"`
	TotalCount int       `json:"total_count"`
	NextCursor *string   `json:"next_cursor"`
}

type errorJSON struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

const utilPath = "/v2/clients/" + client + "/analytics/apps/utilization"

// page fetches a utilization page and fails the test on anything but 200.
func (a *api) page(query string) pageJSON {
	a.t.Helper()
	resp := a.get(utilPath + "?" + query)
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET ?%s: %d %s", query, resp.StatusCode(), resp.Body())
	}
	var p pageJSON
	if err := json.Unmarshal(resp.Body(), &p); err != nil {
		a.t.Fatalf("GET ?%s: %v in %s", query, err, resp.Body())
	}
	return p
}

func (p pageJSON) byID(t *testing.T, id string) rowJSON {
	t.Helper()
	for _, r := range p.Data {
		if r.App.ID == id {
			return r
		}
	}
	t.Fatalf("app %s not in page %+v", id, p.ids())
	return rowJSON{}
}

func (p pageJSON) ids() []string {
	var out []string
	for _, r := range p.Data {
		out = append(out, r.App.ID)
	}
	return out
}

// mintWith signs a one-hour token as if minted at now.
func mintWith(clientID string, now time.Time) (string, error) {
	return auth.Mint(testKey, clientID, time.Hour, now)
}

// getWith requests a full URL with the client's token and extra headers.
func (a *api) getWith(uri string, headers map[string]string) *fasthttp.Response {
	a.t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(uri)
	req.Header.Set("Authorization", "Bearer "+a.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp := &fasthttp.Response{}
	if err := a.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		a.t.Fatalf("GET %s: %v", uri, err)
	}
	checkFastHTTP(a.t, strings.TrimPrefix(uri, "http://usagelens"), resp)
	return resp
}

func decodePage(t *testing.T, body []byte) pageJSON {
	t.Helper()
	var p pageJSON
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return p
}
