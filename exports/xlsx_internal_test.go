package exports

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Past a sheet's last row the rows go on in the next sheet, under the
// same header; no row is lost or repeated. (The limit is 4 rows here, and
// 1 048 576 in a real workbook.)
func TestXLSXRowsGoOnInANextSheet(t *testing.T) {
	defer func(n int) { sheetRows = n }(sheetRows)
	sheetRows = 4
	var buf bytes.Buffer
	out := NewOut(&buf, Format{XLSX: true})
	out.Row.Header([]string{"n", "day"})
	for i := 1; i <= 10; i++ {
		out.Row.Start()
		out.Row.Uint(uint64(i))
		out.Row.Date(time.Date(2026, 2, i, 0, 0, 0, 0, time.UTC))
		out.Row.End()
		if err := out.RowsDone(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Finish(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 4 || got[0] != "Data" || got[1] != "Data 2" || got[3] != "Data 4" {
		t.Fatalf("sheets %v, want Data, Data 2, Data 3, Data 4", got)
	}
	next := 1
	for _, sheet := range f.GetSheetList() {
		rows, _ := f.GetRows(sheet)
		if len(rows) == 0 || rows[0][0] != "n" || rows[0][1] != "day" {
			t.Fatalf("%s: header %v", sheet, rows)
		}
		if len(rows) > 4 {
			t.Errorf("%s holds %d rows, more than the limit of 4", sheet, len(rows))
		}
		for _, r := range rows[1:] {
			if r[0] != strconv.Itoa(next) || r[1] != "2026-02-"+twoDigits(next) {
				t.Errorf("%s: row %v, want %d and its day", sheet, r, next)
			}
			next++
		}
	}
	if next != 11 {
		t.Errorf("the sheets hold %d rows, want 10", next-1)
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func TestAcceptsXLSX(t *testing.T) {
	const x = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	for accept, want := range map[string]bool{
		"":                          false,
		"text/csv":                  false,
		x:                           true,
		"text/csv, " + x + ";q=0.5": true,
		x + ";q=0":                  false,
		x + "; q=0.0":               false,
		x + "x":                     false,
		"*/*":                       false,
	} {
		if got := acceptsXLSX(accept); got != want {
			t.Errorf("acceptsXLSX(%q) = %v, want %v", accept, got, want)
		}
	}
}
