package handlers_test

// The App Metrics page (package ui) in a real Chromium, driven by chromedp,
// against the real router over a real ClickHouse holding the fixture. The
// tests read what a person sees (the text of cells, the rows after a click,
// the file a download saves) and compare it with the API's own JSON, which
// they fetch themselves, and with values known by hand. Every state is saved
// as a screenshot in uiShotDir.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/ui"
)

// uiShotDir is where the screenshots go: $USAGELENS_UI_SCREENSHOTS, or
// usagelens-ui-screenshots in the temp directory, overwritten on each run.
func uiShotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("USAGELENS_UI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "usagelens-ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cannot make the screenshot folder: %v", err)
	}
	// Screenshots of an earlier run's timeouts would mislead.
	old, _ := filepath.Glob(filepath.Join(dir, "timeout-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return dir
}

// chromiumPath finds Debian's chromium, or fails with how to install it:
// the page's tests never skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("USAGELENS_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the App Metrics page is tested in a real browser. Install it with " +
		"`bash scripts/ensure-chromium.sh` (apt-get update -qq && apt-get install -y -qq chromium), or set USAGELENS_CHROMIUM")
	return ""
}

// uiRig is one fixture database, the API served on a loopback port, and
// one headless Chromium whose tabs the subtests open.
type uiRig struct {
	a       *api
	base    string
	browser context.Context
	shots   string
}

func newUIRig(t *testing.T) *uiRig {
	t.Helper()
	exe := chromiumPath(t)
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	r := &uiRig{a: serveAPI(t, conn, nil), base: serveTCP(t, testServer(conn, time.Minute, nil)), shots: uiShotDir(t)}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true)}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("cannot start %s: %v", exe, err)
	}
	r.browser = bctx
	t.Logf("screenshots of the page's states: %s", r.shots)
	return r
}

// uiTab is one browser tab on the page.
type uiTab struct {
	t   *testing.T
	r   *uiRig
	ctx context.Context
	mu  sync.Mutex
	// problems are the page's uncaught exceptions and security (CSP)
	// messages; any fails the test.
	problems []string
}

// open opens the page in a new tab at /ui/?query with a sign-in link's
// fragment for tok (none when tok is empty), at 1280×800.
func (r *uiRig) open(t *testing.T, query, tok string) *uiTab {
	t.Helper()
	tab, cancel := chromedp.NewContext(r.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("cannot open a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, 45*time.Second)
	t.Cleanup(cancelTimeout)
	tb := &uiTab{t: t, r: r, ctx: ctx}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.problem(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if e := ev.Entry; e.Source == "security" || strings.Contains(e.Text, "Content Security Policy") {
				tb.problem(fmt.Sprintf("%s %s: %s", e.Source, e.Level, e.Text))
			}
		}
	}()
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("the page: %s", p)
		}
	})
	link := r.base + "/ui/"
	if query != "" {
		link += "?" + query
	}
	if tok != "" {
		link += "#token=" + url.QueryEscape(tok) + "&client=" + client
	}
	tb.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(link))
	return tb
}

func (tb *uiTab) problem(s string) {
	tb.mu.Lock()
	tb.problems = append(tb.problems, s)
	tb.mu.Unlock()
}

func (tb *uiTab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates js in the page and decodes its value into a T.
func uiEval[T any](tb *uiTab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

// click clicks the element sel (CSS) names.
func (tb *uiTab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// choose sets a select to value as a person picking an option does: the
// value changes and a change event fires.
func (tb *uiTab) choose(id, value string) {
	tb.t.Helper()
	uiEval[chromedp.Void](tb, fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.focus(); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, id, value))
}

// tick ticks the checkbox of a category, vendor or department id in the
// multi-select box, opening its list as a person would.
func (tb *uiTab) tick(box, id string) {
	tb.t.Helper()
	tb.click("#" + box + " summary")
	tb.click("#" + box + " input[data-id='" + id + "']")
	tb.do(chromedp.KeyEvent("\x1b")) // Escape closes the list
}

// shot saves a screenshot of the viewport (or of the whole page) as name.
func (tb *uiTab) shot(name string, full bool) {
	tb.t.Helper()
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100)
	}
	buf, err := chromedp.Run(tb.ctx, action)
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.r.shots, name), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// pageState is what the page says about itself (ui/static/app.js): its
// state, whether a request is out, and what the rows answer.
type pageState struct {
	State    string `json:"state"`
	Busy     bool   `json:"busy"`
	Query    string `json:"query"`
	Rows     string `json:"rows"`
	Status   string `json:"status"`
	Activity string `json:"activity"`
	Trend    string `json:"trend"`
}

const pageStateJS = `(() => { const d = document.body.dataset, a = document.getElementById('apps').dataset;
  return {state: d.state || '', busy: !!d.busy, query: a.query || '', rows: a.rows || '', status: document.getElementById('status').textContent,
    activity: document.getElementById('activity-view').dataset.query || '', trend: document.getElementById('trend').dataset.query || ''}; })()`

