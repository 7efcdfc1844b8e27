package query

import (
	"time"

	"github.com/google/uuid"
)

// Cells is what an export's column tables write a record into, cell by
// cell, by type: CSVRow writes CSV text; a spreadsheet writer writes
// typed cells (text as text, numbers as numbers, days as dates).
type Cells interface {
	Start()
	End()
	Header(names []string)
	Text(s string)
	OptText(s *string)
	// Cached writes a cell encoded once (see Cell).
	Cached(c Cached)
	Empty()
	Uint(n uint64)
	OptUint(n *uint64)
	OptFloat(f *float64)
	// Decimal writes a number already formatted as a decimal.
	Decimal(s string)
	Bool(b bool)
	Date(t time.Time)
	// Day writes a day given as YYYY-MM-DD.
	Day(s string)
	ID(u uuid.UUID)
}

// Cached is a cell that repeats from row to row, encoded once: its CSV
// bytes, and its value (a string or a time.Time day) for typed writers.
type Cached struct {
	CSV   []byte
	Value any
}

// Cell is s as a Cached text cell.
func Cell(s string) Cached {
	w := CSVRow{first: true}
	w.Text(s)
	return Cached{CSV: w.buf, Value: s}
}
