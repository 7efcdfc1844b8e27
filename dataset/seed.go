package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Scale names a dataset size.
type Scale string

// The dataset sizes Generate knows. Every scale spans the same twelve months.
const (
	ScaleTiny   Scale = "tiny"   // 2 clients, ~10k usage rows: unit tests
	ScaleSmall  Scale = "small"  // 3 clients, ~300k usage rows: the demo
	ScaleMedium Scale = "medium" // 4 clients, ~3 M usage rows
	ScaleLarge  Scale = "large"  // 5 clients, ~25 M usage rows: benchmarks
)

var seedScaleNames = []Scale{ScaleTiny, ScaleSmall, ScaleMedium, ScaleLarge}

// ParseScale returns the scale named s, or an error naming s and the valid names.
func ParseScale(s string) (Scale, error) {
	for _, sc := range seedScaleNames {
		if string(sc) == s {
			return sc, nil
		}
	}
	return "", fmt.Errorf("unknown scale %q: want one of tiny, small, medium, large", s)
}

// SeedOptions control Generate.
type SeedOptions struct {
	Scale    Scale
	Seed     uint64    // same Scale and Seed give byte-identical files
	Gzip     bool      // write usage.csv.gz instead of usage.csv
	Progress io.Writer // nil = silent
}

// SeedStats reports what Generate wrote.
type SeedStats struct {
	Clients, Apps, Users, DepartmentRows, UsageRows int
	First, Last                                     time.Time // first and last activity_date written
}

// The period is fixed rather than relative to today so that the same seed
// always gives the same files and recorded requests keep their meaning.
var (
	seedPeriodStart = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	seedPeriodEnd   = time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
)

var seedPeriodDays = int(seedPeriodEnd.Sub(seedPeriodStart).Hours()/24) + 1

// seedDayIndex returns the index of the date y-m-d within the period.
func seedDayIndex(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(seedPeriodStart).Hours() / 24)
}

func seedDayDate(i int) time.Time { return seedPeriodStart.AddDate(0, 0, i) }

type clientShape struct{ users, apps int }

// scaleShape sizes one scale. Usage rows come out at roughly
// users × ~215 active days × portfolio × ~0.4 daily use.
type scaleShape struct {
	clients   []clientShape // biggest first
	portfolio int           // mean number of apps a user uses at all
}

var seedShapes = map[Scale]scaleShape{
	ScaleTiny:   {[]clientShape{{9, 24}, {5, 14}}, 6},
	ScaleSmall:  {[]clientShape{{160, 220}, {80, 120}, {40, 60}}, 12},
	ScaleMedium: {[]clientShape{{1200, 700}, {600, 400}, {300, 250}, {150, 120}}, 15},
	ScaleLarge:  {[]clientShape{{6000, 1600}, {3200, 1000}, {2000, 700}, {1200, 450}, {700, 250}}, 24},
}

// Generate writes a complete dataset directory (clients.csv, apps.csv,
// user_departments.csv, usage.csv[.gz], requests.txt) into dir, creating it.
// Each file is written under a temporary name and renamed when complete, so
// a failed run never leaves a truncated file that looks whole.
func Generate(dir string, opt SeedOptions) (SeedStats, error) {
	shape, ok := seedShapes[opt.Scale]
	if !ok {
		_, err := ParseScale(string(opt.Scale))
		return SeedStats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return SeedStats{}, fmt.Errorf("cannot create dataset directory %s: %w", dir, err)
	}
	clients := buildClients(shape, opt.Seed)
	st := SeedStats{Clients: len(clients)}
	for _, c := range clients {
		st.Apps += len(c.apps)
		st.Users += len(c.users)
	}
	if err := writeSeedCatalog(dir, clients, &st); err != nil {
		return st, err
	}
	if err := writeSeedUsage(dir, clients, opt, &st); err != nil {
		return st, err
	}
	if err := writeSeedRequests(dir, clients, opt.Seed); err != nil {
		return st, err
	}
	return st, nil
}

// RNG streams: each client and each purpose draws from its own stream, so
// changing how one is generated does not shift the others.
const (
	streamCatalog  = 1
	streamClients  = 2
	streamRequests = 3
	streamClient   = 100 // + client index
	streamUsage    = 200 // + client index
)

func newRNG(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// newUUID returns a random (version 4) UUID in canonical lowercase form.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, v := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[v>>4], hexDigits[v&0x0f])
	}
	return string(out)
}

// seedSlug turns a name into a lowercase ASCII path or host segment.
func seedSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// ---- catalog ----

type seedCategory struct{ id, name string }

type seedVendor struct{ id, name, url string }

type seedCatalogApp struct {
	id, name, logo, kind string
	vendor               *seedVendor
	cats                 []*seedCategory
}

type seedCatalog struct {
	famous, special, generated []*seedCatalogApp
}

var seedCategoryNames = []string{
	"AI", "Analytics", "Collaboration", "Communication", "CRM", "Customer Support",
	"Design", "Developer Tools", "Finance", "HR", "IT Management", "Legal",
	"Marketing", "Productivity", "Project Management", "Sales", "Security",
	"Storage", "Video Conferencing",
}

type appSpec struct {
	name, vendor, url, kind string
	cats                    []string
}

