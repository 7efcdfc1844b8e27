package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Request is one entry of the replayed traffic: an API path with its query,
// the client whose token it carries, and the kind it is reported under.
type Request struct {
	Kind     string
	Path     string
	ClientID string
	// Walk follows next_cursor until the last page, each page timed as one
	// request, as a dashboard does when the user scrolls to the end.
	Walk bool
}

// Request kinds. A utilization request is classified by its most
// expensive feature: a cursor, department scoping, an app filter, a
// comparison period, in that order.
const (
	KindUtilization            = "utilization"
	KindUtilizationCompare     = "utilization_compare"
	KindUtilizationFiltered    = "utilization_filtered"
	KindUtilizationDepartments = "utilization_departments"
	KindUtilizationPage        = "utilization_page"
	KindPageWalk               = "utilization_page_walk"
	KindUtilizationExport      = "utilization_export"
	KindUsageExport            = "usage_export"
	KindOther                  = "other"
)

const (
	utilizationSuffix       = "/analytics/apps/utilization"
	utilizationExportSuffix = "/analytics/apps/utilization/export"
	usageExportSuffix       = "/analytics/usage-reports/export"
)

// Classify returns the kind of a request path, and its client id.
func Classify(path string) (kind, clientID string) {
	u, err := url.Parse(path)
	if err != nil {
		return KindOther, ""
	}
	if rest, ok := strings.CutPrefix(u.Path, "/v2/clients/"); ok {
		clientID, _, _ = strings.Cut(rest, "/")
	}
	v := u.Query()
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := v[n]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasSuffix(u.Path, utilizationExportSuffix):
		return KindUtilizationExport, clientID
	case strings.HasSuffix(u.Path, usageExportSuffix):
		return KindUsageExport, clientID
	case !strings.HasSuffix(u.Path, utilizationSuffix):
		return KindOther, clientID
	case has("cursor"):
		return KindUtilizationPage, clientID
	case has("department_ids", "department_id"):
		return KindUtilizationDepartments, clientID
	case has("filter", "q", "category_ids", "category_id", "vendor_ids", "vendor_id", "is_favorite", "is_approved"):
		return KindUtilizationFiltered, clientID
	case has("compare_start_date"):
		return KindUtilizationCompare, clientID
	}
	return KindUtilization, clientID
}

// ReadRequestLog reads a recorded request log: one API path with its query
// per line; blank lines and lines starting with # are skipped.
func ReadRequestLog(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open request log: %w", err)
	}
	defer f.Close()
	return parseRequestLog(f, path)
}

func parseRequestLog(r io.Reader, name string) ([]Request, error) {
	var reqs []Request
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !strings.HasPrefix(s, "/") {
			return nil, fmt.Errorf("%s:%d: %q is not an API path (it must start with /)", name, line, truncate(s, 80))
		}
		kind, client := Classify(s)
		if kind == KindOther {
			return nil, fmt.Errorf("%s:%d: %q is not a utilization or export route", name, line, truncate(s, 80))
		}
		reqs = append(reqs, Request{Kind: kind, Path: s, ClientID: client})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s holds no requests", name)
	}
	return reqs, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// clientShape is what the dashboard mix needs to know of one client.
type clientShape struct {
	ID                string
	Rows              uint64
	First, Last       time.Time
	Users, Apps       uint64
	VendorID          string
	CategoryID        string
	Term              string
	DepartmentIDs     []string
	LastMonth, Prev   period
	Quarter, TwelveMo period
}

type period struct{ Start, End time.Time }

func (p period) days() int { return int(p.End.Sub(p.Start).Hours()/24) + 1 }

