package query

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/api"
)

// Series is a validated usage time-series request, shared by its JSON
// pages and its CSV.
type Series struct {
	ClientID                                               string
	Period                                                 Period
	BinSize, GroupBy                                       string
	Metrics                                                []string
	AppIDs, DepartmentIDs, UserIDs, CategoryIDs, VendorIDs []string
	DisplayAll                                             bool
	SortBy                                                 string
	Desc                                                   bool
	CSV                                                    bool
	PageSize                                               int
	Cursor                                                 *Cursor
	// RawUserIDs, when set, are the users UserIDs names for a
	// pseudonymous client (its UserIDs are pseudonyms), resolved by the store.
	RawUserIDs []string
	cursorKey  []byte
}

var seriesParams = []string{api.ParamStartDate, api.ParamEndDate, api.ParamBinSize, api.ParamGroupBy, api.ParamMetrics,
	api.ParamApplicationIDs, api.ParamDepartmentIDs, api.ParamUserIDs, api.ParamCategoryIDs, api.ParamVendorIDs,
	api.ParamDisplayAll, api.ParamSortBy, api.ParamSortOrder, api.ParamPageSize, api.ParamCursor, api.ParamFormat}

// ParseSeries validates the query parameters of a usage series request;
// its cursors are sealed with cursorKey (the pseudonym key; nil: plain), as
// a user group's cursor holds a raw user id.
func ParseSeries(clientID string, v url.Values, cursorKey []byte) (*Series, error) {
	p := parser{v: v}
	for name := range v {
		if !slices.Contains(seriesParams, name) {
			return nil, paramErr(name, v.Get(name), fmt.Sprintf("unknown parameter %q", name))
		}
	}
	r := &Series{ClientID: clientID}
	r.Period = p.period(api.ParamStartDate, api.ParamEndDate, true)
	r.BinSize = p.enum(api.ParamBinSize, api.BinSizes, "month")
	r.GroupBy = p.enum(api.ParamGroupBy, api.GroupBys, api.GroupNone)
	r.Metrics = p.metrics()
	var aliases []string
	r.AppIDs = p.ids(api.ParamApplicationIDs, "", &aliases)
	r.DepartmentIDs = p.ids(api.ParamDepartmentIDs, "", &aliases)
	r.UserIDs = p.ids(api.ParamUserIDs, "", &aliases)
	r.CategoryIDs = p.ids(api.ParamCategoryIDs, "", &aliases)
	r.VendorIDs = p.ids(api.ParamVendorIDs, "", &aliases)
	r.DisplayAll = p.boolean(api.ParamDisplayAll) != nil && *p.boolean(api.ParamDisplayAll)
	def := api.SeriesSortName
	if len(r.Metrics) > 0 {
		def = r.Metrics[0]
	}
	r.SortBy = p.enum(api.ParamSortBy, append([]string{api.SeriesSortName}, api.SeriesMetrics...), def)
	r.Desc = p.enum(api.ParamSortOrder, api.SortOrders, "desc") == "desc"
	r.CSV = p.enum(api.ParamFormat, api.Formats, "json") != "json" // a file
	if r.CSV {
		for _, name := range []string{api.ParamPageSize, api.ParamCursor} {
			if v.Has(name) {
				p.fail(paramErr(name, v.Get(name), name+" is not accepted with a file format (csv, xlsx): the file holds every group"))
			}
		}
	} else {
		r.PageSize = p.pageSize()
	}
	if p.err != nil {
		return nil, p.err
	}
	if c := p.single(api.ParamCursor); c != "" {
		cur, err := OpenCursor(c, cursorKey, fingerprint(r.resultKey()))
		if err != nil {
			return nil, err
		}
		r.Cursor = cur
	}
	r.cursorKey = cursorKey
	return r, p.err
}

