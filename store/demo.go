package store

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/query"
)

// DemoIDs are ids of one client to try the filters with, the most used
// first, and the other clients a token can be minted for. A slice is empty
// when the client has none.
type DemoIDs struct {
	CategoryIDs   []string // up to two
	VendorIDs     []string // up to one
	DepartmentIDs []string // up to one
	OtherClients  []string
}

// DemoIDs reads the ids the demo prints for client.
func (s *Store) DemoIDs(ctx context.Context, client string) (DemoIDs, error) {
	c := clickhouse.Named("client", client)
	var d DemoIDs
	for _, q := range []struct {
		dest *[]string
		st   query.Statement
	}{
		{&d.CategoryIDs, query.Statement{SQL: "SELECT toString(category_id) FROM (SELECT category_ids FROM apps FINAL WHERE client_id = toUUID(@client)) ARRAY JOIN category_ids AS category_id GROUP BY category_id ORDER BY count() DESC, category_id LIMIT 2", Args: []any{c}}},
		{&d.VendorIDs, query.Statement{SQL: "SELECT toString(vendor_id) FROM apps FINAL WHERE client_id = toUUID(@client) GROUP BY vendor_id ORDER BY count() DESC, vendor_id LIMIT 1", Args: []any{c}}},
		{&d.DepartmentIDs, query.Statement{SQL: "SELECT toString(department_id) FROM user_departments FINAL WHERE client_id = toUUID(@client) GROUP BY department_id ORDER BY count() DESC, department_id LIMIT 1", Args: []any{c}}},
		{&d.OtherClients, query.Statement{SQL: "SELECT toString(client_id) FROM clients FINAL WHERE client_id != toUUID(@client) ORDER BY client_id", Args: []any{c}}},
	} {
		ids, err := s.column(ctx, "demo_ids", q.st)
		if err != nil {
			return DemoIDs{}, err
		}
		*q.dest = ids
	}
	return d, nil
}

// column reads a one-column String result whole.
func (s *Store) column(ctx context.Context, kind string, st query.Statement) ([]string, error) {
	rows, err := s.query(ctx, kind, st)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}
