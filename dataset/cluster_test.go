package dataset_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// dbState is every table a load writes, one line per client and table:
// row counts and sums of row hashes, dimension rows without their load
// version, activity bounds merged. (18.16 refuses FINAL without the
// version column selected: hence SELECT * under it.) Two databases with equal states hold
// the same rows.
func dbState(t *testing.T, conn driver.Conn) string {
	t.Helper()
	hash := func(cols ...string) string {
		for i, c := range cols {
			cols[i] = "toString(" + c + ")"
		}
		return "sum(cityHash64(concat(" + strings.Join(cols, ", '|', ") + ")))"
	}
	var b strings.Builder
	for _, q := range []string{
		"SELECT concat('usage ', toString(client_id), ' ', toString(count()), ' ', toString(" + hash("activity_date", "application_id", "user_id", "total_active_ms", "total_session_count") + ")) AS r FROM app_usage_reports GROUP BY client_id ORDER BY r",
		"SELECT concat('clients ', toString(client_id), ' ', name, ' ', timezone) AS r FROM (SELECT * FROM clients FINAL) ORDER BY r",
		"SELECT concat('privacy ', toString(client_id), ' ', privacy) AS r FROM (SELECT * FROM client_privacy FINAL) ORDER BY r",
		"SELECT concat('apps ', toString(client_id), ' ', toString(count()), ' ', toString(" + hash("app_id", "catalog_app_id", "canonical_name", "name_key", "ifNull(logo, '-')", "type", "vendor_id", "vendor_name", "vendor_url", "category_ids", "category_names", "is_favorite", "is_approved", "ifNull(toString(license_count), '-')", "ifNull(risk_level, '-')") + ")) AS r FROM (SELECT * FROM apps FINAL) GROUP BY client_id ORDER BY r",
		"SELECT concat('users ', toString(client_id), ' ', toString(count()), ' ', toString(" + hash("user_id", "ifNull(display_name, '-')", "ifNull(email, '-')", "name_key", "email_key") + ")) AS r FROM (SELECT * FROM users FINAL) GROUP BY client_id ORDER BY r",
		"SELECT concat('departments ', toString(client_id), ' ', toString(count()), ' ', toString(" + hash("user_id", "department_id") + ")) AS r FROM (SELECT * FROM user_departments FINAL) GROUP BY client_id ORDER BY r",
		"SELECT concat('bounds ', toString(client_id), ' ', toString(count()), ' ', toString(" + hash("application_id", "f", "l") + ")) AS r FROM (SELECT client_id, application_id, minMerge(first_seen) AS f, maxMerge(last_seen) AS l FROM app_activity_bounds GROUP BY client_id, application_id) GROUP BY client_id ORDER BY r",
		"SELECT concat('versioned ', toString(client_id)) AS r FROM client_data_versions GROUP BY client_id ORDER BY r",
	} {
		rows, err := chschema.StringColumn(context.Background(), conn, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		b.WriteString(strings.Join(rows, "\n") + "\n")
	}
	return b.String() + rollupState(t, conn)
}

// versions is every client's data version, as text.
func versions(t *testing.T, conn driver.Conn) string {
	t.Helper()
	rows, err := chschema.StringColumn(context.Background(), conn, "SELECT concat(toString(client_id), ' ', toString(max(version))) AS r FROM client_data_versions GROUP BY client_id ORDER BY r")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows, "\n")
}

func generate(t *testing.T, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkPlacement fails unless every client's rows in every table are on
// the one shard that owns it, and every shard owns a client.
func checkPlacement(t *testing.T, conn driver.Conn, shardDSNs []string) {
	t.Helper()
	ctx := context.Background()
	layout, err := chschema.Layout(ctx, conn)
	if err != nil || layout == nil {
		t.Fatalf("Layout: %v, %v", layout, err)
	}
	for i, dsn := range shardDSNs {
		local := chtest.Open(t, dsn)
		ids, err := chschema.StringColumn(ctx, local, `SELECT DISTINCT toString(client_id) FROM (
			SELECT client_id FROM app_usage_reports UNION ALL SELECT client_id FROM clients UNION ALL SELECT client_id FROM apps
			UNION ALL SELECT client_id FROM users UNION ALL SELECT client_id FROM user_departments UNION ALL SELECT client_id FROM app_activity_bounds
			UNION ALL SELECT client_id FROM usage_app_days UNION ALL SELECT client_id FROM usage_app_month_users
			UNION ALL SELECT client_id FROM usage_client_month_users UNION ALL SELECT client_id FROM client_data_versions)`)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			t.Errorf("shard %d holds no client: the dataset does not test the split", i+1)
		}
		for _, id := range ids {
			if o := layout.Owner(uuid.MustParse(id)); o != i {
				t.Errorf("client %s has rows on shard %d; it belongs on shard %d", id, i+1, o+1)
			}
		}
	}
}

