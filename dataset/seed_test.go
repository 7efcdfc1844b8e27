package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // clients.csv time zones must load on hosts without zoneinfo
)

var seedUUIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// seedTiny generates the tiny dataset into a temporary directory.
func seedTiny(t *testing.T, seed uint64, gz bool) (string, SeedStats) {
	t.Helper()
	dir := t.TempDir()
	st, err := Generate(dir, SeedOptions{Scale: ScaleTiny, Seed: seed, Gzip: gz})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, st
}

// seedReadCSV parses dir/name with encoding/csv, checks its header and returns
// the records after it.
func seedReadCSV(t *testing.T, dir, name string, header []string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		t.Fatalf("%s: header %q, want %q", name, recs[:min(1, len(recs))], header)
	}
	return recs[1:]
}

// seedTinyData is the parsed tiny dataset.
type seedTinyData struct {
	dir      string
	stats    SeedStats
	clients  [][]string
	apps     [][]string
	depts    [][]string
	usage    [][]string
	requests []string
}

func seedLoadTiny(t *testing.T) *seedTinyData {
	t.Helper()
	dir, st := seedTiny(t, 42, false)
	d := &seedTinyData{dir: dir, stats: st}
	d.clients = seedReadCSV(t, dir, ClientsFile, ClientsHeader)
	d.apps = seedReadCSV(t, dir, AppsFile, AppsHeader)
	d.depts = seedReadCSV(t, dir, DepartmentsFile, DepartmentsHeader)
	d.usage = seedReadCSV(t, dir, UsageFile, UsageHeader)
	raw, err := os.ReadFile(filepath.Join(dir, RequestsFile))
	if err != nil {
		t.Fatal(err)
	}
	d.requests = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	return d
}

func TestSeedDeterministic(t *testing.T) {
	a, _ := seedTiny(t, 7, false)
	b, _ := seedTiny(t, 7, false)
	c, _ := seedTiny(t, 8, false)
	files := []string{ClientsFile, AppsFile, DepartmentsFile, UsersFile, UsageFile, RequestsFile}
	for _, name := range files {
		fa, fb, fc := seedReadFile(t, a, name), seedReadFile(t, b, name), seedReadFile(t, c, name)
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		if bytes.Equal(fa, fc) {
			t.Errorf("%s is the same for seeds 7 and 8", name)
		}
	}
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(files)
	if !slices.Equal(got, files) {
		t.Errorf("directory holds %q, want %q", got, files)
	}
}

func seedReadFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedTinySizes(t *testing.T) {
	d := seedLoadTiny(t)
	st := d.stats
	if n := len(d.usage); n < 1000 || n > 20000 {
		t.Errorf("tiny has %d usage rows, want 1,000..20,000", n)
	}
	if st.UsageRows != len(d.usage) || st.Clients != len(d.clients) || st.Apps != len(d.apps) || st.DepartmentRows != len(d.depts) {
		t.Errorf("stats %+v do not match the files: %d clients, %d apps, %d department rows, %d usage rows",
			st, len(d.clients), len(d.apps), len(d.depts), len(d.usage))
	}
	if len(d.clients) != 2 {
		t.Errorf("tiny has %d clients, want 2", len(d.clients))
	}
	if !st.First.Equal(seedPeriodStart) || !st.Last.Equal(seedPeriodEnd) {
		t.Errorf("stats span %s..%s, want %s..%s", st.First, st.Last, seedPeriodStart, seedPeriodEnd)
	}
	if n := len(d.requests); n < 50 || n > 200 {
		t.Errorf("requests.txt has %d lines, want 50..200", n)
	}
}

