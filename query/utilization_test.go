package query

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/fold"
)

func TestUsageLevelThresholds(t *testing.T) {
	lic := func(n uint32) *uint32 { return &n }
	f := func(points, users uint64, licenses *uint32, clientUsers uint64, days int, want string) {
		t.Helper()
		got := "null"
		if l := UsageLevel(points, users, licenses, clientUsers, days); l != nil {
			got = *l
		}
		if got != want {
			t.Errorf("UsageLevel(%d points, %d users, %v licences, %d client users, %d days) = %s, want %s", points, users, licenses, clientUsers, days, got, want)
		}
	}
	f(4, 4, lic(1), 4, 28, "null")       // fewer than 5 data points
	f(48, 1, lic(1), 1, 100, "heavy")    // 0.35 + 0.65*0.48 = 0.662
	f(47, 1, lic(1), 1, 100, "medium")   // 0.35 + 0.65*0.47 = 0.6555
	f(51, 1, lic(100), 1, 100, "medium") // 0.0035 + 0.65*0.51 = 0.335
	f(50, 1, lic(100), 1, 100, "light")  // 0.0035 + 0.65*0.50 = 0.3285
	f(50, 1, nil, 4, 100, "medium")      // no licence count: adoption 1/4 client users; 0.0875 + 0.325 = 0.4125
	f(100, 2, lic(0), 2, 50, "heavy")    // licence 0 means unknown: adoption 2/2, activity 1
	f(5, 10, lic(2), 10, 1, "heavy")     // adoption 10/2 capped at 1: 0.35 + 0.65*0.5 = 0.675
}

func TestChangePct(t *testing.T) {
	f := func(cur, cmp uint64, want string) {
		t.Helper()
		m := metric(cur, cmp, true, true, true)
		got := "null"
		if m.ChangePct != nil {
			got = strings.TrimSuffix(strings.TrimRight(strings.TrimRight(fmtFloat(*m.ChangePct), "0"), "."), ".")
		}
		if got != want {
			t.Errorf("change(%d, %d) = %s, want %s", cur, cmp, got, want)
		}
	}
	f(42, 40, "5")
	f(432000000, 446000000, "-3.1")
	f(1284, 1191, "7.8")
	f(10, 0, "null")
	f(0, 10, "-100")
	f(2, 3, "-33.3")
	f(1, 3, "-66.7")
}

func TestUserValuesNeverReachSQLText(t *testing.T) {
	base := url.Values{"granularity": {"daily"}, "start_date": {"2026-01-01"}, "end_date": {"2026-01-31"}}
	build := func(q string) Statement {
		v := url.Values{}
		for k, vals := range base {
			v[k] = vals
		}
		v.Set("q", q)
		r, err := ParseUtilization("c0000000-0000-4000-8000-000000000001", v, Paged)
		if err != nil {
			t.Fatalf("q=%q: %v", q, err)
		}
		return defaultSQL(r)
	}
	want := build("x").SQL
	for _, evil := range []string{"'", `\`, ";", "`", "{x:String}", "\t", "') OR 1=1 --", "@client", "?", "%s", "é"} {
		st := build(evil)
		if st.SQL != want {
			t.Errorf("q=%q changed the SQL text", evil)
		}
		found := false // bound folded, as name_key is
		for _, a := range st.Args {
			if strings.Contains(fmtArg(a), fold.Key(evil)) {
				found = true
			}
		}
		if !found {
			t.Errorf("q=%q is not among the bound args", evil)
		}
	}
}

func fmtFloat(f float64) string { return fmt.Sprintf("%.4f", f) }

func fmtArg(a any) string { return fmt.Sprintf("%v", a) }