// readClients describes every client with usage, the busiest first.
func readClients(ctx context.Context, conn driver.Conn) ([]clientShape, error) {
	rows, err := conn.Query(ctx, `SELECT toString(client_id), count() AS n, min(activity_date), max(activity_date), uniqExact(user_id), uniqExact(application_id)
FROM app_usage_reports GROUP BY client_id ORDER BY n DESC, client_id`)
	if err != nil {
		return nil, fmt.Errorf("cannot list clients with usage: %w", err)
	}
	var cs []clientShape
	for rows.Next() {
		var c clientShape
		if err := rows.Scan(&c.ID, &c.Rows, &c.First, &c.Last, &c.Users, &c.Apps); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot scan client row: %w", err)
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list clients with usage: %w", err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("app_usage_reports holds no rows: load a dataset first")
	}
	for i := range cs {
		if err := describeClient(ctx, conn, &cs[i]); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// describeClient finds ids the filters can use (the vendor and a category of
// the client's most used apps, a word of an app name, the largest
// departments) and the periods of the mix, ending with the data's last month.
func describeClient(ctx context.Context, conn driver.Conn, c *clientShape) error {
	rows, err := conn.Query(ctx, `SELECT toString(vendor_id), arrayMap(x -> toString(x), category_ids), canonical_name
FROM apps FINAL
WHERE client_id = toUUID(?) AND app_id IN (
    SELECT application_id FROM app_usage_reports WHERE client_id = toUUID(?) GROUP BY application_id ORDER BY count() DESC LIMIT 5)
ORDER BY app_id`, c.ID, c.ID)
	if err != nil {
		return fmt.Errorf("cannot read apps of client %s: %w", c.ID, err)
	}
	for rows.Next() {
		var vendor, name string
		var cats []string
		if err := rows.Scan(&vendor, &cats, &name); err != nil {
			rows.Close()
			return fmt.Errorf("cannot scan app of client %s: %w", c.ID, err)
		}
		if c.VendorID == "" {
			c.VendorID = vendor
		}
		if c.CategoryID == "" && len(cats) > 0 {
			c.CategoryID = cats[0]
		}
		if w := strings.Fields(name); c.Term == "" && len(w) > 0 {
			c.Term = strings.ToLower(w[0])
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read apps of client %s: %w", c.ID, err)
	}
	drows, err := conn.Query(ctx, `SELECT toString(department_id) FROM user_departments FINAL WHERE client_id = toUUID(?)
GROUP BY department_id ORDER BY count() DESC, department_id LIMIT 2`, c.ID)
	if err != nil {
		return fmt.Errorf("cannot read departments of client %s: %w", c.ID, err)
	}
	for drows.Next() {
		var d string
		if err := drows.Scan(&d); err != nil {
			drows.Close()
			return err
		}
		c.DepartmentIDs = append(c.DepartmentIDs, d)
	}
	drows.Close()
	if err := drows.Err(); err != nil {
		return fmt.Errorf("cannot read departments of client %s: %w", c.ID, err)
	}
	month := time.Date(c.Last.Year(), c.Last.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := month.AddDate(0, 1, -1)
	c.LastMonth = period{month, end}
	c.Prev = period{month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)}
	c.Quarter = period{month.AddDate(0, -2, 0), end}
	c.TwelveMo = period{month.AddDate(0, -11, 0), end}
	return nil
}

// params builds a query string in the order given.
type params []string

func (p params) with(kv ...string) params { return append(append(params{}, p...), kv...) }

func (p params) encode() string {
	var b strings.Builder
	for i := 0; i+1 < len(p); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[i])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[i+1]))
	}
	return b.String()
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func (p period) params(gran string) params {
	return params{"granularity", gran, "start_date", day(p.Start), "end_date", day(p.End)}
}

// utilizationPath is the JSON route of a client with a query.
func utilizationPath(client string, q params) string {
	return "/v2/clients/" + client + utilizationSuffix + "?" + q.encode()
}

// DashboardMix is the built-in traffic: for every client (the busiest one
// twice) the requests a dashboard makes: the month's table by each sort,
// with a comparison, with each filter, scoped to departments, a page walk,
// the twelve-month view, and both exports.
func DashboardMix(clients []clientShape) []Request {
	var reqs []Request
	add := func(c *clientShape, path string, walk bool) {
		kind, _ := Classify(path)
		if walk {
			kind = KindPageWalk
		}
		reqs = append(reqs, Request{Kind: kind, Path: path, ClientID: c.ID, Walk: walk})
	}
	for i := range clients {
		c := &clients[i]
		times := 1
		if i == 0 {
			times = 2
		}
		for range times {
			month := c.LastMonth.params("monthly")
			add(c, utilizationPath(c.ID, month), false)
			add(c, utilizationPath(c.ID, month.with("compare_start_date", day(c.Prev.Start), "compare_end_date", day(c.Prev.End))), false)
			for _, s := range [][2]string{{"canonical_name", "asc"}, {"unique_users", "desc"}, {"active_time", "desc"}, {"avg_time", "asc"}, {"session_count", "desc"}} {
				add(c, utilizationPath(c.ID, c.LastMonth.params("weekly").with("sort_by", s[0], "sort_order", s[1])), false)
			}
			add(c, utilizationPath(c.ID, month.with("filter", "discovered")), false)
			add(c, utilizationPath(c.ID, month.with("filter", "dropped_off")), false)
			if c.Term != "" {
				add(c, utilizationPath(c.ID, month.with("q", c.Term)), false)
			}
			if c.CategoryID != "" {
				add(c, utilizationPath(c.ID, month.with("category_ids", c.CategoryID)), false)
			}
			if c.VendorID != "" {
				add(c, utilizationPath(c.ID, month.with("vendor_ids", c.VendorID)), false)
			}
			add(c, utilizationPath(c.ID, month.with("is_favorite", "true")), false)
			add(c, utilizationPath(c.ID, month.with("is_approved", "false", "sort_by", "unique_users")), false)
			if len(c.DepartmentIDs) > 0 {
				add(c, utilizationPath(c.ID, month.with("department_ids", strings.Join(c.DepartmentIDs, ","),
					"compare_start_date", day(c.Prev.Start), "compare_end_date", day(c.Prev.End))), false)
			}
			add(c, utilizationPath(c.ID, c.Quarter.params("monthly").with("sort_by", "unique_users", "page_size", "25")), true)
			add(c, utilizationPath(c.ID, c.TwelveMo.params("monthly").with("sort_by", "active_time")), false)
			add(c, "/v2/clients/"+c.ID+utilizationExportSuffix+"?"+month.with("compare_start_date", day(c.Prev.Start), "compare_end_date", day(c.Prev.End)).encode(), false)
			last := params{"start_date", day(c.Last), "end_date", day(c.Last)}
			add(c, "/v2/clients/"+c.ID+usageExportSuffix+"?"+last.encode(), false)
		}
	}
	return reqs
}
