package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
)

// SeriesRows yields a series result group by group as the driver reads
// it, into one reused destination.
type SeriesRows struct {
	*Rows
	scan *query.SeriesScan
	err  error
	cur  *query.SeriesRow
}

// Series starts the query of r (its CSV, or a page).
func (s *Store) Series(ctx context.Context, r *query.Series) (*SeriesRows, error) {
	kind := "series"
	if r.CSV {
		kind = "series_export"
	}
	rows, err := s.query(ctx, kind, query.SeriesSQL(r, query.SeriesSourceFor(r, s.Rollups)))
	if err != nil {
		return nil, err
	}
	return &SeriesRows{Rows: rows, scan: query.NewSeriesScan(r)}, nil
}

// Next scans the next group; false at the end or on error (see Err).
func (u *SeriesRows) Next() bool {
	if u.err != nil || !u.Rows.Next() {
		return false
	}
	if err := u.Rows.Scan(u.scan.Dest()...); err != nil {
		u.err = fmt.Errorf("cannot scan series row: %w", err)
		return false
	}
	u.cur = u.scan.Row()
	return true
}

// Row is the current group, valid until the next call to Next.
func (u *SeriesRows) Row() *query.SeriesRow { return u.cur }

// Err is the first error of scanning or of the query's execution.
func (u *SeriesRows) Err() error {
	if u.err != nil {
		return translate(u.err)
	}
	return u.Rows.Err()
}

// SeriesPage answers one JSON page; total_count as UtilizationPage has it.
func (s *Store) SeriesPage(ctx context.Context, r *query.Series, asOf *string) (*api.SeriesPage, error) {
	var total uint64
	ctx = clickhouse.Context(ctx, clickhouse.WithProfileInfo(func(p *clickhouse.ProfileInfo) {
		total = max(total, p.RowsBeforeLimit)
	}))
	rows, err := s.Series(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	pager := query.NewSeriesPager(r)
	for rows.Next() {
		pager.Add(rows.Row())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return pager.Page(total, asOf), rows.Close()
}
