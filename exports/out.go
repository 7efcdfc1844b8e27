package exports

import (
	"io"
	"sync/atomic"

	"github.com/usagelens/usagelens/query"
)

// FlushAt is the buffered CSV size that makes one write (one HTTP chunk).
const FlushAt = 64 << 10

// Out is what an export writes its rows into: a buffer passed on to W
// once it holds FlushAt bytes.
type Out struct {
	Row *query.CSVRow
	W   io.Writer
	// Records counts data records written to the buffer; it may be read
	// while the export runs.
	Records atomic.Int64
	// Bytes counts CSV bytes passed to W, before any compression.
	Bytes int
	// First and Last are the earliest and latest dates the rows hold.
	First, Last string
}

// NewOut is an Out writing to w.
func NewOut(w io.Writer) *Out { return &Out{Row: query.NewCSVRow(FlushAt + 4096), W: w} }

// RowsDone counts n records and passes the buffer on once it is large
// enough.
func (o *Out) RowsDone(n int) error {
	o.Records.Add(int64(n))
	if len(o.Row.Bytes()) >= FlushAt {
		return o.Flush()
	}
	return nil
}

// Flush passes the buffer on.
func (o *Out) Flush() error {
	n, err := o.W.Write(o.Row.Bytes())
	o.Bytes += n
	o.Row.Reset()
	return err
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
