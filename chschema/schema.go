// Package chschema holds usagelens' ClickHouse schema as embedded, numbered
// migrations and applies them in order, once each, recording every applied
// version in the schema_migrations table.
package chschema

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one numbered schema step: SQL text, or, for a step SQL
// cannot express on every server version, a Go function.
type Migration struct {
	Version int
	Name    string
	text    string
	run     func(context.Context, driver.Conn) error
}

// goMigrations are the steps written in Go.
var goMigrations = []Migration{
	{Version: 2, Name: "0002_app_name_key", run: addNameKey},
	{Version: 4, Name: "0004_rollup_backfill", run: firstRollups},
	{Version: 6, Name: "0006_user_rollup_backfill", run: backfill("usage_app_month_users", "usage_client_month_users")},
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []Migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with NNNN_", base)
		}
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, text: string(b)})
	}
	ms = append(ms, goMigrations...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Latest is the version the embedded migrations bring a database to.
func Latest() int {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Statements renders m for a server with the given features and splits it
// into single statements (ClickHouse takes one per query). A Go step has
// none.
func (m Migration) Statements(f Features) ([]string, error) {
	if m.run != nil {
		return nil, nil
	}
	t, err := template.New(m.Name).Funcs(f.funcs()).Parse(m.text)
	if err != nil {
		return nil, fmt.Errorf("cannot parse migration %s: %w", m.Name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("cannot render migration %s: %w", m.Name, err)
	}
	var out []string
	for _, s := range strings.Split(buf.String(), ";\n") {
		if s = stripComments(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func stripComments(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			keep = append(keep, line)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
) ENGINE = MergeTree ORDER BY version`

// Migrate applies every embedded migration the database has not recorded
// yet. Statements are idempotent, so a run cut short is safely repeated.
// A cluster database is migrated on its cluster (MigrateCluster).
func Migrate(ctx context.Context, conn driver.Conn) (applied []string, err error) {
	c, err := Layout(ctx, conn)
	if err != nil {
		return nil, err
	}
	if c != nil {
		return MigrateCluster(ctx, conn, c.Name)
	}
	return migrateNode(ctx, conn)
}

func migrateNode(ctx context.Context, conn driver.Conn) (applied []string, err error) {
	f, err := Detect(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("cannot create schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if err := apply(ctx, conn, m, f); err != nil {
			return applied, err
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

func apply(ctx context.Context, conn driver.Conn, m Migration, f Features) error {
	if m.run != nil {
		if err := m.run(ctx, conn); err != nil {
			return fmt.Errorf("cannot apply migration %s: %w", m.Name, err)
		}
		return record(ctx, conn, m)
	}
	stmts, err := m.Statements(f)
	if err != nil {
		return err
	}
	for i, s := range stmts {
		if err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("cannot apply migration %s, statement %d: %w", m.Name, i+1, err)
		}
	}
	return record(ctx, conn, m)
}

func record(ctx context.Context, conn driver.Conn, m Migration) error {
	// INSERT ... SELECT: an INSERT ... VALUES with bound arguments makes the
	// native protocol wait for data blocks that never come.
	err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) SELECT toUInt32(?), ?, now()",
		m.Version, m.Name)
	if err != nil {
		return fmt.Errorf("cannot record migration %s: %w", m.Name, err)
	}
	return nil
}

func appliedVersions(ctx context.Context, conn driver.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("cannot read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	var v uint32
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[int(v)] = true
	}
	return done, rows.Err()
}

// CurrentVersion is the highest applied version, 0 for an empty database.
func CurrentVersion(ctx context.Context, conn driver.Conn) (int, error) {
	var exists uint8
	err := conn.QueryRow(ctx, "SELECT count() > 0 FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'").Scan(&exists)
	if err != nil {
		return 0, fmt.Errorf("cannot look for schema_migrations: %w", err)
	}
	if exists == 0 {
		return 0, nil
	}
	var v uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("cannot read schema version: %w", err)
	}
	return int(v), nil
}
