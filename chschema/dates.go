package chschema

import "time"

// FirstDay and LastDay bound the days usagelens stores and accepts in
// requests. Within them every supported server stores and computes dates
// alike; outside them they differ: ClickHouse 18.16 prints day 0
// (1970-01-01) as 0000-00-00 and cannot go past 2105, current releases
// clamp out-of-range dates to 1970-01-01 or 2149-06-06, and the Monday-week
// of the first days of 1970 would begin before day 0.
var (
	FirstDay = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	LastDay  = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

// DayRange is the supported range as error messages state it.
const DayRange = "2000-01-01..2099-12-31"

// InDayRange reports whether day (midnight UTC) is a supported day.
func InDayRange(day time.Time) bool {
	return !day.Before(FirstDay) && !day.After(LastDay)
}
