package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
)

// UtilizationPage answers one JSON page. total_count is the server's
// rows_before_limit: the cursor sorts rows after it first instead of
// filtering, so that count covers every matching app on every page.
func (s *Store) UtilizationPage(ctx context.Context, r *query.Utilization) (*query.Page, error) {
	var total uint64
	ctx = clickhouse.Context(ctx, clickhouse.WithProfileInfo(func(p *clickhouse.ProfileInfo) {
		total = max(total, p.RowsBeforeLimit)
	}))
	rows, err := s.Utilization(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	pager := query.NewPager(r)
	for rows.Next() {
		pager.Add(rows.row())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return pager.Page(total), rows.Close()
}

// UtilizationRows yields a utilization result row by row as the driver
// reads it, into one reused destination.
type UtilizationRows struct {
	*Rows
	scan *query.UtilizationScan
	err  error
	cur  *query.UtilizationRow
}

// Utilization starts the query of r (the export's, or a page's); errors
// the server reports before the first row come back here, before anything
// is written to the client.
func (s *Store) Utilization(ctx context.Context, r *query.Utilization) (*UtilizationRows, error) {
	kind := "utilization"
	if r.PageSize == 0 {
		kind = "export"
	}
	rows, err := s.query(ctx, kind, query.UtilizationSQL(r, query.SourceFor(r, s.Rollups)))
	if err != nil {
		return nil, err
	}
	return &UtilizationRows{Rows: rows, scan: query.NewUtilizationScan(r)}, nil
}

// Next scans the next row; false at the end or on error (see Err).
func (u *UtilizationRows) Next() bool {
	if u.err != nil || !u.Rows.Next() {
		return false
	}
	if err := u.Rows.Scan(u.scan.Dest()...); err != nil {
		u.err = fmt.Errorf("cannot scan utilization row: %w", err)
		return false
	}
	u.cur = u.scan.Row()
	return true
}

func (u *UtilizationRows) row() *query.UtilizationRow { return u.cur }

// Row is the current row, valid until the next call to Next.
func (u *UtilizationRows) Row() *api.AppUtilization { return &u.cur.AppUtilization }

// Err is the first error of scanning or of the query's execution.
func (u *UtilizationRows) Err() error {
	if u.err != nil {
		return translate(u.err)
	}
	return u.Rows.Err()
}

// UsageRows yields the rows of a usage export with their names resolved.
type UsageRows struct {
	*Rows
	scan *query.UsageScan
}

// Usage reads the client's app names and departments, then starts the
// export's query of bare rows.
func (s *Store) Usage(ctx context.Context, r *query.UsageExport) (*UsageRows, error) {
	names := &query.UsageNames{}
	var err error
	if names.Users, err = s.UserView(ctx, r.ClientID); err != nil {
		return nil, err
	}
	if names.Apps, err = s.idNames(ctx, "usage_app_names", query.UsageAppNamesSQL(r)); err != nil {
		return nil, err
	}
	if names.Departments, err = s.idNames(ctx, "usage_departments", query.UsageDepartmentsSQL(r)); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, "usage_export", query.UsageExportSQL(r))
	if err != nil {
		return nil, err
	}
	return &UsageRows{Rows: rows, scan: query.NewUsageScan(names)}, nil
}

// Scan reads the current row; CSV then writes it.
func (u *UsageRows) Scan() error {
	if err := u.Rows.Scan(u.scan.Dest()...); err != nil {
		return fmt.Errorf("cannot scan usage row: %w", err)
	}
	return nil
}

// Date is the current row's day.
func (u *UsageRows) Date() time.Time { return u.scan.Date() }

// Header writes the CSV header.
func (u *UsageRows) Header(w query.Cells) { u.scan.Header(w) }

// CSV writes the current row.
func (u *UsageRows) CSV(w query.Cells) { u.scan.CSV(w) }

// idNames reads a (UUID, text) lookup into a map of CSV cells.
func (s *Store) idNames(ctx context.Context, kind string, st query.Statement) (map[uuid.UUID]query.Cached, error) {
	rows, err := s.query(ctx, kind, st)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]query.Cached{}
	var id uuid.UUID
	var name string
	for rows.Next() {
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("cannot scan %s row: %w", kind, err)
		}
		out[id] = query.Cell(name)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}
