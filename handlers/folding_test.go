package handlers_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// newFoldingAPI serves the fixture plus the apps with awkward names, each
// used in February.
func newFoldingAPI(t *testing.T) *api {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := dataset.Load(context.Background(), conn, writeFixture(t, foldingApps, foldingUsage), nil); err != nil {
		t.Fatal(err)
	}
	return serveAPI(t, conn, nil)
}

// The February apps by name, ascending, worked out by hand: each name's
// full case folding (ΣΊΣΥΦΟΣ and σίσυφος → σίσυφοσ, İ → i + U+0307, ß and ẞ
// → ss, ﬁ → fi, Ⅻ → ⅻ, ᾈ → ἀι, both spellings of é → é) compared byte by
// byte in UTF-8, equal keys then by app id. "istanbul" sorts before
// "i̇stanbul" because 's' (0x73) is below the first byte of U+0307 (0xCC);
// é (0xC3), σ (0xCF), ἀ (0xE1) and ⅻ (0xE2) come after every ASCII letter.
var febByName = []string{
	appAlpha,      // alpha chat
	appBeta,       // beta docs
	appCafeComb,   // café menu
	appCafeUpper,  // café menu, same key: by id
	appLigature,   // file vault
	appGamma,      // gamma
	appIstanbul,   // istanbul maps
	appIstanbulI,  // i̇stanbul maps
	appNew,        // new tool
	appStrasse,    // strasse planner
	appEclair,     // éclair pro
	appSigmaUpper, // σίσυφοσ sync
	appSigmaLower, // σίσυφοσ sync, same key: by id
	appIota,       // ἀι greek
	appRoman,      // ⅻ clock
}

func TestNameSortFoldsInGo(t *testing.T) {
	a := newFoldingAPI(t)
	walk := func(order string) []string {
		var ids []string
		cursor := ""
		for {
			p := a.page("granularity=monthly&" + feb + "&sort_by=canonical_name&sort_order=" + order + "&page_size=4" + cursor)
			ids = append(ids, p.ids()...)
			if p.NextCursor == nil {
				return ids
			}
			cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
	}
	if got := walk("asc"); !slices.Equal(got, febByName) {
		t.Errorf("ascending by name:\n got  %v\n want %v", got, febByName)
	}
	desc := slices.Clone(febByName)
	slices.Reverse(desc)
	if got := walk("desc"); !slices.Equal(got, desc) {
		t.Errorf("descending by name:\n got  %v\n want %v", got, desc)
	}
}

func TestNameSearchFoldsInGo(t *testing.T) {
	a := newFoldingAPI(t)
	f := func(q string, want ...string) {
		t.Helper()
		p := a.page("granularity=monthly&" + feb + "&sort_by=canonical_name&sort_order=asc&q=" + url.QueryEscape(q))
		if got := p.ids(); !slices.Equal(got, want) {
			t.Errorf("q=%q: got %v, want %v", q, got, want)
		}
	}
	f("σίσυφος", appSigmaUpper, appSigmaLower)
	f("ΣΊΣΥΦΟΣ", appSigmaUpper, appSigmaLower)
	f("istanbul", appIstanbul) // İ folds to i + a combining dot, so İstanbul does not contain "istanbul"
	f("İSTANBUL", appIstanbulI)
	f("strasse", appStrasse)
	f("STRAẞE", appStrasse)
	f("FILE", appLigature)
	f("ⅻ", appRoman)
	f("xii") // a Roman numeral is not its letters
	f("ᾀ", appIota)
	f("cafe\u0301", appCafeComb, appCafeUpper)
	f("é", appCafeComb, appCafeUpper, appEclair)
	f("ÉCLAIR", appEclair)
	f("Sync", appSigmaUpper, appSigmaLower)
}

// TestUsageExportOrdersIDsAsText: on 2026-03-01 Gamma (a0…07), Later App
// (a0…08) and Ⅻ Clock (a1…07) are used. ClickHouse compares UUIDs by their
// lower half first, which would put a1…07 before a0…08; the file is in the
// order a reader sorting it as text expects. Users …0ff and …100 differ
// only in the last bytes of their lower half, in an order that reading
// those bytes as a little-endian number would reverse.
func TestUsageExportOrdersIDsAsText(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	const userFF, user100 = "b0000000-0000-4000-8000-0000000000ff", "b0000000-0000-4000-8000-000000000100"
	extra := []string{"2026-03-01," + appRoman + "," + user100 + ",7,1", "2026-03-01," + appRoman + "," + user1 + ",9,1",
		"2026-03-01," + appRoman + "," + userFF + ",6,1", "2026-03-01," + appRoman + "," + user2 + ",8,1"}
	if _, err := dataset.Load(context.Background(), conn, writeFixture(t, foldingApps, extra), nil); err != nil {
		t.Fatal(err)
	}
	a := serveAPI(t, conn, nil)
	resp := a.get(usageExportPath + "?start_date=2026-03-01&end_date=2026-03-01")
	got := strings.Split(strings.TrimRight(string(resp.Body()), "\r\n"), "\r\n")[1:]
	want := []string{
		"2026-03-01," + appGamma + ",Gamma," + user3 + "," + dept2 + ",5,1",
		"2026-03-01," + appLater + ",Later App," + user1 + "," + dept1 + ",40,1",
		"2026-03-01," + appRoman + ",Ⅻ Clock," + user1 + "," + dept1 + ",9,1",
		"2026-03-01," + appRoman + ",Ⅻ Clock," + user2 + "," + dept1 + ";" + dept2 + ",8,1",
		"2026-03-01," + appRoman + ",Ⅻ Clock," + userFF + ",,6,1",
		"2026-03-01," + appRoman + ",Ⅻ Clock," + user100 + ",,7,1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
