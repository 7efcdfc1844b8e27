package query

import (
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/fold"
)

// UserUsage is a validated per-user usage request, shared by its JSON
// pages and its CSV export.
type UserUsage struct {
	ClientID              string
	Period                Period
	Q                     string
	MinMS, MaxMS          *uint64 // the hours bounds in whole milliseconds
	DepartmentIDs, AppIDs []string
	SortBy                string
	Desc                  bool
	PageSize              int
	Cursor                *Cursor
	// Only, when not nil, narrows the rows to these users instead of q: a
	// pseudonymous client's q matches pseudonyms, which the store resolves.
	Only      []string
	cursorKey []byte
}

var userUsageParams = []string{api.ParamStartDate, api.ParamEndDate, api.ParamQ, api.ParamMinHours, api.ParamMaxHours,
	api.ParamDepartmentIDs, api.ParamApplicationIDs, api.ParamSortBy, api.ParamSortOrder, api.ParamPageSize, api.ParamCursor}

// ParseUserUsage validates a user usage request; pg says whether it pages
// (JSON) or not (the export). Its cursors are sealed with cursorKey (the
// pseudonym key; nil: plain).
func ParseUserUsage(clientID string, v url.Values, pg Pagination, cursorKey []byte) (*UserUsage, error) {
	p := parser{v: v}
	for name := range v {
		if !slices.Contains(userUsageParams, name) {
			return nil, paramErr(name, v.Get(name), fmt.Sprintf("unknown parameter %q", name))
		}
		if !pg && (name == api.ParamCursor || name == api.ParamPageSize) {
			return nil, paramErr(name, v.Get(name), name+" is not accepted by the export: it always returns the full result")
		}
	}
	r := &UserUsage{ClientID: clientID}
	r.Period = p.period(api.ParamStartDate, api.ParamEndDate, true)
	r.Q = p.single(api.ParamQ)
	r.MinMS = p.hours(api.ParamMinHours, true)
	r.MaxMS = p.hours(api.ParamMaxHours, false)
	var aliases []string
	r.DepartmentIDs = p.ids(api.ParamDepartmentIDs, "", &aliases)
	r.AppIDs = p.ids(api.ParamApplicationIDs, "", &aliases)
	r.SortBy = p.enum(api.ParamSortBy, api.UserUsageSorts, api.UserSortActiveTime)
	r.Desc = p.enum(api.ParamSortOrder, api.SortOrders, "desc") == "desc"
	if pg {
		r.PageSize = p.pageSize()
	}
	if p.err == nil && r.MinMS != nil && r.MaxMS != nil && *r.MaxMS < *r.MinMS {
		p.fail(rangeErr(fmt.Sprintf("%s %s is less than %s %s", api.ParamMaxHours, v.Get(api.ParamMaxHours), api.ParamMinHours, v.Get(api.ParamMinHours)),
			map[string]any{api.ParamMinHours: v.Get(api.ParamMinHours), api.ParamMaxHours: v.Get(api.ParamMaxHours)}))
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
	return r, nil
}

var decimal = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,9})?$`)

// msPerHour converts hours to the milliseconds active_time_ms counts.
const msPerHour = 3_600_000

// hours reads a non-negative decimal number of hours as whole
// milliseconds, exactly: rounded up for a lower bound (atLeast), down for
// an upper one, so the comparison with whole milliseconds is the exact one.
func (p *parser) hours(name string, atLeast bool) *uint64 {
	s := p.single(name)
	if s == "" {
		return nil
	}
	if !decimal.MatchString(s) {
		p.fail(paramErr(name, s, fmt.Sprintf("%s %q is not a non-negative decimal number of hours", name, s)))
		return nil
	}
	h, _ := new(big.Rat).SetString(s)
	ms := new(big.Rat).Mul(h, big.NewRat(msPerHour, 1))
	q, rem := new(big.Int).QuoRem(ms.Num(), ms.Denom(), new(big.Int))
	if atLeast && rem.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	n := q.Uint64()
	return &n
}

func (r *UserUsage) resultKey() string {
	opt := func(n *uint64) string {
		if n == nil {
			return "-"
		}
		return strconv.FormatUint(*n, 10)
	}
	return joinKey([]string{"users1", r.ClientID, day(r.Period.Start), day(r.Period.End), r.Q, opt(r.MinMS), opt(r.MaxMS),
		strings.Join(r.DepartmentIDs, ","), strings.Join(r.AppIDs, ","), r.SortBy, strconv.FormatBool(r.Desc)})
}

// CacheKey is the request in normal form, the client included.
func (r *UserUsage) CacheKey() string {
	k := "users|" + r.resultKey() + strconv.Itoa(r.PageSize) + "|"
	if r.Cursor != nil {
		k += r.Cursor.Key + "|" + r.Cursor.ID
	}
	return k
}

func (r *UserUsage) limit() int {
	if r.PageSize == 0 {
		return 0
	}
	return r.PageSize + 1
}

// userSortColumns is the allowlist of sort_by values and their SQL keys.
var userSortColumns = map[string]string{
	api.UserSortActiveTime: "active_ms",
	api.UserSortSessions:   "sessions",
	api.UserSortActiveDays: "active_days",
	api.UserSortAppsUsed:   "apps_used",
	api.UserSortLastActive: "toInt64(toUInt32(last_day))",
	api.UserSortName:       "name_key",
}

// userColumn is one selected column and where it is scanned.
type userColumn struct {
	sql  string
	dest func(*userRaw) any
}

var userColumns = []userColumn{
	{"toString(user_id)", func(w *userRaw) any { return &w.id }},
	{"display_name", func(w *userRaw) any { return &w.name }},
	{"email", func(w *userRaw) any { return &w.email }},
	{"arrayMap(x -> toString(x), depts)", func(w *userRaw) any { return &w.depts }},
	{"active_ms", func(w *userRaw) any { return &w.ms }},
	{"sessions", func(w *userRaw) any { return &w.sessions }},
	{"active_days", func(w *userRaw) any { return &w.days }},
	{"apps_used", func(w *userRaw) any { return &w.apps }},
	{"first_day", func(w *userRaw) any { return &w.first }},
	{"last_day", func(w *userRaw) any { return &w.last }},
	{"top_ids", func(w *userRaw) any { return &w.topIDs }},
	{"top_ms", func(w *userRaw) any { return &w.topMS }},
	{"toString({{.SortKey}} AS sort_key) AS sort_key_text", func(w *userRaw) any { return &w.sortKey }},
	{"{{.AfterCursor}} AS after_cursor", func(w *userRaw) any { return &w.after }},
}

// userTemplate is the one statement of a user usage request: per user
// totals of the scope, the user's top three apps (by active time, ties by
// app id as text), departments and name, one joined subquery at a time as
// 18.16 requires.
var userTemplate = template.Must(template.New("users").Parse(`SELECT
    ` + selectList(userColumns, func(c userColumn) string { return c.sql }) + `