// famousApps lead every client's popularity ranking; several share a vendor.
var famousApps = []appSpec{
	{"Slack", "Salesforce, Inc.", "https://www.salesforce.com", "desktop", []string{"Communication"}},
	{"Google Workspace", "Google LLC", "https://workspace.google.com", "browser", []string{"Productivity", "Collaboration", "Storage"}},
	{"Zoom", "Zoom Video Communications, Inc.", "https://zoom.us", "desktop", []string{"Video Conferencing", "Communication"}},
	{"Microsoft Teams", "Microsoft Corporation", "https://www.microsoft.com", "desktop", []string{"Communication", "Video Conferencing"}},
	{"Jira", "Atlassian", "https://www.atlassian.com", "browser", []string{"Project Management", "Developer Tools"}},
	{"Microsoft Outlook", "Microsoft Corporation", "https://www.microsoft.com", "desktop", []string{"Communication"}},
	{"Confluence", "Atlassian", "https://www.atlassian.com", "browser", []string{"Collaboration"}},
	{"GitHub", "GitHub, Inc.", "https://github.com", "browser", []string{"Developer Tools"}},
	{"Notion", "Notion Labs, Inc.", "https://www.notion.so", "browser", []string{"Productivity"}},
	{"Figma", "Figma, Inc.", "https://www.figma.com", "browser", []string{"Design"}},
	{"Salesforce Sales Cloud", "Salesforce, Inc.", "https://www.salesforce.com", "browser", []string{"CRM", "Sales"}},
	{"ChatGPT", "OpenAI", "https://openai.com", "browser", []string{"AI", "Productivity"}},
	{"1Password", "AgileBits Inc.", "https://1password.com", "desktop", []string{"Security"}},
	{"Dropbox", "Dropbox, Inc.", "https://www.dropbox.com", "desktop", []string{"Storage"}},
	{"Tableau", "Salesforce, Inc.", "https://www.salesforce.com", "desktop", []string{"Analytics"}},
	{"Asana", "Asana, Inc.", "https://asana.com", "browser", []string{"Project Management"}},
	{"HubSpot", "HubSpot, Inc.", "https://www.hubspot.com", "browser", []string{"CRM", "Marketing"}},
	{"Zendesk", "Zendesk, Inc.", "https://www.zendesk.com", "browser", []string{"Customer Support"}},
	{"Workday", "Workday, Inc.", "https://www.workday.com", "browser", []string{"HR", "Finance"}},
	{"Trello", "Atlassian", "https://www.atlassian.com", "mobile", []string{"Project Management"}},
	{"Loom", "Atlassian", "https://www.atlassian.com", "desktop", nil},
	{"Miro", "Miro", "https://miro.com", "browser", []string{"Collaboration", "Design"}},
	{"DocuSign", "DocuSign, Inc.", "https://www.docusign.com", "browser", []string{"Legal"}},
	{"Okta", "Okta, Inc.", "https://www.okta.com", "browser", []string{"Security", "IT Management"}},
	{"Datadog", "Datadog, Inc.", "https://www.datadoghq.com", "browser", []string{"Developer Tools", "IT Management"}},
	{"Canva", "Canva Pty Ltd", "https://www.canva.com", "browser", []string{"Design", "Marketing"}},
	{"Calendly", "Calendly LLC", "https://calendly.com", "browser", nil},
	{"WhatsApp", "Meta Platforms, Inc.", "https://www.meta.com", "mobile", []string{"Communication"}},
	{"Expensify", "Expensify, Inc.", "https://www.expensify.com", "mobile", []string{"Finance"}},
	{"LinkedIn Sales Navigator", "Microsoft Corporation", "https://www.microsoft.com", "browser", []string{"Sales"}},
}

// specialApps exercise CSV quoting, non-ASCII text and spreadsheet formula
// injection; every scale puts all of them into the first client.
var specialApps = []appSpec{
	{"Acme Reports, Enterprise", "Acme Analytics, LLC", "https://acme-analytics.example.com", "browser", []string{"Analytics", "Finance"}},
	{`The "Best" Board`, "Best Boards", "https://bestboards.example.com", "browser", []string{"Collaboration"}},
	{"ÉCLAIR Pro", "Éclair Systèmes SA", "https://eclair.example.fr", "desktop", []string{"Design"}},
	{"Zoë Notes", "Zoë Software GmbH", "https://zoe-notes.example.de", "mobile", nil},
	{"=HYPERLINK Tracker", "Formula Labs", "https://formula-labs.example.com", "browser", []string{"Marketing", "Analytics", "Sales"}},
}

var (
	nameStems = []string{"Acorn", "Alpine", "Amber", "Apex", "Arc", "Aurora", "Beacon", "Birch", "Blue", "Bright",
		"Cedar", "Cinder", "Cobalt", "Comet", "Coral", "Crisp", "Delta", "Echo", "Ember", "Falcon",
		"Fern", "Flux", "Granite", "Harbor", "Helix", "Indigo", "Iris", "Juniper", "Keystone", "Lumen",
		"Maple", "Meridian", "Nimbus", "Nova", "Onyx", "Orbit", "Pine", "Prism", "Quartz", "Raven",
		"Ridge", "Sable", "Sierra", "Slate", "Solar", "Spruce", "Summit", "Tidal", "Vertex", "Willow"}
	nameNouns = []string{"Analytics", "Base", "Board", "Books", "Chat", "Cloud", "CRM", "Desk", "Docs", "Drive",
		"Flow", "Forms", "Hub", "Insights", "Ledger", "Mail", "Maps", "Meet", "Metrics", "Notes",
		"Pay", "Pilot", "Planner", "Point", "Portal", "Reports", "Scheduler", "Sheets", "Sign", "Space",
		"Stack", "Studio", "Survey", "Sync", "Tasks", "Track", "Vault", "View", "Wiki", "Works"}
	vendorStems = []string{"Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware",
		"Adatum", "Lucerne", "Humongous", "Coho", "Woodgrove", "Trey", "Fourth Coffee", "Wide World",
		"Southridge", "Bellows", "Consolidated", "Margie", "Lamna", "Relecloud", "Munson", "Nod",
		"Alpine Ski", "Graphic", "Blue Yonder", "Datum", "Vanarsdel", "Parnell", "Kokoro"}
	vendorSuffixes = []string{"Software", "Labs", "Systems, Inc.", "Technologies", "Inc.", "GmbH",
		"Ltd.", "LLC", "Corp.", "AG", "Cloud", "Digital"}
)

