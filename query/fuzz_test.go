package query

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
)

// FuzzParseUtilization: any query string either parses or is an invalid parameter
// (a 400 in the spec's shape); never a panic, never another error. What
// parses builds SQL whose text depends only on the request's shape (see
// checkShape), so no user value can reach the text.
func FuzzParseUtilization(f *testing.F) {
	// A valid cursor, so the fuzzer starts from a request whose cursor key
	// reaches the builder.
	withCursor := "granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by=unique_users&sort_order=asc&q=x%27y"
	v, err := url.ParseQuery(withCursor)
	if err != nil {
		f.Fatal(err)
	}
	r, err := ParseUtilization(fuzzClient, v, Paged)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withCursor + "&cursor=" + Cursor{Key: "1) OR 1=1 --'", ID: "a0000000-0000-4000-8000-000000000001", Fingerprint: r.Fingerprint()}.Encode())
	for _, s := range []string{
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28",
		"granularity=daily&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31&sort_by=avg_time&sort_order=asc&page_size=3",
		"granularity=weekly&start_date=2026-02-01&end_date=2026-02-28&q=%27%3B+DROP+TABLE+apps--&category_ids=e0000000-0000-4000-8000-000000000001,x",
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&cursor=eyJrIjoiYSIsImlkIjoiYiIsImYiOiJjIn0",
		"granularity=monthly&start_date=9999-99-99&end_date=0000-00-00&page_size=-1",
		"granularity=monthly&granularity=daily&is_favorite=%00&q=%ff%fe",
		"department_id=d0000000-0000-4000-8000-000000000001&vendor_id=&filter=dropped_off",
		// The usage export's parameters.
		"start_date=2026-02-01&end_date=2026-02-28&application_ids=a0000000-0000-4000-8000-000000000001,+A0000000-0000-4000-8000-000000000002",
		"start_date=2026-02-01&end_date=2026-02-28&department_ids=d0000000-0000-4000-8000-000000000001&application_ids=%27%29+OR+1%3D1--",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return // fasthttp and net/url reject it before any handler runs
		}
		for _, pg := range []Pagination{Paged, Unpaged} {
			r, err := ParseUtilization(fuzzClient, v, pg)
			if err != nil {
				var pe *errs.Error
				if !errors.As(err, &pe) || pe.Kind != errs.InvalidParameter || pe.Message == "" || len(pe.Details) == 0 {
					t.Fatalf("%q: error %v is not an invalid parameter with details", raw, err)
				}
				continue
			}
			if !slices.Contains(api.Granularities, r.Granularity) || !slices.Contains(api.UtilizationSorts, r.SortBy) ||
				r.Filter != "" && !slices.Contains(api.Filters, r.Filter) || r.PageSize < 0 || r.PageSize > MaxPageSize {
				t.Fatalf("%q: parsed to a value outside its allowlist: %+v", raw, r)
			}
			checkShape(t, raw, defaultSQL(r), defaultSQL(utilizationShape(r)))
		}
		u, err := ParseUsageExport(fuzzClient, v)
		if err != nil {
			var pe *errs.Error
			if !errors.As(err, &pe) || pe.Kind != errs.InvalidParameter {
				t.Fatalf("%q: usage export error %v is not an invalid parameter", raw, err)
			}
			return
		}
		checkShape(t, raw, UsageExportSQL(u), UsageExportSQL(&UsageExport{ClientID: shapeClient,
			Period: shapePeriod, AppIDs: shapeIDs(u.AppIDs), DepartmentIDs: shapeIDs(u.DepartmentIDs)}))
	})
}

const (
	fuzzClient  = "c0000000-0000-4000-8000-000000000001"
	shapeClient = "5ba9e000-0000-4000-8000-000000000000"
)

// The fixed values a shape request carries instead of the user's. A fuzzed
// value equal to one of them cannot show a splice, but cannot fail falsely.
var (
	shapePeriod = Period{time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC), time.Date(2001, 3, 4, 0, 0, 0, 0, time.UTC)}
	shapeCursor = &Cursor{Key: "5ba9e", ID: "5ba9e000-0000-4000-8000-0000000000cc", Fingerprint: "5ba9e"}
)

