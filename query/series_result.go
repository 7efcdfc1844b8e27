package query

import "github.com/usagelens/usagelens/api"

// seriesSums are one bin's or one period's figures of a group.
// days (days with activity) serves App Activity's average per day.
type seriesSums struct{ ms, sessions, users, apps, rows, days uint64 }

// seriesValue is how each metric is read from the sums; ok false is null.
var seriesValue = map[string]func(s seriesSums) (uint64, bool){
	api.MetricActiveTime:     func(s seriesSums) (uint64, bool) { return s.ms, true },
	api.MetricSessions:       func(s seriesSums) (uint64, bool) { return s.sessions, true },
	api.MetricUniqueUsers:    func(s seriesSums) (uint64, bool) { return s.users, true },
	api.MetricUniqueApps:     func(s seriesSums) (uint64, bool) { return s.apps, true },
	api.MetricActiveUserDays: func(s seriesSums) (uint64, bool) { return s.rows, true },
	api.MetricAvgSession: func(s seriesSums) (uint64, bool) {
		if s.sessions == 0 {
			return 0, false
		}
		return s.ms / s.sessions, true
	},
}

// seriesRaw is one scanned group before it becomes dense bins.
type seriesRaw struct {
	id, name                              string
	total                                 seriesSums
	bins                                  []string
	ms, sessions, users, apps, rows, days []uint64
	sortKey                               string
	after                                 uint8
}

// SeriesRow is one group of a series result with what paging needs.
type SeriesRow struct {
	api.SeriesEntry
	rawID            string // the group's id before any pseudonym
	sortKey          string
	afterCursorFirst bool
}

// SeriesScan scans series rows into one reused destination.
type SeriesScan struct {
	req   *Series
	view  *UserView
	bins  []Period
	index map[string]int // a bin's key (its unclipped start) → its place
	w     seriesRaw
	dest  []any
	out   SeriesRow
	per   []seriesSums // the last row's bins
}

// NewSeriesScan prepares scanning the rows of SeriesSQL(r), showing users
// as view says.
func NewSeriesScan(r *Series, view *UserView) *SeriesScan {
	u := &SeriesScan{req: r, view: view, bins: Bins(r.Period, r.BinSize), index: map[string]int{}}
	for i, b := range u.bins {
		u.index[day(binStart(b.Start, r.BinSize))] = i
	}
	u.dest = make([]any, len(seriesColumns))
	for i, c := range seriesColumns {
		u.dest[i] = c.dest(&u.w)
	}
	return u
}

// Dest is what rows.Scan fills.
func (u *SeriesScan) Dest() []any { return u.dest }

// Row is the scanned group with dense bins, valid until the next scan.
func (u *SeriesScan) Row() *SeriesRow {
	w, r := &u.w, u.req
	per := make([]seriesSums, len(u.bins))
	u.per = per
	for i, b := range w.bins {
		if j, ok := u.index[b]; ok {
			per[j] = seriesSums{w.ms[i], w.sessions[i], w.users[i], w.apps[i], w.rows[i], w.days[i]}
		}
	}
	e := api.SeriesEntry{Group: u.group(), Total: values(r.Metrics, w.total), Bins: make([]api.SeriesBin, len(u.bins))}
	for i, b := range u.bins {
		e.Bins[i] = api.SeriesBin{StartDate: day(b.Start), EndDate: day(b.End), SeriesValues: values(r.Metrics, per[i])}
	}
	u.out = SeriesRow{SeriesEntry: e, rawID: w.id, sortKey: w.sortKey, afterCursorFirst: w.after == 1}
	return &u.out
}

// group names the scanned group: null for group_by=none, no name for a
// user (there is no users dimension).
func (u *SeriesScan) group() *api.SeriesGroup {
	switch u.req.GroupBy {
	case api.GroupNone:
		return nil
	case "user":
		g := &api.SeriesGroup{Type: "user", ID: u.view.UserID(u.w.id)}
		if name := u.w.name; name != "" && !u.view.Pseudonymous() {
			g.Name = &name
		}
		return g
	case "department":
		id := u.w.id
		return &api.SeriesGroup{Type: "department", ID: id, Name: &id}
	}
	name := u.w.name
	return &api.SeriesGroup{Type: u.req.GroupBy, ID: u.w.id, Name: &name}
}

func values(metrics []string, s seriesSums) api.SeriesValues {
	v := api.SeriesValues{Metrics: metrics, Values: make([]*uint64, len(metrics))}
	for i, m := range metrics {
		if n, ok := seriesValue[m](s); ok {
			v.Values[i] = &n
		}
	}
	return v
}

// SeriesPager assembles a JSON page of a paged SeriesSQL.
type SeriesPager struct {
	keyset[api.SeriesEntry]
	req *Series
}

// NewSeriesPager starts a page of r.
func NewSeriesPager(r *Series) *SeriesPager {
	return &SeriesPager{newKeyset[api.SeriesEntry](r.PageSize, r.limit(), fingerprint(r.resultKey()), r.cursorKey), r}
}

// Add takes the next row.
func (p *SeriesPager) Add(row *SeriesRow) {
	p.add(row.SeriesEntry, row.sortKey, row.rawID, row.afterCursorFirst)
}

// Page is the answer, given the server's rows_before_limit.
func (p *SeriesPager) Page(rowsBeforeLimit uint64, asOf *string) *api.SeriesPage {
	r := p.req
	return &api.SeriesPage{Period: api.DateRange{StartDate: day(r.Period.Start), EndDate: day(r.Period.End)},
		BinSize: r.BinSize, GroupBy: r.GroupBy, Metrics: r.Metrics, Data: p.rows, TotalCount: p.total(rowsBeforeLimit), NextCursor: p.next, DataAsOf: asOf}
}

// SeriesHeader writes the CSV header of r.
func SeriesHeader(w Cells, r *Series) {
	w.Header(append([]string{"bin_start", "bin_end", "group_type", "group_id", "group_name"}, r.Metrics...))
}

// SeriesCSV writes one group's records, a record per bin in time order.
func SeriesCSV(w Cells, row *SeriesRow) {
	for _, b := range row.Bins {
		w.Start()
		w.Day(b.StartDate)
		w.Day(b.EndDate)
		if row.Group == nil {
			w.Text(api.GroupNone)
			w.Empty()
			w.Empty()
		} else {
			w.Text(row.Group.Type)
			w.Text(row.Group.ID)
			w.OptText(row.Group.Name)
		}
		for _, v := range b.Values {
			w.OptUint(v)
		}
		w.End()
	}
}