// comboName returns the i-th name of stems × nouns, numbered once they run out.
func comboName(stems, nouns []string, i int) string {
	n := len(stems) * len(nouns)
	name := stems[i%n/len(nouns)] + " " + nouns[i%len(nouns)]
	if i >= n {
		name += " " + strconv.Itoa(i/n+1)
	}
	return name
}

func buildCatalog(r *rand.Rand, generated int) *seedCatalog {
	cats := make(map[string]*seedCategory, len(seedCategoryNames))
	for _, n := range seedCategoryNames {
		cats[n] = &seedCategory{id: newUUID(r), name: n}
	}
	vendors := map[string]*seedVendor{}
	fromSpec := func(specs []appSpec) []*seedCatalogApp {
		var out []*seedCatalogApp
		for _, s := range specs {
			v := vendors[s.vendor]
			if v == nil {
				v = &seedVendor{id: newUUID(r), name: s.vendor, url: s.url}
				vendors[s.vendor] = v
			}
			a := &seedCatalogApp{id: newUUID(r), name: s.name, kind: s.kind, vendor: v}
			for _, c := range s.cats {
				a.cats = append(a.cats, cats[c])
			}
			a.logo = logoURL(r, a)
			out = append(out, a)
		}
		return out
	}
	cat := &seedCatalog{famous: fromSpec(famousApps), special: fromSpec(specialApps)}
	cat.special[3].logo = "" // so even the tiny scale has an app without a logo
	cat.generated = generateApps(r, generated, cats)
	return cat
}

// logoURL leaves about one app in ten without a logo, as real catalogs do.
func logoURL(r *rand.Rand, a *seedCatalogApp) string {
	if r.IntN(10) == 0 {
		return ""
	}
	return "https://cdn.usagelens.example/logos/" + a.id + ".png"
}

// generateApps makes the long tail: names from stems × nouns in a shuffled
// order, vendors skewed so a few own many apps, and 0 to 3 categories.
func generateApps(r *rand.Rand, n int, cats map[string]*seedCategory) []*seedCatalogApp {
	vendors := make([]*seedVendor, max(1, n/4))
	vendorNames := r.Perm(max(len(vendors), len(vendorStems)*len(vendorSuffixes)))
	for i := range vendors {
		name := comboName(vendorStems, vendorSuffixes, vendorNames[i])
		vendors[i] = &seedVendor{id: newUUID(r), name: name, url: "https://" + seedSlug(name) + ".example.com"}
	}
	names := r.Perm(max(n, len(nameStems)*len(nameNouns)))
	kinds := []string{"browser", "browser", "browser", "desktop", "desktop", "mobile"}
	out := make([]*seedCatalogApp, n)
	for i := range out {
		u := r.Float64()
		a := &seedCatalogApp{
			id:     newUUID(r),
			name:   comboName(nameStems, nameNouns, names[i]),
			kind:   kinds[r.IntN(len(kinds))],
			vendor: vendors[int(u*u*float64(len(vendors)))],
		}
		a.cats = pickCategories(r, cats)
		a.logo = logoURL(r, a)
		out[i] = a
	}
	return out
}

// pickCategories gives ~15% of apps no category, ~55% one and the rest 2-3.
func pickCategories(r *rand.Rand, cats map[string]*seedCategory) []*seedCategory {
	n := 0
	switch p := r.Float64(); {
	case p < 0.15:
	case p < 0.70:
		n = 1
	default:
		n = 2 + r.IntN(2)
	}
	var out []*seedCategory
	for _, i := range r.Perm(len(seedCategoryNames))[:n] {
		out = append(out, cats[seedCategoryNames[i]])
	}
	return out
}

// ---- clients ----

type seedApp struct {
	cat         *seedCatalogApp
	id          string
	favorite    bool
	approved    bool
	license     int // < 0: null
	risk        string
	first, last int // activity window in day indexes; first > last: never used
	minUsers    int // users given the app outright so its lifecycle shows in the data
	special     bool
}

type seedUse struct {
	app       int32  // index into client.apps
	threshold uint32 // daily probability of use × 2^32
	medianMs  float64
	sessionMs float64
}

type seedUser struct {
	id                 string
	first, last        int // employment window in day indexes
	pWeekday, pWeekend float64
	uses               []seedUse
	depts              []int
}

type seedClient struct {
	id, name, tz string
	apps         []seedApp // popularity order: index 0 is the most used
	users        []seedUser
	depts        []string
}

var seedClientNames = []struct{ name, tz string }{
	{"Acme Corporation", "America/New_York"},
	{"Globex GmbH", "Europe/Berlin"},
	{"Initech", "UTC"},
	{"Umbrella Health KK", "Asia/Tokyo"},
	{"Hooli", "America/Los_Angeles"},
}

func buildClients(shape scaleShape, seed uint64) []*seedClient {
	maxApps := shape.clients[0].apps
	cat := buildCatalog(newRNG(seed, streamCatalog), maxApps+maxApps/4)
	r := newRNG(seed, streamClients)
	ids := make([]string, len(shape.clients))
	for i := range ids {
		ids[i] = newUUID(r)
	}
	// Sorted ids make clients.csv order, usage.csv order and client_id order
	// agree, with the biggest client first.
	slices.Sort(ids)
	out := make([]*seedClient, len(shape.clients))
	for i, cs := range shape.clients {
		cr := newRNG(seed, streamClient+uint64(i))
		c := &seedClient{id: ids[i], name: seedClientNames[i].name, tz: seedClientNames[i].tz}
		c.apps = buildClientApps(cr, cat, cs, i == 0)
		c.users = buildUsers(cr, cs.users)
		assignDepartments(cr, c)
		assignUses(cr, c, shape.portfolio)
		out[i] = c
	}
	return out
}

