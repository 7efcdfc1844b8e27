package query

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/fold"
)

// Statement is SQL text built only from constants and allowlisted names,
// with every user value in Args, bound by the driver.
type Statement struct {
	SQL  string
	Args []any
}

// sortColumns is the allowlist of sort_by values and the SQL sort key of
// each. Names sort by name_key, folded in Go when apps are loaded (package
// fold), so the order is the same on every server version. avg_time's key is -1 for apps without activity, so they sort as the
// lowest value; ClickHouse evaluates both branches of if(), hence the
// greatest() guard against dividing by zero.
var sortColumns = map[string]string{
	api.SortName:         "name_key",
	api.SortUniqueUsers:  "cur_users",
	api.SortActiveTime:   "cur_ms",
	api.SortAvgTime:      "if(cur_buckets = 0, toInt64(-1), toInt64(intDiv(cur_ms, greatest(cur_buckets, 1))))",
	api.SortSessionCount: "cur_sessions",
}

// bucketOf is the granularity's bucket of a day, for avg_time_ms_per_day.
var bucketOf = map[string]string{
	"daily":     "activity_date",
	"weekly":    "toMonday(activity_date)",
	"monthly":   "toStartOfMonth(activity_date)",
	"quarterly": "toStartOfQuarter(activity_date)",
}

// Limit is how many rows a utilization statement returns: Page() rows plus
// one to tell whether another page follows; 0 means all (the export).
func (r *Utilization) limit() int {
	if r.PageSize == 0 {
		return 0
	}
	return r.PageSize + 1
}

// utilizationColumn is one column the utilization statement selects and
// where its value is scanned; sql may use the statement's parts.
type utilizationColumn struct {
	sql  string
	dest func(*raw) any
}

var utilizationColumns = []utilizationColumn{
	{"toString(app_id)", func(w *raw) any { return &w.appID }},
	{"toString(catalog_app_id)", func(w *raw) any { return &w.catalogID }},
	{"canonical_name", func(w *raw) any { return &w.name }},
	{"logo", func(w *raw) any { return &w.logo }},
	{"CAST(type AS String)", func(w *raw) any { return &w.typ }}, // LowCardinality on modern schemas
	{"toString(vendor_id)", func(w *raw) any { return &w.vendorID }},
	{"vendor_name", func(w *raw) any { return &w.vendorName }},
	{"vendor_url", func(w *raw) any { return &w.vendorURL }},
	{"arrayMap(x -> toString(x), category_ids)", func(w *raw) any { return &w.categoryIDs }},
	{"category_names", func(w *raw) any { return &w.categoryNames }},
	{"is_favorite", func(w *raw) any { return &w.favorite }},
	{"is_approved", func(w *raw) any { return &w.approved }},
	{"license_count", func(w *raw) any { return &w.licenses }},
	{"risk_level", func(w *raw) any { return &w.risk }},
	{"cur_users", func(w *raw) any { return &w.cur.users }},
	{"cur_ms", func(w *raw) any { return &w.cur.ms }},
	{"cur_buckets", func(w *raw) any { return &w.cur.buckets }},
	{"cur_sessions", func(w *raw) any { return &w.cur.sessions }},
	{"cur_points", func(w *raw) any { return &w.points }},
	// Without a comparison, zeros of the same types, so rows scan alike.
	{"{{if .Compare}}cmp_users{{else}}toUInt64(0){{end}}", func(w *raw) any { return &w.cmp.users }},
	{"{{if .Compare}}cmp_ms{{else}}toUInt64(0){{end}}", func(w *raw) any { return &w.cmp.ms }},
	{"{{if .Compare}}cmp_buckets{{else}}toUInt64(0){{end}}", func(w *raw) any { return &w.cmp.buckets }},
	{"{{if .Compare}}cmp_sessions{{else}}toUInt64(0){{end}}", func(w *raw) any { return &w.cmp.sessions }},
	{"client_users", func(w *raw) any { return &w.clientUsers }},
	{"toString({{.SortKey}} AS sort_key) AS sort_key_text", func(w *raw) any { return &w.sortKey }},
	{"{{.AfterCursor}} AS after_cursor", func(w *raw) any { return &w.after }},
}