func TestSeedClientsAndDepartments(t *testing.T) {
	d := seedLoadTiny(t)
	for _, c := range d.clients {
		if !seedUUIDRE.MatchString(c[0]) || c[1] == "" {
			t.Errorf("bad client row %q", c)
		}
		if _, err := time.LoadLocation(c[2]); err != nil || c[2] == "Local" {
			t.Errorf("client %s: bad time zone %q: %v", c[0], c[2], err)
		}
	}
	perClient := map[string]map[string]bool{}
	perUser := map[string]int{}
	for _, r := range d.depts {
		if !seedUUIDRE.MatchString(r[0]) || !seedUUIDRE.MatchString(r[1]) || !seedUUIDRE.MatchString(r[2]) {
			t.Errorf("bad department row %q", r)
		}
		if perClient[r[0]] == nil {
			perClient[r[0]] = map[string]bool{}
		}
		perClient[r[0]][r[2]] = true
		perUser[r[0]+"/"+r[1]]++
	}
	for c, ds := range perClient {
		if len(ds) < 1 || len(ds) > 12 {
			t.Errorf("client %s has %d departments, want at most 12", c, len(ds))
		}
	}
	// Users without a department appear only in usage.csv.
	counts := map[int]int{}
	seen := map[string]bool{}
	for _, r := range d.usage {
		k := r[0] + "/" + r[3]
		if !seen[k] {
			seen[k] = true
			counts[perUser[k]]++
		}
	}
	for n := range 3 {
		if counts[n] == 0 {
			t.Errorf("no user with %d departments (counts %v)", n, counts)
		}
	}
}

func TestSeedApps(t *testing.T) {
	d := seedLoadTiny(t)
	cats := map[int]int{}
	nullLicense, nullRisk, emptyLogo := 0, 0, 0
	vendors, ids := map[string]int{}, map[string]bool{}
	for _, a := range d.apps {
		seedCheckApp(t, a)
		if ids[a[0]+"/"+a[1]] {
			t.Errorf("app %s listed twice", a[1])
		}
		ids[a[0]+"/"+a[1]] = true
		n := 0
		if a[9] != "" {
			n = len(strings.Split(a[9], ListSep))
		}
		cats[min(n, 2)]++
		vendors[a[6]]++
		nullLicense += seedCount(a[13] == "")
		nullRisk += seedCount(a[14] == "")
		emptyLogo += seedCount(a[4] == "")
	}
	for n := range 3 {
		if cats[n] == 0 {
			t.Errorf("no app with %d categories (2 = several): %v", n, cats)
		}
	}
	if len(vendors) >= len(d.apps) || nullLicense == 0 || nullRisk == 0 || emptyLogo == 0 {
		t.Errorf("want shared vendors and some empty license_count, risk_level and logo: %d vendors for %d apps, %d/%d/%d empty",
			len(vendors), len(d.apps), nullLicense, nullRisk, emptyLogo)
	}
}

func seedCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

func seedCheckApp(t *testing.T, a []string) {
	t.Helper()
	for _, i := range []int{0, 1, 2, 6} {
		if !seedUUIDRE.MatchString(a[i]) {
			t.Errorf("app %q: column %s is not a UUID", a, AppsHeader[i])
		}
	}
	if a[3] == "" || a[7] == "" || !strings.HasPrefix(a[8], "https://") {
		t.Errorf("app %q: missing name, vendor name or vendor url", a)
	}
	if !slices.Contains([]string{"desktop", "browser", "mobile"}, a[5]) {
		t.Errorf("app %q: bad type", a)
	}
	catIDs, catNames := strings.Split(a[9], ListSep), strings.Split(a[10], ListSep)
	if len(catIDs) != len(catNames) || a[9] != "" && slices.ContainsFunc(catIDs, func(s string) bool { return !seedUUIDRE.MatchString(s) }) {
		t.Errorf("app %q: category ids and names do not line up", a)
	}
	for _, b := range a[11:13] {
		if b != "true" && b != "false" {
			t.Errorf("app %q: bad boolean %q", a, b)
		}
	}
	if n, err := strconv.Atoi(a[13]); a[13] != "" && (err != nil || n < 0) {
		t.Errorf("app %q: bad license_count", a)
	}
	if !slices.Contains([]string{"", "critical", "medium", "low"}, a[14]) {
		t.Errorf("app %q: bad risk_level", a)
	}
}