// buildClientApps picks the client's apps from the catalog in popularity
// order: famous apps first, the special names (first client only) spread
// over the top ranks, then a random tail.
func buildClientApps(r *rand.Rand, cat *seedCatalog, cs clientShape, first bool) []seedApp {
	picked := slices.Clone(cat.famous[:min(len(cat.famous), cs.apps/2)])
	for _, i := range r.Perm(len(cat.generated)) {
		if len(picked) >= cs.apps {
			break
		}
		picked = append(picked, cat.generated[i])
	}
	// A few neighbours trade places so clients do not share one exact ranking.
	for i := 1; i+1 < len(picked); i++ {
		if r.IntN(3) == 0 {
			picked[i], picked[i+1] = picked[i+1], picked[i]
		}
	}
	special := map[*seedCatalogApp]bool{}
	if first {
		for k, a := range cat.special {
			special[a] = true
			picked = slices.Insert(picked, min(3+3*k, len(picked)), a)
		}
		picked = picked[:cs.apps]
	}
	apps := make([]seedApp, len(picked))
	for i, a := range picked {
		apps[i] = newClientApp(r, a, i, cs.users)
		apps[i].special = special[a]
	}
	assignLifecycles(r, apps)
	return apps
}

func newClientApp(r *rand.Rand, a *seedCatalogApp, rank, users int) seedApp {
	ca := seedApp{cat: a, id: newUUID(r), license: -1, last: seedPeriodDays - 1}
	ca.favorite = r.Float64() < 0.05 || rank < 10 && r.Float64() < 0.3
	ca.approved = r.Float64() < 0.45 || rank < 20 && r.Float64() < 0.7
	// Licenses: null, fewer than the client's users, or more than it needs.
	if r.IntN(5) >= 2 {
		f := []float64{0.05 + 0.45*r.Float64(), 0.5 + 0.5*r.Float64(), 1 + r.Float64()}[r.IntN(3)]
		ca.license = max(1, int(f*float64(users)))
	}
	switch p := r.Float64(); {
	case p < 0.15:
	case p < 0.25:
		ca.risk = "critical"
	case p < 0.55:
		ca.risk = "medium"
	default:
		ca.risk = "low"
	}
	return ca
}

// assignLifecycles gives some tail apps a window shorter than the period:
// never used, discovered in the last month, dropped off months before the
// end, or adopted part-way. The top five and the special names stay full.
func assignLifecycles(r *rand.Rand, apps []seedApp) {
	var cand []int
	for i := 5; i < len(apps); i++ {
		if !apps[i].special {
			cand = append(cand, i)
		}
	}
	r.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
	n := len(apps)
	take := func(k int) []int {
		k = min(k, len(cand))
		out := cand[:k]
		cand = cand[k:]
		return out
	}
	for _, i := range take(max(1, n/50)) {
		apps[i].first, apps[i].last = 1, 0
	}
	lastMonth := seedDayIndex(2026, time.October, 1)
	for _, i := range take(max(2, n/33)) {
		apps[i].first, apps[i].minUsers = lastMonth+r.IntN(15), 3
	}
	for _, i := range take(max(2, n/20)) {
		apps[i].first = r.IntN(40)
		apps[i].last = seedDayIndex(2026, time.January, 15) + r.IntN(165)
		apps[i].minUsers = 3
	}
	for _, i := range take(max(1, n/12)) {
		apps[i].first, apps[i].minUsers = 30+r.IntN(270), 3
	}
	for i := range apps {
		if apps[i].special {
			apps[i].minUsers = 3
		}
	}
}

// buildUsers makes the client's people; most stay the whole year, some join
// or leave part-way. The first three always stay, so every forced app has
// users to give it to.
func buildUsers(r *rand.Rand, n int) []seedUser {
	users := make([]seedUser, n)
	for i := range users {
		u := &users[i]
		u.id = newUUID(r)
		u.first, u.last = 0, seedPeriodDays-1
		switch p := r.Float64(); {
		case i < 3 || p < 0.85:
		case p < 0.93:
			u.first = 30 + r.IntN(300)
		default:
			u.last = 60 + r.IntN(270)
		}
		u.pWeekday = 0.7 + 0.27*r.Float64()
		w := r.Float64()
		u.pWeekend = 0.02 + 0.13*w*w
	}
	return users
}

// assignDepartments puts ~10% of users in no department, ~75% in one and
// ~15% in two. The first three users are fixed to 1, 0 and 2 so that even
// the tiny scale has every case.
func assignDepartments(r *rand.Rand, c *seedClient) {
	c.depts = make([]string, 5+r.IntN(8))
	weights := make([]float64, len(c.depts))
	for i := range c.depts {
		c.depts[i] = newUUID(r)
		weights[i] = 0.3 + r.Float64()
	}
	cum := cumulativeWeights(weights)
	for i := range c.users {
		n := []int{1, 0, 2}[min(i, 2)]
		if i >= 3 {
			switch p := r.Float64(); {
			case p < 0.10:
				n = 0
			case p < 0.85:
				n = 1
			default:
				n = 2
			}
		}
		c.users[i].depts = sampleDistinct(r, cum, n)
	}
}

