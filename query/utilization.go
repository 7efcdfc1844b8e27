package query

import (
	"fmt"
	"strings"
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

// UtilizationSQL builds the one statement that answers a utilization
// request. Both periods are aggregated in one scan with -If combinators;
// the app list comes from apps (filters) joined to that aggregate. The
// cursor does not filter rows, it sorts rows after it first, so that
// rows_before_limit still counts every matching app for total_count.
func UtilizationSQL(r *Utilization) Statement {
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

	dep := "1"
	if len(r.DepartmentIDs) > 0 {
		dep = "user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))"
		args = append(args, clickhouse.Named("depts", r.DepartmentIDs))
	}
	appWhere, appArgs := appFilters(r)
	args = append(args, appArgs...)

	sortKey := sortColumns[r.SortBy]
	dir := "ASC"
	if r.Desc {
		dir = "DESC"
	}
	after := "1"
	if r.Cursor != nil {
		op := ">"
		if r.Desc {
			op = "<"
		}
		key := "@cursor_key"
		if r.SortBy != api.SortName {
			key = "toInt64(@cursor_key)"
		}
		after = fmt.Sprintf("(sort_key %[1]s %[2]s OR (sort_key = %[2]s AND app_id %[1]s toUUID(@cursor_id)))", op, key)
		args = append(args, clickhouse.Named("cursor_key", r.Cursor.Key), clickhouse.Named("cursor_id", r.Cursor.ID))
	}
	present := "cur_rows > 0"
	if r.Filter == "dropped_off" {
		present = "cur_rows = 0"
	}
	limit := ""
	if n := r.limit(); n > 0 {
		limit = fmt.Sprintf("LIMIT %d", n)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `SELECT
    toString(app_id), toString(catalog_app_id), canonical_name, logo, CAST(type AS String),
    toString(vendor_id), vendor_name, vendor_url,
    arrayMap(x -> toString(x), category_ids), category_names,
    is_favorite, is_approved, license_count, risk_level,
    cur_users, cur_ms, cur_buckets, cur_sessions, cur_points,
    %[1]s,
    assumeNotNull((SELECT uniqExact(user_id) FROM app_usage_reports WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND %[2]s)) AS client_users,
    toString(%[3]s AS sort_key) AS sort_key_text,
    %[4]s AS after_cursor
FROM
(
    SELECT app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
        category_ids, category_names, is_favorite, is_approved, license_count, risk_level
    FROM apps FINAL
    WHERE client_id = toUUID(@client)%[5]s
) AS app
ANY LEFT JOIN
(
    SELECT application_id AS app_id,
        countIf((activity_date >= toDate(@start) AND activity_date <= toDate(@end)) AS cur) AS cur_rows,
        uniqExactIf(user_id, cur AND ((%[2]s) AS dep)) AS cur_users,
        sumIf(total_active_ms, cur AND dep) AS cur_ms,
        uniqExactIf(%[6]s, cur AND dep) AS cur_buckets,
        sumIf(total_session_count, cur AND dep) AS cur_sessions,
        countIf(cur AND dep) AS cur_points%[7]s
    FROM app_usage_reports
    WHERE client_id = toUUID(@client) AND activity_date >= toDate(@scan_from) AND activity_date <= toDate(@scan_to)
    GROUP BY application_id
) AS used USING app_id
WHERE %[8]s
ORDER BY after_cursor DESC, sort_key %[9]s, app_id %[9]s
%[10]s`,
		compareColumns(r), dep, sortKey, after, appWhere, bucketOf[r.Granularity], compareAggregates(r), present, dir, limit)
	return Statement{SQL: b.String(), Args: args}
}

// appFilters narrows the app list: name search, categories, vendors,
// favourite and approval flags, and first-seen for the filter parameter.
func appFilters(r *Utilization) (string, []any) {
	var w strings.Builder
	var args []any
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

func compareAggregates(r *Utilization) string {
	if r.Compare == nil {
		return ""
	}
	return `,
        uniqExactIf(user_id, ((activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp) AND dep) AS cmp_users,
        sumIf(total_active_ms, cmp AND dep) AS cmp_ms,
        uniqExactIf(` + bucketOf[r.Granularity] + `, cmp AND dep) AS cmp_buckets,
        sumIf(total_session_count, cmp AND dep) AS cmp_sessions`
}

// compareColumns selects the comparison aggregates, or zeros of the same
// types when there is no comparison so that rows scan the same way.
func compareColumns(r *Utilization) string {
	if r.Compare == nil {
		return "toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0)"
	}
	return "cmp_users, cmp_ms, cmp_buckets, cmp_sessions"
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
