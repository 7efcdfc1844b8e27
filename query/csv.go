package query

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// CSVRow appends CSV records to a reused buffer: RFC 4180 quoting, and
// text cells that a spreadsheet would run as a formula prefixed with '
// (OWASP's advice). Numbers go through the numeric appenders and are never
// prefixed, so -3.1 stays a number.
type CSVRow struct {
	buf   []byte
	first bool
}

// NewCSVRow is a writer whose buffer holds size bytes before it grows.
func NewCSVRow(size int) *CSVRow { return &CSVRow{buf: make([]byte, 0, size)} }

// Bytes is what was appended since the last Reset.
func (w *CSVRow) Bytes() []byte { return w.buf }

// Reset empties the buffer, keeping its memory.
func (w *CSVRow) Reset() { w.buf = w.buf[:0] }

// Start begins a record.
func (w *CSVRow) Start() { w.first = true }

func (w *CSVRow) sep() {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
}

// End ends a record.
func (w *CSVRow) End() { w.buf = append(w.buf, '\r', '\n') }

// Text appends a text cell.
func (w *CSVRow) Text(s string) {
	w.sep()
	formula := len(s) > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if quote {
		w.buf = append(w.buf, '"')
	}
	if formula {
		w.buf = append(w.buf, '\'')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' && quote {
			w.buf = append(w.buf, '"')
		}
		w.buf = append(w.buf, s[i])
	}
	if quote {
		w.buf = append(w.buf, '"')
	}
}

// OptText appends a text cell, empty for nil.
func (w *CSVRow) OptText(s *string) {
	if s == nil {
		w.Empty()
		return
	}
	w.Text(*s)
}

// Cached appends a cell already encoded.
func (w *CSVRow) Cached(c Cached) {
	w.sep()
	w.buf = append(w.buf, c.CSV...)
}

// Decimal appends a formatted number as it is.
func (w *CSVRow) Decimal(s string) {
	w.sep()
	w.buf = append(w.buf, s...)
}

// Day appends a YYYY-MM-DD day as it is.
func (w *CSVRow) Day(s string) {
	w.sep()
	w.buf = append(w.buf, s...)
}

// Empty appends an empty cell.
func (w *CSVRow) Empty() { w.sep() }

// Uint appends a whole number.
func (w *CSVRow) Uint(n uint64) {
	w.sep()
	w.buf = strconv.AppendUint(w.buf, n, 10)
}

// OptUint appends a whole number, empty for nil.
func (w *CSVRow) OptUint(n *uint64) {
	if n == nil {
		w.Empty()
		return
	}
	w.Uint(*n)
}

// OptFloat appends a number in its shortest form, empty for nil.
func (w *CSVRow) OptFloat(f *float64) {
	w.sep()
	if f != nil {
		w.buf = strconv.AppendFloat(w.buf, *f, 'f', -1, 64)
	}
}

// Bool appends true or false.
func (w *CSVRow) Bool(b bool) {
	w.sep()
	w.buf = strconv.AppendBool(w.buf, b)
}

// Date appends a day as YYYY-MM-DD.
func (w *CSVRow) Date(t time.Time) {
	w.sep()
	w.buf = t.AppendFormat(w.buf, time.DateOnly)
}

// ID appends a UUID in its canonical form without allocating.
func (w *CSVRow) ID(u uuid.UUID) {
	w.sep()
	const hexDigits = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			w.buf = append(w.buf, '-')
		}
		w.buf = append(w.buf, hexDigits[b>>4], hexDigits[b&0x0f])
	}
}

// Header appends a header record; header names need no quoting.
func (w *CSVRow) Header(names []string) {
	w.Start()
	for _, n := range names {
		w.Text(n)
	}
	w.End()
}
