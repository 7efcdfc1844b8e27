package chschema_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestMigrateIsIdempotent(t *testing.T) {
	dsn := chtest.NewDB(t) // applies every migration once
	conn := chtest.Open(t, dsn)
	ctx := context.Background()
	applied, err := chschema.Migrate(ctx, conn)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", applied)
	}
	v, err := chschema.CurrentVersion(ctx, conn)
	if err != nil || v != chschema.Latest() || v < 1 {
		t.Fatalf("CurrentVersion = %d, %v; want %d", v, err, chschema.Latest())
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&n); err != nil || n != uint64(v) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, v)
	}
	for _, table := range []string{"clients", "apps", "user_departments", "app_usage_reports", "app_activity_bounds"} {
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, %v", table, n, err)
		}
	}
}

func TestCurrentVersionOfEmptyDatabase(t *testing.T) {
	dsn := chtest.Server(t)
	conn := chtest.Open(t, dsn)
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS empty_db"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP DATABASE empty_db")
	v, err := chschema.CurrentVersion(ctx, chtest.Open(t, chtest.WithDatabase(t, dsn, "empty_db")))
	if err != nil || v != 0 {
		t.Fatalf("CurrentVersion of an empty database = %d, %v; want 0", v, err)
	}
}

func TestStatementsFollowServerFeatures(t *testing.T) {
	ms, err := chschema.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations: %v, %d", err, len(ms))
	}
	f := func(version string, wantModern bool) {
		t.Helper()
		feat, err := chschema.ParseVersion(version)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", version, err)
		}
		stmts, err := ms[0].Statements(feat)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(stmts, "\n")
		if got := strings.Contains(all, "CODEC(") && strings.Contains(all, "LowCardinality("); got != wantModern {
			t.Fatalf("%s: modern options present = %v, want %v", version, got, wantModern)
		}
		for _, s := range stmts {
			if strings.Contains(s, ";") || strings.HasPrefix(s, "--") {
				t.Fatalf("%s: statement not split cleanly: %q", version, s)
			}
		}
	}
	f("18.16.1", false)
	f("24.8.4.13", true)
}

func TestParseVersionRejectsGarbage(t *testing.T) {
	for _, v := range []string{"", "abc", "18", "x.y.z"} {
		if _, err := chschema.ParseVersion(v); err == nil {
			t.Errorf("ParseVersion(%q) accepted", v)
		}
	}
}

// TestNameKeyMigrationBackfills takes a database back to version 1 (no
// apps.name_key, apps loaded then) and migrates it: the column appears and
// the old rows get their folded keys (worked out by hand), newer versions
// of themselves.
func TestNameKeyMigrationBackfills(t *testing.T) {
	conn := chtest.Open(t, chtest.NewNodeDB(t))
	ctx := context.Background()
	for _, q := range []string{
		"ALTER TABLE apps DROP COLUMN name_key",
		"DROP TABLE schema_migrations",
		`INSERT INTO apps (client_id, app_id, catalog_app_id, canonical_name, type, vendor_id, vendor_name, vendor_url, category_ids, category_names, is_favorite, is_approved, version)
SELECT toUUID('c0000000-0000-4000-8000-000000000001'), toUUID(concat('a0000000-0000-4000-8000-00000000000', toString(number))), toUUID('ca000000-0000-4000-8000-000000000001'),
    ['ΣΊΣΥΦΟΣ', 'Straße', 'ﬁle'][number + 1], 'desktop', toUUID('f0000000-0000-4000-8000-000000000001'), 'V', 'https://v.example', [], [], 0, 0, 5
FROM system.numbers LIMIT 3`,
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	applied, err := chschema.Migrate(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "0002_app_name_key") {
		t.Fatalf("applied %v, want 0002_app_name_key among them", applied)
	}
	rows, err := conn.Query(ctx, "SELECT canonical_name, name_key, version FROM apps FINAL ORDER BY app_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, key string
		var v uint64
		if err := rows.Scan(&name, &key, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s=%s@%d", name, key, v))
	}
	want := []string{"ΣΊΣΥΦΟΣ=σίσυφοσ@6", "Straße=strasse@6", "ﬁle=file@6"}
	if !slices.Equal(got, want) {
		t.Fatalf("apps after migration: %v, want %v", got, want)
	}
	if applied, err := chschema.Migrate(ctx, conn); err != nil || len(applied) != 0 {
		t.Fatalf("third Migrate applied %v, %v", applied, err)
	}
}
