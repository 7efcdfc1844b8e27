package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

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

// Series starts the query of r (its CSV, or a page). For a pseudonymous
// client, user_ids are pseudonyms: they are resolved against the users
// with usage in the period, and users are shown by their pseudonyms.
func (s *Store) Series(ctx context.Context, r *query.Series) (*SeriesRows, error) {
	var view *query.UserView
	var err error
	if r.GroupBy == "user" || len(r.UserIDs) > 0 { // only then are users shown or named
		if view, err = s.UserView(ctx, r.ClientID); err != nil {
			return nil, err
		}
	}
	if view.Pseudonymous() && len(r.UserIDs) > 0 {
		if r.RawUserIDs, err = s.rawUsers(ctx, r, view); err != nil {
			return nil, err
		}
	}
	kind := "series"
	if r.CSV {
		kind = "series_export"
	}
	rows, err := s.query(ctx, kind, query.SeriesSQL(r, query.SeriesSourceFor(r, s.Rollups)))
	if err != nil {
		return nil, err
	}
	return &SeriesRows{Rows: rows, scan: query.NewSeriesScan(r, view)}, nil
}

// rawUsers are the users of r's period whose pseudonyms r.UserIDs names;
// the nil UUID, which no user has, when none does, so the filter still
// holds.
func (s *Store) rawUsers(ctx context.Context, r *query.Series, view *query.UserView) ([]string, error) {
	ids, err := s.column(ctx, "scope_users", query.ScopeUsersSQL(&query.UserUsage{ClientID: r.ClientID, Period: r.Period}))
	if err != nil {
		return nil, err
	}
	raw := []string{uuid.Nil.String()}
	for _, id := range ids {
		if slices.Contains(r.UserIDs, view.UserID(id)) {
			raw = append(raw, id)
		}
	}
	return raw, nil
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
