package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/fold"
)

// dims are the small tables of a dataset directory, held in memory while
// the usage file streams, so that nothing is written before all is valid.
type dims struct {
	clients []client
	apps    []app
	members []member
	users   []user
}

type client struct {
	id                      uuid.UUID
	name, timezone, privacy string
}

type user struct {
	clientID, id uuid.UUID
	name, email  *string
}

type app struct {
	clientID, id, catalogID, vendorID uuid.UUID
	name, typ, vendorName, vendorURL  string
	logo, riskLevel                   *string
	categoryIDs                       []uuid.UUID
	categoryNames                     []string
	favorite, approved                uint8
	licenses                          *uint32
}

type member struct{ clientID, userID, departmentID uuid.UUID }

// appKey identifies a client's app in the referential checks.
type appKey [32]byte

func keyOf(clientID, appID uuid.UUID) (k appKey) {
	copy(k[:16], clientID[:])
	copy(k[16:], appID[:])
	return k
}

func readDims(dir string) (*dims, error) {
	d := &dims{}
	err := errors.Join(
		optional(readCSVFile(dir, ClientsFile, ClientsHeader, 1, d.addClient)),
		optional(readCSVFile(dir, AppsFile, AppsHeader, 0, d.addApp)),
		optional(readCSVFile(dir, DepartmentsFile, DepartmentsHeader, 0, d.addMember)),
		optional(readCSVFile(dir, UsersFile, UsersHeader, 0, d.addUser)),
	)
	return d, err
}

func optional(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d *dims) addClient(_ int, rec []string) error {
	c := cells{rec: rec, header: ClientsHeader}
	privacy := PrivacyIdentified
	if p := c.oneOf(3, PrivacyIdentified, PrivacyPseudonymous); p != nil {
		privacy = *p
	}
	d.clients = append(d.clients, client{id: c.uuid(0), name: c.text(1), timezone: c.timezone(2), privacy: privacy})
	return c.err
}

func (d *dims) addUser(_ int, rec []string) error {
	c := cells{rec: rec, header: UsersHeader}
	d.users = append(d.users, user{clientID: c.uuid(0), id: c.uuid(1), name: c.optText(2), email: c.optText(3)})
	return c.err
}

func (d *dims) addApp(_ int, rec []string) error {
	c := cells{rec: rec, header: AppsHeader}
	a := app{
		clientID: c.uuid(0), id: c.uuid(1), catalogID: c.uuid(2), name: c.text(3), logo: c.optText(4),
		typ: c.text(5), vendorID: c.uuid(6), vendorName: c.text(7), vendorURL: rec[8],
		favorite: c.boolean(11), approved: c.boolean(12), licenses: c.optUint32(13),
		riskLevel: c.oneOf(14, "critical", "medium", "low"),
	}
	a.categoryIDs, a.categoryNames = categories(&c, 9, 10)
	d.apps = append(d.apps, a)
	return c.err
}

// categories reads the two aligned list cells of an app's categories.
func categories(c *cells, idCol, nameCol int) ([]uuid.UUID, []string) {
	ids, names := splitList(c.rec[idCol]), splitList(c.rec[nameCol])
	if len(ids) != len(names) {
		c.fail(nameCol, "has %d names for %d category ids", len(names), len(ids))
		return nil, nil
	}
	out := make([]uuid.UUID, len(ids))
	for i, s := range ids {
		u, err := parseUUID(strings.TrimSpace(s))
		if err != nil {
			c.fail(idCol, "item %q is not a UUID", s)
		}
		out[i] = u
		names[i] = strings.TrimSpace(names[i])
	}
	return out, names
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ListSep)
}

func (d *dims) addMember(_ int, rec []string) error {
	c := cells{rec: rec, header: DepartmentsHeader}
	d.members = append(d.members, member{c.uuid(0), c.uuid(1), c.uuid(2)})
	return c.err
}

