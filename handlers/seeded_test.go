package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// freshSeed serves a tiny dataset generated from seed, with a token of its
// busiest client.
func freshSeed(t *testing.T, seed uint64) (*api, string) {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	busiest := busiestClient(t, conn)
	a := serveAPI(t, conn, nil)
	a.token = mint(t, busiest, time.Hour)
	return a, busiest
}

// TestUtilizationAgreesWithPlainSQLOnAFreshSeed checks the endpoint against
// straightforward per-period SQL on a dataset the code was not written
// around: every app's metrics, and total_count, for the busiest client.
func TestUtilizationAgreesWithPlainSQLOnAFreshSeed(t *testing.T) {
	a, busiest := freshSeed(t, 20261123)

	for _, per := range [][2]string{{"2026-10-01", "2026-10-31"}, {"2026-01-01", "2026-06-30"}, {"2025-11-01", "2026-10-31"}} {
		want := plainSQL(t, a, busiest, per[0], per[1])
		got := map[string]string{}
		cursor := ""
		total := -1
		for {
			q := fmt.Sprintf("granularity=daily&start_date=%s&end_date=%s&page_size=37%s", per[0], per[1], cursor)
			resp := a.get("/v2/clients/" + busiest + "/analytics/apps/utilization?" + q)
			p := decodePage(t, resp.Body())
			total = p.TotalCount
			for _, r := range p.Data {
				got[r.App.ID] = fmt.Sprintf("%d users, %d ms, %d sessions, avg %d", *r.UniqueUsers.Value, *r.ActiveTimeMS.Value, *r.SessionCount.Value, *r.AvgTimeMSPerDay.Value)
			}
			if p.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if total != len(want) || len(got) != len(want) {
			t.Errorf("%v: total_count %d, walked %d apps, plain SQL has %d", per, total, len(got), len(want))
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%v app %s: API %q, plain SQL %q", per, id, got[id], w)
			}
		}
	}
}

func plainSQL(t *testing.T, a *api, clientID, start, end string) map[string]string {
	t.Helper()
	rows, err := a.conn.Query(context.Background(), `
		SELECT toString(application_id), count(DISTINCT user_id), sum(total_active_ms), sum(total_session_count), count(DISTINCT activity_date)
		FROM app_usage_reports
		WHERE client_id = toUUID(?) AND activity_date BETWEEN toDate(?) AND toDate(?)
		GROUP BY application_id`, clientID, start, end)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id string
		var users, ms, sessions, days uint64
		if err := rows.Scan(&id, &users, &ms, &sessions, &days); err != nil {
			t.Fatal(err)
		}
		out[id] = fmt.Sprintf("%d users, %d ms, %d sessions, avg %d", users, ms, sessions, ms/days)
	}
	if len(out) == 0 {
		t.Fatalf("no usage for %s in %s..%s: the check would prove nothing", clientID, start, end)
	}
	return out
}

// TestActivityTotalsEqualUtilizationOnAFreshSeed: on a generated dataset,
// each of the busiest client's apps has App Activity totals equal to its
// App Utilization row, and bins that add up to the totals' sums, for
// several periods, granularities, comparisons and a department scope.
func TestActivityTotalsEqualUtilizationOnAFreshSeed(t *testing.T) {
	a, busiest := freshSeed(t, 20261201)
	var dept string
	if err := a.conn.QueryRow(context.Background(), "SELECT toString(any(department_id)) FROM user_departments WHERE client_id = toUUID(?)", busiest).Scan(&dept); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"granularity=weekly&start_date=2026-09-09&end_date=2026-10-31&compare_start_date=2026-07-01&compare_end_date=2026-08-15",
		"granularity=monthly&start_date=2026-01-15&end_date=2026-10-31",
		"granularity=daily&start_date=2026-10-01&end_date=2026-10-31&department_ids=" + dept,
	} {
		util := decodePage(t, a.get("/v2/clients/"+busiest+"/analytics/apps/utilization?"+q+"&page_size=200").Body())
		if len(util.Data) < 3 {
			t.Fatalf("?%s: only %d apps", q, len(util.Data))
		}
		for _, row := range util.Data[:min(8, len(util.Data))] {
			resp := a.get("/v2/clients/" + busiest + "/analytics/apps/" + row.App.ID + "/activity?" + q)
			var act struct {
				Data []struct {
					ActiveTimeMS int64 `json:"active_time_ms"`
					SessionCount int64 `json:"session_count"`
				} `json:"data"`
				Totals struct {
					UniqueUsers     metricJSON `json:"unique_users"`
					ActiveTimeMS    metricJSON `json:"active_time_ms"`
					AvgTimeMSPerDay metricJSON `json:"avg_time_ms_per_day"`
					SessionCount    metricJSON `json:"session_count"`
				} `json:"totals"`
			}
			if err := json.Unmarshal(resp.Body(), &act); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("activity of %s: %d %s", row.App.ID, resp.StatusCode(), resp.Body())
			}
			got := metricsText(act.Totals.UniqueUsers, act.Totals.ActiveTimeMS, act.Totals.AvgTimeMSPerDay, act.Totals.SessionCount)
			want := metricsText(row.UniqueUsers, row.ActiveTimeMS, row.AvgTimeMSPerDay, row.SessionCount)
			if got != want {
				t.Errorf("?%s app %s: activity totals %s, utilization row %s", q, row.App.ID, got, want)
			}
			var ms, sessions int64
			for _, b := range act.Data {
				ms, sessions = ms+b.ActiveTimeMS, sessions+b.SessionCount
			}
			if ms != *row.ActiveTimeMS.Value || sessions != *row.SessionCount.Value {
				t.Errorf("?%s app %s: bins add up to %d ms, %d sessions; the row has %d, %d", q, row.App.ID, ms, sessions, *row.ActiveTimeMS.Value, *row.SessionCount.Value)
			}
		}
	}
}

// metricsText spells out metrics' values for comparison, null as "null".
func metricsText(ms ...metricJSON) string {
	var b strings.Builder
	for _, m := range ms {
		for _, v := range []*int64{m.Value, m.CompareValue} {
			if v == nil {
				b.WriteString("null ")
			} else {
				fmt.Fprintf(&b, "%d ", *v)
			}
		}
		if m.ChangePct == nil {
			b.WriteString("null; ")
		} else {
			fmt.Fprintf(&b, "%g; ", *m.ChangePct)
		}
	}
	return b.String()
}
