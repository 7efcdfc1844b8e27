package dataset

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
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
