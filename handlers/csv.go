package handlers

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// csvRow appends one CSV record to a reused buffer: RFC 4180 quoting, and
// text cells that a spreadsheet would run as a formula prefixed with '
// (OWASP's advice). Numbers go through the numeric appenders and are never
// prefixed, so -3.1 stays a number.
type csvRow struct {
	buf   []byte
	first bool
}

func (w *csvRow) start() { w.first = true }

func (w *csvRow) sep() {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
}

func (w *csvRow) end() { w.buf = append(w.buf, '\r', '\n') }

// text appends a text cell.
func (w *csvRow) text(s string) {
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

func (w *csvRow) optText(s *string) {
	if s == nil {
		w.empty()
		return
	}
	w.text(*s)
}

func (w *csvRow) empty() { w.sep() }

func (w *csvRow) uint(n uint64) {
	w.sep()
	w.buf = strconv.AppendUint(w.buf, n, 10)
}

func (w *csvRow) optUint(n *uint64) {
	if n == nil {
		w.empty()
		return
	}
	w.uint(*n)
}

func (w *csvRow) optFloat(f *float64) {
	w.sep()
	if f != nil {
		w.buf = strconv.AppendFloat(w.buf, *f, 'f', -1, 64)
	}
}

func (w *csvRow) boolean(b bool) {
	w.sep()
	w.buf = strconv.AppendBool(w.buf, b)
}

func (w *csvRow) date(t time.Time) {
	w.sep()
	w.buf = t.AppendFormat(w.buf, time.DateOnly)
}

// id appends a UUID in its canonical form without allocating.
func (w *csvRow) id(u uuid.UUID) {
	w.sep()
	const hexDigits = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			w.buf = append(w.buf, '-')
		}
		w.buf = append(w.buf, hexDigits[b>>4], hexDigits[b&0x0f])
	}
}

// header appends a header record; header names need no quoting.
func (w *csvRow) header(names []string) {
	w.start()
	for _, n := range names {
		w.text(n)
	}
	w.end()
}