func cumulativeWeights(w []float64) []float64 {
	cum := make([]float64, len(w))
	sum := 0.0
	for i, v := range w {
		sum += v
		cum[i] = sum
	}
	return cum
}

// sampleDistinct draws up to k distinct indexes with the weights whose
// running sums are cum. Zero weights are never drawn.
func sampleDistinct(r *rand.Rand, cum []float64, k int) []int {
	var out []int
	for try := 0; len(out) < k && try < 100*k; try++ {
		x := r.Float64() * cum[len(cum)-1]
		i, _ := slices.BinarySearch(cum, x)
		if i < len(cum) && !slices.Contains(out, i) && (i == 0 || cum[i] > cum[i-1]) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// assignUses gives each user a Zipf-distributed subset of the client's apps,
// so a few apps reach most users and the tail reaches few, then hands the
// apps with a lifecycle to a few users who are present throughout it.
func assignUses(r *rand.Rand, c *seedClient, portfolio int) {
	weights := make([]float64, len(c.apps))
	for i, a := range c.apps {
		if a.first <= a.last {
			weights[i] = 1 / float64(i+1)
		}
	}
	cum := cumulativeWeights(weights)
	for ui := range c.users {
		u := &c.users[ui]
		k := max(2, int(float64(portfolio)*(0.5+r.Float64())))
		for _, ai := range sampleDistinct(r, cum, k) {
			p := 0.05 + 0.85*math.Pow(r.Float64(), 1.5)
			if ai < 3 {
				p = 0.6 + 0.35*r.Float64()
			}
			u.uses = append(u.uses, newUse(r, ai, p))
		}
	}
	for ai, a := range c.apps {
		if a.minUsers > 0 {
			forceUse(r, c, ai)
		}
	}
}

func newUse(r *rand.Rand, app int, p float64) seedUse {
	return seedUse{
		app:       int32(app),
		threshold: probThreshold(p),
		medianMs:  logUniform(r, 3*seedMinuteMs, 90*seedMinuteMs),
		sessionMs: logUniform(r, 5*seedMinuteMs, 40*seedMinuteMs),
	}
}

// probThreshold turns a probability into a bound for r.Uint32(): one integer
// compare per app and day instead of a float draw.
func probThreshold(p float64) uint32 {
	return uint32(min(p, 1) * math.MaxUint32)
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return lo * math.Exp(r.Float64()*math.Log(hi/lo))
}

func forceUse(r *rand.Rand, c *seedClient, ai int) {
	a := c.apps[ai]
	given := 0
	for _, ui := range r.Perm(len(c.users)) {
		u := &c.users[ui]
		if given == a.minUsers {
			return
		}
		if u.first > a.first || u.last < a.last {
			continue
		}
		given++
		j := slices.IndexFunc(u.uses, func(x seedUse) bool { return int(x.app) == ai })
		if j < 0 {
			u.uses = append(u.uses, newUse(r, ai, 0.7))
			continue
		}
		u.uses[j].threshold = max(u.uses[j].threshold, probThreshold(0.7))
	}
}

// ---- small files ----

func writeSeedCatalog(dir string, clients []*seedClient, st *SeedStats) error {
	err := writeSeedCSV(dir, ClientsFile, ClientsHeader, func(emit func(...string)) {
		for _, c := range clients {
			emit(c.id, c.name, c.tz)
		}
	})
	if err != nil {
		return err
	}
	err = writeSeedCSV(dir, AppsFile, AppsHeader, func(emit func(...string)) {
		for _, c := range clients {
			for _, a := range c.apps {
				emit(seedAppRecord(c, &a)...)
			}
		}
	})
	if err != nil {
		return err
	}
	return writeSeedCSV(dir, DepartmentsFile, DepartmentsHeader, func(emit func(...string)) {
		for _, c := range clients {
			for _, u := range c.users {
				for _, d := range u.depts {
					emit(c.id, u.id, c.depts[d])
					st.DepartmentRows++
				}
			}
		}
	})
}

func seedAppRecord(c *seedClient, a *seedApp) []string {
	ids := make([]string, len(a.cat.cats))
	names := make([]string, len(a.cat.cats))
	for i, k := range a.cat.cats {
		ids[i], names[i] = k.id, k.name
	}
	license := ""
	if a.license >= 0 {
		license = strconv.Itoa(a.license)
	}
	v := a.cat.vendor
	return []string{
		c.id, a.id, a.cat.id, a.cat.name, a.cat.logo, a.cat.kind, v.id, v.name, v.url,
		strings.Join(ids, ListSep), strings.Join(names, ListSep),
		strconv.FormatBool(a.favorite), strconv.FormatBool(a.approved), license, a.risk,
	}
}

// seedFile is one dataset file written under a temporary name.
type seedFile struct {
	f         *os.File
	dir, name string
}

func createSeedFile(dir, name string) (*seedFile, error) {
	f, err := os.Create(filepath.Join(dir, name+".partial"))
	if err != nil {
		return nil, fmt.Errorf("cannot create %s in %s: %w", name, dir, err)
	}
	return &seedFile{f: f, dir: dir, name: name}, nil
}

// commit closes the file and renames it into place.
func (o *seedFile) commit() error {
	if err := o.f.Close(); err != nil {
		_ = os.Remove(o.f.Name())
		return fmt.Errorf("cannot write %s in %s: %w", o.name, o.dir, err)
	}
	if err := os.Rename(o.f.Name(), filepath.Join(o.dir, o.name)); err != nil {
		return fmt.Errorf("cannot rename %s in %s: %w", o.name, o.dir, err)
	}
	return nil
}

// abort drops a file that failed part-way.
func (o *seedFile) abort() {
	_ = o.f.Close()
	_ = os.Remove(o.f.Name())
}

// writeSeedCSV writes header and the records fill emits to dir/name.
func writeSeedCSV(dir, name string, header []string, fill func(emit func(...string))) error {
	o, err := createSeedFile(dir, name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(o.f, 256<<10)
	cw := csv.NewWriter(bw) // reuses bw: it is already big enough
	// csv.Writer errors are sticky; cw.Error reports the first after Flush.
	_ = cw.Write(header)
	fill(func(rec ...string) { _ = cw.Write(rec) })
	cw.Flush()
	if err := cw.Error(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	if err := bw.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	return o.commit()
}

// ---- usage ----

const (
	seedMinuteMs    = 60_000.0
	seedMinActiveMs = 1 * seedMinuteMs
	seedMaxActiveMs = 8 * 60 * seedMinuteMs
	seedMaxSessions = 40
	seedUsageBuf    = 1 << 20
	seedProgressGap = 2 * time.Second
)

// seedUsageWriter appends rows to its own buffer and hands full buffers to a
// writer goroutine: usage cells never need quoting, csv.Writer per row would
// be the bottleneck, and the hand-off lets generation overlap gzip and the
// file system (large, 2 cores: ~2.1 → ~2.7-3 M rows/s plain, and with
// a buffered file under gzip ~1.1 → ~1.5-1.8 M rows/s).
type seedUsageWriter struct {
	buf       []byte
	full      chan []byte // buffers to write, in order
	free      chan []byte // written buffers, for reuse
	done      chan error  // the writer's first error, once full is closed
	failed    atomic.Bool // stops generation early after a write error
	rows      int
	progress  io.Writer
	start     time.Time
	lastPrint time.Time
}

func newSeedUsageWriter(out io.Writer, progress io.Writer) *seedUsageWriter {
	const buffers = 4
	w := &seedUsageWriter{
		buf:      make([]byte, 0, seedUsageBuf),
		full:     make(chan []byte, buffers),
		free:     make(chan []byte, buffers),
		done:     make(chan error, 1),
		progress: progress,
		start:    time.Now(),
	}
	w.lastPrint = w.start
	for range buffers {
		w.free <- make([]byte, 0, seedUsageBuf)
	}
	go w.drain(out)
	return w
}

func (w *seedUsageWriter) drain(out io.Writer) {
	var err error
	for b := range w.full {
		if err == nil {
			if _, err = out.Write(b); err != nil {
				w.failed.Store(true)
			}
		}
		w.free <- b[:0]
	}
	w.done <- err
}

func (w *seedUsageWriter) row(prefix []byte, app, usr string, ms, sessions uint64) {
	b := append(w.buf, prefix...)
	b = append(b, app...)
	b = append(b, ',')
	b = append(b, usr...)
	b = append(b, ',')
	b = strconv.AppendUint(b, ms, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, sessions, 10)
	w.buf = append(b, '\n')
	w.rows++
	if len(w.buf) >= seedUsageBuf-512 {
		w.flush()
	}
}

func (w *seedUsageWriter) flush() {
	if len(w.buf) > 0 {
		w.full <- w.buf
		w.buf = <-w.free
	}
	if w.progress == nil {
		return
	}
	if now := time.Now(); now.Sub(w.lastPrint) >= seedProgressGap {
		w.lastPrint = now
		fmt.Fprintf(w.progress, "usage: %d rows, %.0f rows/s\n", w.rows, w.rate())
	}
}

// close writes what is left and returns the first write error.
func (w *seedUsageWriter) close() error {
	w.flush()
	close(w.full)
	return <-w.done
}

func (w *seedUsageWriter) rate() float64 {
	return float64(w.rows) / max(time.Since(w.start).Seconds(), 1e-9)
}

func writeSeedUsage(dir string, clients []*seedClient, opt SeedOptions, st *SeedStats) error {
	name, stale := UsageFile, UsageGzipFile
	if opt.Gzip {
		name, stale = stale, name
	}
	// Only one of usage.csv and usage.csv.gz may be in a dataset directory.
	if err := os.Remove(filepath.Join(dir, stale)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cannot remove %s in %s: %w", stale, dir, err)
	}
	o, err := createSeedFile(dir, name)
	if err != nil {
		return err
	}
	var out io.Writer = o.f
	var zw *gzip.Writer
	// flate writes in small pieces; bw turns them into large file writes.
	bw := bufio.NewWriterSize(o.f, 256<<10)
	if opt.Gzip {
		zw, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed) // the level is valid
		out = zw
	}
	w := newSeedUsageWriter(out, opt.Progress)
	w.buf = append(w.buf, strings.Join(UsageHeader, ",")+"\n"...)
	first, last := seedPeriodDays, -1
	for i, c := range clients {
		f, l := generateClientUsage(newRNG(opt.Seed, streamUsage+uint64(i)), c, w)
		first, last = min(first, f), max(last, l)
	}
	err = w.close()
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	st.UsageRows = w.rows
	if last >= 0 {
		st.First, st.Last = seedDayDate(first), seedDayDate(last)
	}
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "seed %s: %d clients, %d apps, %d users, %d department rows, %d usage rows in %s (%.0f rows/s)\n",
			opt.Scale, st.Clients, st.Apps, st.Users, st.DepartmentRows, w.rows,
			time.Since(w.start).Round(time.Millisecond), w.rate())
	}
	return o.commit()
}

// generateClientUsage writes the client's rows day by day, so the file is sorted
// by client and date. The first user works on the period's first and last
// day, so every dataset spans exactly the period. It returns the first and
// last day with a row.
func generateClientUsage(r *rand.Rand, c *seedClient, w *seedUsageWriter) (first, last int) {
	first, last = seedPeriodDays, -1
	prefix := make([]byte, 0, 64)
	for d := 0; d < seedPeriodDays && !w.failed.Load(); d++ {
		date := seedDayDate(d)
		weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
		season := seasonFactor(date)
		prefix = append(append(append(prefix[:0], c.id...), ','), date.Format(DateLayout)+","...)
		before := w.rows
		for ui := range c.users {
			u := &c.users[ui]
			p := u.pWeekday
			if weekend {
				p = u.pWeekend
			}
			edge := ui == 0 && (d == 0 || d == seedPeriodDays-1)
			if d < u.first || d > u.last || !edge && r.Float64() >= p*season {
				continue
			}
			if userDay(r, c, u, d, weekend, prefix, w) == 0 && edge {
				forceRow(r, c, u, d, weekend, prefix, w)
			}
		}
		if w.rows > before {
			first, last = min(first, d), d
		}
	}
	return first, last
}

// userDay writes the user's rows for day d and returns how many.
func userDay(r *rand.Rand, c *seedClient, u *seedUser, d int, weekend bool, prefix []byte, w *seedUsageWriter) int {
	n := 0
	for i := range u.uses {
		us := &u.uses[i]
		a := &c.apps[us.app]
		if d < a.first || d > a.last || r.Uint32() >= us.threshold {
			continue
		}
		seedUsageRow(r, a, u, us, weekend, prefix, w)
		n++
	}
	return n
}

// forceRow writes a row for the user's first app that is live on day d.
func forceRow(r *rand.Rand, c *seedClient, u *seedUser, d int, weekend bool, prefix []byte, w *seedUsageWriter) {
	for i := range u.uses {
		us := &u.uses[i]
		if a := &c.apps[us.app]; d >= a.first && d <= a.last {
			seedUsageRow(r, a, u, us, weekend, prefix, w)
			return
		}
	}
}

func seedUsageRow(r *rand.Rand, a *seedApp, u *seedUser, us *seedUse, weekend bool, prefix []byte, w *seedUsageWriter) {
	// Log-normal around the user's habit for the app; weekend sessions are shorter.
	ms := us.medianMs * math.Exp(0.7*r.NormFloat64())
	if weekend {
		ms *= 0.5
	}
	ms = min(max(ms, seedMinActiveMs), seedMaxActiveMs)
	sessions := min(1+ms/us.sessionMs*(0.6+0.8*r.Float64()), seedMaxSessions)
	w.row(prefix, a.id, u.id, uint64(ms), uint64(sessions))
}

// seasonFactor thins activity over the year-end holidays and in August.
func seasonFactor(t time.Time) float64 {
	switch {
	case t.Month() == time.December && t.Day() >= 22, t.Month() == time.January && t.Day() == 1:
		return 0.35
	case t.Month() == time.August:
		return 0.8
	}
	return 1
}

// ---- requests.txt ----

// requestFeatures cycle so every kind of request appears, whatever the seed.
var requestFeatures = []string{
	"plain", "compare", "discovered", "dropped_off", "q", "category", "vendor",
	"favorite", "approved", "department", "page_size", "export",
}

const requestLines = 12 * 12

func writeSeedRequests(dir string, clients []*seedClient, seed uint64) error {
	o, err := createSeedFile(dir, RequestsFile)
	if err != nil {
		return err
	}
	r := newRNG(seed, streamRequests)
	bw := bufio.NewWriter(o.f)
	for i := range requestLines {
		c := clients[0]
		if r.IntN(2) == 0 {
			c = clients[r.IntN(len(clients))]
		}
		feature := requestFeatures[i%len(requestFeatures)]
		extra := requestFeatures[r.IntN(len(requestFeatures))]
		if r.IntN(4) != 0 || sameParameter(feature, extra) {
			extra = ""
		}
		bw.WriteString(requestLine(r, c, feature, extra))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", RequestsFile, dir, err)
	}
	return o.commit()
}

// sameParameter reports whether two features set the same query parameter,
// which the API refuses as given twice.
func sameParameter(a, b string) bool {
	filter := func(f string) bool { return f == "discovered" || f == "dropped_off" }
	return a == b || filter(a) && filter(b)
}

// seedQuery builds a query string in the order its parameters are added.
type seedQuery struct{ b strings.Builder }

func (q *seedQuery) add(k, v string) {
	if q.b.Len() == 0 {
		q.b.WriteByte('?')
	} else {
		q.b.WriteByte('&')
	}
	q.b.WriteString(k)
	q.b.WriteByte('=')
	q.b.WriteString(escapeQuery(v))
}

// escapeQuery escapes v but keeps commas, which separate ids in list parameters.
func escapeQuery(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, ",")
}

