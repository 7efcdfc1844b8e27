package query

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzParseUtilization: any query string either parses or is a ParamError
// (a 400 in the spec's shape); never a panic, never another error.
func FuzzParseUtilization(f *testing.F) {
	for _, s := range []string{
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28",
		"granularity=daily&start_date=2026-02-01&end_date=2026-02-28&compare_start_date=2026-01-01&compare_end_date=2026-01-31&sort_by=avg_time&sort_order=asc&page_size=3",
		"granularity=weekly&start_date=2026-02-01&end_date=2026-02-28&q=%27%3B+DROP+TABLE+apps--&category_ids=e0000000-0000-4000-8000-000000000001,x",
		"granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&cursor=eyJrIjoiYSIsImlkIjoiYiIsImYiOiJjIn0",
		"granularity=monthly&start_date=9999-99-99&end_date=0000-00-00&page_size=-1",
		"granularity=monthly&granularity=daily&is_favorite=%00&q=%ff%fe",
		"department_id=d0000000-0000-4000-8000-000000000001&vendor_id=&filter=dropped_off",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return // fasthttp and net/url reject it before any handler runs
		}
		for _, pg := range []Pagination{Paged, Unpaged} {
			r, err := ParseUtilization("c0000000-0000-4000-8000-000000000001", v, pg)
			if err != nil {
				var pe *ParamError
				if !errors.As(err, &pe) || pe.Message == "" || len(pe.Details) == 0 {
					t.Fatalf("%q: error %v is not a ParamError with details", raw, err)
				}
				continue
			}
			st := UtilizationSQL(r)
			if st.SQL == "" {
				t.Fatalf("%q: empty SQL", raw)
			}
		}
		if _, err := ParseUsageExport("c0000000-0000-4000-8000-000000000001", v); err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: usage export error %v is not a ParamError", raw, err)
			}
		}
	})
}

// FuzzDecodeCursor: any cursor string decodes for the right fingerprint or
// is a ParamError naming the cursor.
func FuzzDecodeCursor(f *testing.F) {
	good := Cursor{Key: "slack", ID: "a0000000-0000-4000-8000-000000000001", Fingerprint: "fp"}.Encode()
	for _, s := range []string{good, "", "!!", "eyJ9", "eyJrIjpudWxsfQ", good + "x", "bnVsbA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s, "fp")
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Details["cursor"] == nil {
				t.Fatalf("%q: error %v is not a ParamError naming cursor", s, err)
			}
			return
		}
		if c.Fingerprint != "fp" || c.ID == "" {
			t.Fatalf("%q decoded to %+v", s, c)
		}
	})
}
