package workload_test

import (
	"slices"
	"testing"
	"time"

	"github.com/usagelens/usagelens/workload"
)

func zipfClients(n int) []workload.ClientShape {
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	end := month.AddDate(0, 1, -1)
	var cs []workload.ClientShape
	for i := range n {
		cs = append(cs, workload.ClientShape{ID: "c0000000-0000-4000-8000-00000000000" + string(rune('1'+i)),
			LastMonth: workload.Period{Start: month, End: end},
			Prev:      workload.Period{Start: month.AddDate(0, -1, 0), End: month.AddDate(0, 0, -1)},
			Quarter:   workload.Period{Start: month.AddDate(0, -2, 0), End: end},
			TwelveMo:  workload.Period{Start: month.AddDate(0, -11, 0), End: end}})
	}
	return cs
}

// TestZipfMixDeterministic checks that a seed gives the same list and
// another seed a different one.
func TestZipfMixDeterministic(t *testing.T) {
	cs := zipfClients(5)
	a, b, c := workload.ZipfMix(cs, 1), workload.ZipfMix(cs, 1), workload.ZipfMix(cs, 2)
	if len(a) != workload.ZipfRequests {
		t.Fatalf("ZipfMix drew %d requests, want %d", len(a), workload.ZipfRequests)
	}
	if !slices.Equal(a, b) {
		t.Error("ZipfMix with the same seed differs")
	}
	if slices.Equal(a, c) {
		t.Error("ZipfMix with seeds 1 and 2 is the same list")
	}
}

// TestZipfMixSkewed checks the repeat pattern: only the busiest tenants,
// only their default views, the landing page of the busiest tenant the
// most frequent request, each rank opened less often than the one before
// it (within sampling noise for the tail).
func TestZipfMixSkewed(t *testing.T) {
	cs := zipfClients(5)
	counts := map[string]int{}
	for _, r := range workload.ZipfMix(cs, 1) {
		counts[r.Path]++
		if r.ClientID != cs[0].ID && r.ClientID != cs[1].ID && r.ClientID != cs[2].ID {
			t.Fatalf("request of client %s, not one of the %d busiest", r.ClientID, workload.ZipfTenants)
		}
		if r.Walk || r.Kind == workload.KindOther {
			t.Fatalf("request %+v is not a first page of a default view", r)
		}
	}
	views := workload.DefaultViews(&cs[0])
	if len(counts) > workload.ZipfTenants*len(views) {
		t.Errorf("%d distinct requests, more than %d tenants × %d views", len(counts), workload.ZipfTenants, len(views))
	}
	top := counts[views[0].Path]
	for p, n := range counts {
		if n > top {
			t.Errorf("%s drawn %d times, more than the busiest tenant's landing page (%d)", p, n, top)
		}
	}
	// With s = 1.2 over 18 ranks the first takes about a third of the draws.
	if share := float64(top) / workload.ZipfRequests; share < 0.25 || share > 0.5 {
		t.Errorf("the landing page of the busiest tenant is %.2f of the draws, want about a third", share)
	}
	second := workload.DefaultViews(&cs[1])[0].Path
	if counts[second] >= top || counts[second] < top/4 {
		t.Errorf("rank 2 drawn %d times against %d for rank 1, want about 2^-1.2 of it", counts[second], top)
	}
}

// TestZipfMixFewClients draws from what there is.
func TestZipfMixFewClients(t *testing.T) {
	if got := workload.ZipfMix(nil, 1); got != nil {
		t.Errorf("ZipfMix(no clients) = %d requests, want none", len(got))
	}
	for _, r := range workload.ZipfMix(zipfClients(1), 1) {
		if r.ClientID != zipfClients(1)[0].ID {
			t.Fatalf("request of client %s with one client", r.ClientID)
		}
	}
}
