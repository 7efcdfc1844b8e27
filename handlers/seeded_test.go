package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// TestUtilizationAgreesWithPlainSQLOnAFreshSeed checks the endpoint against
// straightforward per-period SQL on a dataset the code was not written
// around: every app's metrics, and total_count, for the busiest client.
func TestUtilizationAgreesWithPlainSQLOnAFreshSeed(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 20261123}); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	busiest := busiestClient(t, conn)
	a := serveAPI(t, conn, nil)
	a.token = mint(t, busiest, time.Hour)

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