func requestLine(r *rand.Rand, c *seedClient, feature, extra string) string {
	var q seedQuery
	p := pickPeriod(r, feature)
	q.add("granularity", p.gran)
	q.add("start_date", p.start)
	q.add("end_date", p.end)
	if p.cstart != "" && (feature == "compare" || r.IntN(2) == 0) {
		q.add("compare_start_date", p.cstart)
		q.add("compare_end_date", p.cend)
	}
	for _, f := range []string{feature, extra} {
		addFilter(r, &q, c, f)
	}
	if r.IntN(3) != 0 {
		sorts := []string{"canonical_name", "unique_users", "active_time", "avg_time", "session_count"}
		q.add("sort_by", sorts[r.IntN(len(sorts))])
		q.add("sort_order", []string{"asc", "desc"}[r.IntN(2)])
	}
	path := "/v2/clients/" + c.id + "/analytics/apps/utilization"
	if feature == "export" || extra == "export" {
		return path + "/export" + q.b.String()
	}
	if feature == "page_size" || extra == "page_size" {
		q.add("page_size", strconv.Itoa([]int{10, 25, 50, 100, 200}[r.IntN(5)]))
	}
	return path + q.b.String()
}

func addFilter(r *rand.Rand, q *seedQuery, c *seedClient, f string) {
	switch f {
	case "discovered", "dropped_off":
		q.add("filter", f)
	case "q":
		q.add("q", searchTerm(r, c))
	case "category":
		q.add("category_ids", strings.Join(pickIDs(r, c, func(a *seedApp) []string {
			var ids []string
			for _, k := range a.cat.cats {
				ids = append(ids, k.id)
			}
			return ids
		}), ","))
	case "vendor":
		q.add("vendor_ids", strings.Join(pickIDs(r, c, func(a *seedApp) []string {
			return []string{a.cat.vendor.id}
		}), ","))
	case "favorite":
		q.add("is_favorite", strconv.FormatBool(r.IntN(3) != 0))
	case "approved":
		q.add("is_approved", strconv.FormatBool(r.IntN(2) == 0))
	case "department":
		q.add("department_ids", strings.Join(pickDepartments(r, c), ","))
	}
}

