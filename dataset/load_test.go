package dataset_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const (
	c1   = "11111111-1111-1111-1111-111111111111"
	app1 = "aaaaaaaa-0000-0000-0000-000000000001"
	app2 = "aaaaaaaa-0000-0000-0000-000000000002"
	u1   = "00000000-0000-0000-0000-0000000000u1"
)

// writeDir writes a small hand-made dataset directory; usage is the body of
// usage.csv without its header.
func writeDir(t *testing.T, usage string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		dataset.ClientsFile: "client_id,name,timezone\n" + c1 + ",Acme,Europe/Berlin\n",
		dataset.AppsFile: strings.Join(dataset.AppsHeader, ",") + "\n" +
			c1 + "," + app1 + ",cccccccc-0000-0000-0000-000000000001,\"Slack, Pro\",,desktop,dddddddd-0000-0000-0000-000000000001,\"Salesforce, Inc.\",https://salesforce.com,eeeeeeee-0000-0000-0000-000000000001;eeeeeeee-0000-0000-0000-000000000002,Chat;Office,true,false,50,critical\n" +
			c1 + "," + app2 + ",cccccccc-0000-0000-0000-000000000002,=Formula,https://logo,browser,dddddddd-0000-0000-0000-000000000002,Vendor,,,,false,true,,\n",
		dataset.DepartmentsFile: "client_id,user_id,department_id\n" + c1 + ",22222222-0000-0000-0000-000000000001,33333333-0000-0000-0000-000000000001\n",
		dataset.UsageFile:       strings.Join(dataset.UsageHeader, ",") + "\n" + usage,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func usageRow(date, app, user string, ms, sessions string) string {
	return c1 + "," + date + "," + app + "," + user + "," + ms + "," + sessions + "\n"
}

const (
	userA = "22222222-0000-0000-0000-000000000001"
	userB = "22222222-0000-0000-0000-000000000002"
)

func load(t *testing.T, conn driver.Conn, dir string) (dataset.LoadStats, error) {
	t.Helper()
	return dataset.Load(context.Background(), conn, dir, nil)
}

func scalar(t *testing.T, conn driver.Conn, q string) uint64 {
	t.Helper()
	var v uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestLoadPutsExactlyTheRows(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := writeDir(t,
		usageRow("2026-01-31", app1, userA, "1000", "2")+
			usageRow("2026-01-31", app1, userB, "500", "1")+
			usageRow("2026-02-01", app2, userA, "250", "3"))
	st, err := load(t, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.UsageRows != 3 || st.Apps != 2 || st.Clients != 1 || st.DepartmentRows != 1 {
		t.Fatalf("stats = %+v", st)
	}
	check := func(when string) {
		t.Helper()
		if n := scalar(t, conn, "SELECT count() FROM app_usage_reports"); n != 3 {
			t.Fatalf("%s: %d usage rows, want 3", when, n)
		}
		if s := scalar(t, conn, "SELECT sum(total_active_ms) FROM app_usage_reports"); s != 1750 {
			t.Fatalf("%s: sum(total_active_ms) = %d, want 1750", when, s)
		}
		if s := scalar(t, conn, "SELECT sum(total_session_count) FROM app_usage_reports"); s != 6 {
			t.Fatalf("%s: sessions = %d, want 6", when, s)
		}
	}
	check("first load")
	if _, err := load(t, conn, dir); err != nil {
		t.Fatal(err)
	}
	check("second load, before merges")
	chtest.Optimize(t, conn, "app_usage_reports")
	check("after OPTIMIZE FINAL")

	var name, vendor string
	var cats []string
	var lic *uint32
	var risk *string
	err = conn.QueryRow(context.Background(), "SELECT canonical_name, vendor_name, category_names, license_count, risk_level FROM apps FINAL WHERE app_id = toUUID(?)", app1).
		Scan(&name, &vendor, &cats, &lic, &risk)
	if err != nil {
		t.Fatal(err)
	}
	if name != "Slack, Pro" || vendor != "Salesforce, Inc." || strings.Join(cats, "|") != "Chat|Office" || lic == nil || *lic != 50 || risk == nil || *risk != "critical" {
		t.Fatalf("app1 = %q %q %q %v %v", name, vendor, cats, lic, risk)
	}
	if n := scalar(t, conn, "SELECT count() FROM apps FINAL"); n != 2 {
		t.Fatalf("apps after two loads = %d, want 2", n)
	}
	var first, last string
	err = conn.QueryRow(context.Background(), "SELECT toString(minMerge(first_seen)), toString(maxMerge(last_seen)) FROM app_activity_bounds WHERE application_id = toUUID(?)", app1).Scan(&first, &last)
	if err != nil || first != "2026-01-31" || last != "2026-01-31" {
		t.Fatalf("bounds of app1 = %s..%s, %v", first, last, err)
	}
}

func TestLoadReplacesOnlyTheDaysItCarries(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	_, err := load(t, conn, writeDir(t,
		usageRow("2026-01-30", app1, userA, "1000", "1")+
			usageRow("2026-01-31", app1, userA, "2000", "1")+
			usageRow("2026-01-31", app1, userB, "4000", "1")))
	if err != nil {
		t.Fatal(err)
	}
	// A corrected feed for Jan 31 only: userB's row is gone, userA's changed.
	if _, err := load(t, conn, writeDir(t, usageRow("2026-01-31", app1, userA, "3000", "1"))); err != nil {
		t.Fatal(err)
	}
	if s := scalar(t, conn, "SELECT sum(total_active_ms) FROM app_usage_reports"); s != 4000 {
		t.Fatalf("sum after the corrected day = %d, want 1000 + 3000", s)
	}
	if n := scalar(t, conn, "SELECT count() FROM app_usage_reports"); n != 2 {
		t.Fatalf("rows after the corrected day = %d, want 2", n)
	}
}

func TestLoadRejectsABadRowAndLoadsNothing(t *testing.T) {
	f := func(usage, wantErr string) {
		t.Helper()
		conn := chtest.Open(t, chtest.NewDB(t))
		_, err := load(t, conn, writeDir(t, usage))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want it to contain %q", err, wantErr)
		}
		for _, table := range []string{"app_usage_reports", "apps", "clients", "user_departments", "app_activity_bounds",
			"usage_app_days", "usage_app_month_users", "usage_client_month_users", "client_data_versions"} {
			if n := scalar(t, conn, "SELECT count() FROM "+table); n != 0 {
				t.Fatalf("%s has %d rows after a failed load", table, n)
			}
		}
		if n := scalar(t, conn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%\\_load\\_%'"); n != 0 {
			t.Fatalf("a staging table was left behind")
		}
	}
	good := usageRow("2026-01-31", app1, userA, "1000", "2")
	f(good+usageRow("2026-02-30", app1, userA, "1", "1"), "usage.csv:3: activity_date: \"2026-02-30\"")
	f(good+good+usageRow("2026-01-31", app1, userB, "-5", "1"), "usage.csv:4: total_active_ms")
	f(good+c1+",2026-01-31,"+app1+"\n", "usage.csv:3: has 3 fields")
	f(good+usageRow("2026-01-31", "aaaaaaaa-0000-0000-0000-000000000009", userA, "1", "1"), "usage.csv:3: application_id aaaaaaaa-0000-0000-0000-000000000009 is not an app")
	f(good+usageRow("2026-01-31", app1, "not-a-uuid", "1", "1"), "usage.csv:3: user_id")
	f(good+usageRow("2026-01-31", app1, userA, "7", "1"), "occurs 2 times")
}

func TestLoadNamesTheBadLineOfASmallFile(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := writeDir(t, usageRow("2026-01-31", app1, userA, "1000", "2"))
	apps, _ := os.ReadFile(filepath.Join(dir, dataset.AppsFile))
	bad := strings.Replace(string(apps), ",true,false,50,", ",yes,false,50,", 1)
	if err := os.WriteFile(filepath.Join(dir, dataset.AppsFile), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, conn, dir)
	if err == nil || !strings.Contains(err.Error(), "apps.csv:2: is_favorite: \"yes\"") {
		t.Fatalf("error = %v", err)
	}
	if n := scalar(t, conn, "SELECT count() FROM app_usage_reports"); n != 0 {
		t.Fatalf("usage loaded despite a bad apps.csv: %d rows", n)
	}
}

func TestLoadSeededTinyDataset(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := t.TempDir()
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 7, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	seeded := countGzipLines(t, filepath.Join(dir, dataset.UsageGzipFile)) - 1
	if seeded < 1000 {
		t.Fatalf("tiny has %d usage rows, want >= 1000", seeded)
	}
	for i := range 2 {
		st, err := load(t, conn, dir)
		if err != nil {
			t.Fatalf("load %d: %v", i+1, err)
		}
		if st.UsageRows != seeded {
			t.Fatalf("load %d: %d rows, file has %d", i+1, st.UsageRows, seeded)
		}
	}
	chtest.Optimize(t, conn, "app_usage_reports")
	if n := scalar(t, conn, "SELECT count() FROM app_usage_reports"); n != uint64(seeded) {
		t.Fatalf("table has %d rows after two loads and OPTIMIZE FINAL, file has %d", n, seeded)
	}
}

// TestUsersAndPrivacyUpsert: users.csv and clients.csv's privacy column
// load, and a later load of the same keys replaces them; a clients.csv
// without the column means identified.
func TestUsersAndPrivacyUpsert(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := writeDir(t, usageRow("2026-01-31", app1, userA, "1000", "2"))
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		t.Helper()
		var s string
		q := "SELECT concat(ifNull(display_name, 'NULL'), '|', ifNull(email, 'NULL'), '|', name_key, '|', (SELECT privacy FROM client_privacy FINAL WHERE client_id = toUUID(?))) FROM users FINAL WHERE client_id = toUUID(?) AND user_id = toUUID(?)"
		if err := conn.QueryRow(context.Background(), q, c1, c1, userA).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	write(dataset.UsersFile, "client_id,user_id,display_name,email\n"+c1+","+userA+",Zoë Müller,\n")
	if _, err := load(t, conn, dir); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "Zoë Müller|NULL|zoë müller|identified" {
		t.Errorf("first load: %q", got)
	}
	write(dataset.UsersFile, "client_id,user_id,display_name,email\n"+c1+","+userA+",\"Dupont, Jean\",jean@example.com\n")
	write(dataset.ClientsFile, "client_id,name,timezone,privacy\n"+c1+",Acme,UTC,pseudonymous\n")
	if _, err := load(t, conn, dir); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "Dupont, Jean|jean@example.com|dupont, jean|pseudonymous" {
		t.Errorf("after the re-load: %q", got)
	}
	write(dataset.ClientsFile, "client_id,name,timezone,privacy\n"+c1+",Acme,UTC,secret\n")
	if _, err := load(t, conn, dir); err == nil || !strings.Contains(err.Error(), "clients.csv:2: privacy") {
		t.Errorf("an unknown privacy mode: %v", err)
	}
}