func TestSeedQuotedNames(t *testing.T) {
	d := seedLoadTiny(t)
	first := d.clients[0][0]
	names, vendorsWithComma := map[string]bool{}, 0
	for _, a := range d.apps {
		if a[0] == first {
			names[a[3]] = true
			vendorsWithComma += seedCount(strings.Contains(a[7], ","))
		}
	}
	for _, n := range []string{"Acme Reports, Enterprise", `The "Best" Board`, "ÉCLAIR Pro", "Zoë Notes", "=HYPERLINK Tracker"} {
		if !names[n] {
			t.Errorf("first client has no app named %q", n)
		}
	}
	if vendorsWithComma == 0 {
		t.Errorf("first client has no vendor name with a comma")
	}
	raw := string(seedReadFile(t, d.dir, AppsFile))
	for _, s := range []string{`,"Acme Reports, Enterprise",`, `,"The ""Best"" Board",`, `,"Salesforce, Inc.",`} {
		if !strings.Contains(raw, s) {
			t.Errorf("apps.csv does not quote %s", s)
		}
	}
}

type seedUsageKey struct{ client, date, app, user string }

func TestSeedUsageRows(t *testing.T) {
	d := seedLoadTiny(t)
	apps := map[string]bool{}
	for _, a := range d.apps {
		apps[a[0]+"/"+a[1]] = true
	}
	order := map[string]int{}
	for i, c := range d.clients {
		order[c[0]] = i
	}
	keys := map[seedUsageKey]bool{}
	prev := []string{d.clients[0][0], seedPeriodStart.Format(DateLayout)}
	for i, r := range d.usage {
		seedCheckUsage(t, i+2, r)
		k := seedUsageKey{r[0], r[1], r[2], r[3]}
		if keys[k] {
			t.Fatalf("line %d: duplicate key %v", i+2, k)
		}
		keys[k] = true
		if !apps[r[0]+"/"+r[2]] {
			t.Fatalf("line %d: app %s is not in apps.csv for client %s", i+2, r[2], r[0])
		}
		if order[r[0]] < order[prev[0]] || r[0] == prev[0] && r[1] < prev[1] {
			t.Fatalf("line %d: not sorted by client and date after %q", i+2, prev)
		}
		prev = r
	}
}

func seedCheckUsage(t *testing.T, line int, r []string) {
	t.Helper()
	if !seedUUIDRE.MatchString(r[0]) || !seedUUIDRE.MatchString(r[2]) || !seedUUIDRE.MatchString(r[3]) {
		t.Fatalf("line %d: bad UUID in %q", line, r)
	}
	day, err := time.Parse(DateLayout, r[1])
	if err != nil || day.Before(seedPeriodStart) || day.After(seedPeriodEnd) {
		t.Fatalf("line %d: bad date %q", line, r[1])
	}
	ms, err1 := strconv.ParseUint(r[4], 10, 64)
	sessions, err2 := strconv.ParseUint(r[5], 10, 32)
	if err1 != nil || err2 != nil || ms < 60_000 || ms > 8*3_600_000 || sessions < 1 || sessions > 40 {
		t.Fatalf("line %d: implausible activity %q", line, r)
	}
}

func TestSeedWeekends(t *testing.T) {
	d := seedLoadTiny(t)
	weekday, weekend := 0, 0
	for _, r := range d.usage {
		day, _ := time.Parse(DateLayout, r[1])
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			weekend++
		} else {
			weekday++
		}
	}
	// Per day, weekends should carry a small fraction of a weekday's rows.
	if perWeekend, perWeekday := float64(weekend)/104, float64(weekday)/261; perWeekend > perWeekday/4 {
		t.Errorf("weekend days average %.0f rows against %.0f on weekdays", perWeekend, perWeekday)
	}
}

