package bench

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
)

// minimalBucket is each granularity's bucket of a day, as the service
// counts distinct active buckets for avg_time_ms_per_day.
var minimalBucket = map[string]string{
	"daily":     "activity_date",
	"weekly":    "toMonday(activity_date)",
	"monthly":   "toStartOfMonth(activity_date)",
	"quarterly": "toStartOfQuarter(activity_date)",
}

// minimalSQL is the least a hand-written query over the usage rows must
// compute to give a utilization request's per-app figures: per app, in the
// period (and the comparison period), distinct users, summed active time,
// distinct active buckets, summed sessions and rows, for the apps with
// rows in the period. No apps join, no sort, no paging: what the service
// adds on top is its own cost. The client's distinct users (the adoption
// denominator) are minimalClientUsersSQL.
func minimalSQL(r *query.Utilization) query.Statement {
	b := minimalBucket[r.Granularity]
	cur := "activity_date >= toDate(@start) AND activity_date <= toDate(@end)"
	sel := fmt.Sprintf(`SELECT toString(application_id),
    countIf((%[1]s) AS cur) AS cur_rows, uniqExactIf(user_id, cur), sumIf(total_active_ms, cur), uniqExactIf(%[2]s, cur), sumIf(total_session_count, cur)`, cur, b)
	args := []any{clickhouse.Named("client", r.ClientID), clickhouse.Named("start", day(r.Period.Start)), clickhouse.Named("end", day(r.Period.End))}
	from, to := r.Period.Start, r.Period.End
	if c := r.Compare; c != nil {
		sel += fmt.Sprintf(`,
    uniqExactIf(user_id, (activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp), sumIf(total_active_ms, cmp), uniqExactIf(%s, cmp), sumIf(total_session_count, cmp)`, b)
		args = append(args, clickhouse.Named("cstart", day(c.Start)), clickhouse.Named("cend", day(c.End)))
		from, to = minTime(from, c.Start), maxTime(to, c.End)
	}
	args = append(args, clickhouse.Named("from", day(from)), clickhouse.Named("to", day(to)))
	return query.Statement{SQL: sel + `
FROM app_usage_reports
WHERE client_id = toUUID(@client) AND activity_date >= toDate(@from) AND activity_date <= toDate(@to)
GROUP BY application_id
HAVING cur_rows > 0`, Args: args}
}

// minimalClientUsersSQL is the client's distinct users in the period.
func minimalClientUsersSQL(r *query.Utilization) query.Statement {
	return query.Statement{SQL: `SELECT uniqExact(user_id) FROM app_usage_reports
WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end)`,
		Args: []any{clickhouse.Named("client", r.ClientID), clickhouse.Named("start", day(r.Period.Start)), clickhouse.Named("end", day(r.Period.End))}}
}

// figures are one app's numbers in one period.
type figures struct{ users, ms, buckets, sessions uint64 }

// minimalAnswer is what the minimal statements return.
type minimalAnswer struct {
	apps        map[string]minimalApp
	clientUsers uint64
}

type minimalApp struct {
	rows     uint64
	cur, cmp figures
}

// runMinimal runs both minimal statements, reading every row.
func runMinimal(ctx context.Context, conn driver.Conn, r *query.Utilization) (minimalAnswer, error) {
	a := minimalAnswer{apps: map[string]minimalApp{}}
	st := minimalSQL(r)
	rows, err := conn.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return a, fmt.Errorf("minimal raw-row SQL: %w", err)
	}
	defer rows.Close()
	var id string
	var m minimalApp
	dest := []any{&id, &m.rows, &m.cur.users, &m.cur.ms, &m.cur.buckets, &m.cur.sessions}
	if r.Compare != nil {
		dest = append(dest, &m.cmp.users, &m.cmp.ms, &m.cmp.buckets, &m.cmp.sessions)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return a, fmt.Errorf("minimal raw-row SQL: %w", err)
		}
		a.apps[id] = m
	}
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("minimal raw-row SQL: %w", err)
	}
	cu := minimalClientUsersSQL(r)
	if err := conn.QueryRow(ctx, cu.SQL, cu.Args...).Scan(&a.clientUsers); err != nil {
		return a, fmt.Errorf("minimal client users SQL: %w", err)
	}
	return a, nil
}

// checkAgainst compares the service's JSON page with the minimal answer:
// every app on the page must have the same users, active time, sessions,
// daily average and usage level (which folds in the row count and the
// client's users), in both periods, and total_count must be the number of
// apps with usage. It returns the number of apps checked.
func (a minimalAnswer) checkAgainst(r *query.Utilization, body []byte) (int, error) {
	var page api.UtilizationPage
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, fmt.Errorf("cannot decode the service's page: %w", err)
	}
	if page.TotalCount != uint64(len(a.apps)) {
		return 0, fmt.Errorf("service total_count %d, minimal SQL %d apps with usage", page.TotalCount, len(a.apps))
	}
	if len(page.Data) == 0 && len(a.apps) > 0 {
		return 0, fmt.Errorf("the service's page is empty, the minimal SQL has %d apps", len(a.apps))
	}
	for _, row := range page.Data {
		m, ok := a.apps[row.App.ID]
		if !ok {
			return 0, fmt.Errorf("app %s is on the service's page but has no usage rows in the period", row.App.ID)
		}
		if err := compareApp(r, row, m, a.clientUsers); err != nil {
			return 0, fmt.Errorf("app %s: %w", row.App.ID, err)
		}
	}
	return len(page.Data), nil
}

func compareApp(r *query.Utilization, row api.AppUtilization, m minimalApp, clientUsers uint64) error {
	type pair struct {
		name string
		got  *uint64
		want uint64
		ok   bool
	}
	avg := func(f figures) (uint64, bool) {
		if f.buckets == 0 {
			return 0, false
		}
		return f.ms / f.buckets, true
	}
	curAvg, curOK := avg(m.cur)
	pairs := []pair{{"unique_users", row.UniqueUsers.Value, m.cur.users, true}, {"active_time_ms", row.ActiveTimeMS.Value, m.cur.ms, true},
		{"session_count", row.SessionCount.Value, m.cur.sessions, true}, {"avg_time_ms_per_day", row.AvgTimeMSPerDay.Value, curAvg, curOK}}
	if r.Compare != nil {
		cmpAvg, cmpOK := avg(m.cmp)
		pairs = append(pairs, pair{"unique_users.compare_value", row.UniqueUsers.CompareValue, m.cmp.users, true},
			pair{"active_time_ms.compare_value", row.ActiveTimeMS.CompareValue, m.cmp.ms, true},
			pair{"session_count.compare_value", row.SessionCount.CompareValue, m.cmp.sessions, true},
			pair{"avg_time_ms_per_day.compare_value", row.AvgTimeMSPerDay.CompareValue, cmpAvg, cmpOK})
	}
	for _, p := range pairs {
		if (p.got != nil) != p.ok || (p.got != nil && *p.got != p.want) {
			return fmt.Errorf("%s: service %s, minimal SQL %s", p.name, optional(p.got), optional(map[bool]*uint64{true: &p.want}[p.ok]))
		}
	}
	want := query.UsageLevel(m.rows, m.cur.users, row.App.LicenseCount, clientUsers, r.Period.Days())
	if (want == nil) != (row.UsageLevel == nil) || (want != nil && *want != *row.UsageLevel) {
		return fmt.Errorf("usage_level: service %s, from the minimal SQL's %d rows and %d client users %s",
			optionalString(row.UsageLevel), m.rows, clientUsers, optionalString(want))
	}
	return nil
}

func optional(p *uint64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func optionalString(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}
