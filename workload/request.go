// Package workload is the API traffic usagelens generates: the request log
// written beside a seeded dataset, the benchmark's dashboard mix, and the
// request kinds both are reported under. Every path and parameter name comes
// from package api.
package workload

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/usagelens/usagelens/api"
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
	KindSeries                 = "usage_series"
	KindSeriesCSV              = "usage_series_csv"
	KindActivity               = "app_activity"
	KindOther                  = "other"
)

// Every client route is a prefix, the client id and a tail; Classify
// matches on them as api.Path spells them.
var (
	clientPrefix, utilizationTail = splitRoute(api.RouteUtilization)
	_, utilizationExportTail      = splitRoute(api.RouteUtilizationExport)
	_, usageExportTail            = splitRoute(api.RouteUsageExport)
	_, seriesTail                 = splitRoute(api.RouteUsageSeries)
	_, activityTail               = splitRoute(api.RouteAppActivity)
)

func splitRoute(route string) (prefix, tail string) {
	const mark = "\x00" // never part of a route
	prefix, tail, _ = strings.Cut(api.Path(route, mark), mark)
	return prefix, tail
}

// Classify returns the kind of a request path, and its client id.
func Classify(path string) (kind, clientID string) {
	u, err := url.Parse(path)
	if err != nil {
		return KindOther, ""
	}
	if rest, ok := strings.CutPrefix(u.Path, clientPrefix); ok {
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
	case strings.HasSuffix(u.Path, utilizationExportTail):
		return KindUtilizationExport, clientID
	case strings.HasSuffix(u.Path, usageExportTail):
		return KindUsageExport, clientID
	case strings.HasSuffix(u.Path, seriesTail) && v.Get(api.ParamFormat) == "csv":
		return KindSeriesCSV, clientID
	case strings.HasSuffix(u.Path, seriesTail):
		return KindSeries, clientID
	case strings.HasSuffix(u.Path, activityTail[strings.LastIndex(activityTail, "}")+1:]):
		return KindActivity, clientID
	case !strings.HasSuffix(u.Path, utilizationTail):
		return KindOther, clientID
	case has(api.ParamCursor):
		return KindUtilizationPage, clientID
	case has(api.ParamDepartmentIDs, api.ParamDepartmentID):
		return KindUtilizationDepartments, clientID
	case has(api.ParamFilter, api.ParamQ, api.ParamCategoryIDs, api.ParamCategoryID, api.ParamVendorIDs, api.ParamVendorID,
		api.ParamIsFavorite, api.ParamIsApproved):
		return KindUtilizationFiltered, clientID
	case has(api.ParamCompareStartDate):
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
