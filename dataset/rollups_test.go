package dataset_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

const (
	c2    = "11111111-2222-2222-2222-222222222222"
	app21 = "aaaaaaaa-0000-0000-0000-000000000021"
)

// twoClients writes a dataset of c1 (writeDir's) and c2 with usage given
// as full usage.csv lines (client first).
func twoClients(t *testing.T, usage ...string) string {
	t.Helper()
	dir := writeDir(t, strings.Join(usage, ""))
	files := map[string]string{
		dataset.ClientsFile: "client_id,name,timezone\n" + c1 + ",Acme,UTC\n" + c2 + ",Beta,UTC\n",
		dataset.AppsFile: strings.Join(dataset.AppsHeader, ",") + "\n" +
			c1 + "," + app1 + ",cccccccc-0000-0000-0000-000000000001,Slack,,desktop,dddddddd-0000-0000-0000-000000000001,V,,,,false,false,,\n" +
			c2 + "," + app21 + ",cccccccc-0000-0000-0000-000000000021,Zoom,,desktop,dddddddd-0000-0000-0000-000000000001,V,,,,false,false,,\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func row(client, date, app, user, ms, sessions string) string {
	return client + "," + date + "," + app + "," + user + "," + ms + "," + sessions + "\n"
}

// rollupState reads every rollup as text, finalised, in key order.
func rollupState(t *testing.T, conn driver.Conn) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT concat(toString(client_id), ' ', toString(activity_date), ' ', toString(application_id), ' ', toString(active_ms), ' ', toString(sessions), ' ', toString(user_days)) AS r FROM usage_app_days ORDER BY r",
		"SELECT concat(toString(client_id), ' ', toString(month), ' ', toString(application_id), ' users ', toString(count())) AS r FROM usage_app_month_users GROUP BY client_id, month, application_id ORDER BY r",
		"SELECT concat(toString(client_id), ' ', toString(month), ' client users ', toString(count())) AS r FROM usage_client_month_users GROUP BY client_id, month ORDER BY r",
	} {
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

// TestRollupsFollowEachLoad: rollups by hand after a load, after a
// re-load of one client's day (the other client's rollups kept through the
// swap), and equal to what migrations 4 and 6 build from the usage rows
// alone.
func TestRollupsFollowEachLoad(t *testing.T) {
	conn := chtest.Open(t, chtest.NewNodeDB(t)) // it re-runs single-node migrations
	_, err := load(t, conn, twoClients(t,
		row(c1, "2026-01-30", app1, userA, "100", "1"),
		row(c1, "2026-01-30", app1, userB, "200", "2"),
		row(c1, "2026-01-31", app1, userA, "300", "3"),
		row(c1, "2026-02-01", app1, userA, "5", "1"),
		row(c2, "2026-01-15", app21, userA, "7", "1")))
	if err != nil {
		t.Fatal(err)
	}
	want := c1 + " 2026-01-30 " + app1 + " 300 3 2\n" +
		c1 + " 2026-01-31 " + app1 + " 300 3 1\n" +
		c1 + " 2026-02-01 " + app1 + " 5 1 1\n" +
		c2 + " 2026-01-15 " + app21 + " 7 1 1\n" +
		c1 + " 2026-01-01 " + app1 + " users 2\n" +
		c1 + " 2026-02-01 " + app1 + " users 1\n" +
		c2 + " 2026-01-01 " + app21 + " users 1\n" +
		c1 + " 2026-01-01 client users 2\n" +
		c1 + " 2026-02-01 client users 1\n" +
		c2 + " 2026-01-01 client users 1\n"
	if got := rollupState(t, conn); got != want {
		t.Fatalf("after the first load:\n%s\nwant\n%s", got, want)
	}
	// Re-load January 30 of c1 with user B only: January's other day and
	// c2's January stay as they were.
	dir := t.TempDir()
	body := strings.Join(dataset.UsageHeader, ",") + "\n" + row(c1, "2026-01-30", app1, userB, "50", "5")
	if err := os.WriteFile(filepath.Join(dir, dataset.UsageFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	stats, err := load(t, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rollups <= 0 || stats.Rollups > stats.Elapsed {
		t.Errorf("rollup time %v of %v", stats.Rollups, stats.Elapsed)
	}
	want = strings.Replace(want, c1+" 2026-01-30 "+app1+" 300 3 2\n", c1+" 2026-01-30 "+app1+" 50 5 1\n", 1)
	got := rollupState(t, conn)
	if got != want { // users still 2 in January: A on the 31st, B on the 30th
		t.Fatalf("after re-loading a day:\n%s\nwant\n%s", got, want)
	}
	// Migrations 4 and 6 rebuild the same rollups from usage rows alone.
	for _, r := range chschema.Rollups {
		if err := conn.Exec(context.Background(), "TRUNCATE TABLE "+r.Table); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Exec(context.Background(), "ALTER TABLE schema_migrations DELETE WHERE version IN (4, 6)"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); scalar(t, conn, "SELECT count() FROM schema_migrations WHERE version IN (4, 6)") > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the mutation forgetting migrations 4 and 6 did not finish in 10s")
		}
	}
	if applied, err := chschema.Migrate(context.Background(), conn); err != nil || len(applied) != 2 {
		t.Fatalf("migrate again: %v %v", applied, err)
	}
	if again := rollupState(t, conn); again != got {
		t.Fatalf("migrations 4 and 6 built:\n%s\nthe loader:\n%s", again, got)
	}
}

// TestAFailedLoadChangesNoVersionNorRollup: a load refused after its rows
// were staged (a duplicate key) leaves rollups and data versions as they
// were, and a good load bumps the versions of exactly its clients.
func TestAFailedLoadChangesNoVersionNorRollup(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	if _, err := load(t, conn, twoClients(t, row(c1, "2026-01-30", app1, userA, "100", "1"), row(c2, "2026-01-15", app21, userA, "7", "1"))); err != nil {
		t.Fatal(err)
	}
	versions := func() string {
		var s string
		q := "SELECT arrayStringConcat(groupArray(concat(toString(client_id), '=', toString(v))), ',') FROM (SELECT client_id, max(version) AS v FROM client_data_versions GROUP BY client_id ORDER BY client_id)"
		if err := conn.QueryRow(context.Background(), q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before, rollups := versions(), rollupState(t, conn)
	dup := row(c1, "2026-01-30", app1, userB, "1", "1")
	if _, err := load(t, conn, writeDir(t, dup+dup)); err == nil || !strings.Contains(err.Error(), "occurs 2 times") {
		t.Fatalf("duplicate rows: %v", err)
	}
	if versions() != before || rollupState(t, conn) != rollups {
		t.Fatalf("a failed load changed versions (%s, was %s) or rollups", versions(), before)
	}
	dir := t.TempDir()
	body := strings.Join(dataset.UsageHeader, ",") + "\n" + row(c2, "2026-01-16", app21, userA, "1", "1")
	if err := os.WriteFile(filepath.Join(dir, dataset.UsageFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, conn, dir); err != nil {
		t.Fatal(err)
	}
	b, a := strings.Split(before, ","), strings.Split(versions(), ",")
	if len(a) != 2 || a[0] != b[0] || a[1] == b[1] || !strings.HasPrefix(a[1], c2+"=") {
		t.Fatalf("versions %v after a load of %s alone, were %v", a, c2, b)
	}
}
