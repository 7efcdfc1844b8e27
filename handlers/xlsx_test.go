package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// Apps whose names a spreadsheet would run or convert: formula-like,
// value-like, CSV-awkward and non-ASCII. Each is used once in February by
// user1, for 1000+i ms, so the exports sort them by active time.
var awkwardNames = []string{
	"=1+1", "+SUM(A1)", "-Minus App", "@SUM(1)", "\tTab App", "\rCR App",
	"TRUE", "50%", "3/4", "2026-02-01", "1E5", "00123",
	"Comma, Inc.", `Quote "q" App`, "Line\nBreak", "Zoë", "日本語アプリ",
}

func awkwardFixture() (apps, usage []string) {
	for i, name := range awkwardNames {
		id := fmt.Sprintf("a2000000-0000-4000-8000-%012d", i+1)
		vendor := `"` + strings.ReplaceAll(name, `"`, `""`) + ` Vendor"`
		apps = append(apps, fmt.Sprintf(`%s,ca200000-0000-4000-8000-%012d,"%s",,desktop,%s,%s,https://x.example,,,false,false,,`,
			id, i+1, strings.ReplaceAll(name, `"`, `""`), vendor1, vendor))
		usage = append(usage, fmt.Sprintf("2026-02-%02d,%s,%s,%d,1", 1+i%27, id, user1, 1000+i))
	}
	return apps, usage
}

// newAwkwardAPI is the fixture with the awkward apps.
func newAwkwardAPI(t *testing.T) *api {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	apps, usage := awkwardFixture()
	if _, err := dataset.Load(context.Background(), conn, writeFixture(t, apps, usage), nil); err != nil {
		t.Fatalf("cannot load the awkward fixture: %v", err)
	}
	return serveAPI(t, conn, nil)
}

