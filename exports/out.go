package exports

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/usagelens/usagelens/query"
)

// FlushAt is the buffered CSV size that makes one write (one HTTP chunk).
const FlushAt = 64 << 10

// bom is the UTF-8 byte order mark.
const bom = "\xEF\xBB\xBF"

// Out is what an export writes its rows into: Row takes the cells; CSV is
// passed on to W whenever FlushAt bytes are buffered, an XLSX workbook is
// written to W by Finish.
type Out struct {
	Row  query.Cells
	csv  *query.CSVRow
	xlsx *xlsxCells
	pre  string // written before the first byte (the BOM)
	W    io.Writer
	// Records counts data records written; it may be read while the
	// export runs.
	Records atomic.Int64
	// Bytes counts the bytes passed to W (before any gzip).
	Bytes int
	// First and Last are the earliest and latest dates the rows hold.
	First, Last string
}

// NewOut is an Out writing f to w.
func NewOut(w io.Writer, f Format) *Out {
	o := &Out{W: w}
	if f.XLSX {
		o.xlsx = newXLSXCells()
		o.Row = o.xlsx
		return o
	}
	o.csv = query.NewCSVRow(FlushAt + 4096)
	o.Row = o.csv
	if f.BOM {
		o.pre = bom
	}
	return o
}

// RowsDone counts n records and passes a CSV buffer on once it is large
// enough.
func (o *Out) RowsDone(n int) error {
	o.Records.Add(int64(n))
	if o.xlsx != nil {
		return o.xlsx.err
	}
	if len(o.csv.Bytes()) >= FlushAt {
		return o.Flush()
	}
	return nil
}

// Flush passes the CSV buffer on.
func (o *Out) Flush() error {
	if o.pre != "" {
		n, err := io.WriteString(o.W, o.pre)
		o.Bytes += n
		if o.pre = ""; err != nil {
			return err
		}
	}
	n, err := o.W.Write(o.csv.Bytes())
	o.Bytes += n
	o.csv.Reset()
	return err
}

// Finish writes what is left: the CSV buffer, or the whole workbook.
func (o *Out) Finish() error {
	if o.xlsx == nil {
		return o.Flush()
	}
	cw := &CountingWriter{W: o.W}
	err := o.xlsx.finish(cw)
	o.Bytes += cw.N
	return err
}

// Close lets go of what an unfinished export holds (a workbook's
// temporary files).
func (o *Out) Close() {
	if o.xlsx != nil {
		o.xlsx.close()
	}
}

// Saw widens the date range by a row's first and last dates (YYYY-MM-DD,
// so text order is date order).
func (o *Out) Saw(first, last string) {
	if o.First == "" || first < o.First {
		o.First = first
	}
	if last > o.Last {
		o.Last = last
	}
}

// CountingWriter counts the bytes written through it.
type CountingWriter struct {
	W io.Writer
	N int
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += n
	return n, err
}

// FillSafely runs fill, turning a panic into an error: streams and jobs
// write their rows outside any handler's recovery, and a panic there
// must end the export, not the process.
func FillSafely(fill func(*Out) error, out *Out) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic while exporting: %v", p)
		}
	}()
	return fill(out)
}
