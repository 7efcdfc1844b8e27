package workload

import (
	"net/url"
	"strings"
	"time"

	"github.com/usagelens/usagelens/api"
)

// Query is an encoded query string whose parameters keep the order they
// were added in, so a generated request reads the same on every run.
type Query string

// Add returns q with k=v appended. v is escaped except for its commas,
// which separate the ids of list parameters and need no escaping.
func (q Query) Add(k, v string) Query {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	if q != "" {
		q += "&"
	}
	return q + Query(k+"="+strings.Join(parts, ","))
}

// AddComparison returns q with p as its comparison period.
func (q Query) AddComparison(p Period) Query {
	return q.Add(api.ParamCompareStartDate, day(p.Start)).Add(api.ParamCompareEndDate, day(p.End))
}

// Path is route's path for clientID with the query q.
func Path(route, clientID string, q Query) string {
	p := api.Path(route, clientID)
	if q == "" {
		return p
	}
	return p + "?" + string(q)
}

// Period is a range of days, both ends included.
type Period struct{ Start, End time.Time }

// Days is the number of days in p.
func (p Period) Days() int { return int(p.End.Sub(p.Start).Hours()/24) + 1 }

// Dates is the query of p's start and end date.
func (p Period) Dates() Query {
	return Query("").Add(api.ParamStartDate, day(p.Start)).Add(api.ParamEndDate, day(p.End))
}

// Query is the query of p at granularity gran.
func (p Period) Query(gran string) Query {
	return Query("").Add(api.ParamGranularity, gran).Add(api.ParamStartDate, day(p.Start)).Add(api.ParamEndDate, day(p.End))
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
