// requests.txt is the request log that usagelens bench replays against the seeded data.

package dataset

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// requestFeatures cycle so every kind of request appears, whatever the seed.
var requestFeatures = []string{
	"plain", "compare", "discovered", "dropped_off", "q", "category", "vendor",
	"favorite", "approved", "department", "page_size", "export",
}

const requestLines = 12 * 12

func writeSeedRequests(dir string, clients []*seedClient, seed uint64) error {
	o, err := createSeedFile(dir, RequestsFile)
	if err != nil {
		return err
	}
	r := newRNG(seed, streamRequests)
	bw := bufio.NewWriter(o.f)
	for i := range requestLines {
		c := clients[0]
		if r.IntN(2) == 0 {
			c = clients[r.IntN(len(clients))]
		}
		feature := requestFeatures[i%len(requestFeatures)]
		extra := requestFeatures[r.IntN(len(requestFeatures))]
		if r.IntN(4) != 0 || sameParameter(feature, extra) {
			extra = ""
		}
		bw.WriteString(requestLine(r, c, feature, extra))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", RequestsFile, dir, err)
	}
	return o.commit()
}

// sameParameter reports whether two features set the same query parameter,
// which the API refuses as given twice.
func sameParameter(a, b string) bool {
	filter := func(f string) bool { return f == "discovered" || f == "dropped_off" }
	return a == b || filter(a) && filter(b)
}

// seedQuery builds a query string in the order its parameters are added.
type seedQuery struct{ b strings.Builder }

func (q *seedQuery) add(k, v string) {
	if q.b.Len() == 0 {
		q.b.WriteByte('?')
	} else {
		q.b.WriteByte('&')
	}
	q.b.WriteString(k)
	q.b.WriteByte('=')
	q.b.WriteString(escapeQuery(v))
}

// escapeQuery escapes v but keeps commas, which separate ids in list parameters.
func escapeQuery(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, ",")
}

func requestLine(r *rand.Rand, c *seedClient, feature, extra string) string {
	var q seedQuery
	p := pickPeriod(r, feature)
	q.add("granularity", p.gran)
	q.add("start_date", p.start)
	q.add("end_date", p.end)
	if p.cstart != "" && (feature == "compare" || r.IntN(2) == 0) {
		q.add("compare_start_date", p.cstart)
		q.add("compare_end_date", p.cend)
	}
	for _, f := range []string{feature, extra} {
		addFilter(r, &q, c, f)
	}
	if r.IntN(3) != 0 {
		sorts := []string{"canonical_name", "unique_users", "active_time", "avg_time", "session_count"}
		q.add("sort_by", sorts[r.IntN(len(sorts))])
		q.add("sort_order", []string{"asc", "desc"}[r.IntN(2)])
	}
	path := "/v2/clients/" + c.id + "/analytics/apps/utilization"
	if feature == "export" || extra == "export" {
		return path + "/export" + q.b.String()
	}
	if feature == "page_size" || extra == "page_size" {
		q.add("page_size", strconv.Itoa([]int{10, 25, 50, 100, 200}[r.IntN(5)]))
	}
	return path + q.b.String()
}

func addFilter(r *rand.Rand, q *seedQuery, c *seedClient, f string) {
	switch f {
	case "discovered", "dropped_off":
		q.add("filter", f)
	case "q":
		q.add("q", searchTerm(r, c))
	case "category":
		q.add("category_ids", strings.Join(pickIDs(r, c, func(a *seedApp) []string {
			var ids []string
			for _, k := range a.cat.cats {
				ids = append(ids, k.id)
			}
			return ids
		}), ","))
	case "vendor":
		q.add("vendor_ids", strings.Join(pickIDs(r, c, func(a *seedApp) []string {
			return []string{a.cat.vendor.id}
		}), ","))
	case "favorite":
		q.add("is_favorite", strconv.FormatBool(r.IntN(3) != 0))
	case "approved":
		q.add("is_approved", strconv.FormatBool(r.IntN(2) == 0))
	case "department":
		q.add("department_ids", strings.Join(pickDepartments(r, c), ","))
	}
}

