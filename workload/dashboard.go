package workload

import (
	"strings"
	"time"

	"github.com/usagelens/usagelens/api"
)

// ClientShape describes one client with usage: its size, and what the
// dashboard mix needs to build its requests.
type ClientShape struct {
	ID                string
	AppID             string // one of its most used apps
	Rows              uint64
	First, Last       time.Time
	Users, Apps       uint64
	VendorID          string
	CategoryID        string
	Term              string
	DepartmentIDs     []string
	LastMonth, Prev   Period
	Quarter, TwelveMo Period
}

// DashboardMix is the built-in traffic: for every client (the busiest one
// twice) the requests a dashboard makes: the month's table by each sort,
// with a comparison, with each filter, scoped to departments, a page walk,
// the twelve-month view, usage over time (a weekly trend, apps, departments
// and categories per month of the quarter, a daily CSV), an app's activity,
// and both exports.
func DashboardMix(clients []ClientShape) []Request {
	var reqs []Request
	add := func(c *ClientShape, path string, walk bool) {
		kind, _ := Classify(path)
		if walk {
			kind = KindPageWalk
		}
		reqs = append(reqs, Request{Kind: kind, Path: path, ClientID: c.ID, Walk: walk})
	}
	sorts := [][2]string{{api.SortName, "asc"}, {api.SortUniqueUsers, "desc"}, {api.SortActiveTime, "desc"}, {api.SortAvgTime, "asc"}, {api.SortSessionCount, "desc"}}
	for i := range clients {
		c := &clients[i]
		times := 1
		if i == 0 {
			times = 2
		}
		utilization := func(q Query) string { return Path(api.RouteUtilization, c.ID, q) }
		for range times {
			month := c.LastMonth.Query("monthly")
			add(c, utilization(month), false)
			add(c, utilization(month.AddComparison(c.Prev)), false)
			for _, s := range sorts {
				add(c, utilization(c.LastMonth.Query("weekly").Add(api.ParamSortBy, s[0]).Add(api.ParamSortOrder, s[1])), false)
			}
			add(c, utilization(month.Add(api.ParamFilter, "discovered")), false)
			add(c, utilization(month.Add(api.ParamFilter, "dropped_off")), false)
			if c.Term != "" {
				add(c, utilization(month.Add(api.ParamQ, c.Term)), false)
			}
			if c.CategoryID != "" {
				add(c, utilization(month.Add(api.ParamCategoryIDs, c.CategoryID)), false)
			}
			if c.VendorID != "" {
				add(c, utilization(month.Add(api.ParamVendorIDs, c.VendorID)), false)
			}
			add(c, utilization(month.Add(api.ParamIsFavorite, "true")), false)
			add(c, utilization(month.Add(api.ParamIsApproved, "false").Add(api.ParamSortBy, api.SortUniqueUsers)), false)
			if len(c.DepartmentIDs) > 0 {
				add(c, utilization(month.Add(api.ParamDepartmentIDs, strings.Join(c.DepartmentIDs, ",")).AddComparison(c.Prev)), false)
			}
			add(c, utilization(c.Quarter.Query("monthly").Add(api.ParamSortBy, api.SortUniqueUsers).Add(api.ParamPageSize, "25")), true)
			add(c, utilization(c.TwelveMo.Query("monthly").Add(api.ParamSortBy, api.SortActiveTime)), false)
			series := func(q Query) string { return Path(api.RouteUsageSeries, c.ID, q) }
			add(c, series(c.TwelveMo.Dates().Add(api.ParamBinSize, "week").Add(api.ParamMetrics, "active_time_ms,unique_users")), false)
			add(c, series(c.Quarter.Dates().Add(api.ParamGroupBy, "app").Add(api.ParamPageSize, "10")), false)
			add(c, series(c.Quarter.Dates().Add(api.ParamGroupBy, "department").Add(api.ParamBinSize, "quarter")), false)
			add(c, series(c.Quarter.Dates().Add(api.ParamGroupBy, "category").Add(api.ParamMetrics, "active_time_ms,session_count,unique_apps")), false)
			add(c, series(c.LastMonth.Dates().Add(api.ParamGroupBy, "app").Add(api.ParamBinSize, "day").Add(api.ParamFormat, "csv")), false)
			if c.AppID != "" {
				add(c, strings.Replace(Path(api.RouteAppActivity, c.ID, c.LastMonth.Query("weekly").AddComparison(c.Prev)), "{app_id}", c.AppID, 1), false)
			}
			add(c, Path(api.RouteUtilizationExport, c.ID, month.AddComparison(c.Prev)), false)
			add(c, Path(api.RouteUsageExport, c.ID, Period{c.Last, c.Last}.Dates()), false)
		}
	}
	return reqs
}