// pickDepartments returns one to three departments that have members: the
// dataset knows a department only through user_departments.csv.
func pickDepartments(r *rand.Rand, c *seedClient) []string {
	var staffed []int
	for _, u := range c.users {
		for _, d := range u.depts {
			if !slices.Contains(staffed, d) {
				staffed = append(staffed, d)
			}
		}
	}
	slices.Sort(staffed)
	var ids []string
	for _, i := range r.Perm(len(staffed))[:min(len(staffed), 1+r.IntN(3))] {
		ids = append(ids, c.depts[staffed[i]])
	}
	return ids
}

// pickIDs returns one or two distinct ids that ids yields for the client's
// more popular apps, so filters usually match something.
func pickIDs(r *rand.Rand, c *seedClient, ids func(*seedApp) []string) []string {
	var out []string
	for range 1 + r.IntN(2) {
		a := &c.apps[r.IntN(min(len(c.apps), 30))]
		for _, id := range ids(a) {
			if !slices.Contains(out, id) {
				out = append(out, id)
				break
			}
		}
	}
	if len(out) == 0 {
		out = ids(&c.apps[0]) // Slack has a category and a vendor
	}
	return out
}

// searchTerm is part of a real app name, in a random case, special names
// included, so q exercises case folding, non-ASCII and quoting.
func searchTerm(r *rand.Rand, c *seedClient) string {
	a := &c.apps[r.IntN(min(len(c.apps), 30))]
	words := strings.Fields(a.cat.name)
	term := words[r.IntN(len(words))]
	switch r.IntN(3) {
	case 0:
		term = strings.ToLower(term)
	case 1:
		term = strings.ToUpper(term)
	}
	return term
}