// metrics reads the metrics list: known names, repeats dropped, all of
// them by default.
func (p *parser) metrics() []string {
	s := p.single(api.ParamMetrics)
	if s == "" {
		return api.SeriesMetrics
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(api.SeriesMetrics, m) {
			p.fail(paramErr(api.ParamMetrics, m, fmt.Sprintf("metrics: %q is not one of %s", m, strings.Join(api.SeriesMetrics, ", "))))
			return nil
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// resultKey spells out what decides the groups and their order.
func (r *Series) resultKey() string {
	parts := []string{"series1", r.ClientID, day(r.Period.Start), day(r.Period.End), r.BinSize, r.GroupBy, strings.Join(r.Metrics, ","),
		strings.Join(r.AppIDs, ","), strings.Join(r.DepartmentIDs, ","), strings.Join(r.UserIDs, ","),
		strings.Join(r.CategoryIDs, ","), strings.Join(r.VendorIDs, ","), strconv.FormatBool(r.DisplayAll), r.SortBy, strconv.FormatBool(r.Desc)}
	return joinKey(parts)
}

// CacheKey is the request in normal form, the client included.
func (r *Series) CacheKey() string {
	k := "series|" + r.resultKey() + strconv.Itoa(r.PageSize) + "|" + strconv.FormatBool(r.CSV) + "|"
	if r.Cursor != nil {
		k += r.Cursor.Key + "|" + r.Cursor.ID
	}
	return k
}

func (r *Series) limit() int {
	if r.PageSize == 0 {
		return 0
	}
	return r.PageSize + 1
}

// Bins are the period's bins of size, clipped to the period, in time
// order.
func Bins(p Period, size string) []Period {
	var out []Period
	for start := p.Start; !start.After(p.End); {
		next := binStart(start, size)
		switch size {
		case "day":
			next = next.AddDate(0, 0, 1)
		case "week":
			next = next.AddDate(0, 0, 7)
		case "month":
			next = next.AddDate(0, 1, 0)
		case "quarter":
			next = next.AddDate(0, 3, 0)
		}
		end := next.AddDate(0, 0, -1)
		if end.After(p.End) {
			end = p.End
		}
		out = append(out, Period{start, end})
		start = next
	}
	return out
}

// binStart is the start of the calendar unit holding t, as the statement's
// bin key computes it.
func binStart(t time.Time, size string) time.Time {
	switch size {
	case "week":
		return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

var seriesBinOf = map[string]string{
	"day":     "activity_date",
	"week":    "toMonday(activity_date)",
	"month":   "toStartOfMonth(activity_date)",
	"quarter": "toStartOfQuarter(activity_date)",
}

// seriesTotals are the group totals sort_by can name, as SQL.
var seriesTotals = map[string]string{
	api.MetricActiveTime:     "t_ms",
	api.MetricSessions:       "t_sessions",
	api.MetricUniqueUsers:    "t_users",
	api.MetricUniqueApps:     "t_apps",
	api.MetricActiveUserDays: "t_rows",
	// -1 without sessions, so a null average sorts lowest.
	api.MetricAvgSession: "if(t_sessions = 0, toInt64(-1), toInt64(intDiv(t_ms, greatest(t_sessions, 1))))",
}

// seriesGroup is what a group_by value needs: the key of a usage row's
// group, the rows it reads (usage rows joined to memberships or apps when
// a row belongs to several groups), the list of its groups (for names and
// display_all) and the name sort key.
type seriesGroup struct {
	key, rows, list, nameKey string
	// listAlways: the list gives the names, so it is joined even without
	// display_all.
	listAlways bool
	// allAlways: every group of the list is listed, display_all or not.
	allAlways bool
}

// usageRowsSQL are the period's rows as every group reads them. A row
// carries sums (is_sum: active time, sessions, user-days, its app and day)
// or a user (is_user), or both. From usage rows every row carries both.
// From the rollups, the per (app, day) rollup carries the sums; the users
// come from the month-user rows of the period's whole months and the usage
// rows of the days outside them, so month and quarter bins count them
// exactly.
const usageRowsSQL = `(
            {{- if .Rollups}}
            SELECT activity_date, application_id, toUUID('00000000-0000-0000-0000-000000000000') AS user_id, active_ms, sessions, user_days, toUInt8(1) AS is_sum, toUInt8(0) AS is_user
            FROM usage_app_days
            WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end){{.RowFilters}}
            {{- if .RollupUsers}}
            UNION ALL
            SELECT month AS activity_date, application_id, user_id, toUInt64(0) AS active_ms, toUInt64(0) AS sessions, toUInt64(0) AS user_days, toUInt8(0) AS is_sum, toUInt8(1) AS is_user
            FROM usage_app_month_users
            WHERE client_id = toUUID(@client) AND month >= toDate(@cur_months_from) AND month <= toDate(@cur_months_to){{.RowFilters}}
            UNION ALL
            SELECT activity_date, application_id, user_id, toUInt64(0) AS active_ms, toUInt64(0) AS sessions, toUInt64(0) AS user_days, toUInt8(0) AS is_sum, toUInt8(1) AS is_user
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND ((activity_date >= toDate(@cur_head_from) AND activity_date <= toDate(@cur_head_to)) OR (activity_date >= toDate(@cur_tail_from) AND activity_date <= toDate(@cur_tail_to))){{.RowFilters}}
            {{- end}}
            {{- else}}
            SELECT activity_date, application_id, user_id, total_active_ms AS active_ms, toUInt64(total_session_count) AS sessions, toUInt64(1) AS user_days, toUInt8(1) AS is_sum, toUInt8(1) AS is_user
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end){{.RowFilters}}
            {{- end}}
        )`

const rowColumns = "activity_date, application_id, user_id, active_ms, sessions, user_days, is_sum, is_user"

var seriesGroups = map[string]seriesGroup{
	// The one series of group_by=none is there even without usage.
	api.GroupNone: {key: "toUUID('00000000-0000-0000-0000-000000000000')", rows: usageRowsSQL, nameKey: "''",
		list: "SELECT toUUID('00000000-0000-0000-0000-000000000000') AS g_id, '' AS g_name", listAlways: true, allAlways: true},
	"app": {key: "application_id", rows: usageRowsSQL, nameKey: "name_key", listAlways: true,
		list: "SELECT app_id AS g_id, canonical_name AS g_name, name_key FROM apps FINAL WHERE client_id = toUUID(@client){{.AppFilters}}"},
	// Users are named from the users dimension ('' without a name); the
	// list is every known user with display_all, else the period's.
	"user": {key: "user_id", rows: usageRowsSQL, nameKey: "toString(g_id)", listAlways: true,
		list: `SELECT g_id, ifNull(display_name, '') AS g_name FROM
        (
            SELECT user_id AS g_id FROM
            (
                {{- if .DisplayAll}}
                SELECT user_id FROM user_departments WHERE client_id = toUUID(@client)
                UNION ALL
                SELECT user_id FROM app_usage_reports WHERE client_id = toUUID(@client)
                {{- else}}
                SELECT user_id FROM app_usage_reports WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end)
                {{- end}}
            )
            WHERE 1{{.UserFilters}}
            GROUP BY user_id
        ) AS known
        ANY LEFT JOIN
        (
            SELECT user_id AS g_id, display_name FROM users FINAL WHERE client_id = toUUID(@client)
        ) AS named USING g_id`},
	"department": {key: "department_id", nameKey: "toString(g_id)",
		rows: `(
            SELECT ` + rowColumns + `, department_id
            FROM ` + usageRowsSQL + ` AS u
            ALL INNER JOIN
            (
                SELECT DISTINCT user_id, department_id FROM user_departments
                WHERE client_id = toUUID(@client){{.DepartmentGroups}}
            ) AS member USING user_id
        )`,
		list: "SELECT DISTINCT department_id AS g_id, toString(department_id) AS g_name FROM user_departments WHERE client_id = toUUID(@client){{.DepartmentGroups}}{{.UserFilters}}"},
	"category": {key: "category_id", nameKey: "g_name", listAlways: true,
		rows: `(
            SELECT ` + rowColumns + `, arrayJoin({{.CategoryGroups}}) AS category_id
            FROM ` + usageRowsSQL + ` AS u
            ALL INNER JOIN
            (
                SELECT app_id AS application_id, category_ids FROM apps FINAL WHERE client_id = toUUID(@client)
            ) AS a USING application_id
        )`,
		list: "SELECT category_id AS g_id, any(category_name) AS g_name FROM apps FINAL ARRAY JOIN category_ids AS category_id, category_names AS category_name WHERE client_id = toUUID(@client){{.AppFilters}}{{.CategoryListFilter}} GROUP BY category_id"},
	"vendor": {key: "vendor_id", nameKey: "g_name", listAlways: true,
		rows: `(
            SELECT ` + rowColumns + `, vendor_id
            FROM ` + usageRowsSQL + ` AS u
            ALL INNER JOIN
            (
                SELECT app_id AS application_id, vendor_id FROM apps FINAL WHERE client_id = toUUID(@client)
            ) AS a USING application_id
        )`,
		list: "SELECT vendor_id AS g_id, any(vendor_name) AS g_name FROM apps FINAL WHERE client_id = toUUID(@client){{.AppFilters}} GROUP BY vendor_id"},
}

// seriesColumn is one selected column and where it is scanned.
type seriesColumn struct {
	sql  string
	dest func(*seriesRaw) any
}

var seriesColumns = []seriesColumn{
	{"toString(g_id)", func(w *seriesRaw) any { return &w.id }},
	{"{{if .List}}g_name{{else}}''{{end}}", func(w *seriesRaw) any { return &w.name }},
	{"t_ms", func(w *seriesRaw) any { return &w.total.ms }},
	{"t_sessions", func(w *seriesRaw) any { return &w.total.sessions }},
	{"t_users", func(w *seriesRaw) any { return &w.total.users }},
	{"t_apps", func(w *seriesRaw) any { return &w.total.apps }},
	{"t_rows", func(w *seriesRaw) any { return &w.total.rows }},
	{"arrayMap(x -> toString(x), a_bins)", func(w *seriesRaw) any { return &w.bins }},
	{"a_ms", func(w *seriesRaw) any { return &w.ms }},
	{"a_sessions", func(w *seriesRaw) any { return &w.sessions }},
	{"a_users", func(w *seriesRaw) any { return &w.users }},
	{"a_apps", func(w *seriesRaw) any { return &w.apps }},
	{"a_rows", func(w *seriesRaw) any { return &w.rows }},
	{"a_days", func(w *seriesRaw) any { return &w.days }},
	{"toString({{.SortKey}} AS sort_key) AS sort_key_text", func(w *seriesRaw) any { return &w.sortKey }},
	{"{{.AfterCursor}} AS after_cursor", func(w *seriesRaw) any { return &w.after }},
}

// seriesTemplate is the one statement of a series request: per (group,
// bin) sums and distinct counts, with mergeable distinct states so the
// group's period totals are distinct over the period, not sums of bins;
// then per group, the bins as arrays. The group list, when joined, names
// the groups and keeps those without usage (display_all).
var seriesTemplate = template.Must(template.New("series").Parse(`SELECT
    ` + selectList(seriesColumns, func(c seriesColumn) string { return c.sql }) + `
FROM
{{- if .List}}
(
    {{.List}}
) AS dim
{{.Join}}
{{- end}}
(
    SELECT g_id,
        sum(b_ms) AS t_ms, sum(b_sessions) AS t_sessions, uniqExactMerge(s_users) AS t_users,
        uniqExactMerge(s_apps) AS t_apps, sum(b_rows) AS t_rows,
        arraySort(groupArray(bin)) AS a_bins,` + func() string {
	// Each bin's figures in the order of its bins: groupArray keeps the
	// order rows arrive in, which differs between runs and versions.
	var cols []string
	for _, c := range []string{"ms", "sessions", "users", "apps", "rows", "days"} {
		cols = append(cols, "arraySort((x, k) -> k, groupArray(b_"+c+"), groupArray(bin)) AS a_"+c)
	}
	return "\n        " + strings.Join(cols, ",\n        ")
}() + `
    FROM
    (
        SELECT {{.Key}} AS g_id, {{.Bin}} AS bin,
            sum(active_ms) AS b_ms, sum(sessions) AS b_sessions,
            uniqExactIf(user_id, is_user = 1) AS b_users, uniqExactStateIf(user_id, is_user = 1) AS s_users,
            uniqExactIf(application_id, is_sum = 1) AS b_apps, uniqExactStateIf(application_id, is_sum = 1) AS s_apps,
            sum(user_days) AS b_rows, uniqExactIf(activity_date, is_sum = 1) AS b_days
        FROM {{.Rows}}
        GROUP BY g_id, bin
    )
    GROUP BY g_id
) AS agg{{if .List}} USING g_id{{end}}
ORDER BY after_cursor DESC, sort_key {{.Dir}}, g_id {{.Dir}}
{{.Limit}}`))

// seriesParts are the statement's request-dependent parts: constants and
// allowlisted names only.
type seriesParts struct {
	Rollups, RollupUsers, DisplayAll                                                          bool
	List, Join, Key, Bin, Rows, SortKey, AfterCursor, Dir, Limit                              string
	RowFilters, AppFilters, UserFilters, DepartmentGroups, CategoryGroups, CategoryListFilter string
}

// SeriesSourceFor is the one place that decides whether the rollups give
// a series request the exact answer of the usage rows: not for a request
// that filters or groups by users (or their departments), which the
// rollups do not keep apart, nor for one that counts users in day or week
// bins (the rollups keep users per month).
func SeriesSourceFor(r *Series, rollups bool) Source {
	users := slices.Contains(r.Metrics, api.MetricUniqueUsers) || r.SortBy == api.MetricUniqueUsers
	byUser := len(r.UserIDs) > 0 || len(r.DepartmentIDs) > 0 || r.GroupBy == "user" || r.GroupBy == "department"
	wholeMonths := r.BinSize == "month" || r.BinSize == "quarter"
	if !rollups || byUser || users && !wholeMonths {
		return Raw
	}
	return Rollups
}

// SeriesSQL builds the statement of a series request from src, as
// SeriesSourceFor chose it.
func SeriesSQL(r *Series, src Source) Statement {
	args := []any{clickhouse.Named("client", r.ClientID), clickhouse.Named("start", day(r.Period.Start)), clickhouse.Named("end", day(r.Period.End))}
	g := seriesGroups[r.GroupBy]
	if src == Rollups {
		args = append(args, monthArgs("cur", r.Period)...)
	}
	p := seriesParts{DisplayAll: r.DisplayAll, Rollups: src == Rollups, RollupUsers: src == Rollups && slices.Contains(r.Metrics, api.MetricUniqueUsers) || src == Rollups && r.SortBy == api.MetricUniqueUsers, Bin: seriesBinOf[r.BinSize], Key: g.key, Rows: g.rows, Dir: "ASC", AfterCursor: "1", CategoryGroups: "category_ids"}
	if r.Desc {
		p.Dir = "DESC"
	}
	p.SortKey = seriesTotals[r.SortBy]
	if r.SortBy == api.SeriesSortName {
		p.SortKey = g.nameKey
	}
	if g.listAlways || r.DisplayAll {
		p.List, p.Join = g.list, "ALL INNER JOIN"
		if r.DisplayAll || g.allAlways {
			p.Join = "ANY LEFT JOIN"
		}
	}
	args = append(args, seriesFilters(r, &p)...)
	if r.Cursor != nil {
		p.AfterCursor = cursorCondition("g_id", r.Desc, r.SortBy == api.SeriesSortName)
		args = append(args, clickhouse.Named("cursor_key", r.Cursor.Key), clickhouse.Named("cursor_id", r.Cursor.ID))
	}
	if n := r.limit(); n > 0 {
		p.Limit = fmt.Sprintf("LIMIT %d", n)
	}
	var b strings.Builder
	if err := seriesTemplate.Execute(&b, &p); err != nil {
		panic(fmt.Sprintf("series template: %v", err))
	}
	return Statement{SQL: expandParts(b.String(), &p), Args: args}
}

// expandParts fills the parts that are themselves templates (a group's
// rows and list name the filters).
func expandParts(sql string, p *seriesParts) string {
	t := template.Must(template.New("parts").Parse(sql))
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		panic(fmt.Sprintf("series parts: %v", err))
	}
	return b.String()
}

// seriesFilters sets the filter parts of p and returns their args: each
// list narrows the usage rows; a department (category) filter also narrows
// the department (category) groups.
func seriesFilters(r *Series, p *seriesParts) []any {
	var args []any
	var rows, apps, users strings.Builder
	uuids := func(name string) string { return "arrayMap(x -> toUUID(x), @" + name + ")" }
	if len(r.AppIDs) > 0 {
		rows.WriteString(" AND has(" + uuids("apps") + ", application_id)")
		apps.WriteString(" AND has(" + uuids("apps") + ", app_id)")
		args = append(args, clickhouse.Named("apps", r.AppIDs))
	}
	var byApp []string
	if len(r.CategoryIDs) > 0 {
		byApp = append(byApp, "hasAny(category_ids, "+uuids("categories")+")")
		p.CategoryGroups = "arrayFilter(c -> has(" + uuids("categories") + ", c), category_ids)"
		p.CategoryListFilter = " AND has(" + uuids("categories") + ", category_id)"
		args = append(args, clickhouse.Named("categories", r.CategoryIDs))
	}
	if len(r.VendorIDs) > 0 {
		byApp = append(byApp, "has("+uuids("vendors")+", vendor_id)")
		args = append(args, clickhouse.Named("vendors", r.VendorIDs))
	}
	if len(byApp) > 0 {
		cond := strings.Join(byApp, " AND ")
		rows.WriteString(" AND application_id IN (SELECT app_id FROM apps FINAL WHERE client_id = toUUID(@client) AND " + cond + ")")
		apps.WriteString(" AND " + cond)
	}
	if ids := r.UserIDs; len(ids) > 0 {
		if r.RawUserIDs != nil {
			ids = r.RawUserIDs
		}
		rows.WriteString(" AND has(" + uuids("users") + ", user_id)")
		users.WriteString(" AND has(" + uuids("users") + ", user_id)")
		args = append(args, clickhouse.Named("users", ids))
	}
	if len(r.DepartmentIDs) > 0 {
		member := " AND user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(" + uuids("depts") + ", department_id))"
		rows.WriteString(member)
		if r.GroupBy == "user" {
			users.WriteString(member)
		}
		p.DepartmentGroups = " AND has(" + uuids("depts") + ", department_id)"
		args = append(args, clickhouse.Named("depts", r.DepartmentIDs))
	}
	p.RowFilters, p.AppFilters, p.UserFilters = rows.String(), apps.String(), users.String()
	return args
}
