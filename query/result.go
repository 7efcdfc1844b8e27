package query

import (
	"math"

	"github.com/usagelens/usagelens/api"
)

// UtilizationRow is one row of the utilization table with what paging
// needs: its sort key, and whether it sorts after the request's cursor.
type UtilizationRow struct {
	api.AppUtilization
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
	dest := make([]any, len(utilizationColumns))
	for i, c := range utilizationColumns {
		dest[i] = c.dest(w)
	}
	return dest
}

// UtilizationScan scans utilization rows into one reused destination, so
// a whole result is never held in memory.
type UtilizationScan struct {
	req  *Utilization
	w    raw
	dest []any
	out  UtilizationRow
}

// NewUtilizationScan prepares scanning the rows of UtilizationSQL(r).
func NewUtilizationScan(r *Utilization) *UtilizationScan {
	u := &UtilizationScan{req: r}
	u.dest = u.w.dest()
	return u
}

// Dest is what rows.Scan fills, in the statement's column order.
func (u *UtilizationScan) Dest() []any { return u.dest }

// Row is the scanned row with the metric maths done, valid until the next
// scan.
func (u *UtilizationScan) Row() *UtilizationRow {
	u.w.toDTO(u.req, &u.out)
	return &u.out
}

// Page is one page of a utilization result.
type Page struct {
	Rows       []api.AppUtilization
	TotalCount uint64
	NextCursor *string
}

// Pager assembles a JSON page from the rows of a paged UtilizationSQL.
type Pager struct{ keyset[api.AppUtilization] }

// NewPager starts a page of r.
func NewPager(r *Utilization) *Pager {
	return &Pager{newKeyset[api.AppUtilization](r.PageSize, r.limit(), r.Fingerprint(), nil)}
}

// Add takes the next row.
func (p *Pager) Add(row *UtilizationRow) {
	p.add(row.AppUtilization, row.sortKey, row.App.ID, row.afterCursorFirst)
}

// Page is the result, given the server's rows_before_limit.
func (p *Pager) Page(rowsBeforeLimit uint64) *Page {
	return &Page{Rows: p.rows, TotalCount: p.total(rowsBeforeLimit), NextCursor: p.next}
}

func (w *raw) toDTO(r *Utilization, out *UtilizationRow) {
	cats := make([]api.Category, len(w.categoryIDs))
	for i := range cats {
		cats[i] = api.Category{ID: w.categoryIDs[i], Name: w.categoryNames[i]}
	}
	*out = UtilizationRow{
		AppUtilization: api.AppUtilization{
			App: api.App{ID: w.appID, IsFavorite: w.favorite == 1, IsApproved: w.approved == 1, LicenseCount: w.licenses,
				CatalogApp: api.CatalogApp{ID: w.catalogID, CanonicalName: w.name, Logo: w.logo, Type: w.typ,
					Vendor: api.Vendor{ID: w.vendorID, Name: w.vendorName, URL: w.vendorURL}, Categories: cats}}},
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
func metric(cur, cmp uint64, hasCompare, curOK, cmpOK bool) api.Metric {
	var m api.Metric
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
