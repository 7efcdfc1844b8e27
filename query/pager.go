package query

import "strings"

// keyset is the paging every JSON table shares: its statement sorts the
// rows after the cursor first (so rows_before_limit counts them all) and
// returns one row more than a page; the rows before the cursor only count,
// the row after a full page makes the next cursor, sealed with cursorKey
// when the table's ids may be users'.
type keyset[T any] struct {
	pageSize, limit int
	fingerprint     string
	cursorKey       []byte
	rows            []T
	next            *string
	lastKey, lastID string // of the last row on the page
	returned        int
}

func newKeyset[T any](pageSize, limit int, fingerprint string, cursorKey []byte) keyset[T] {
	return keyset[T]{pageSize: pageSize, limit: limit, fingerprint: fingerprint, cursorKey: cursorKey, rows: make([]T, 0, pageSize)}
}

// add takes the next row, with its sort key and id, and whether it sorts
// after the request's cursor.
func (p *keyset[T]) add(row T, sortKey, id string, afterCursor bool) {
	p.returned++
	if !afterCursor {
		return
	}
	if len(p.rows) == p.pageSize {
		if p.next == nil {
			next := Cursor{Key: p.lastKey, ID: p.lastID, Fingerprint: p.fingerprint}.Seal(p.cursorKey)
			p.next = &next
		}
		return
	}
	p.rows = append(p.rows, row)
	p.lastKey, p.lastID = sortKey, id
}

// total is total_count, given the server's rows_before_limit: with fewer
// rows than the limit every row came back, and some servers then report
// no rows_before_limit.
func (p *keyset[T]) total(rowsBeforeLimit uint64) uint64 {
	if p.returned < p.limit {
		return uint64(p.returned)
	}
	return rowsBeforeLimit
}

// selectList is a column table's SELECT list.
func selectList[C any](cols []C, sql func(C) string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = sql(c)
	}
	return strings.Join(out, ",\n    ")
}
