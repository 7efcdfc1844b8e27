package query

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Vendor is the catalog vendor of an app.
type Vendor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Category is a catalog category.
type Category struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CatalogApp is the catalog part of the App DTO.
type CatalogApp struct {
	ID            string     `json:"id"`
	CanonicalName string     `json:"canonical_name"`
	Logo          *string    `json:"logo"`
	Type          string     `json:"type"`
	Vendor        Vendor     `json:"vendor"`
	Categories    []Category `json:"categories"`
}

// App is the spec's App DTO.
type App struct {
	ID           string     `json:"id"`
	CatalogApp   CatalogApp `json:"catalog_app"`
	IsFavorite   bool       `json:"is_favorite"`
	IsApproved   bool       `json:"is_approved"`
	LicenseCount *uint32    `json:"license_count"`
}

// Metric is the spec's MetricWithDeltaDto.
type Metric struct {
	Value        *uint64  `json:"value"`
	ChangePct    *float64 `json:"change_pct"`
	CompareValue *uint64  `json:"compare_value"`
}

// AppUtilization is one row of the utilization table.
type AppUtilization struct {
	App              App     `json:"app"`
	UniqueUsers      Metric  `json:"unique_users"`
	ActiveTimeMS     Metric  `json:"active_time_ms"`
	AvgTimeMSPerDay  Metric  `json:"avg_time_ms_per_day"`
	SessionCount     Metric  `json:"session_count"`
	UsageLevel       *string `json:"usage_level"`
	RiskLevel        *string `json:"risk_level"`
	sortKey          string
	afterCursorFirst bool
}

// raw is one scanned row before the metric maths.
type raw struct {
	appID, catalogID, name, typ, vendorID, vendorName, vendorURL string
	logo, risk                                                   *string
	categoryIDs, categoryNames                                   []string
	favorite, approved                                           uint8
	licenses                                                     *uint32
	cur, cmp                                                     aggregates
	points, clientUsers                                          uint64
	sortKey                                                      string
	after                                                        uint8
}

type aggregates struct{ users, ms, buckets, sessions uint64 }

func (w *raw) dest() []any {
	return []any{&w.appID, &w.catalogID, &w.name, &w.logo, &w.typ, &w.vendorID, &w.vendorName, &w.vendorURL,
		&w.categoryIDs, &w.categoryNames, &w.favorite, &w.approved, &w.licenses, &w.risk,
		&w.cur.users, &w.cur.ms, &w.cur.buckets, &w.cur.sessions, &w.points,
		&w.cmp.users, &w.cmp.ms, &w.cmp.buckets, &w.cmp.sessions,
		&w.clientUsers, &w.sortKey, &w.after}
}

// Page is one page of a utilization result.
type Page struct {
	Rows       []AppUtilization
	TotalCount uint64
	NextCursor *string
}

// Observer records a query's duration by kind and outcome.
type Observer func(kind string, err error, d time.Duration)