// pickDepartments returns one to three departments that have members: the
// dataset knows a department only through user_departments.csv.
func pickDepartments(r *rand.Rand, c *seedClient) []string {
	var staffed []int
	for _, u := range c.users {
		for _, d := range u.depts {
			if !slices.Contains(staffed, d) {
				staffed = append(staffed, d)
			}
		}
	}
	slices.Sort(staffed)
	var ids []string
	for _, i := range r.Perm(len(staffed))[:min(len(staffed), 1+r.IntN(3))] {
		ids = append(ids, c.depts[staffed[i]])
	}
	return ids
}

// pickIDs returns one or two distinct ids that ids yields for the client's
// more popular apps, so filters usually match something.
func pickIDs(r *rand.Rand, c *seedClient, ids func(*seedApp) []string) []string {
	var out []string
	for range 1 + r.IntN(2) {
		a := &c.apps[r.IntN(min(len(c.apps), 30))]
		for _, id := range ids(a) {
			if !slices.Contains(out, id) {
				out = append(out, id)
				break
			}
		}
	}
	if len(out) == 0 {
		out = ids(&c.apps[0]) // Slack has a category and a vendor
	}
	return out
}

// searchTerm is part of a real app name, in a random case, special names
// included, so q exercises case folding, non-ASCII and quoting.
func searchTerm(r *rand.Rand, c *seedClient) string {
	a := &c.apps[r.IntN(min(len(c.apps), 30))]
	words := strings.Fields(a.cat.name)
	term := words[r.IntN(len(words))]
	switch r.IntN(3) {
	case 0:
		term = strings.ToLower(term)
	case 1:
		term = strings.ToUpper(term)
	}
	return term
}

type seedPeriod struct{ gran, start, end, cstart, cend string }

func pickPeriod(r *rand.Rand, feature string) seedPeriod {
	month := 1 + r.IntN(11) // compare needs a previous month in the data
	switch feature {
	case "discovered":
		return monthPeriod(11)
	case "dropped_off":
		return monthPeriod(8 + r.IntN(4))
	}
	switch r.IntN(6) {
	case 0:
		return weekPeriod(r)
	case 1:
		return quarterPeriod(r)
	case 2:
		return dayPeriod(r)
	case 3:
		return seedPeriod{gran: []string{"monthly", "quarterly"}[r.IntN(2)],
			start: seedPeriodStart.Format(DateLayout), end: seedPeriodEnd.Format(DateLayout)}
	}
	return monthPeriod(month)
}

func fmtDays(gran string, start, end time.Time, days int) seedPeriod {
	p := seedPeriod{gran: gran, start: start.Format(DateLayout), end: end.Format(DateLayout)}
	p.cstart = start.AddDate(0, 0, -days).Format(DateLayout)
	p.cend = start.AddDate(0, 0, -1).Format(DateLayout)
	return p
}

// monthPeriod is the i-th month of the period (0 = November 2025),
// compared with the month before.
func monthPeriod(i int) seedPeriod {
	start := seedPeriodStart.AddDate(0, i, 0)
	end := start.AddDate(0, 1, -1)
	prev := start.AddDate(0, -1, 0)
	return seedPeriod{gran: "monthly", start: start.Format(DateLayout), end: end.Format(DateLayout),
		cstart: prev.Format(DateLayout), cend: start.AddDate(0, 0, -1).Format(DateLayout)}
}

func weekPeriod(r *rand.Rand) seedPeriod {
	// 2025-11-03 is the period's first Monday.
	start := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(1+r.IntN(50)))
	gran := []string{"daily", "weekly"}[r.IntN(2)]
	return fmtDays(gran, start, start.AddDate(0, 0, 6), 7)
}

func quarterPeriod(r *rand.Rand) seedPeriod {
	start := time.Date(2026, time.Month(1+3*r.IntN(3)), 1, 0, 0, 0, 0, time.UTC)
	p := seedPeriod{gran: []string{"weekly", "monthly", "quarterly"}[r.IntN(3)],
		start: start.Format(DateLayout), end: start.AddDate(0, 3, -1).Format(DateLayout)}
	p.cstart = start.AddDate(0, -3, 0).Format(DateLayout)
	p.cend = start.AddDate(0, 0, -1).Format(DateLayout)
	return p
}

func dayPeriod(r *rand.Rand) seedPeriod {
	days := []int{7, 14, 30}[r.IntN(3)]
	end := seedPeriodEnd.AddDate(0, 0, -r.IntN(60))
	return fmtDays("daily", end.AddDate(0, 0, 1-days), end, days)
}