// rawClientUsers and rollupClientUsers are the distinct users of the
// client in the period (the adoption denominator), from usage rows or from
// month states and the usage rows of the days outside whole months. They
// are a joined subquery, not a scalar one: 18.16 cannot cancel a scalar
// subquery, so a client that hangs up could not stop it.
const (
	rawClientUsers = `(
        SELECT uniqExact(user_id) AS client_users FROM app_usage_reports
        WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND {{.Departments}}
    )`
	rollupClientUsers = `(
        SELECT uniqExact(user_id) AS client_users FROM
        (
            SELECT user_id FROM usage_client_month_users
            WHERE client_id = toUUID(@client) AND {{template "months" "cur"}}
            UNION ALL
            SELECT user_id FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND {{template "edges" "cur"}}
        )
    )`
)

// utilizationTemplate is the one statement that answers a utilization
// request. Both periods are aggregated in one scan with -If combinators;
// the app list comes from apps (filters) joined to that aggregate, each
// joined subquery with an alias (current releases require one). The
// aggregate comes from usage rows ("raw") or from the rollups ("rollups").
var utilizationTemplate = template.Must(template.New("utilization").Parse(`SELECT
    ` + selectList(utilizationColumns, func(c utilizationColumn) string { return c.sql }) + `
FROM
(
    SELECT app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
        category_ids, category_names, is_favorite, is_approved, license_count, risk_level, client_users
    FROM
    (
        SELECT app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
            category_ids, category_names, is_favorite, is_approved, license_count, risk_level
        FROM apps FINAL
        WHERE client_id = toUUID(@client){{.AppFilters}}
    ) AS listed
    CROSS JOIN
    {{if .Rollups}}` + rollupClientUsers + `{{else}}` + rawClientUsers + `{{end}} AS totals
) AS app
ANY LEFT JOIN
{{if .Rollups}}{{template "rollups" .}}{{else}}{{template "raw" .}}{{end}} AS used USING app_id
WHERE {{.Present}}
ORDER BY after_cursor DESC, sort_key {{.Dir}}, app_id {{.Dir}}
{{.Limit}}
{{- define "raw"}}(
    SELECT application_id AS app_id,
        countIf((activity_date >= toDate(@start) AND activity_date <= toDate(@end)) AS cur) AS cur_rows,
        uniqExactIf(user_id, cur AND (({{.Departments}}) AS dep)) AS cur_users,
        sumIf(total_active_ms, cur AND dep) AS cur_ms,
        uniqExactIf({{.Bucket}}, cur AND dep) AS cur_buckets,
        sumIf(total_session_count, cur AND dep) AS cur_sessions,
        countIf(cur AND dep) AS cur_points{{if .Compare}},
        uniqExactIf(user_id, ((activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp) AND dep) AS cmp_users,
        sumIf(total_active_ms, cmp AND dep) AS cmp_ms,
        uniqExactIf({{.Bucket}}, cmp AND dep) AS cmp_buckets,
        sumIf(total_session_count, cmp AND dep) AS cmp_sessions{{end}}
    FROM app_usage_reports
    WHERE client_id = toUUID(@client) AND activity_date >= toDate(@scan_from) AND activity_date <= toDate(@scan_to)
    GROUP BY application_id
){{end}}
{{- define "rollups"}}(
    SELECT app_id, cur_rows, cur_users, cur_ms, cur_buckets, cur_sessions, cur_points{{if .Compare}},
        cmp_users, cmp_ms, cmp_buckets, cmp_sessions{{end}}
    FROM
    (
        SELECT application_id AS app_id,
            sumIf(user_days, (activity_date >= toDate(@start) AND activity_date <= toDate(@end)) AS cur) AS cur_rows,
            sumIf(active_ms, cur) AS cur_ms,
            uniqExactIf({{.Bucket}}, cur) AS cur_buckets,
            sumIf(sessions, cur) AS cur_sessions,
            cur_rows AS cur_points{{if .Compare}},
            sumIf(active_ms, (activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp) AS cmp_ms,
            uniqExactIf({{.Bucket}}, cmp) AS cmp_buckets,
            sumIf(sessions, cmp) AS cmp_sessions{{end}}
        FROM usage_app_days
        WHERE client_id = toUUID(@client) AND activity_date >= toDate(@scan_from) AND activity_date <= toDate(@scan_to)
        GROUP BY application_id
    ) AS sums
    ANY LEFT JOIN
    (
        SELECT app_id, uniqExactIf(user_id, in_cur) AS cur_users{{if .Compare}}, uniqExactIf(user_id, in_cmp) AS cmp_users{{end}}
        FROM
        (
            SELECT application_id AS app_id, user_id, {{template "months" "cur"}} AS in_cur, {{if .Compare}}{{template "months" "cmp"}}{{else}}toUInt8(0){{end}} AS in_cmp
            FROM usage_app_month_users
            WHERE client_id = toUUID(@client) AND ({{template "months" "cur"}}{{if .Compare}} OR {{template "months" "cmp"}}{{end}})
            UNION ALL
            SELECT application_id AS app_id, user_id, {{template "edges" "cur"}} AS in_cur, {{if .Compare}}{{template "edges" "cmp"}}{{else}}toUInt8(0){{end}} AS in_cmp
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND ({{template "edges" "cur"}}{{if .Compare}} OR {{template "edges" "cmp"}}{{end}})
        )
        GROUP BY app_id
    ) AS users USING app_id
){{end}}
{{- define "months"}}(month >= toDate(@{{.}}_months_from) AND month <= toDate(@{{.}}_months_to)){{end}}
{{- define "edges"}}((activity_date >= toDate(@{{.}}_head_from) AND activity_date <= toDate(@{{.}}_head_to)) OR (activity_date >= toDate(@{{.}}_tail_from) AND activity_date <= toDate(@{{.}}_tail_to))){{end}}`))

