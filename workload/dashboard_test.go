package workload_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usagelens/usagelens/workload"
)

var update = flag.Bool("update", false, "rewrite the golden request lists in testdata")

// TestDashboardMixGolden pins the mix request by request: kind, client,
// page walk and path, for a busiest client with every filter id and two
// clients that lack some.
func TestDashboardMixGolden(t *testing.T) {
	shape := func(id string, last time.Time, term, category, vendor string, depts ...string) workload.ClientShape {
		month := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC)
		end := month.AddDate(0, 1, -1)
		return workload.ClientShape{ID: id, Last: last, Term: term, CategoryID: category, VendorID: vendor, DepartmentIDs: depts,
			LastMonth: workload.Period{Start: month, End: end},
			Prev:      workload.Period{Start: month.AddDate(0, -1, 0), End: month.AddDate(0, 0, -1)},
			Quarter:   workload.Period{Start: month.AddDate(0, -2, 0), End: end},
			TwelveMo:  workload.Period{Start: month.AddDate(0, -11, 0), End: end}}
	}
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	clients := []workload.ClientShape{
		shape("c0000000-0000-4000-8000-000000000001", date(2026, 10, 31), "slack",
			"e0000000-0000-4000-8000-000000000001", "f0000000-0000-4000-8000-000000000001",
			"d0000000-0000-4000-8000-000000000001", "d0000000-0000-4000-8000-000000000002"),
		shape("c0000000-0000-4000-8000-000000000002", date(2026, 3, 15), "éclair", "", "f0000000-0000-4000-8000-000000000002",
			"d0000000-0000-4000-8000-000000000003"),
		shape("c0000000-0000-4000-8000-000000000003", date(2025, 12, 1), "", "e0000000-0000-4000-8000-000000000003", ""),
	}
	clients[0].AppID = "a0000000-0000-4000-8000-000000000001"
	var b strings.Builder
	for _, r := range workload.DashboardMix(clients) {
		fmt.Fprintf(&b, "%s\t%s\t%t\t%s\n", r.Kind, r.ClientID, r.Walk, r.Path)
	}
	golden := filepath.Join("testdata", "dashboard_mix.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./workload -update to create it)", err)
	}
	got, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(got), len(wantLines)) {
		g, w := line(got, i), line(wantLines, i)
		if g != w {
			t.Fatalf("DashboardMix line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}
