package dataset

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

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