type seedPeriod struct{ gran, start, end, cstart, cend string }

func pickPeriod(r *rand.Rand, feature string) seedPeriod {
	month := 1 + r.IntN(11) // compare needs a previous month in the data
	switch feature {
	case "discovered":
		return monthPeriod(11)
	case "dropped_off":
		return monthPeriod(8 + r.IntN(4))
	}
	switch r.IntN(6) {
	case 0:
		return weekPeriod(r)
	case 1:
		return quarterPeriod(r)
	case 2:
		return dayPeriod(r)
	case 3:
		return seedPeriod{gran: []string{"monthly", "quarterly"}[r.IntN(2)],
			start: seedPeriodStart.Format(DateLayout), end: seedPeriodEnd.Format(DateLayout)}
	}
	return monthPeriod(month)
}

func fmtDays(gran string, start, end time.Time, days int) seedPeriod {
	p := seedPeriod{gran: gran, start: start.Format(DateLayout), end: end.Format(DateLayout)}
	p.cstart = start.AddDate(0, 0, -days).Format(DateLayout)
	p.cend = start.AddDate(0, 0, -1).Format(DateLayout)
	return p
}

// monthPeriod is the i-th month of the period (0 = November 2025),
// compared with the month before.
func monthPeriod(i int) seedPeriod {
	start := seedPeriodStart.AddDate(0, i, 0)
	end := start.AddDate(0, 1, -1)
	prev := start.AddDate(0, -1, 0)
	return seedPeriod{gran: "monthly", start: start.Format(DateLayout), end: end.Format(DateLayout),
		cstart: prev.Format(DateLayout), cend: start.AddDate(0, 0, -1).Format(DateLayout)}
}

func weekPeriod(r *rand.Rand) seedPeriod {
	// 2025-11-03 is the period's first Monday.
	start := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(1+r.IntN(50)))
	gran := []string{"daily", "weekly"}[r.IntN(2)]
	return fmtDays(gran, start, start.AddDate(0, 0, 6), 7)
}

func quarterPeriod(r *rand.Rand) seedPeriod {
	start := time.Date(2026, time.Month(1+3*r.IntN(3)), 1, 0, 0, 0, 0, time.UTC)
	p := seedPeriod{gran: []string{"weekly", "monthly", "quarterly"}[r.IntN(3)],
		start: start.Format(DateLayout), end: start.AddDate(0, 3, -1).Format(DateLayout)}
	p.cstart = start.AddDate(0, -3, 0).Format(DateLayout)
	p.cend = start.AddDate(0, 0, -1).Format(DateLayout)
	return p
}

func dayPeriod(r *rand.Rand) seedPeriod {
	days := []int{7, 14, 30}[r.IntN(3)]
	end := seedPeriodEnd.AddDate(0, 0, -r.IntN(60))
	return fmtDays("daily", end.AddDate(0, 0, 1-days), end, days)
}