// utilizationParts are the statement's request-dependent parts: constants
// and allowlisted names only.
type utilizationParts struct {
	Rollups     bool
	Compare     bool
	Departments string // the department scope's condition on user_id
	AppFilters  string
	Bucket      string // the granularity's bucket of a day
	SortKey     string
	AfterCursor string // 1 for rows after the cursor
	Present     string // which apps the filter keeps
	Dir         string
	Limit       string
}

// Source is where a utilization statement reads usage from.
type Source int

// The sources: usage rows, or the rollups the loader keeps beside them.
const (
	Raw Source = iota
	Rollups
)

// SourceFor is the one place that decides whether a request can be
// answered from the rollups with the exact answer of the usage rows; with
// rollups false (the --rollups=false flag) it never is. A department scope
// cannot: a user may sit in several departments, and the rollups keep no
// users per department, so its sums and distinct counts read usage rows.
func SourceFor(r *Utilization, rollups bool) Source {
	if !rollups || len(r.DepartmentIDs) > 0 {
		return Raw
	}
	return Rollups
}

// UtilizationSQL builds the statement of a utilization request from src,
// as SourceFor chose it. The cursor does not filter rows, it sorts rows
// after it first, so that rows_before_limit still counts every matching app
// for total_count.
func UtilizationSQL(r *Utilization, src Source) Statement {
	args := []any{
		clickhouse.Named("client", r.ClientID),
		clickhouse.Named("start", day(r.Period.Start)),
		clickhouse.Named("end", day(r.Period.End)),
	}
	scanFrom, scanTo := r.Period.Start, r.Period.End
	if r.Compare != nil {
		args = append(args, clickhouse.Named("cstart", day(r.Compare.Start)), clickhouse.Named("cend", day(r.Compare.End)))
		scanFrom, scanTo = minTime(scanFrom, r.Compare.Start), maxTime(scanTo, r.Compare.End)
	}
	args = append(args, clickhouse.Named("scan_from", day(scanFrom)), clickhouse.Named("scan_to", day(scanTo)))
	if src == Rollups {
		args = append(args, monthArgs("cur", r.Period)...)
		if r.Compare != nil {
			args = append(args, monthArgs("cmp", *r.Compare)...)
		}
	}
	p := utilizationParts{Rollups: src == Rollups, Compare: r.Compare != nil, Departments: "1", Bucket: bucketOf[r.Granularity],
		SortKey: sortColumns[r.SortBy], AfterCursor: "1", Present: "cur_rows > 0", Dir: "ASC"}
	if len(r.DepartmentIDs) > 0 {
		p.Departments = "user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))"
		args = append(args, clickhouse.Named("depts", r.DepartmentIDs))
	}
	var appArgs []any
	p.AppFilters, appArgs = appFilters(r)
	args = append(args, appArgs...)
	if r.Desc {
		p.Dir = "DESC"
	}
	if r.Cursor != nil {
		p.AfterCursor = afterCursor(r)
		args = append(args, clickhouse.Named("cursor_key", r.Cursor.Key), clickhouse.Named("cursor_id", r.Cursor.ID))
	}
	if r.Filter == "dropped_off" {
		p.Present = "cur_rows = 0"
	}
	if r.AppID != "" {
		p.Present = "1"
	}
	if n := r.limit(); n > 0 {
		p.Limit = fmt.Sprintf("LIMIT %d", n)
	}
	var b strings.Builder
	if err := utilizationTemplate.Execute(&b, &p); err != nil {
		panic(fmt.Sprintf("utilization template: %v", err)) // the parts are strings: it cannot fail
	}
	return Statement{SQL: b.String(), Args: args}
}

