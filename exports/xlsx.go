package exports

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/usagelens/usagelens/query"
)

// xlsxCells writes an export as a workbook of typed cells through
// excelize's StreamWriter, which keeps a sheet's rows past 16 MiB in a
// temporary file (in the system's temporary directory), and at the end
// compresses the parts straight to the destination, so memory stays flat
// however many rows there are. Text is stored
// as inline strings (never a formula, so nothing needs the CSV's
// protecting apostrophe and nothing is converted), whole numbers and
// decimals as numbers, days as dates, booleans as booleans, nulls as
// empty cells. A sheet holds at most 1 048 576 rows; the rows go on in
// a next sheet, "Data 2", under the same header.
type xlsxCells struct {
	f           *excelize.File
	sw          *excelize.StreamWriter
	sheets, row int
	header      []any
	widths      []float64
	vals        []any
	bold, date  int
	err         error
}

// sheetRows is the most rows a sheet holds, its header among them.
var sheetRows = excelize.TotalRows

func newXLSXCells() *xlsxCells {
	x := &xlsxCells{f: excelize.NewFile()}
	x.bold, x.err = x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if x.err == nil {
		dayFormat := "yyyy-mm-dd"
		x.date, x.err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &dayFormat})
	}
	return x
}

// sheetName is the name of the n-th sheet, from 1.
func sheetName(n int) string {
	if n == 1 {
		return "Data"
	}
	return "Data " + strconv.Itoa(n)
}

// nextSheet starts a sheet: widths, the frozen bold header.
func (x *xlsxCells) nextSheet() {
	if x.sw != nil {
		if x.err = x.sw.Flush(); x.err != nil {
			return
		}
	}
	x.sheets++
	name := sheetName(x.sheets)
	if x.sheets == 1 {
		x.err = x.f.SetSheetName("Sheet1", name)
	} else {
		_, x.err = x.f.NewSheet(name)
	}
	if x.err != nil {
		return
	}
	if x.sw, x.err = x.f.NewStreamWriter(name); x.err != nil {
		return
	}
	for i, w := range x.widths {
		if x.err = x.sw.SetColWidth(i+1, i+1, w); x.err != nil {
			return
		}
	}
	if x.err = x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); x.err != nil {
		return
	}
	x.row = 1
	x.err = x.sw.SetRow("A1", x.header)
}

// Header writes the header row.
func (x *xlsxCells) Header(names []string) {
	x.Start()
	for _, n := range names {
		x.Text(n)
	}
	x.End()
}

// startWith starts the workbook with the first record, its header.
func (x *xlsxCells) startWith(names []any) {
	for _, n := range names {
		name, _ := n.(string)
		x.header = append(x.header, excelize.Cell{StyleID: x.bold, Value: name})
		x.widths = append(x.widths, columnWidth(name))
	}
	x.nextSheet()
}

// columnWidth is a width that shows a column's values whole: ids are
// UUIDs, names and e-mail addresses are long, days are short.
func columnWidth(name string) float64 {
	switch {
	case strings.HasSuffix(name, "_ids"):
		return 40
	case strings.HasSuffix(name, "_id"):
		return 38
	case strings.Contains(name, "name") || strings.Contains(name, "email"):
		return 32
	}
	return max(12, float64(len(name))+2)
}

func (x *xlsxCells) Start() { x.vals = x.vals[:0] }

// End writes the row; past a sheet's last row, into a next sheet.
func (x *xlsxCells) End() {
	if x.err != nil {
		return
	}
	if x.sw == nil {
		x.startWith(x.vals)
		return
	}
	if x.row == sheetRows {
		if x.nextSheet(); x.err != nil {
			return
		}
	}
	x.row++
	x.err = x.sw.SetRow("A"+strconv.Itoa(x.row), x.vals)
}

func (x *xlsxCells) add(v any)        { x.vals = append(x.vals, v) }
func (x *xlsxCells) Empty()           { x.add(nil) }
func (x *xlsxCells) Uint(n uint64)    { x.add(n) }
func (x *xlsxCells) Bool(b bool)      { x.add(b) }
func (x *xlsxCells) ID(u uuid.UUID)   { x.add(u.String()) }
func (x *xlsxCells) Date(t time.Time) { x.add(excelize.Cell{StyleID: x.date, Value: t}) }

// Text writes a text cell; "" is an empty cell, as in the CSV.
func (x *xlsxCells) Text(s string) {
	if s == "" {
		x.add(nil)
		return
	}
	x.add(s)
}

func (x *xlsxCells) OptText(s *string) {
	if s == nil {
		x.add(nil)
		return
	}
	x.Text(*s)
}

func (x *xlsxCells) OptUint(n *uint64) {
	if n == nil {
		x.add(nil)
		return
	}
	x.add(*n)
}

func (x *xlsxCells) OptFloat(f *float64) {
	if f == nil {
		x.add(nil)
		return
	}
	x.add(*f)
}

// Cached writes a repeating cell by its value: text, or a day.
func (x *xlsxCells) Cached(c query.Cached) {
	switch v := c.Value.(type) {
	case time.Time:
		x.Date(v)
	case string:
		x.Text(v)
	default:
		x.add(nil)
	}
}

// Decimal writes a formatted decimal as the number it is.
func (x *xlsxCells) Decimal(s string) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		x.add(s)
		return
	}
	x.add(f)
}

// Day writes a YYYY-MM-DD day as a date; "" is an empty cell.
func (x *xlsxCells) Day(s string) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		x.add(nil)
		return
	}
	x.Date(t)
}

// finish writes the workbook to w and removes its temporary files.
func (x *xlsxCells) finish(w io.Writer) error {
	defer x.close()
	if x.err != nil {
		return x.err
	}
	if x.sw == nil {
		return fmt.Errorf("an XLSX export ended without its header")
	}
	if err := x.sw.Flush(); err != nil {
		return err
	}
	// WriteTo would build the whole zip in a buffer first; a zip writer
	// of our own sends each part to w as it is compressed, and the
	// buffer stays empty.
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	_, err := x.f.WriteToBuffer()
	return err
}

func (x *xlsxCells) close() { _ = x.f.Close() }
