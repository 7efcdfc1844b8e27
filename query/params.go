package query

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/errs"
)

// MaxRangeDays bounds both periods.
const MaxRangeDays = 366

// Page sizes of the JSON endpoint.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Period is an inclusive range of calendar days in the client's time zone.
type Period struct{ Start, End time.Time }

// Days is the number of days in the period, both ends included.
func (p Period) Days() int { return int(p.End.Sub(p.Start).Hours()/24) + 1 }

// Utilization is a validated utilization request, shared by the JSON
// endpoint and the CSV export.
type Utilization struct {
	ClientID      string
	Granularity   string
	Period        Period
	Compare       *Period
	Filter        string
	Q             string
	CategoryIDs   []string
	VendorIDs     []string
	DepartmentIDs []string
	IsFavorite    *bool
	IsApproved    *bool
	SortBy        string
	Desc          bool
	PageSize      int
	Cursor        *Cursor
	// DeprecatedAliases lists the singular parameters the caller used.
	DeprecatedAliases []string
	// AppID narrows the table to one app, listed with or without usage
	// (App Activity's totals); not a parameter.
	AppID string
}

// utilizationParams are the parameters the endpoint knows; anything else
// is rejected so a typo does not silently return unfiltered data.
var utilizationParams = []string{api.ParamGranularity, api.ParamStartDate, api.ParamEndDate, api.ParamCompareStartDate, api.ParamCompareEndDate,
	api.ParamFilter, api.ParamQ, api.ParamCategoryIDs, api.ParamVendorIDs, api.ParamDepartmentIDs, api.ParamCategoryID, api.ParamVendorID, api.ParamDepartmentID,
	api.ParamIsFavorite, api.ParamIsApproved, api.ParamSortBy, api.ParamSortOrder, api.ParamPageSize, api.ParamCursor}

// Pagination says whether a request may page (JSON) or must not (export).
type Pagination bool

// Whether cursor and page_size are accepted.
const (
	Paged   Pagination = true
	Unpaged Pagination = false
)

// ParseUtilization validates the query parameters of a utilization request.
func ParseUtilization(clientID string, v url.Values, pg Pagination) (*Utilization, error) {
	p := parser{v: v}
	for name := range v {
		if !slices.Contains(utilizationParams, name) {
			return nil, paramErr(name, v.Get(name), fmt.Sprintf("unknown parameter %q", name))
		}
		if !pg && (name == api.ParamCursor || name == api.ParamPageSize) {
			return nil, paramErr(name, v.Get(name), name+" is not accepted by the export: it always returns the full result")
		}
	}
	r := &Utilization{ClientID: clientID}
	r.Granularity = p.enum(api.ParamGranularity, api.Granularities, "")
	r.Period = p.period(api.ParamStartDate, api.ParamEndDate, true)
	r.Compare = p.comparePeriod()
	r.Filter = p.enum(api.ParamFilter, api.Filters, "")
	r.Q = p.single(api.ParamQ)
	r.CategoryIDs = p.ids(api.ParamCategoryIDs, api.ParamCategoryID, &r.DeprecatedAliases)
	r.VendorIDs = p.ids(api.ParamVendorIDs, api.ParamVendorID, &r.DeprecatedAliases)
	r.DepartmentIDs = p.ids(api.ParamDepartmentIDs, api.ParamDepartmentID, &r.DeprecatedAliases)
	r.IsFavorite = p.boolean(api.ParamIsFavorite)
	r.IsApproved = p.boolean(api.ParamIsApproved)
	r.SortBy = p.enum(api.ParamSortBy, api.UtilizationSorts, api.SortName)
	r.Desc = p.enum(api.ParamSortOrder, api.SortOrders, "desc") == "desc"
	if pg {
		r.PageSize = p.pageSize()
	}
	if p.err != nil {
		return nil, p.err
	}
	if c := p.single(api.ParamCursor); c != "" {
		cur, err := DecodeCursor(c, r.Fingerprint())
		if err != nil {
			return nil, err
		}
		r.Cursor = cur
	}
	return r, p.err
}

// parser reads parameters, keeping the first error so that validation
// reads as a list of fields.
type parser struct {
	v   url.Values
	err error
}

func (p *parser) fail(e *errs.Error) {
	if p.err == nil {
		p.err = e
	}
}

// single returns a parameter given at most once ("" when absent).
func (p *parser) single(name string) string {
	vals := p.v[name]
	if len(vals) > 1 {
		p.fail(paramErr(name, vals, name+" is given more than once"))
	}
	if len(vals) == 0 {
		return ""
	}
	if !utf8Valid(vals[0]) {
		p.fail(paramErr(name, strings.ToValidUTF8(vals[0], "\uFFFD"), name+" is not valid UTF-8"))
		return ""
	}
	return vals[0]
}