// knownApps is every client app a usage row may refer to: those of this
// directory and those already in the database.
func (d *dims) knownApps(ctx context.Context, conn driver.Conn) (map[appKey]struct{}, error) {
	known := make(map[appKey]struct{}, len(d.apps))
	for _, a := range d.apps {
		known[keyOf(a.clientID, a.id)] = struct{}{}
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT client_id, app_id FROM apps")
	if err != nil {
		return nil, fmt.Errorf("cannot read known apps: %w", err)
	}
	defer rows.Close()
	var c, a uuid.UUID
	for rows.Next() {
		if err := rows.Scan(&c, &a); err != nil {
			return nil, err
		}
		known[keyOf(c, a)] = struct{}{}
	}
	return known, rows.Err()
}

// clientIDs are the clients any dimension row belongs to.
func (d *dims) clientIDs() []string {
	var ids []string
	for _, c := range d.clients {
		ids = append(ids, c.id.String())
	}
	for _, a := range d.apps {
		ids = append(ids, a.clientID.String())
	}
	for _, m := range d.members {
		ids = append(ids, m.clientID.String())
	}
	for _, u := range d.users {
		ids = append(ids, u.clientID.String())
	}
	return union(ids, nil)
}

// insert writes the dimension rows. version orders re-loads: the
// ReplacingMergeTree keeps the newest row per key.
func (d *dims) insert(ctx context.Context, conn driver.Conn, version uint64) error {
	err := insertRows(ctx, conn, "INSERT INTO clients (client_id, name, timezone, version)", len(d.clients), func(b driver.Batch, i int) error {
		c := d.clients[i]
		return b.Append(c.id, c.name, c.timezone, version)
	})
	if err != nil {
		return err
	}
	err = insertRows(ctx, conn, "INSERT INTO client_privacy (client_id, privacy, version)", len(d.clients), func(b driver.Batch, i int) error {
		c := d.clients[i]
		return b.Append(c.id, c.privacy, version)
	})
	if err != nil {
		return err
	}
	err = insertRows(ctx, conn, "INSERT INTO users (client_id, user_id, display_name, email, name_key, email_key, version)", len(d.users), func(b driver.Batch, i int) error {
		u := d.users[i]
		return b.Append(u.clientID, u.id, u.name, u.email, foldOpt(u.name), foldOpt(u.email), version)
	})
	if err != nil {
		return err
	}
	err = insertRows(ctx, conn, "INSERT INTO apps (client_id, app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url, category_ids, category_names, is_favorite, is_approved, license_count, risk_level, version)", len(d.apps), func(b driver.Batch, i int) error {
		a := d.apps[i]
		return b.Append(a.clientID, a.id, a.catalogID, a.name, fold.Key(a.name), a.logo, a.typ, a.vendorID, a.vendorName, a.vendorURL,
			a.categoryIDs, a.categoryNames, a.favorite, a.approved, a.licenses, a.riskLevel, version)
	})
	if err != nil {
		return err
	}
	return insertRows(ctx, conn, "INSERT INTO user_departments (client_id, user_id, department_id, version)", len(d.members), func(b driver.Batch, i int) error {
		m := d.members[i]
		return b.Append(m.clientID, m.userID, m.departmentID, version)
	})
}

// foldOpt is the folded key of an optional text, "" for null.
func foldOpt(s *string) string {
	if s == nil {
		return ""
	}
	return fold.Key(*s)
}

func insertRows(ctx context.Context, conn driver.Conn, insert string, n int, row func(driver.Batch, int) error) error {
	if n == 0 {
		return nil
	}
	b, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("cannot prepare %s: %w", insert, err)
	}
	defer b.Abort()
	for i := range n {
		if err := row(b, i); err != nil {
			return fmt.Errorf("cannot append to %s: %w", insert, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("cannot send %s: %w", insert, err)
	}
	return nil
}

// only is the rows of the clients keep accepts.
func (d *dims) only(keep func(client uuid.UUID) bool) *dims {
	return &dims{
		clients: filter(d.clients, func(c client) uuid.UUID { return c.id }, keep),
		apps:    filter(d.apps, func(a app) uuid.UUID { return a.clientID }, keep),
		members: filter(d.members, func(m member) uuid.UUID { return m.clientID }, keep),
		users:   filter(d.users, func(u user) uuid.UUID { return u.clientID }, keep),
	}
}

func filter[T any](rows []T, clientOf func(T) uuid.UUID, keep func(uuid.UUID) bool) []T {
	var out []T
	for _, r := range rows {
		if keep(clientOf(r)) {
			out = append(out, r)
		}
	}
	return out
}