// monthArgs binds a period's whole calendar months (as month starts) and
// the days before and after them, named for the statement's "months" and
// "edges" parts. An empty range has its end before its start.
func monthArgs(name string, p Period) []any {
	first := time.Date(p.Start.Year(), p.Start.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !first.Equal(p.Start) {
		first = first.AddDate(0, 1, 0)
	}
	endNext := p.End.AddDate(0, 0, 1)
	last := time.Date(endNext.Year(), endNext.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	headTo, tailFrom := first.AddDate(0, 0, -1), last.AddDate(0, 1, 0)
	if last.Before(first) { // no whole month: every day is an edge day
		headTo, tailFrom = p.End, p.End.AddDate(0, 0, 1)
	}
	return []any{
		clickhouse.Named(name+"_months_from", day(first)), clickhouse.Named(name+"_months_to", day(last)),
		clickhouse.Named(name+"_head_from", day(p.Start)), clickhouse.Named(name+"_head_to", day(headTo)),
		clickhouse.Named(name+"_tail_from", day(tailFrom)), clickhouse.Named(name+"_tail_to", day(p.End)),
	}
}

// afterCursor is 1 for rows after the cursor's (sort key, app id) in the
// sort's direction.
func afterCursor(r *Utilization) string {
	return cursorCondition("app_id", r.Desc, r.SortBy == api.SortName)
}

// cursorCondition is 1 for rows after the cursor's (sort key, id) in the
// sort's direction; a text key (a name) compares as text, others as
// numbers.
func cursorCondition(id string, desc, textKey bool) string {
	op := ">"
	if desc {
		op = "<"
	}
	key := "@cursor_key"
	if !textKey {
		key = "toInt64(@cursor_key)"
	}
	return fmt.Sprintf("(sort_key %[1]s %[2]s OR (sort_key = %[2]s AND %[3]s %[1]s toUUID(@cursor_id)))", op, key, id)
}

// appFilters narrows the app list: name search, categories, vendors,
// favourite and approval flags, and first-seen for the filter parameter.
func appFilters(r *Utilization) (string, []any) {
	var w strings.Builder
	var args []any
	if r.AppID != "" {
		w.WriteString("\n        AND app_id = toUUID(@app)")
		args = append(args, clickhouse.Named("app", r.AppID))
	}
	if r.Q != "" {
		w.WriteString("\n        AND position(name_key, @q) > 0")
		args = append(args, clickhouse.Named("q", fold.Key(r.Q)))
	}
	if len(r.CategoryIDs) > 0 {
		w.WriteString("\n        AND hasAny(category_ids, arrayMap(x -> toUUID(x), @categories))")
		args = append(args, clickhouse.Named("categories", r.CategoryIDs))
	}
	if len(r.VendorIDs) > 0 {
		w.WriteString("\n        AND has(arrayMap(x -> toUUID(x), @vendors), vendor_id)")
		args = append(args, clickhouse.Named("vendors", r.VendorIDs))
	}
	if r.IsFavorite != nil {
		w.WriteString("\n        AND is_favorite = @favorite")
		args = append(args, clickhouse.Named("favorite", boolInt(*r.IsFavorite)))
	}
	if r.IsApproved != nil {
		w.WriteString("\n        AND is_approved = @approved")
		args = append(args, clickhouse.Named("approved", boolInt(*r.IsApproved)))
	}
	firstSeen := map[string]string{
		"discovered":  "minMerge(first_seen) >= toDate(@start) AND minMerge(first_seen) <= toDate(@end)",
		"dropped_off": "minMerge(first_seen) < toDate(@start)",
	}[r.Filter]
	if firstSeen != "" {
		w.WriteString("\n        AND app_id IN (SELECT application_id FROM app_activity_bounds WHERE client_id = toUUID(@client) GROUP BY application_id HAVING " + firstSeen + ")")
	}
	return w.String(), args
}

func boolInt(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