// TestClusterLoadHoldsWhatOneNodeHolds loads a seed into one node and,
// twice, into a cluster of two shards: the cluster holds the same rows,
// each client on its own shard, before and after merges.
func TestClusterLoadHoldsWhatOneNodeHolds(t *testing.T) {
	ctx := context.Background()
	dir := generate(t, 11)
	node := chtest.Open(t, chtest.NewNodeDB(t))
	if _, err := dataset.Load(ctx, node, dir, nil); err != nil {
		t.Fatal(err)
	}
	want := dbState(t, node)
	nodes := chtest.Cluster(t)
	dsn := chtest.NewClusterDB(t)
	conn := chtest.Open(t, dsn)
	for i := range 2 {
		st, err := dataset.Load(ctx, conn, dir, nil)
		if err != nil {
			t.Fatalf("load %d: %v", i+1, err)
		}
		if st.UsageRows == 0 {
			t.Fatal("the seed has no usage rows")
		}
		if got := dbState(t, conn); got != want {
			t.Fatalf("after load %d the cluster holds\n%s\none node holds\n%s", i+1, got, want)
		}
	}
	for _, table := range []string{"app_usage_reports", "apps", "users", "usage_app_days", "usage_app_month_users"} {
		chtest.Optimize(t, conn, table)
	}
	if got := dbState(t, conn); got != want {
		t.Fatalf("after OPTIMIZE the cluster holds\n%s\none node holds\n%s", got, want)
	}
	checkPlacement(t, conn, chtest.ShardDSNs(t, nodes, dsn))
}

// TestClusterLoadWithAShardLostChangesNothing: a load whose second shard
// dies once the usage rows are staged fails naming that shard and
// changes nothing on the first (rows and data versions). Loading again
// once the shard is back gives what one node holds after the same loads.
func TestClusterLoadWithAShardLostChangesNothing(t *testing.T) {
	ctx := context.Background()
	first, second := generate(t, 11), generate(t, 12)
	node := chtest.Open(t, chtest.NewNodeDB(t))
	for _, dir := range []string{first, second} {
		if _, err := dataset.Load(ctx, node, dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := dbState(t, node)

	nodes, dsn := chtest.NewPrivateCluster(t, 2)
	conn := chtest.Open(t, dsn)
	if _, err := dataset.Load(ctx, conn, first, nil); err != nil {
		t.Fatal(err)
	}
	shard1 := chtest.Open(t, chtest.ShardDSNs(t, nodes, dsn)[0])
	before, beforeVersions := dbState(t, shard1), versions(t, shard1)

	// The meter's last line comes once every row is staged, before any
	// month is swapped.
	var killed atomic.Bool
	progress := writerFunc(func(p []byte) {
		if !killed.Load() && strings.HasPrefix(string(p), "usage:") {
			killed.Store(true)
			nodes[1].Kill()
		}
	})
	_, err := dataset.Load(ctx, conn, second, progress)
	if !killed.Load() {
		t.Fatal("the load reported no progress, so no shard was killed")
	}
	if err == nil || !strings.Contains(err.Error(), "shard 2 (127.0.0.1:") {
		t.Fatalf("the load with shard 2 killed: %v; want an error naming shard 2", err)
	}
	if got := dbState(t, shard1); got != before {
		t.Errorf("the failed load changed shard 1:\n%s\nwas\n%s", got, before)
	}
	if got := versions(t, shard1); got != beforeVersions {
		t.Errorf("the failed load bumped shard 1's versions:\n%s\nwere\n%s", got, beforeVersions)
	}

	if err := nodes[1].Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, second, nil); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if got := dbState(t, conn); got != want {
		t.Fatalf("after the retry the cluster holds\n%s\none node holds\n%s", got, want)
	}
	checkPlacement(t, conn, chtest.ShardDSNs(t, nodes, dsn))
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
