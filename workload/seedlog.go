package workload

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usagelens/usagelens/api"
)

// SeedClient is what the seeded request log knows of one client.
type SeedClient struct {
	ID string
	// Apps are in popularity order, the most used first; that one must
	// have a category, which the category filter falls back on.
	Apps []SeedApp
	// DepartmentIDs are the departments that have members, the only ones
	// a filter can match.
	DepartmentIDs []string
}

// SeedApp is what the seeded request log knows of one app of a client.
type SeedApp struct {
	Name        string
	CategoryIDs []string
	VendorID    string
}

// seedFeatures cycle so every kind of request appears, whatever the seed.
var seedFeatures = []string{
	"plain", "compare", "discovered", "dropped_off", "q", "category", "vendor",
	"favorite", "approved", "department", "page_size", "export",
}

// seedLines is twelve rounds of the features.
const seedLines = 12 * 12

// SeedLog is the request log of a seeded dataset whose usage spans data:
// utilization requests and exports of clients, with every feature of the
// API in turn. Its lines depend only on the arguments and the draws from r.
func SeedLog(r *rand.Rand, data Period, clients []SeedClient) []string {
	s := seeder{r: r, data: data}
	lines := make([]string, seedLines)
	for i := range lines {
		c := &clients[0]
		if r.IntN(2) == 0 {
			c = &clients[r.IntN(len(clients))]
		}
		feature := seedFeatures[i%len(seedFeatures)]
		extra := seedFeatures[r.IntN(len(seedFeatures))]
		if r.IntN(4) != 0 || sameParameter(feature, extra) {
			extra = ""
		}
		lines[i] = s.line(c, feature, extra)
	}
	return lines
}

// sameParameter reports whether two features set the same query parameter,
// which the API refuses as given twice.
func sameParameter(a, b string) bool {
	filter := func(f string) bool { return f == "discovered" || f == "dropped_off" }
	return a == b || filter(a) && filter(b)
}

// seeder draws the lines of SeedLog.
type seeder struct {
	r    *rand.Rand
	data Period
}

func (s *seeder) line(c *SeedClient, feature, extra string) string {
	r := s.r
	sp := s.span(feature)
	q := sp.p.Query(sp.gran)
	if !sp.prev.Start.IsZero() && (feature == "compare" || r.IntN(2) == 0) {
		q = q.AddComparison(sp.prev)
	}
	for _, f := range []string{feature, extra} {
		q = s.filter(q, c, f)
	}
	if r.IntN(3) != 0 {
		q = q.Add(api.ParamSortBy, api.UtilizationSorts[r.IntN(len(api.UtilizationSorts))])
		q = q.Add(api.ParamSortOrder, api.SortOrders[r.IntN(len(api.SortOrders))])
	}
	if feature == "export" || extra == "export" {
		return Path(api.RouteUtilizationExport, c.ID, q)
	}
	if feature == "page_size" || extra == "page_size" {
		q = q.Add(api.ParamPageSize, strconv.Itoa([]int{10, 25, 50, 100, 200}[r.IntN(5)]))
	}
	return Path(api.RouteUtilization, c.ID, q)
}

func (s *seeder) filter(q Query, c *SeedClient, f string) Query {
	r := s.r
	switch f {
	case "discovered", "dropped_off":
		return q.Add(api.ParamFilter, f)
	case "q":
		return q.Add(api.ParamQ, s.term(c))
	case "category":
		return q.Add(api.ParamCategoryIDs, strings.Join(s.ids(c, func(a *SeedApp) []string { return a.CategoryIDs }), ","))
	case "vendor":
		return q.Add(api.ParamVendorIDs, strings.Join(s.ids(c, func(a *SeedApp) []string { return []string{a.VendorID} }), ","))
	case "favorite":
		return q.Add(api.ParamIsFavorite, strconv.FormatBool(r.IntN(3) != 0))
	case "approved":
		return q.Add(api.ParamIsApproved, strconv.FormatBool(r.IntN(2) == 0))
	case "department":
		return q.Add(api.ParamDepartmentIDs, strings.Join(s.departments(c), ","))
	}
	return q
}

// departments returns one to three of the client's departments.
func (s *seeder) departments(c *SeedClient) []string {
	var ids []string
	for _, i := range s.r.Perm(len(c.DepartmentIDs))[:min(len(c.DepartmentIDs), 1+s.r.IntN(3))] {
		ids = append(ids, c.DepartmentIDs[i])
	}
	return ids
}

