package query

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/usagelens/usagelens/api"
)

// Activity is a validated App Activity request: the utilization table of
// the one app (its totals, so they equal its App Utilization row) and the
// app's series in bins of the granularity.
type Activity struct {
	Util   *Utilization
	Series *Series
}

var activityParams = []string{api.ParamGranularity, api.ParamStartDate, api.ParamEndDate,
	api.ParamCompareStartDate, api.ParamCompareEndDate, api.ParamDepartmentIDs}

// binOfGranularity is the series bin of each granularity.
var binOfGranularity = map[string]string{"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}

// activityMetrics are what the bins show (their average per day comes
// from the days with activity).
var activityMetrics = []string{api.MetricUniqueUsers, api.MetricActiveTime, api.MetricSessions}

// ParseActivity validates an App Activity request of appID, a canonical
// app id.
func ParseActivity(clientID, appID string, v url.Values) (*Activity, error) {
	for name := range v {
		if !slices.Contains(activityParams, name) {
			return nil, paramErr(name, v.Get(name), fmt.Sprintf("unknown parameter %q", name))
		}
	}
	u, err := ParseUtilization(clientID, v, Unpaged)
	if err != nil {
		return nil, err
	}
	u.AppID = appID
	s := &Series{ClientID: clientID, Period: u.Period, BinSize: binOfGranularity[u.Granularity], GroupBy: api.GroupNone,
		Metrics: activityMetrics, AppIDs: []string{appID}, DepartmentIDs: u.DepartmentIDs, SortBy: api.MetricActiveTime, Desc: true}
	return &Activity{Util: u, Series: s}, nil
}

// CacheKey is the request in normal form, the client and app included.
func (a *Activity) CacheKey() string { return "activity|" + a.Util.AppID + "|" + a.Util.resultKey() }

// ActivityBins are the bins of the scanned series row, or zero bins when
// the app has no usage in the period (scan is then nil).
func ActivityBins(r *Series, scan *SeriesScan) []api.ActivityBin {
	bins := Bins(r.Period, r.BinSize)
	out := make([]api.ActivityBin, len(bins))
	for i, b := range bins {
		out[i] = api.ActivityBin{StartDate: day(b.Start), EndDate: day(b.End)}
		if scan == nil {
			continue
		}
		s := scan.per[i]
		out[i].UniqueUsers, out[i].ActiveTimeMS, out[i].SessionCount = s.users, s.ms, s.sessions
		if s.days > 0 {
			avg := s.ms / s.days
			out[i].AvgTimeMSPerDay = &avg
		}
	}
	return out
}

// ActivityTotals are the app's utilization row's metrics.
func ActivityTotals(row *api.AppUtilization) api.ActivityTotals {
	return api.ActivityTotals{UniqueUsers: row.UniqueUsers, ActiveTimeMS: row.ActiveTimeMS,
		AvgTimeMSPerDay: row.AvgTimeMSPerDay, SessionCount: row.SessionCount}
}