func (p *parser) enum(name string, allowed []string, def string) string {
	s := p.single(name)
	if s == "" {
		if def == "" && name == api.ParamGranularity {
			p.fail(paramErr(name, nil, name+" is required: one of "+strings.Join(allowed, ", ")))
		}
		return def
	}
	if !slices.Contains(allowed, s) {
		p.fail(paramErr(name, s, fmt.Sprintf("%s %q is not one of %s", name, s, strings.Join(allowed, ", "))))
		return def
	}
	return s
}

func (p *parser) date(name string, required bool) (time.Time, bool) {
	s := p.single(name)
	if s == "" {
		if required {
			p.fail(paramErr(name, nil, name+" is required (YYYY-MM-DD)"))
		}
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil || len(s) != 10 {
		p.fail(paramErr(name, s, fmt.Sprintf("%s %q is not a valid date (YYYY-MM-DD)", name, s)))
		return time.Time{}, false
	}
	if !chschema.InDayRange(t) {
		p.fail(paramErr(name, s, fmt.Sprintf("%s %q is outside %s", name, s, chschema.DayRange)))
		return time.Time{}, false
	}
	return t, true
}

func (p *parser) period(startName, endName string, required bool) Period {
	start, ok1 := p.date(startName, required)
	end, ok2 := p.date(endName, required)
	if !ok1 || !ok2 {
		return Period{}
	}
	per := Period{start, end}
	switch {
	case end.Before(start):
		p.fail(rangeErr(fmt.Sprintf("%s %s is before %s %s", endName, end.Format(time.DateOnly), startName, start.Format(time.DateOnly)),
			map[string]any{startName: start.Format(time.DateOnly), endName: end.Format(time.DateOnly)}))
	case per.Days() > MaxRangeDays:
		p.fail(rangeErr(fmt.Sprintf("%s..%s spans %d days; at most %d are allowed", startName, endName, per.Days(), MaxRangeDays),
			map[string]any{startName: start.Format(time.DateOnly), endName: end.Format(time.DateOnly)}))
	}
	return per
}

func (p *parser) comparePeriod() *Period {
	cs, ce := p.single(api.ParamCompareStartDate), p.single(api.ParamCompareEndDate)
	if cs == "" && ce == "" {
		return nil
	}
	if cs == "" || ce == "" {
		given, missing := api.ParamCompareStartDate, api.ParamCompareEndDate
		if cs == "" {
			given, missing = missing, given
		}
		p.fail(rangeErr(given+" requires "+missing+" to be provided",
			map[string]any{api.ParamCompareStartDate: nilIfEmpty(cs), api.ParamCompareEndDate: nilIfEmpty(ce)}))
		return nil
	}
	per := p.period(api.ParamCompareStartDate, api.ParamCompareEndDate, true)
	return &per
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ids reads a comma-separated UUID list, merged with its deprecated
// singular alias when there is one (recorded in aliases when used).
func (p *parser) ids(plural, singular string, aliases *[]string) []string {
	var raw []string
	names := []string{plural}
	if singular != "" {
		names = append(names, singular)
	}
	for _, name := range names {
		for _, v := range p.v[name] {
			if name == singular && !slices.Contains(*aliases, singular) {
				*aliases = append(*aliases, singular)
			}
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				u, err := uuid.Parse(s)
				if err != nil || len(s) != 36 {
					p.fail(paramErr(name, strings.ToValidUTF8(s, "\uFFFD"), fmt.Sprintf("%s: %q is not a UUID", name, strings.ToValidUTF8(s, "\uFFFD"))))
					return nil
				}
				raw = append(raw, u.String())
			}
		}
	}
	slices.Sort(raw)
	return slices.Compact(raw)
}

func (p *parser) boolean(name string) *bool {
	switch s := p.single(name); s {
	case "":
		return nil
	case "true", "false":
		b := s == "true"
		return &b
	default:
		p.fail(paramErr(name, s, fmt.Sprintf("%s %q is not true or false", name, s)))
		return nil
	}
}

func (p *parser) pageSize() int {
	s := p.single(api.ParamPageSize)
	if s == "" {
		return DefaultPageSize
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		p.fail(paramErr(api.ParamPageSize, s, fmt.Sprintf("%s %q is not a whole number from 1 to %d", api.ParamPageSize, s, MaxPageSize)))
		return DefaultPageSize
	}
	return n
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s && !strings.ContainsRune(s, 0) }

// ParsePageSize reads page_size alone, for lists that take nothing else
// but a cursor.
func ParsePageSize(v url.Values) (int, error) {
	p := parser{v: v}
	n := p.pageSize()
	return n, p.err
}
