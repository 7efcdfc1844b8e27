package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/fold"
	"github.com/usagelens/usagelens/query"
)

// UserView reads how the client's users may be shown: its privacy mode,
// with the store's pseudonym key when pseudonymous. (Users adds the app
// names its top apps need.)
func (s *Store) UserView(ctx context.Context, clientID string) (*query.UserView, error) {
	modes, err := s.column(ctx, "privacy", query.Statement{SQL: "SELECT privacy FROM client_privacy FINAL WHERE client_id = toUUID(@client)",
		Args: []any{clickhouse.Named("client", clientID)}})
	if err != nil {
		return nil, err
	}
	v := &query.UserView{ClientID: uuid.MustParse(clientID)}
	if len(modes) > 0 && modes[0] == "pseudonymous" {
		if len(s.PseudonymKey) == 0 {
			return nil, fmt.Errorf("client %s is pseudonymous but no pseudonym key is configured", clientID)
		}
		v.PseudonymKey = s.PseudonymKey
	}
	return v, nil
}

// appNames reads the client's app names by app id.
func (s *Store) appNames(ctx context.Context, clientID string) (map[string]string, error) {
	rows, err := s.query(ctx, "app_names", query.Statement{SQL: "SELECT toString(app_id), canonical_name FROM apps FINAL WHERE client_id = toUUID(@client)",
		Args: []any{clickhouse.Named("client", clientID)}})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[string]string{}
	var id, name string
	for rows.Next() {
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("cannot scan app name: %w", err)
		}
		names[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return names, rows.Close()
}

// UserRows yields user usage rows as the driver reads them.
type UserRows struct {
	*Rows
	scan *query.UserScan
	err  error
	cur  *query.UserRow
}

// Users starts the query of r for view: a pseudonymous q is first
// resolved to the users in scope whose pseudonym holds it.
func (s *Store) Users(ctx context.Context, r *query.UserUsage, view *query.UserView) (*UserRows, error) {
	var err error
	if view.AppNames, err = s.appNames(ctx, r.ClientID); err != nil {
		return nil, err
	}
	if view.Pseudonymous() && r.Q != "" {
		ids, err := s.column(ctx, "scope_users", query.ScopeUsersSQL(r))
		if err != nil {
			return nil, err
		}
		q := fold.Key(r.Q)
		r.Only = []string{uuid.Nil.String()} // no user has it: a q matching none keeps the filter
		for _, id := range ids {
			if strings.Contains(view.UserID(id), q) {
				r.Only = append(r.Only, id)
			}
		}
	}
	kind := "users"
	if r.PageSize == 0 {
		kind = "users_export"
	}
	rows, err := s.query(ctx, kind, query.UserUsageSQL(r))
	if err != nil {
		return nil, err
	}
	return &UserRows{Rows: rows, scan: query.NewUserScan(view)}, nil
}

// Next scans the next row; false at the end or on error (see Err).
func (u *UserRows) Next() bool {
	if u.err != nil || !u.Rows.Next() {
		return false
	}
	if err := u.Rows.Scan(u.scan.Dest()...); err != nil {
		u.err = fmt.Errorf("cannot scan user usage row: %w", err)
		return false
	}
	u.cur = u.scan.Row()
	return true
}

// Row is the current row, valid until the next call to Next.
func (u *UserRows) Row() *query.UserRow { return u.cur }

// Err is the first error of scanning or of the query's execution.
func (u *UserRows) Err() error {
	if u.err != nil {
		return translate(u.err)
	}
	return u.Rows.Err()
}

// UsersPage answers one JSON page.
func (s *Store) UsersPage(ctx context.Context, r *query.UserUsage, view *query.UserView, asOf *string) (*api.UserUsagePage, error) {
	var total uint64
	ctx = clickhouse.Context(ctx, clickhouse.WithProfileInfo(func(p *clickhouse.ProfileInfo) {
		total = max(total, p.RowsBeforeLimit)
	}))
	rows, err := s.Users(ctx, r, view)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	pager := query.NewUserPager(r)
	for rows.Next() {
		pager.Add(rows.Row())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return pager.Page(total, asOf), rows.Close()
}