func TestSeedLifecycles(t *testing.T) {
	d := seedLoadTiny(t)
	type span struct{ first, last string }
	spans := map[string]*span{}
	for _, r := range d.usage {
		k := r[0] + "/" + r[2]
		if s := spans[k]; s == nil {
			spans[k] = &span{r[1], r[1]}
		} else {
			s.last = r[1] // rows are in date order
		}
	}
	for _, c := range d.clients {
		discovered, dropped, unused := 0, 0, 0
		for _, a := range d.apps {
			if a[0] != c[0] {
				continue
			}
			s := spans[a[0]+"/"+a[1]]
			switch {
			case s == nil:
				unused++
			case s.first >= "2026-10-01":
				discovered++
			case s.last < "2026-08-01":
				dropped++
			}
		}
		if discovered == 0 || dropped == 0 || unused == 0 {
			t.Errorf("client %s: %d discovered in the last month, %d dropped off before August, %d unused; want some of each",
				c[0], discovered, dropped, unused)
		}
	}
}

func TestSeedGzip(t *testing.T) {
	plain, _ := seedTiny(t, 42, false)
	dir := t.TempDir()
	// A stale usage.csv must not survive next to the new usage.csv.gz.
	if err := os.WriteFile(filepath.Join(dir, UsageFile), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, SeedOptions{Scale: ScaleTiny, Seed: 42, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, UsageFile)); !os.IsNotExist(err) {
		t.Errorf("usage.csv is still there next to usage.csv.gz: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, UsageGzipFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, seedReadFile(t, plain, UsageFile)) {
		t.Errorf("usage.csv.gz does not hold the same rows as usage.csv")
	}
}

func TestSeedRequests(t *testing.T) {
	d := seedLoadTiny(t)
	known := map[string]bool{}
	for _, c := range d.clients {
		known[c[0]] = true
	}
	for _, r := range d.depts {
		known[r[2]] = true
	}
	for _, a := range d.apps {
		known[a[6]] = true
		for _, id := range strings.Split(a[9], ListSep) {
			known[id] = true
		}
	}
	seen := map[string]bool{}
	for _, line := range d.requests {
		u, err := url.Parse(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		parts := strings.Split(u.Path, "/")
		if len(parts) < 7 || parts[1] != "v2" || !known[parts[3]] || !strings.HasPrefix(u.Path, "/v2/clients/"+parts[3]+"/analytics/apps/utilization") {
			t.Fatalf("%q: not a utilization path of a known client", line)
		}
		seedCheckQuery(t, line, u.Query(), known)
		if strings.HasSuffix(u.Path, "/export") {
			seen["export"] = true
		}
		for k, v := range u.Query() {
			seen[k] = true
			seen[k+"="+v[0]] = true
		}
	}
	for _, k := range []string{"export", "filter=discovered", "filter=dropped_off", "q", "category_ids", "vendor_ids",
		"is_favorite", "is_approved", "department_ids", "page_size", "compare_start_date", "sort_by",
		"granularity=daily", "granularity=weekly", "granularity=monthly", "granularity=quarterly"} {
		if !seen[k] {
			t.Errorf("no request with %s", k)
		}
	}
}

func seedCheckQuery(t *testing.T, line string, q url.Values, known map[string]bool) {
	t.Helper()
	for _, k := range []string{"start_date", "end_date"} {
		if _, err := time.Parse(DateLayout, q.Get(k)); err != nil {
			t.Errorf("%q: bad %s", line, k)
		}
	}
	if q.Get("granularity") == "" || q.Has("compare_start_date") != q.Has("compare_end_date") {
		t.Errorf("%q: missing granularity or half a comparison period", line)
	}
	for _, k := range []string{"category_ids", "vendor_ids", "department_ids"} {
		if !q.Has(k) {
			continue
		}
		for _, id := range strings.Split(q.Get(k), ",") {
			if !known[id] {
				t.Errorf("%q: %s holds %s, which is not in the dataset", line, k, id)
			}
		}
	}
}

func TestSeedProgress(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(t.TempDir(), SeedOptions{Scale: ScaleTiny, Seed: 1, Progress: &buf}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	if !strings.Contains(last, "usage rows") || !strings.Contains(last, "rows/s") {
		t.Errorf("last progress line %q is not a summary", last)
	}
}

func TestSeedCreateErrors(t *testing.T) {
	f := func(setup func(dir string) string, want string) {
		t.Helper()
		dir := setup(t.TempDir())
		_, err := Generate(dir, SeedOptions{Scale: ScaleTiny, Seed: 1})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Generate(%s) = %v, want an error containing %q", dir, err, want)
		}
	}
	// A directory in the way of the temporary file makes creating it fail.
	f(func(dir string) string {
		if err := os.Mkdir(filepath.Join(dir, UsageFile+".partial"), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}, "cannot create usage.csv in ")
	f(func(dir string) string {
		file := filepath.Join(dir, "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(file, "sub")
	}, "cannot create dataset directory")
}

func TestSeedParseScale(t *testing.T) {
	f := func(s string, want Scale) {
		t.Helper()
		got, err := ParseScale(s)
		if err != nil || got != want {
			t.Errorf("ParseScale(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	f("tiny", ScaleTiny)
	f("small", ScaleSmall)
	f("medium", ScaleMedium)
	f("large", ScaleLarge)
}

func TestSeedParseScaleErrors(t *testing.T) {
	f := func(s string) {
		t.Helper()
		_, err := ParseScale(s)
		if err == nil {
			t.Fatalf("ParseScale(%q) succeeded", s)
		}
		for _, want := range []string{strconv.Quote(s), "tiny", "small", "medium", "large"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseScale(%q) error %q does not mention %s", s, err, want)
			}
		}
	}
	f("")
	f("huge")
	f("Tiny")
	if _, err := Generate(t.TempDir(), SeedOptions{Scale: "huge"}); err == nil || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("Generate with scale huge = %v, want an error naming it", err)
	}
}

func TestSeedRequestsNeverRepeatAParameter(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		dir := t.TempDir()
		if _, err := Generate(dir, SeedOptions{Scale: ScaleTiny, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, RequestsFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			_, query, _ := strings.Cut(line, "?")
			v, err := url.ParseQuery(query)
			if err != nil {
				t.Fatalf("seed %d: %q: %v", seed, line, err)
			}
			for k, vals := range v {
				if len(vals) > 1 {
					t.Fatalf("seed %d: %s repeats %s", seed, line, k)
				}
			}
		}
	}
}

// TestSeedUsers: the users file names most users, awkwardly, and leaves
// some out; every client is identified.
func TestSeedUsers(t *testing.T) {
	dir, _ := seedTiny(t, 7, false)
	users := seedReadCSV(t, dir, UsersFile, UsersHeader)
	depts := seedReadCSV(t, dir, DepartmentsFile, DepartmentsHeader)
	named := map[string]bool{}
	var all strings.Builder
	for _, u := range users {
		named[u[1]] = true
		all.WriteString(u[2] + "\n")
	}
	for _, want := range []string{"Zoë Müller", "=Chen Dupont, Jr.", "O'Brien 山田", `Søren "Bud" Smith`} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no seeded name holds %q", want)
		}
	}
	missing := 0
	for _, d := range depts {
		if !named[d[1]] {
			missing++
		}
	}
	if missing == 0 {
		t.Errorf("every user with a department has a users.csv row; some should have none")
	}
	for _, c := range seedReadCSV(t, dir, ClientsFile, ClientsHeader) {
		if c[3] != PrivacyIdentified {
			t.Errorf("client %s: privacy %q", c[0], c[3])
		}
	}
}
