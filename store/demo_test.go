package store

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// readCSV is a dataset file's rows as header name -> value.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// ranked is the counts of keys, highest first.
func ranked(counts map[string]int) []int {
	var ns []int
	for _, n := range counts {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	slices.Reverse(ns)
	return ns
}

// TestDemoIDsAreTheClientsMostUsed checks DemoIDs against counts taken
// from the dataset's own CSV files: each id belongs to the client and is
// among its most used, and the other clients are all the rest.
func TestDemoIDsAreTheClientsMostUsed(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dataset.Load(ctx, conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	s := New(conn, nil)
	clients := readCSV(t, filepath.Join(dir, "clients.csv"))
	apps := readCSV(t, filepath.Join(dir, "apps.csv"))
	deps := readCSV(t, filepath.Join(dir, "user_departments.csv"))
	seen := map[string]int{}
	for _, cl := range clients {
		id := cl["client_id"]
		cats, vendors, depts := map[string]int{}, map[string]int{}, map[string]int{}
		for _, a := range apps {
			if a["client_id"] != id {
				continue
			}
			vendors[a["vendor_id"]]++
			for c := range strings.SplitSeq(a["category_ids"], ";") {
				if c != "" {
					cats[c]++
				}
			}
		}
		for _, d := range deps {
			if d["client_id"] == id {
				depts[d["department_id"]]++
			}
		}
		got, err := s.DemoIDs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		f := func(what string, ids []string, counts map[string]int, n int) {
			t.Helper()
			seen[what] += len(ids)
			want := ranked(counts)[:min(n, len(counts))]
			if len(ids) != len(want) {
				t.Fatalf("client %s: %d %s ids %v, want %d", id, len(ids), what, ids, len(want))
			}
			for i, v := range ids {
				if counts[v] != want[i] {
					t.Errorf("client %s: %s %s is used %d times, want the rank-%d count %d", id, what, v, counts[v], i+1, want[i])
				}
			}
		}
		f("category", got.CategoryIDs, cats, 2)
		f("vendor", got.VendorIDs, vendors, 1)
		f("department", got.DepartmentIDs, depts, 1)
		var others []string
		for _, o := range clients {
			if o["client_id"] != id {
				others = append(others, o["client_id"])
			}
		}
		slices.Sort(others)
		sorted := slices.Sorted(slices.Values(got.OtherClients))
		if !slices.Equal(sorted, others) {
			t.Errorf("client %s: other clients %v, want %v", id, got.OtherClients, others)
		}
	}
	for _, what := range []string{"category", "vendor", "department"} {
		if seen[what] == 0 {
			t.Fatalf("no client of the seed has a %s id: the test checks nothing", what)
		}
	}
	none, err := s.DemoIDs(ctx, "00000000-0000-4000-8000-000000000000")
	if err != nil || len(none.CategoryIDs)+len(none.VendorIDs)+len(none.DepartmentIDs) != 0 || len(none.OtherClients) != len(clients) {
		t.Fatalf("unknown client: %+v, %v", none, err)
	}
}