// waitFor polls the page's state until ok says yes.
func (tb *uiTab) waitFor(what string, ok func(pageState) bool) pageState {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s pageState
	for {
		s = uiEval[pageState](tb, pageStateJS)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tb.shot("timeout-"+strings.ReplaceAll(tb.t.Name(), "/", "-")+".png", true)
			tb.t.Fatalf("waited 15 s for %s; the page is at %+v", what, s)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// waitRows waits until the table shows the answer to want (the page's
// first-page query, page_size included) with n rows, or the empty state.
func (tb *uiTab) waitRows(want url.Values, n int) pageState {
	tb.t.Helper()
	return tb.waitFor(fmt.Sprintf("%d rows of ?%s", n, want.Encode()), func(s pageState) bool {
		got, _ := url.ParseQuery(s.Query)
		return !s.Busy && (s.State == "table" || s.State == "empty") && got.Encode() == want.Encode() && s.Rows == strconv.Itoa(n)
	})
}

// rowsJS reads every row as a person sees it, cell by cell, with the
// exact numbers the cells hold in data attributes.
const rowsJS = `[...document.querySelectorAll('#rows tr')].map((tr) => {
  const cell = (c) => tr.querySelector('[data-col="' + c + '"]');
  const out = [tr.dataset.appId, cell('name').querySelector('a').textContent, cell('name').querySelector('.type').textContent];
  for (const c of ['vendor', 'categories', 'favorite', 'approved', 'licenses']) out.push(cell(c).textContent);
  for (const c of ['unique_users', 'active_time_ms', 'avg_time_ms_per_day', 'session_count']) {
    const td = cell(c), v = td.querySelector('.v'), ch = td.querySelector('.chg'), w = td.querySelector('.was');
    out.push(v.textContent, v.dataset.value, ch ? ch.textContent : '∅', ch ? ch.dataset.changePct : '∅', w ? w.textContent : '∅', w ? w.dataset.compareValue : '∅');
  }
  out.push(cell('usage_level').textContent, cell('risk_level').textContent);
  return out;
})`

func (tb *uiTab) rows() [][]string {
	tb.t.Helper()
	return uiEval[[][]string](tb, rowsJS)
}

// uiCount, uiDuration and uiChange write numbers as the page does
// (count, duration and changeText in ui/static/app.js).
func uiCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func uiDuration(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60000:
		return fmt.Sprintf("%d.%d s", ms/1000, ms%1000/100)
	case ms < 3600000:
		return fmt.Sprintf("%d min %02d s", ms/60000, ms%60000/1000)
	}
	return fmt.Sprintf("%s h %02d min", uiCount(ms/3600000), ms%3600000/60000)
}

func uiChange(m metricJSON) string {
	switch p := m.ChangePct; {
	case p == nil && m.CompareValue != nil && *m.CompareValue == 0 && m.Value != nil && *m.Value > 0:
		return "new"
	case p == nil:
		return "—"
	case *p > 0:
		return "▲ " + strconv.FormatFloat(*p, 'f', -1, 64) + "%"
	case *p < 0:
		return "▼ " + strconv.FormatFloat(-*p, 'f', -1, 64) + "%"
	}
	return "± 0%"
}

// uiMetric is a metric cell: text and value, then (with a comparison) the
// change's text and value and the compared value's text and value.
func uiMetric(m metricJSON, f func(int64) string, compare bool) []string {
	text, value := "—", ""
	if m.Value != nil {
		text, value = f(*m.Value), strconv.FormatInt(*m.Value, 10)
	}
	if !compare {
		return []string{text, value, "∅", "∅", "∅", "∅"}
	}
	pct, was, wasValue := "", "", ""
	if m.ChangePct != nil {
		pct = strconv.FormatFloat(*m.ChangePct, 'f', -1, 64)
	}
	if m.CompareValue != nil {
		was, wasValue = "from "+f(*m.CompareValue), strconv.FormatInt(*m.CompareValue, 10)
	}
	return []string{text, value, uiChange(m), pct, was, wasValue}
}

// uiWantRow is what the page must show for one row of the API's JSON.
func uiWantRow(r rowJSON, compare bool) []string {
	c := r.App.CatalogApp
	yes := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	cats := []string{}
	for _, x := range c.Categories {
		cats = append(cats, x.Name)
	}
	catText, licenses := strings.Join(cats, ", "), "—"
	if catText == "" {
		catText = "—"
	}
	if r.App.LicenseCount != nil {
		licenses = uiCount(int64(*r.App.LicenseCount))
	}
	level := func(p *string) string {
		if p == nil || *p == "" {
			return "—"
		}
		return strings.ToUpper((*p)[:1]) + (*p)[1:]
	}
	out := []string{r.App.ID, c.CanonicalName, c.Type, c.Vendor.Name, catText, yes(r.App.IsFavorite), yes(r.App.IsApproved), licenses}
	out = append(out, uiMetric(r.UniqueUsers, uiCount, compare)...)
	out = append(out, uiMetric(r.ActiveTimeMS, uiDuration, compare)...)
	out = append(out, uiMetric(r.AvgTimeMSPerDay, uiDuration, compare)...)
	out = append(out, uiMetric(r.SessionCount, uiCount, compare)...)
	return append(out, level(r.UsageLevel), level(r.RiskLevel))
}

// sameRows checks the page's rows are the API's, cell by cell, in order.
func sameRows(t *testing.T, what string, got [][]string, want []rowJSON, compare bool) {
	t.Helper()
	var g, w []string
	for _, r := range got {
		g = append(g, strings.Join(r, " | "))
	}
	for _, r := range want {
		w = append(w, strings.Join(uiWantRow(r, compare), " | "))
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s: the page shows\n%s\nthe API answered\n%s", what, strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	if len(want) == 0 {
		t.Errorf("%s: no rows; the case proves nothing", what)
	}
}

// uiQuery is the first-page query the page sends for a state: the fixture's
// February (the link's as_of), monthly, active time first, 50 a page.
func uiQuery(extra ...string) url.Values {
	v := url.Values{"granularity": {"monthly"}, "start_date": {"2026-02-01"}, "end_date": {"2026-02-28"},
		"sort_by": {"active_time"}, "sort_order": {"desc"}, "page_size": {"50"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

const uiFebVsJan = "compare_start_date=2026-01-01&compare_end_date=2026-01-31"

// TestUIInChromium drives the App Metrics page in Chromium over the
// fixture, one tab per state.
func TestUIInChromium(t *testing.T) {
	r := newUIRig(t)
	tok := mint(t, client, time.Hour)
	t.Run("TableShowsTheAPIsNumbers", func(t *testing.T) { uiTableNumbers(t, r, tok) })
	t.Run("SortByHeaders", func(t *testing.T) { uiSort(t, r, tok) })
	t.Run("Filters", func(t *testing.T) { uiFilters(t, r, tok) })
	t.Run("PeriodAndGranularityPickers", func(t *testing.T) { uiPeriods(t, r, tok) })
	t.Run("PagingReachesTheLastRow", func(t *testing.T) { uiPaging(t, r, tok) })
	t.Run("DownloadCSV", func(t *testing.T) { uiDownload(t, r, tok) })
	t.Run("TrendChart", func(t *testing.T) { uiTrend(t, r, tok) })
	t.Run("AppActivity", func(t *testing.T) { uiActivity(t, r, tok) })
	t.Run("EmptyStates", func(t *testing.T) { uiEmpty(t, r, tok) })
	t.Run("RetriesAndErrors", func(t *testing.T) { uiErrors(t, r, tok) })
	t.Run("SignIn", func(t *testing.T) { uiSignIn(t, r, tok) })
	t.Run("PhoneWidth", func(t *testing.T) { uiPhone(t, r, tok) })
}

func uiTableNumbers(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1", tok)
	want := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31")
	tb.waitRows(want, 5)
	// First paint, measured by the browser from the navigation's start
	// (the entry comes once the frame is shown, so wait for it), and when
	// the first rows were shown.
	fcp := uiEval[float64](tb, `new Promise((resolve) => {
  new PerformanceObserver((l) => { const e = l.getEntriesByName('first-contentful-paint')[0]; if (e) resolve(e.startTime); }).observe({type: 'paint', buffered: true});
  setTimeout(() => resolve(-1), 5000); })`)
	rowsAt := uiEval[float64](tb, `(performance.getEntriesByName('usagelens:rows')[0] || {startTime: -1}).startTime`)
	t.Logf("first contentful paint after %.0f ms, the first rows after %.0f ms", fcp, rowsAt)
	if fcp < 0 || fcp > 1000 {
		t.Errorf("first contentful paint at %.0f ms, want under 1000", fcp)
	}
	got := tb.rows()
	// The API's answer to the same request, fetched by the test.
	sameRows(t, "compare on", got, r.a.page(want.Encode()).Data, true)
	// And the values worked out by hand for TestUtilizationExportIsExactCSV.
	hand := []string{
		appAlpha + " | Alpha Chat | desktop | Vendor One, Inc. | Chat | Yes | Yes | 2 | 4 | 4 | ▲ 100% | 100 | from 2 | 2 | 8.2 s | 8200 | ▲ 310% | 310 | from 2.0 s | 2000 | 8.2 s | 8200 | ▲ 310% | 310 | from 2.0 s | 2000 | 9 | 9 | ▲ 350% | 350 | from 2 | 2 | Medium | —",
		appBeta + ` | beta Docs | browser | Vendor "Two" | Chat, Docs | No | No | — | 1 | 1 | new |  | from 0 | 0 | 500 ms | 500 | new |  | from 0 ms | 0 | 500 ms | 500 | — |  |  |  | 5 | 5 | new |  | from 0 | 0 | Light | Critical`,
		appNew + ` | New Tool | browser | Vendor "Two" | — | Yes | No | — | 1 | 1 | new |  | from 0 | 0 | 300 ms | 300 | new |  | from 0 ms | 0 | 300 ms | 300 | — |  |  |  | 1 | 1 | new |  | from 0 | 0 | — | Low`,
		appEclair + " | ÉCLAIR Pro | desktop | Vendor One, Inc. | — | No | No | 0 | 2 | 2 | ▲ 100% | 100 | from 1 | 1 | 100 ms | 100 | ▲ 900% | 900 | from 10 ms | 10 | 100 ms | 100 | ▲ 900% | 900 | from 10 ms | 10 | 2 | 2 | ▲ 100% | 100 | from 1 | 1 | — | Medium",
		appGamma + ` | Gamma | browser | Vendor "Two" | — | No | Yes | — | 1 | 1 | new |  | from 0 | 0 | 10 ms | 10 | new |  | from 0 ms | 0 | 10 ms | 10 | — |  |  |  | 1 | 1 | new |  | from 0 | 0 | — | —`,
	}
	var gotLines []string
	for _, row := range got {
		gotLines = append(gotLines, strings.Join(row, " | "))
	}
	if strings.Join(gotLines, "\n") != strings.Join(hand, "\n") {
		t.Errorf("the page shows\n%s\nworked out by hand\n%s", strings.Join(gotLines, "\n"), strings.Join(hand, "\n"))
	}
	if s := uiEval[string](tb, `document.getElementById('summary').textContent`); s != "5 apps · 1–28 Feb 2026 vs 1–31 Jan 2026" {
		t.Errorf("summary %q", s)
	}
	tb.shot("table-compare.png", false)

	// Comparison off: the change arrows go, the numbers stay the API's.
	tb.click("#compare")
	want = uiQuery()
	tb.waitRows(want, 5)
	sameRows(t, "compare off", tb.rows(), r.a.page(want.Encode()).Data, false)
	if n := uiEval[int](tb, `document.querySelectorAll('#rows .chg').length`); n != 0 {
		t.Errorf("%d change arrows without a comparison", n)
	}
	if u := uiEval[string](tb, `location.search`); !strings.Contains(u, "as_of=2026-02-28") || strings.Contains(u, "compare") {
		t.Errorf("the address bar keeps the state: %q", u)
	}
	tb.shot("table.png", false)
}

func uiSort(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1", tok)
	base := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31")
	tb.waitRows(base, 5)
	ariaSort := func() map[string]string {
		return uiEval[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll('#apps th[data-sort]')].map((th) => [th.dataset.sort, th.getAttribute('aria-sort') || '']))`)
	}
	check := func(how, by, order string) {
		t.Helper()
		want := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31", "sort_by", by, "sort_order", order)
		tb.waitRows(want, 5)
		sameRows(t, how, tb.rows(), r.a.page(want.Encode()).Data, true)
		aria := ariaSort()
		for col, v := range aria {
			wantAria := ""
			if col == by {
				wantAria = map[string]string{"asc": "ascending", "desc": "descending"}[order]
			}
			if v != wantAria {
				t.Errorf("%s: aria-sort of %s = %q, want %q", how, col, v, wantAria)
			}
		}
	}
	check("the default", "active_time", "desc")
	// A click on a header sorts by it, highest first; a second turns it.
	tb.click(`#apps th[data-sort="unique_users"] button`)
	check("a click on Unique users", "unique_users", "desc")
	// The keyboard: the header is a button, Enter presses it.
	tb.do(chromedp.Focus(chromedp.CSS(`#apps th[data-sort="unique_users"] button`)), chromedp.KeyEvent("\r"))
	check("Enter on Unique users", "unique_users", "asc")
	tb.do(chromedp.Focus(chromedp.CSS(`#apps th[data-sort="session_count"] button`)), chromedp.KeyEvent(" "))
	check("Space on Sessions", "session_count", "desc")
	tb.click(`#apps th[data-sort="avg_time"] button`)
	check("a click on Avg", "avg_time", "desc")
	// Names sort A to Z first, by the service's folding: beta before Gamma
	// whatever the case, and ÉCLAIR last, its folded é after every ASCII
	// letter byte by byte (docs/utilization.md).
	tb.click(`#apps th[data-sort="canonical_name"] button`)
	check("a click on App", "canonical_name", "asc")
	if names := uiEval[[]string](tb, `[...document.querySelectorAll('#rows tr a')].map((a) => a.textContent)`); strings.Join(names, ",") != "Alpha Chat,beta Docs,Gamma,New Tool,ÉCLAIR Pro" {
		t.Errorf("A to Z: %v", names)
	}
	tb.click(`#apps th[data-sort="canonical_name"] button`)
	check("a second click on App", "canonical_name", "desc")
	tb.shot("sorted.png", false)
}

func uiFilters(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28", tok)
	tb.waitRows(uiQuery(), 5)
	step := func(what string, n int, kv ...string) {
		t.Helper()
		want := uiQuery(kv...)
		tb.waitRows(want, n)
		if n > 0 {
			sameRows(t, what, tb.rows(), r.a.page(want.Encode()).Data, false)
		} else if p := r.a.page(want.Encode()); len(p.Data) != 0 {
			t.Errorf("%s: the page is empty, the API has %d rows", what, len(p.Data))
		}
	}
	// Name search: typed, then searched after a pause.
	tb.do(chromedp.SendKeys(chromedp.CSS("#q"), "A"))
	step("q=A", 4, "q", "A") // Alpha Chat, beta Docs, ÉCLAIR Pro, Gamma (not New Tool)
	tb.tick("cat-multi", cat1)
	step("q=A, category Chat", 2, "q", "A", "category_ids", cat1)
	tb.tick("cat-multi", cat2)
	step("q=A, categories Chat and Docs", 2, "q", "A", "category_ids", cat1+","+cat2)
	tb.shot("filtered.png", false)
	if s := uiEval[string](tb, `document.querySelector('#cat-multi summary').textContent`); s != "2 chosen" {
		t.Errorf("the categories box says %q", s)
	}
	tb.click("#clear")
	step("cleared", 5)
	tb.tick("vendor-multi", vendor1)
	step("vendor One", 2, "vendor_ids", vendor1)
	tb.choose("approved", "false")
	step("vendor One, not approved", 1, "vendor_ids", vendor1, "is_approved", "false")
	tb.click("#clear")
	tb.choose("favorite", "true")
	step("favourites", 2, "is_favorite", "true")
	tb.choose("favorite", "")
	// Departments scope the numbers, not the list.
	tb.tick("dept-multi", dept1)
	step("department 1", 5, "department_ids", dept1)
	tb.click("#clear")
	tb.choose("filter", "discovered")
	step("discovered", 3, "filter", "discovered")
	tb.choose("filter", "dropped_off")
	step("dropped off", 1, "filter", "dropped_off")
	// The lists offer every category, vendor and department of the client.
	for box, want := range map[string]string{"cat-multi": "Chat,Docs", "vendor-multi": `Vendor "Two",Vendor One, Inc.`, "dept-multi": dept1 + "," + dept2} {
		got := uiEval[[]string](tb, `[...document.querySelectorAll('#`+box+` .multi-items label')].map((l) => l.textContent.trim())`)
		if strings.Join(got, ",") != want {
			t.Errorf("%s offers %q, want %q", box, got, want)
		}
	}
}

func uiPeriods(t *testing.T, r *uiRig, tok string) {
	// As of 15 March: each preset, with its comparison, as the picker
	// computes them (docs/ui.md), and the rows the API gives for them.
	tb := r.open(t, "as_of=2026-03-15&compare=1", tok)
	step := func(what string, n int, start, end, cs, ce string, kv ...string) {
		t.Helper()
		want := uiQuery(append([]string{"start_date", start, "end_date", end, "compare_start_date", cs, "compare_end_date", ce}, kv...)...)
		tb.waitRows(want, n)
		if n > 0 {
			sameRows(t, what, tb.rows(), r.a.page(want.Encode()).Data, true)
		}
	}
	step("this month to date", 2, "2026-03-01", "2026-03-15", "2026-02-01", "2026-02-15")
	tb.choose("period", "last_month")
	step("last month", 5, "2026-02-01", "2026-02-28", "2026-01-01", "2026-01-31")
	tb.choose("period", "quarter")
	step("this quarter to date", 7, "2026-01-01", "2026-03-15", "2025-10-01", "2025-12-15")
	tb.choose("period", "12_months")
	step("the last 12 months", 7, "2025-04-01", "2026-03-15", "2024-04-01", "2025-03-31")
	if s := uiEval[string](tb, `document.getElementById('period-text').textContent`); s != "1 Apr 2025 – 15 Mar 2026, compared with 1 Apr 2024 – 31 Mar 2025" {
		t.Errorf("the period line says %q", s)
	}
	// Custom: two dates; the comparison is as many days right before.
	tb.choose("period", "custom")
	tb.choose("start", "2026-01-10")
	tb.choose("end", "2026-02-09")
	step("custom", 4, "2026-01-10", "2026-02-09", "2025-12-10", "2026-01-09")
	tb.choose("granularity", "weekly")
	step("custom, weekly", 4, "2026-01-10", "2026-02-09", "2025-12-10", "2026-01-09", "granularity", "weekly")
	if h := uiEval[string](tb, `document.getElementById('avg-head').textContent`); h != "Avg per active week" {
		t.Errorf("the average's header %q", h)
	}
	// A period over the API's 366 days is refused in its words.
	tb.choose("start", "2024-01-01")
	tb.waitFor("the refusal", func(s pageState) bool { return s.State == "error" })
	if p := uiEval[string](tb, `document.getElementById('problem-text').textContent`); !strings.HasPrefix(p, "The service refused these settings: ") {
		t.Errorf("a 400 says %q", p)
	}
}

func uiPaging(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1&page_size=2", tok)
	want := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31", "page_size", "2")
	tb.waitRows(want, 2)
	// The API's pages, walked by the test.
	var all []rowJSON
	cursor := ""
	for pages := 0; ; pages++ {
		p := r.a.page(want.Encode() + cursor)
		all = append(all, p.Data...)
		if p.NextCursor == nil || pages > 10 {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(all) != 5 {
		t.Fatalf("the API's walk has %d rows", len(all))
	}
	for n := 2; n < len(all); n = min(n+2, len(all)) {
		if label := uiEval[string](tb, `document.getElementById('more').textContent`); label != fmt.Sprintf("Load more (%d left)", len(all)-n) {
			t.Errorf("at %d rows the button says %q", n, label)
		}
		tb.click("#more")
		tb.waitRows(want, min(n+2, len(all)))
		if n+2 >= len(all) {
			break
		}
	}
	sameRows(t, "all pages", tb.rows(), all, true)
	if hidden := uiEval[bool](tb, `document.getElementById('more').hidden`); !hidden {
		t.Error("Load more is still offered after the last row")
	}
	if s := uiEval[string](tb, `document.getElementById('summary').textContent`); !strings.HasPrefix(s, "5 apps ·") {
		t.Errorf("summary after the last page %q", s)
	}
	// The focus moves to the first row that came in, for keyboard users.
	if f := uiEval[string](tb, `document.activeElement.textContent`); f != all[4].App.CatalogApp.CanonicalName {
		t.Errorf("focus after the last page is on %q", f)
	}
	tb.shot("paged.png", true)
}

func uiDownload(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1&q=a&is_approved=false&sort_by=session_count&sort_order=asc", tok)
	want := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31", "q", "a", "is_approved", "false",
		"sort_by", "session_count", "sort_order", "asc")
	tb.waitRows(want, 2)
	dir := t.TempDir()
	progress := chromedp.Events(tb.ctx, browser.DownloadProgress)
	begins := chromedp.Events(tb.ctx, browser.DownloadWillBegin)
	if _, err := chromedp.Call(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	tb.click("#download")
	var name string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("no download began: %v", err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("the download did not finish: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	if name != "app-utilization-2026-02-01-to-2026-02-28.csv" {
		t.Errorf("the file is named %q", name)
	}
	body, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	// The export of exactly the filters shown, byte for byte.
	q := want
	q.Del("page_size")
	resp := r.a.get(exportPath + "?" + q.Encode())
	if string(body) != string(resp.Body()) {
		t.Errorf("the download differs from the export of the filters shown:\n%s\nexport:\n%s", body, resp.Body())
	}
	// And it holds the rows the table shows, in its order.
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var fileIDs, pageIDs []string
	for _, rec := range recs[1:] {
		fileIDs = append(fileIDs, rec[0]+" "+rec[8]+" "+rec[17])
	}
	for _, row := range tb.rows() {
		pageIDs = append(pageIDs, row[0]+" "+row[9]+" "+row[27])
	}
	if strings.Join(fileIDs, ",") != strings.Join(pageIDs, ",") || len(fileIDs) != 2 {
		t.Errorf("the file's rows (id users sessions) %v, the page's %v", fileIDs, pageIDs)
	}
	if s := uiEval[string](tb, `document.body.dataset.download`); s != "done" {
		t.Errorf("after the download the page says %q", s)
	}
}

func uiTrend(t *testing.T, r *uiRig, tok string) {
	// Twelve months to the end of March: per month, the fixture's four
	// months of usage.
	tb := r.open(t, "as_of=2026-03-31&period=12_months", tok)
	binsOnPage := func(want string) [][]string {
		t.Helper()
		tb.waitFor("the chart of "+want, func(s pageState) bool {
			got, _ := url.ParseQuery(s.Trend)
			w, _ := url.ParseQuery(want)
			return got.Encode() == w.Encode()
		})
		return uiEval[[][]string](tb, `[...document.querySelectorAll('#trend-table tbody tr')].map((tr) => [tr.dataset.start, ...[...tr.querySelectorAll('td')].map((td) => td.dataset.value + ' ' + td.textContent)])`)
	}
	check := func(query string) {
		t.Helper()
		got := binsOnPage(query)
		s := r.a.series(query)
		if len(s.Data) != 1 {
			t.Fatalf("series %s: %d groups", query, len(s.Data))
		}
		var want [][]string
		for _, b := range s.Data[0].Bins {
			ms, users := int64(b["active_time_ms"].(float64)), int64(b["unique_users"].(float64))
			want = append(want, []string{b["start_date"].(string), fmt.Sprintf("%d %s", ms, uiDuration(ms)), fmt.Sprintf("%d %s", users, uiCount(users))})
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chart of %s:\npage %v\napi  %v", query, got, want)
		}
		if bars := uiEval[int](tb, `document.querySelectorAll('#trend-chart rect.bar-time').length`); bars != len(want) {
			t.Errorf("%d bars for %d bins", bars, len(want))
		}
		if dots := uiEval[int](tb, `document.querySelectorAll('#trend-chart circle.dot-users').length`); dots != len(want) {
			t.Errorf("%d user dots for %d bins", dots, len(want))
		}
	}
	check("start_date=2025-04-01&end_date=2026-03-31&bin_size=month&metrics=active_time_ms,unique_users")
	tb.shot("chart.png", false)
	// Per week, and scoped to a category: the chart follows.
	tb.click("#bin-week")
	check("start_date=2025-04-01&end_date=2026-03-31&bin_size=week&metrics=active_time_ms,unique_users")
	tb.tick("cat-multi", cat1)
	check("start_date=2025-04-01&end_date=2026-03-31&bin_size=week&metrics=active_time_ms,unique_users&category_ids=" + cat1)
	if note := uiEval[string](tb, `document.getElementById('trend-note').textContent`); !strings.Contains(note, "chosen categories") {
		t.Errorf("the chart's note %q", note)
	}
}

func uiActivity(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1&granularity=weekly", tok)
	want := uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31", "granularity", "weekly")
	tb.waitRows(want, 5)
	tb.click(`#rows tr[data-app-id="` + appAlpha + `"] a`)
	query := "granularity=weekly&start_date=2026-02-01&end_date=2026-02-28&" + uiFebVsJan
	tb.waitFor("the activity of Alpha Chat", func(s pageState) bool {
		got, _ := url.ParseQuery(s.Activity)
		w, _ := url.ParseQuery(query)
		return s.State == "activity" && !s.Busy && got.Encode() == w.Encode()
	})
	act := r.a.activity(appAlpha, query)
	// The totals are the app's row of the table.
	row := r.a.page(want.Encode()).byID(t, appAlpha)
	gotTotals := uiEval[[][]string](tb, `[...document.querySelectorAll('#activity-totals .total')].map((c) => [c.dataset.col, c.querySelector('.v').textContent, c.querySelector('.v').dataset.value, c.querySelector('.chg').textContent, c.querySelector('.was').textContent])`)
	var wantTotals [][]string
	for _, m := range []struct {
		col string
		m   metricJSON
		f   func(int64) string
	}{{"unique_users", act.Totals.UniqueUsers, uiCount}, {"active_time_ms", act.Totals.ActiveTimeMS, uiDuration},
		{"avg_time_ms_per_day", act.Totals.AvgTimeMSPerDay, uiDuration}, {"session_count", act.Totals.SessionCount, uiCount}} {
		c := uiMetric(m.m, m.f, true)
		wantTotals = append(wantTotals, []string{m.col, c[0], c[1], c[2], c[4]})
	}
	if fmt.Sprint(gotTotals) != fmt.Sprint(wantTotals) {
		t.Errorf("totals on the page %v, the API's %v", gotTotals, wantTotals)
	}
	if w := uiWantRow(row, true); fmt.Sprint(wantTotals[1][1:3]) != fmt.Sprint(w[14:16]) {
		t.Errorf("the activity's active time %v is not the table's %v", wantTotals[1], w[14:16])
	}
	gotBins := uiEval[[]string](tb, `[...document.querySelectorAll('#activity-table tbody tr')].map((tr) => tr.dataset.start + ' ' + [...tr.querySelectorAll('td')].map((td) => td.dataset.value).join(' '))`)
	var wantBins []string
	for _, b := range act.Data {
		avg := ""
		if b.AvgTimeMSPerDay != nil {
			avg = strconv.FormatInt(*b.AvgTimeMSPerDay, 10)
		}
		wantBins = append(wantBins, fmt.Sprintf("%s %d %d %d %s", b.StartDate, *b.ActiveTimeMS, *b.UniqueUsers, *b.SessionCount, avg))
	}
	if strings.Join(gotBins, "\n") != strings.Join(wantBins, "\n") || len(wantBins) != 5 {
		t.Errorf("bins on the page\n%s\nthe API's\n%s", strings.Join(gotBins, "\n"), strings.Join(wantBins, "\n"))
	}
	if h := uiEval[string](tb, `document.activeElement.id + ' ' + document.getElementById('activity-title').textContent`); h != "activity-title Alpha Chat" {
		t.Errorf("after opening the app the focus is on %q", h)
	}
	tb.shot("activity.png", true)
	// Back to the table, as it was; and the browser's Back button too.
	tb.click("#back")
	tb.waitRows(want, 5)
	uiEval[chromedp.Void](tb, `history.back()`)
	tb.waitFor("the activity again", func(s pageState) bool { return s.State == "activity" && !s.Busy && s.Activity != "" })
	uiEval[chromedp.Void](tb, `history.back()`)
	tb.waitRows(want, 5)
}

func uiEmpty(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28", tok)
	tb.waitRows(uiQuery(), 5)
	tb.do(chromedp.SendKeys(chromedp.CSS("#q"), "zzz"))
	tb.waitRows(uiQuery("q", "zzz"), 0)
	if s := uiEval[string](tb, `document.body.dataset.state + ': ' + document.getElementById('empty-text').textContent`); s != "empty: No app matches these filters in 1–28 Feb 2026." {
		t.Errorf("empty state %q", s)
	}
	tb.shot("empty.png", false)
	tb.click("#empty-action") // Clear filters
	tb.waitRows(uiQuery(), 5)

	// A month without data: the page says so and offers the latest one.
	tb = r.open(t, "as_of=2026-06-15", tok)
	june := uiQuery("start_date", "2026-06-01", "end_date", "2026-06-15")
	tb.waitRows(june, 0)
	tb.waitFor("the latest month with data", func(pageState) bool {
		return uiEval[string](tb, `document.getElementById('empty-action').textContent`) == "Show March 2026"
	})
	if s := uiEval[string](tb, `document.getElementById('empty-text').textContent + ' ' + document.getElementById('empty-hint').textContent`); s != "No app was used in 1–15 Jun 2026. The latest usage is in March 2026." {
		t.Errorf("empty month %q", s)
	}
	tb.shot("empty-period.png", false)
	tb.click("#empty-action")
	march := uiQuery("start_date", "2026-03-01", "end_date", "2026-03-31")
	tb.waitRows(march, 2)
	sameRows(t, "March", tb.rows(), r.a.page(march.Encode()).Data, false)
}

// uiIntercept answers the page's utilization requests from script while it
// lasts (status, Retry-After, body), then lets them through to the server.
func uiIntercept(t *testing.T, tb *uiTab, script [][3]string) <-chan struct{} {
	t.Helper()
	paused := chromedp.Events(tb.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/analytics/apps/utilization?*"}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		n := 0
		for ev, err := range paused {
			if err != nil {
				return
			}
			if n < len(script) {
				s := script[n]
				code, _ := strconv.Atoi(s[0])
				headers := []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}
				if s[1] != "" {
					headers = append(headers, &fetch.HeaderEntry{Name: "Retry-After", Value: s[1]})
				}
				_, _ = chromedp.Call(tb.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: int64(code), ResponseHeaders: headers, Body: []byte(s[2])})
			} else {
				_, _ = chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
			if n++; n == len(script) {
				close(done)
			}
		}
	}()
	return done
}

func uiErrorBody(code, message string) string {
	return `{"error":{"code":"` + code + `","message":"` + message + `","details":{},"request_id":"ui-test"}}`
}

func uiErrors(t *testing.T, r *uiRig, tok string) {
	// A 503 and a 429: the page waits as Retry-After says, says so, and
	// sends the request again.
	tb := r.open(t, "", "")
	uiIntercept(t, tb, [][3]string{
		{"503", "1", uiErrorBody("unavailable", "ClickHouse cannot be reached")},
		{"429", "1", uiErrorBody("too_many_requests", "too many requests in flight")},
	})
	tb.do(chromedp.Navigate(r.base + "/ui/?as_of=2026-02-28#token=" + url.QueryEscape(tok)))
	s := tb.waitFor("the wait after a 503", func(s pageState) bool { return s.State == "waiting" })
	if !strings.HasPrefix(s.Status, "The service cannot reach its database right now. Trying again in 1 second") {
		t.Errorf("after a 503 the page says %q", s.Status)
	}
	tb.shot("retrying.png", false)
	s = tb.waitFor("the wait after a 429", func(s pageState) bool {
		return s.State == "waiting" && strings.HasPrefix(s.Status, "This client has too many requests")
	})
	tb.waitRows(uiQuery(), 5)

	// A timeout is not retried by itself: the page says what to do and
	// offers to try again.
	tb = r.open(t, "", "")
	uiIntercept(t, tb, [][3]string{{"504", "", uiErrorBody("timeout", "the query ran past its limit")}})
	tb.do(chromedp.Navigate(r.base + "/ui/?as_of=2026-02-28#token=" + url.QueryEscape(tok)))
	tb.waitFor("the error state", func(s pageState) bool { return s.State == "error" })
	if p := uiEval[string](tb, `document.getElementById('problem').hidden + ' ' + document.getElementById('problem-text').textContent`); p != "false The query took too long. Try a shorter period or fewer filters." {
		t.Errorf("the error says %q", p)
	}
	tb.shot("error.png", false)
	tb.click("#problem-retry")
	tb.waitRows(uiQuery(), 5)
}

func uiSignIn(t *testing.T, r *uiRig, tok string) {
	// An expired token: the sign-in state, in plain words.
	expired, err := mintWith(client, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tb := r.open(t, "as_of=2026-02-28", expired)
	tb.waitFor("the sign-in state", func(s pageState) bool { return s.State == "signin" })
	if m := uiEval[string](tb, `document.getElementById('signin-message').textContent`); m != "Your token has expired. Paste a new one to go on." {
		t.Errorf("expired token: %q", m)
	}
	if href := uiEval[string](tb, `location.href`); strings.Contains(href, "token") || strings.Contains(href, "#") {
		t.Errorf("the token stays in the address bar: %s", href)
	}
	if f := uiEval[string](tb, `document.activeElement.id`); f != "signin-token" {
		t.Errorf("focus on %q, want the token field", f)
	}
	tb.shot("signin.png", false)
	// Pasting a good token signs in; it is kept for the tab only.
	tb.do(chromedp.SendKeys(chromedp.CSS("#signin-token"), tok), chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")))
	tb.waitRows(uiQuery(), 5)
	if kept := uiEval[string](tb, `sessionStorage.getItem('usagelens.token')`); kept != tok {
		t.Error("the token is not kept in sessionStorage")
	}
	if n := uiEval[int](tb, `localStorage.length + document.cookie.length`); n != 0 {
		t.Errorf("the page keeps %d things outside the tab's session", n)
	}
	// Signing out forgets it.
	tb.click("#signout")
	tb.waitFor("the signed-out state", func(s pageState) bool { return s.State == "signin" })
	if kept := uiEval[bool](tb, `sessionStorage.getItem('usagelens.token') === null`); !kept {
		t.Error("sign out kept the token")
	}

	// A token of another client.
	tb = r.open(t, "as_of=2026-02-28", mint(t, otherClient, time.Hour))
	tb.waitFor("the sign-in state", func(s pageState) bool { return s.State == "signin" })
	if m := uiEval[string](tb, `document.getElementById('signin-message').textContent`); !strings.HasPrefix(m, "This token belongs to another client than "+client) {
		t.Errorf("another client's token: %q", m)
	}
}

func uiPhone(t *testing.T, r *uiRig, tok string) {
	tb := r.open(t, "as_of=2026-02-28&compare=1", tok)
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	tb.waitRows(uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31"), 5)
	// One card per app, nothing wider than the screen.
	if w := uiEval[[]int](tb, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("the page is %d px wide on a %d px screen", w[0], w[1])
	}
	if d := uiEval[string](tb, `getComputedStyle(document.querySelector('#rows tr')).display + ' ' + getComputedStyle(document.querySelector('#rows td')).display`); d != "block flex" {
		t.Errorf("rows on a phone are %q, want cards", d)
	}
	// The filters fold away behind one button; sorting stays at hand
	// without the header.
	if v := uiEval[bool](tb, `document.getElementById('q').offsetParent === null`); !v {
		t.Error("the filters are open on a phone before they are asked for")
	}
	tb.click("#filters-toggle")
	if v := uiEval[string](tb, `document.getElementById('filters-toggle').getAttribute('aria-expanded') + ' ' + (document.getElementById('q').offsetParent !== null)`); v != "true true" {
		t.Errorf("after the Filters button: %s", v)
	}
	tb.click("#filters-toggle")
	tb.choose("sort-select", "unique_users")
	tb.waitRows(uiQuery("compare_start_date", "2026-01-01", "compare_end_date", "2026-01-31", "sort_by", "unique_users"), 5)
	tb.shot("phone.png", true)
}

// TestUIAssets: the page and its files carry their types, caching headers
// and the self-only security policy; stale copies revalidate to 304.
func TestUIAssets(t *testing.T) {
	a := newAPI(t)
	get := func(path string, headers ...string) *fasthttp.Response {
		t.Helper()
		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		req.SetRequestURI("http://usagelens" + path)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp := &fasthttp.Response{}
		if err := a.client.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	page := get("/ui/")
	if page.StatusCode() != 200 || string(page.Header.ContentType()) != "text/html; charset=utf-8" {
		t.Fatalf("GET /ui/: %d %s", page.StatusCode(), page.Header.ContentType())
	}
	secure := func(path string, resp *fasthttp.Response) {
		t.Helper()
		for k, want := range map[string]string{"Content-Security-Policy": ui.ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := string(resp.Header.Peek(k)); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if etag := string(resp.Header.Peek("ETag")); !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
			t.Errorf("%s: ETag %q", path, etag)
		}
	}
	secure("/ui/", page)
	if cc := string(page.Header.Peek("Cache-Control")); cc != "no-cache" {
		t.Errorf("/ui/ Cache-Control %q", cc)
	}
	if !strings.Contains(ui.ContentSecurityPolicy, "default-src 'none'") || strings.Contains(ui.ContentSecurityPolicy, "unsafe") || strings.Contains(ui.ContentSecurityPolicy, "http") {
		t.Errorf("the policy allows more than this origin: %s", ui.ContentSecurityPolicy)
	}
	if r := get("/ui/", "If-None-Match", string(page.Header.Peek("ETag"))); r.StatusCode() != 304 || len(r.Body()) != 0 {
		t.Errorf("revalidating /ui/: %d, %d bytes", r.StatusCode(), len(r.Body()))
	}
	// Every file the page names is served under its hashed name, kept a year.
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, name := range ui.Names() {
		if !strings.Contains(string(page.Body()), `"`+name+`"`) {
			t.Errorf("the page does not name %s", name)
		}
		resp := get("/ui/" + name)
		secure(name, resp)
		if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != types[filepath.Ext(name)] {
			t.Errorf("%s: %d %s", name, resp.StatusCode(), resp.Header.ContentType())
		}
		if cc := string(resp.Header.Peek("Cache-Control")); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s Cache-Control %q", name, cc)
		}
		if z := get("/ui/"+name, "Accept-Encoding", "gzip"); filepath.Ext(name) != ".svg" && string(z.Header.Peek("Content-Encoding")) != "gzip" {
			t.Errorf("%s is not sent gzipped to a caller that takes it", name)
		}
	}
	if len(ui.Names()) != 3 {
		t.Errorf("files %v", ui.Names())
	}
	// Nothing outside this origin: no absolute URL but the SVG namespace.
	for _, name := range append(ui.Names(), "") {
		body := page.Body()
		if name != "" {
			body = get("/ui/" + name).Body()
		}
		text := strings.ReplaceAll(string(body), "http://www.w3.org/2000/svg", "")
		if i := strings.Index(text, "://"); i >= 0 {
			t.Errorf("%s names an outside address: %.60s", name, text[max(0, i-10):])
		}
	}
	for _, path := range []string{"/ui/app.js", "/ui/nope.css", "/ui/..%2Fgo.mod"} {
		resp := get(path)
		var e errorJSON
		if resp.StatusCode() != 404 || json.Unmarshal(resp.Body(), &e) != nil || e.Error.Code != "not_found" {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode(), resp.Body())
		}
	}
	if resp := get("/ui"); resp.StatusCode() != http.StatusMovedPermanently || !strings.HasSuffix(string(resp.Header.Peek("Location")), "/ui/") {
		t.Errorf("GET /ui: %d %s", resp.StatusCode(), resp.Header.Peek("Location"))
	}
}