FROM
(
    SELECT user_id, active_ms, sessions, active_days, apps_used, first_day, last_day, top_ids, top_ms, depts
    FROM
    (
        SELECT user_id, active_ms, sessions, active_days, apps_used, first_day, last_day, top_ids, top_ms
        FROM
        (
            SELECT user_id, sum(total_active_ms) AS active_ms, sum(toUInt64(total_session_count)) AS sessions,
                uniqExact(activity_date) AS active_days, uniqExact(application_id) AS apps_used,
                min(activity_date) AS first_day, max(activity_date) AS last_day
            FROM app_usage_reports
            WHERE {{.Rows}}
            GROUP BY user_id
            HAVING 1{{.Hours}}
        ) AS totals
        ANY LEFT JOIN
        (
            SELECT user_id,
                arraySort(x -> (-toInt64(tupleElement(x, 1)), tupleElement(x, 2)), groupArray((app_ms, toString(application_id)))) AS ranked,
                arrayMap(x -> tupleElement(x, 2), arraySlice(ranked, 1, 3)) AS top_ids,
                arrayMap(x -> tupleElement(x, 1), arraySlice(ranked, 1, 3)) AS top_ms
            FROM
            (
                SELECT user_id, application_id, sum(total_active_ms) AS app_ms
                FROM app_usage_reports
                WHERE {{.Rows}}
                GROUP BY user_id, application_id
            )
            GROUP BY user_id
        ) AS top USING user_id
    ) AS with_top
    ANY LEFT JOIN
    (
        SELECT user_id, arraySort(groupUniqArray(department_id)) AS depts
        FROM user_departments
        WHERE client_id = toUUID(@client)
        GROUP BY user_id
    ) AS membership USING user_id
) AS with_depts
ANY LEFT JOIN
(
    SELECT user_id, display_name, email, name_key, email_key
    FROM users FINAL
    WHERE client_id = toUUID(@client)
) AS names USING user_id
WHERE 1{{.Q}}
ORDER BY after_cursor DESC, sort_key {{.Dir}}, user_id {{.Dir}}
{{.Limit}}`))

type userParts struct{ Rows, Hours, Q, SortKey, AfterCursor, Dir, Limit string }

// userRows are the client's usage rows of the period.
const userRows = "client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end)"

// ScopeUsersSQL lists the users with usage in r's period, apps and
// departments: the candidates a pseudonymous q is matched against.
func ScopeUsersSQL(r *UserUsage) Statement {
	args := []any{clickhouse.Named("client", r.ClientID), clickhouse.Named("start", day(r.Period.Start)), clickhouse.Named("end", day(r.Period.End))}
	where, scope := scopeFilters(r.AppIDs, r.DepartmentIDs)
	return Statement{SQL: "SELECT DISTINCT toString(user_id) FROM app_usage_reports WHERE " + userRows + where, Args: append(args, scope...)}
}

// UserUsageSQL builds the statement of a user usage request.
func UserUsageSQL(r *UserUsage) Statement {
	args := []any{clickhouse.Named("client", r.ClientID), clickhouse.Named("start", day(r.Period.Start)), clickhouse.Named("end", day(r.Period.End))}
	where, scope := scopeFilters(r.AppIDs, r.DepartmentIDs)
	args = append(args, scope...)
	p := userParts{SortKey: userSortColumns[r.SortBy], AfterCursor: "1", Dir: "ASC", Rows: userRows + where}
	if r.MinMS != nil {
		p.Hours += " AND active_ms >= toUInt64(@min_ms)"
		args = append(args, clickhouse.Named("min_ms", *r.MinMS))
	}
	if r.MaxMS != nil {
		p.Hours += " AND active_ms <= toUInt64(@max_ms)"
		args = append(args, clickhouse.Named("max_ms", *r.MaxMS))
	}
	switch {
	case r.Only != nil:
		p.Rows += " AND has(arrayMap(x -> toUUID(x), @only), user_id)"
		args = append(args, clickhouse.Named("only", r.Only))
	case r.Q != "":
		p.Q = " AND (position(name_key, @q) > 0 OR position(email_key, @q) > 0)"
		args = append(args, clickhouse.Named("q", fold.Key(r.Q)))
	}
	if r.Desc {
		p.Dir = "DESC"
	}
	if r.Cursor != nil {
		p.AfterCursor = cursorCondition("user_id", r.Desc, r.SortBy == api.UserSortName)
		args = append(args, clickhouse.Named("cursor_key", r.Cursor.Key), clickhouse.Named("cursor_id", r.Cursor.ID))
	}
	if n := r.limit(); n > 0 {
		p.Limit = fmt.Sprintf("LIMIT %d", n)
	}
	var b strings.Builder
	if err := userTemplate.Execute(&b, &p); err != nil {
		panic(fmt.Sprintf("users template: %v", err))
	}
	return Statement{SQL: b.String(), Args: args}
}