// FetchPage runs the utilization statement for one JSON page.
func FetchPage(ctx context.Context, conn driver.Conn, r *Utilization, observe Observer) (page *Page, err error) {
	start := time.Now()
	defer func() { observe("utilization", err, time.Since(start)) }()
	var total uint64
	ctx = clickhouse.Context(ctx, clickhouse.WithProfileInfo(func(p *clickhouse.ProfileInfo) {
		total = max(total, p.RowsBeforeLimit)
	}))
	rows, err := OpenUtilization(ctx, conn, r)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page = &Page{Rows: make([]AppUtilization, 0, r.PageSize)}
	returned := 0
	for rows.Next() {
		returned++
		row := rows.Row()
		if !row.afterCursorFirst {
			continue
		}
		if len(page.Rows) == r.PageSize {
			last := page.Rows[len(page.Rows)-1]
			next := Cursor{Key: last.sortKey, ID: last.App.ID, Fingerprint: r.Fingerprint()}.Encode()
			page.NextCursor = &next
			continue
		}
		page.Rows = append(page.Rows, *row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// With fewer rows than the limit every matching app came back, and some
	// servers then report no rows_before_limit.
	if returned < r.limit() {
		total = uint64(returned)
	}
	page.TotalCount = total
	return page, nil
}

// UtilizationRows yields a utilization result row by row as the driver
// reads it, scanning into one reused destination, so a whole result is
// never held in memory.
type UtilizationRows struct {
	rows driver.Rows
	req  *Utilization
	w    raw
	dest []any
	out  AppUtilization
	err  error
}

// OpenUtilization starts the query; errors the server reports before the
// first row come back here, before anything is written to the client.
func OpenUtilization(ctx context.Context, conn driver.Conn, r *Utilization) (*UtilizationRows, error) {
	st := UtilizationSQL(r)
	rows, err := conn.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, fmt.Errorf("cannot run utilization query: %w", err)
	}
	u := &UtilizationRows{rows: rows, req: r}
	u.dest = u.w.dest()
	return u, nil
}

// Next scans the next row; false at the end or on error (see Err).
func (u *UtilizationRows) Next() bool {
	if u.err != nil || !u.rows.Next() {
		return false
	}
	if err := u.rows.Scan(u.dest...); err != nil {
		u.err = fmt.Errorf("cannot scan utilization row: %w", err)
		return false
	}
	u.w.toDTO(u.req, &u.out)
	return true
}

// Row is the current row, valid until the next call to Next.
func (u *UtilizationRows) Row() *AppUtilization { return &u.out }

// Err is the first error of scanning or of the query's execution, which
// the driver reports only after the last row.
func (u *UtilizationRows) Err() error {
	if u.err != nil {
		return u.err
	}
	if err := u.rows.Err(); err != nil {
		return fmt.Errorf("cannot read utilization rows: %w", err)
	}
	return nil
}

// Close releases the connection; the query is cancelled if still running.
func (u *UtilizationRows) Close() error { return u.rows.Close() }

func (w *raw) toDTO(r *Utilization, out *AppUtilization) {
	cats := make([]Category, len(w.categoryIDs))
	for i := range cats {
		cats[i] = Category{ID: w.categoryIDs[i], Name: w.categoryNames[i]}
	}
	*out = AppUtilization{
		App: App{ID: w.appID, IsFavorite: w.favorite == 1, IsApproved: w.approved == 1, LicenseCount: w.licenses,
			CatalogApp: CatalogApp{ID: w.catalogID, CanonicalName: w.name, Logo: w.logo, Type: w.typ,
				Vendor: Vendor{ID: w.vendorID, Name: w.vendorName, URL: w.vendorURL}, Categories: cats}},
		sortKey:          w.sortKey,
		afterCursorFirst: w.after == 1,
	}
	cmp := r.Compare != nil
	out.UniqueUsers = metric(w.cur.users, w.cmp.users, cmp, true, true)
	out.ActiveTimeMS = metric(w.cur.ms, w.cmp.ms, cmp, true, true)
	out.SessionCount = metric(w.cur.sessions, w.cmp.sessions, cmp, true, true)
	avgCur, okCur := avg(w.cur)
	avgCmp, okCmp := avg(w.cmp)
	out.AvgTimeMSPerDay = metric(avgCur, avgCmp, cmp, okCur, okCmp)
	out.UsageLevel = UsageLevel(w.points, w.cur.users, w.licenses, w.clientUsers, r.Period.Days())
	if w.approved == 0 {
		out.RiskLevel = w.risk
	}
}

// avg is floor(active ms / buckets with activity); none without activity.
func avg(a aggregates) (uint64, bool) {
	if a.buckets == 0 {
		return 0, false
	}
	return a.ms / a.buckets, true
}

// metric builds a MetricWithDelta. change_pct is (cur - cmp) / cmp × 100
// rounded to one decimal, null without a comparison or when cmp is 0.
func metric(cur, cmp uint64, hasCompare, curOK, cmpOK bool) Metric {
	var m Metric
	if curOK {
		m.Value = &cur
	}
	if !hasCompare {
		return m
	}
	if cmpOK {
		m.CompareValue = &cmp
	}
	if curOK && cmpOK && cmp != 0 {
		pct := math.Round((float64(cur)-float64(cmp))/float64(cmp)*1000) / 10
		m.ChangePct = &pct
	}
	return m
}

// Usage levels.
var (
	levelHeavy  = "heavy"
	levelMedium = "medium"
	levelLight  = "light"
)

// UsageLevel classifies an app's use in a period: null below 5 data points
// (user-days); else score = 0.35·adoption + 0.65·activity, where adoption
// is users per licence (or per active user of the client when no licence
// count is known), capped at 1, and activity is user-days per possible
// user-day.
func UsageLevel(points, users uint64, licenses *uint32, clientUsers uint64, days int) *string {
	if points < 5 || users == 0 {
		return nil
	}
	denom := float64(clientUsers)
	if licenses != nil && *licenses > 0 {
		denom = float64(*licenses)
	}
	adoption := 1.0
	if denom > 0 {
		adoption = math.Min(1, float64(users)/denom)
	}
	activity := float64(points) / (float64(users) * float64(days))
	score := 0.35*adoption + 0.65*activity
	switch {
	case score >= 0.66:
		return &levelHeavy
	case score >= 0.33:
		return &levelMedium
	}
	return &levelLight
}