// workbook reads an XLSX answer.
func workbook(t *testing.T, body []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not an XLSX workbook: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// cellKind is how a column's cells must be typed, by its header.
func cellKind(header string) string {
	switch {
	case strings.HasPrefix(header, "is_"):
		return "bool"
	case strings.HasSuffix(header, "_date") || header == "bin_start" || header == "bin_end":
		return "date"
	case strings.HasSuffix(header, "_id") || strings.HasSuffix(header, "_ids") || strings.Contains(header, "name") ||
		strings.HasSuffix(header, "_level") || header == "email" || header == "group_type" || strings.HasPrefix(header, "top_apps"):
		return "text"
	}
	return "number"
}

// unprotect is a CSV text cell as stored: without the apostrophe the CSV
// puts before a formula-like text.
func unprotect(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// sameAsCSV checks every cell of the workbook's Data sheet against the
// CSV of the same request: the same values, typed by column (text as an
// inline string, numbers as numbers, days as dates in yyyy-mm-dd, booleans
// as booleans, empty as no cell), and no formula anywhere. It returns the
// cells by row and header.
func sameAsCSV(t *testing.T, what string, f *excelize.File, csvBody string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil {
		t.Fatalf("%s: the CSV does not parse: %v", what, err)
	}
	if sheets := f.GetSheetList(); len(sheets) != 1 || sheets[0] != "Data" {
		t.Errorf("%s: sheets %v, want [Data]", what, sheets)
	}
	if rows, _ := f.GetRows("Data"); len(rows) != len(recs) {
		t.Errorf("%s: %d rows in the workbook, %d in the CSV", what, len(rows), len(recs))
	}
	var out []map[string]string
	for r, rec := range recs {
		cells := map[string]string{}
		for c, want := range rec {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			typ, _ := f.GetCellType("Data", ref)
			raw, _ := f.GetCellValue("Data", ref, excelize.Options{RawCellValue: true})
			shown, _ := f.GetCellValue("Data", ref)
			kind := "text"
			if r > 0 {
				kind = cellKind(recs[0][c])
			}
			// LibreOffice saves a boolean as the formula TRUE() or FALSE()
			// with its value; nothing else may be a formula.
			if formula, _ := f.GetCellFormula("Data", ref); formula != "" && (kind != "bool" || (formula != "TRUE()" && formula != "FALSE()")) {
				t.Errorf("%s %s: a formula %q", what, ref, formula)
			}
			bad := false
			switch {
			case r > 0 && want == "":
				bad = raw != "" || typ != excelize.CellTypeUnset
			case kind == "text":
				bad = (typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString) || raw != unprotect(want)
			case kind == "bool":
				bad = typ != excelize.CellTypeBool || raw != map[string]string{"true": "1", "false": "0"}[want]
			case kind == "date":
				_, numErr := strconv.ParseFloat(raw, 64)
				bad = typ == excelize.CellTypeInlineString || numErr != nil || shown != want
			default:
				got, err1 := strconv.ParseFloat(raw, 64)
				exp, err2 := strconv.ParseFloat(want, 64)
				bad = typ == excelize.CellTypeInlineString || err1 != nil || err2 != nil || got != exp
			}
			if bad {
				t.Errorf("%s %s (%s, %s): type %d, raw %q, shown %q; the CSV has %q", what, ref, recs[0][c], kind, typ, raw, shown, want)
			}
			cells[recs[0][c]] = raw
		}
		out = append(out, cells)
	}
	return out
}

// xlsxRequests are an export of each kind, as CSV.
var xlsxRequests = []struct{ name, path, query string }{
	{"utilization", "/analytics/apps/utilization/export", "granularity=monthly&" + febVsJan + "&sort_by=active_time"},
	{"usage", "/analytics/usage-reports/export", "start_date=2026-01-01&end_date=2026-02-28"},
	{"users", "/analytics/users/usage/export", "start_date=2026-01-01&end_date=2026-03-31"},
	{"series", "/analytics/usage", "start_date=2026-01-15&end_date=2026-03-10&bin_size=month&group_by=app&display_all=true&format=csv"},
}

// csvAndXLSX answers a request of xlsxRequests as CSV and as XLSX.
func csvAndXLSX(t *testing.T, a *api, path, query string) (string, []byte) {
	t.Helper()
	base := "/v2/clients/" + client
	csvBody, _ := a.csv(base + path + "?" + query)
	xq := strings.Replace(query, "format=csv", "format=xlsx", 1)
	if !strings.Contains(xq, "format=xlsx") {
		xq += "&format=xlsx"
	}
	resp := a.get(base + path + "?" + xq)
	if resp.StatusCode() != 200 {
		t.Fatalf("GET xlsx: %d %s", resp.StatusCode(), resp.Body())
	}
	if ct := string(resp.Header.ContentType()); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := string(resp.Header.Peek("Content-Disposition")); !strings.HasSuffix(cd, `.xlsx"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	return csvBody, append([]byte(nil), resp.Body()...)
}

// The XLSX of each export is its CSV, cell by cell, with typed cells: the
// awkward names exactly as stored, numbers, dates and empty cells typed.
func TestXLSXExportsHoldTheCSVTyped(t *testing.T) {
	a := newAwkwardAPI(t)
	for _, c := range xlsxRequests {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			csvBody, body := csvAndXLSX(t, a, c.path, c.query)
			f := workbook(t, body)
			sameAsCSV(t, c.name, f, csvBody)
			checkHeaderRow(t, f)
		})
	}
}

// A real spreadsheet program reads the same cells: LibreOffice Calc opens
// each workbook and saves it again, and what it saved holds every name
// exactly, every number as a number, every day as a date and every empty
// cell empty. scripts/test.sh installs LibreOffice when it is missing.
func TestXLSXThroughLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Fatal("LibreOffice is not installed: run scripts/ensure-libreoffice.sh (apt-get install -y libreoffice-calc-nogui)")
	}
	a := newAwkwardAPI(t)
	dir := t.TempDir()
	for _, c := range xlsxRequests {
		csvBody, body := csvAndXLSX(t, a, c.path, c.query)
		in := filepath.Join(dir, c.name+".xlsx")
		if err := os.WriteFile(in, body, 0o644); err != nil {
			t.Fatal(err)
		}
		outDir := filepath.Join(dir, "calc-"+c.name)
		cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless", "--norestore",
			"--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", outDir, in)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("LibreOffice could not convert %s: %v\n%s", c.name, err, out)
		}
		saved, err := os.ReadFile(filepath.Join(outDir, c.name+".xlsx"))
		if err != nil {
			t.Fatalf("LibreOffice wrote no workbook for %s: %v", c.name, err)
		}
		f := workbook(t, saved)
		sameAsCSV(t, "LibreOffice "+c.name, f, csvBody)
	}
}

// checkHeaderRow: the header row is bold and frozen.
func checkHeaderRow(t *testing.T, f *excelize.File) {
	t.Helper()
	panes, err := f.GetPanes("Data")
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("panes %+v, %v; want the first row frozen", panes, err)
	}
	id, _ := f.GetCellStyle("Data", "A1")
	style, err := f.GetStyle(id)
	if err != nil || style.Font == nil || !style.Font.Bold {
		t.Errorf("the header's style %+v, %v; want bold", style, err)
	}
	if w, _ := f.GetColWidth("Data", "A"); w < 12 {
		t.Errorf("column A is %.1f wide", w)
	}
}

// Cells worked out by hand: each awkward name is the text it was loaded
// as, not a formula, a boolean, a percentage, a fraction, a date or a
// number; the fixture's numbers and empty cells are typed.
func TestXLSXCellsByHand(t *testing.T) {
	a := newAwkwardAPI(t)
	resp := a.get(exportPath + "?granularity=monthly&" + febVsJan + "&sort_by=active_time&format=xlsx")
	f := workbook(t, resp.Body())
	rows, err := f.GetRows("Data", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]string{}
	for _, r := range rows[1:] {
		byName[r[2]] = r
	}
	for _, name := range awkwardNames {
		r, ok := byName[name]
		if !ok {
			t.Errorf("no row holds the name %q exactly", name)
			continue
		}
		if r[3] != name+" Vendor" {
			t.Errorf("%q: vendor %q, want %q", name, r[3], name+" Vendor")
		}
	}
	// Alpha Chat, February against January (TestUtilizationExportIsExactCSV):
	// 2 licenses, 4 users (+100 % on 2), 8200 ms (+310 % on 2000).
	alpha := byName["Alpha Chat"]
	for col, want := range map[int]string{0: appAlpha, 5: "1", 6: "1", 7: "2", 8: "4", 9: "100", 10: "2", 11: "8200", 12: "310", 13: "2000", 20: "medium"} {
		if col >= len(alpha) || alpha[col] != want {
			t.Errorf("Alpha Chat column %d: %q, want %q (row %q)", col, cellAt(alpha, col), want, alpha)
		}
	}
	// beta Docs: no license count, no change percentage (nothing in January).
	betaRow := 0
	for i, r := range rows {
		if len(r) > 2 && r[2] == "beta Docs" {
			betaRow = i + 1
		}
	}
	for _, col := range []string{"H", "J", "M"} {
		ref := col + strconv.Itoa(betaRow)
		if typ, _ := f.GetCellType("Data", ref); typ != excelize.CellTypeUnset {
			t.Errorf("beta Docs %s: type %d, want an empty cell", ref, typ)
		}
		if v, _ := f.GetCellValue("Data", ref); v != "" {
			t.Errorf("beta Docs %s: %q, want empty", ref, v)
		}
	}
	for _, name := range []string{"TRUE", "50%", "3/4", "2026-02-01", "1E5", "00123", "=1+1"} {
		i := 0
		for j, r := range rows {
			if len(r) > 2 && r[2] == name {
				i = j + 1
			}
		}
		if typ, _ := f.GetCellType("Data", "C"+strconv.Itoa(i)); typ != excelize.CellTypeInlineString {
			t.Errorf("%q is stored as type %d, want an inline string", name, typ)
		}
	}
}

func cellAt(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

// bom=true puts the UTF-8 BOM before the same CSV; bad values and bom
// with xlsx are 400s; an Accept of the XLSX type chooses it.
func TestCSVBOMAndFormatChoice(t *testing.T) {
	a := newAPI(t)
	q := usageExportPath + "?start_date=2026-02-01&end_date=2026-02-28"
	plain := string(a.get(q).Body())
	if got := string(a.get(q + "&bom=true").Body()); got != "\xEF\xBB\xBF"+plain {
		t.Errorf("bom=true: %.40q, want the BOM and then %.40q", got, plain)
	}
	if got := string(a.get(q + "&bom=false").Body()); got != plain {
		t.Errorf("bom=false differs from the default")
	}
	for _, bad := range []string{"&bom=yes", "&bom=true&format=xlsx", "&format=pdf", "&format=csv&format=xlsx", "&bom=true&bom=false"} {
		resp := a.get(q + bad)
		if resp.StatusCode() != 400 {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode(), resp.Body())
		}
	}
	resp := a.getWith("http://usagelens"+q, map[string]string{"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
	if ct := string(resp.Header.ContentType()); resp.StatusCode() != 200 || ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Accept of XLSX: %d %s", resp.StatusCode(), ct)
	}
	// The series route: JSON by default, a workbook with format=xlsx.
	series := "/v2/clients/" + client + "/analytics/usage?start_date=2026-02-01&end_date=2026-02-28"
	if ct := string(a.get(series).Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("series without format: %s", ct)
	}
	if ct := string(a.get(series + "&format=xlsx").Header.ContentType()); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("series with format=xlsx: %s", ct)
	}
}