// utilizationShape is r with every user value replaced by a fixed one and
// every boolean flipped, keeping what may choose the SQL text: the
// allowlisted granularity, filter, sort column and order, the page size,
// and which optional filters are present.
func utilizationShape(r *Utilization) *Utilization {
	s := &Utilization{ClientID: shapeClient, Granularity: r.Granularity, Period: shapePeriod, Filter: r.Filter,
		CategoryIDs: shapeIDs(r.CategoryIDs), VendorIDs: shapeIDs(r.VendorIDs), DepartmentIDs: shapeIDs(r.DepartmentIDs),
		SortBy: r.SortBy, Desc: r.Desc, PageSize: r.PageSize}
	if r.Compare != nil {
		s.Compare = &Period{shapePeriod.Start.AddDate(-1, 0, 0), shapePeriod.End.AddDate(-1, 0, 0)}
	}
	if r.Q != "" {
		s.Q = "5ba9e"
	}
	flip := func(b *bool) *bool {
		if b == nil {
			return nil
		}
		n := !*b
		return &n
	}
	s.IsFavorite, s.IsApproved = flip(r.IsFavorite), flip(r.IsApproved)
	if r.Cursor != nil {
		s.Cursor = shapeCursor
	}
	return s
}

// shapeIDs is as many fixed UUIDs as ids holds.
func shapeIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i := range ids {
		out[i] = fmt.Sprintf("5ba9e000-0000-4000-8000-%012d", i)
	}
	return out
}

// checkShape fails unless got, built from the fuzzed values, has the same
// SQL text and argument names as shape, built from fixed ones (a value
// spliced into the text would differ), and unless the text names exactly
// the arguments bound (a missing one is a query error at run time).
func checkShape(t *testing.T, raw string, got, shape Statement) {
	t.Helper()
	if got.SQL != shape.SQL {
		g, s := strings.Split(got.SQL, "\n"), strings.Split(shape.SQL, "\n")
		for i := range min(len(g), len(s)) {
			if g[i] != s[i] {
				t.Fatalf("%q: user values reached the SQL text, line %d:\n got: %s\nwant: %s", raw, i+1, g[i], s[i])
			}
		}
		t.Fatalf("%q: user values changed the SQL text from %d to %d lines", raw, len(s), len(g))
	}
	names := func(args []any) []string {
		var out []string
		for _, a := range args {
			nv, ok := a.(driver.NamedValue)
			if !ok {
				t.Fatalf("%q: argument %#v is not named", raw, a)
			}
			out = append(out, nv.Name)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	bound := names(got.Args)
	if want := names(shape.Args); !slices.Equal(bound, want) {
		t.Fatalf("%q: arguments %v, want %v", raw, bound, want)
	}
	var used []string
	for _, m := range placeholder.FindAllStringSubmatch(got.SQL, -1) {
		used = append(used, m[1])
	}
	slices.Sort(used)
	if used = slices.Compact(used); !slices.Equal(used, bound) {
		t.Fatalf("%q: the SQL uses %v but binds %v", raw, used, bound)
	}
}

var placeholder = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)`)

// FuzzDecodeCursor: any cursor string decodes for the right fingerprint or
// is an invalid parameter naming the cursor.
func FuzzDecodeCursor(f *testing.F) {
	good := Cursor{Key: "slack", ID: "a0000000-0000-4000-8000-000000000001", Fingerprint: "fp"}.Encode()
	for _, s := range []string{good, "", "!!", "eyJ9", "eyJrIjpudWxsfQ", good + "x", "bnVsbA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s, "fp")
		if err != nil {
			var pe *errs.Error
			if !errors.As(err, &pe) || pe.Kind != errs.InvalidParameter || pe.Details["cursor"] == nil {
				t.Fatalf("%q: error %v is not an invalid parameter naming cursor", s, err)
			}
			return
		}
		if c.Fingerprint != "fp" || c.ID == "" {
			t.Fatalf("%q decoded to %+v", s, c)
		}
	})
}
