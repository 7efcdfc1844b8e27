package workload

import (
	"math/rand/v2"

	"github.com/usagelens/usagelens/api"
)

// Parameters of ZipfMix, written here so the report and the README can
// quote them.
const (
	// ZipfTenants is how many of the busiest clients the mix's users
	// belong to.
	ZipfTenants = 3
	// ZipfExponent is the Zipf distribution's s over the (tenant, view)
	// pairs: the k-th most popular pair is opened about k^-s as often as
	// the first.
	ZipfExponent = 1.2
	// ZipfRequests is how many requests are drawn; the replay goes round
	// the list, so it is the period of the traffic.
	ZipfRequests = 4096
)

// DefaultViews are the views a tenant's dashboard opens by default, the
// most opened first: this month against the last sorted by active time
// (the landing page), the month by users, the quarter, the twelve months,
// the month's first page of 25 by name, and the month by day.
func DefaultViews(c *ClientShape) []Request {
	month := c.LastMonth.Query("monthly")
	paths := []string{
		Path(api.RouteUtilization, c.ID, month.AddComparison(c.Prev).Add(api.ParamSortBy, api.SortActiveTime).Add(api.ParamSortOrder, "desc")),
		Path(api.RouteUtilization, c.ID, month.Add(api.ParamSortBy, api.SortUniqueUsers).Add(api.ParamSortOrder, "desc")),
		Path(api.RouteUtilization, c.ID, c.Quarter.Query("monthly").Add(api.ParamSortBy, api.SortActiveTime).Add(api.ParamSortOrder, "desc")),
		Path(api.RouteUtilization, c.ID, c.TwelveMo.Query("monthly").Add(api.ParamSortBy, api.SortActiveTime).Add(api.ParamSortOrder, "desc")),
		Path(api.RouteUtilization, c.ID, month.Add(api.ParamSortBy, api.SortName).Add(api.ParamSortOrder, "asc").Add(api.ParamPageSize, "25")),
		Path(api.RouteUtilization, c.ID, c.LastMonth.Query("daily").Add(api.ParamSortBy, api.SortSessionCount).Add(api.ParamSortOrder, "desc")),
	}
	reqs := make([]Request, len(paths))
	for i, p := range paths {
		kind, _ := Classify(p)
		reqs[i] = Request{Kind: kind, Path: p, ClientID: c.ID}
	}
	return reqs
}

// ZipfMix is dashboard traffic with the repeat pattern of many users of a
// few tenants opening a few default views: the DefaultViews of the
// ZipfTenants busiest clients (clients come busiest first), ranked view by
// view (every tenant's landing page first, then every tenant's second
// view, ...), and ZipfRequests draws from a Zipf distribution with
// exponent ZipfExponent over those ranks. The same seed gives the same
// list.
func ZipfMix(clients []ClientShape, seed uint64) []Request {
	tenants := clients[:min(ZipfTenants, len(clients))]
	if len(tenants) == 0 {
		return nil
	}
	var views [][]Request
	for i := range tenants {
		views = append(views, DefaultViews(&tenants[i]))
	}
	var ranked []Request
	for v := range views[0] {
		for t := range views {
			ranked = append(ranked, views[t][v])
		}
	}
	z := rand.NewZipf(rand.New(rand.NewPCG(seed, 0x5a1f)), ZipfExponent, 1, uint64(len(ranked)-1))
	out := make([]Request, ZipfRequests)
	for i := range out {
		out[i] = ranked[z.Uint64()]
	}
	return out
}