// ids returns one or two distinct ids that ids yields for the client's
// more popular apps, so filters usually match something.
func (s *seeder) ids(c *SeedClient, ids func(*SeedApp) []string) []string {
	var out []string
	for range 1 + s.r.IntN(2) {
		a := &c.Apps[s.r.IntN(min(len(c.Apps), 30))]
		for _, id := range ids(a) {
			if !slices.Contains(out, id) {
				out = append(out, id)
				break
			}
		}
	}
	if len(out) == 0 {
		out = ids(&c.Apps[0])
	}
	return out
}

// term is a word of a popular app's name in a random case, so q exercises
// case folding, non-ASCII text and quoting when the names hold them.
func (s *seeder) term(c *SeedClient) string {
	a := &c.Apps[s.r.IntN(min(len(c.Apps), 30))]
	words := strings.Fields(a.Name)
	term := words[s.r.IntN(len(words))]
	switch s.r.IntN(3) {
	case 0:
		term = strings.ToLower(term)
	case 1:
		term = strings.ToUpper(term)
	}
	return term
}

// span is a requested period at a granularity, with the period it is
// compared with, if any (zero: none).
type span struct {
	gran    string
	p, prev Period
}

func (s *seeder) span(feature string) span {
	months := s.months()
	month := 1 + s.r.IntN(months-1) // compare needs a previous month in the data
	switch feature {
	case "discovered":
		return s.month(months - 1)
	case "dropped_off":
		return s.month(months - 4 + s.r.IntN(4))
	}
	switch s.r.IntN(6) {
	case 0:
		return s.week()
	case 1:
		return s.quarter()
	case 2:
		return s.days()
	case 3:
		return span{gran: []string{"monthly", "quarterly"}[s.r.IntN(2)], p: s.data}
	}
	return s.month(month)
}

// months is the number of calendar months the data touches.
func (s *seeder) months() int {
	a, b := s.data.Start, s.data.End
	return 12*(b.Year()-a.Year()) + int(b.Month()-a.Month()) + 1
}

// month is the i-th month of the data (0: the first), compared with the
// month before.
func (s *seeder) month(i int) span {
	start := s.data.Start.AddDate(0, i, 0)
	return span{gran: "monthly", p: Period{start, start.AddDate(0, 1, -1)},
		prev: Period{start.AddDate(0, -1, 0), start.AddDate(0, 0, -1)}}
}

// week is a Monday-to-Sunday week of the data other than the first, so
// the week before it is data too.
func (s *seeder) week() span {
	first := s.data.Start.AddDate(0, 0, (8-int(s.data.Start.Weekday()))%7)
	weeks := Period{first, s.data.End}.Days() / 7
	start := first.AddDate(0, 0, 7*(1+s.r.IntN(weeks-1)))
	gran := []string{"daily", "weekly"}[s.r.IntN(2)]
	p := Period{start, start.AddDate(0, 0, 6)}
	return span{gran: gran, p: p, prev: before(p)}
}

// quarter is a calendar quarter that lies wholly in the data, compared
// with the quarter before.
func (s *seeder) quarter() span {
	first := time.Date(s.data.Start.Year(), (s.data.Start.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	if first.Before(s.data.Start) {
		first = first.AddDate(0, 3, 0)
	}
	n := 0
	for !first.AddDate(0, 3*(n+1), -1).After(s.data.End) {
		n++
	}
	start := first.AddDate(0, 3*s.r.IntN(n), 0)
	gran := []string{"weekly", "monthly", "quarterly"}[s.r.IntN(3)]
	return span{gran: gran, p: Period{start, start.AddDate(0, 3, -1)},
		prev: Period{start.AddDate(0, -3, 0), start.AddDate(0, 0, -1)}}
}

// days is the last 7, 14 or 30 days up to a day of the data's last two
// months, daily.
func (s *seeder) days() span {
	n := []int{7, 14, 30}[s.r.IntN(3)]
	end := s.data.End.AddDate(0, 0, -s.r.IntN(60))
	p := Period{end.AddDate(0, 0, 1-n), end}
	return span{gran: "daily", p: p, prev: before(p)}
}

// before is the period as long as p that ends the day before p starts.
func before(p Period) Period {
	return Period{p.Start.AddDate(0, 0, -p.Days()), p.Start.AddDate(0, 0, -1)}
}
