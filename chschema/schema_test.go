package chschema_test

import (
	"context"
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
