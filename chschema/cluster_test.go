package chschema_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/chserver"
)

// The tables every cluster database routes: every table of the schema
// but schema_migrations, by hand from the migrations.
var routedTables = []string{
	"app_activity_bounds", "app_usage_reports", "apps", "client_data_versions", "client_privacy", "clients",
	"export_jobs", "usage_app_days", "usage_app_month_users", "usage_client_month_users", "user_departments", "users",
}

func TestMigrateClusterRoutesEveryTableOnEveryNode(t *testing.T) {
	nodes := chtest.Cluster(t)
	dsn := chtest.NewClusterDB(t)
	ctx := context.Background()
	shardDSNs := chtest.ShardDSNs(t, nodes, dsn)
	for i, n := range nodes {
		node := chtest.Open(t, chtest.WithDatabase(t, n.DSN(), chtest.Database(t, dsn)))
		got, err := chschema.StringColumn(ctx, node, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'Distributed' ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, routedTables) {
			t.Errorf("node %d routes %v, want %v", i+1, got, routedTables)
		}
		v, err := chschema.CurrentVersion(ctx, node)
		if err != nil || v != chschema.Latest() {
			t.Errorf("node %d: cluster database at version %d (%v), want %d", i+1, v, err, chschema.Latest())
		}
		v, err = chschema.CurrentVersion(ctx, chtest.Open(t, shardDSNs[i]))
		if err != nil || v != chschema.Latest() {
			t.Errorf("shard %d: local database at version %d (%v), want %d", i+1, v, err, chschema.Latest())
		}
	}
	conn := chtest.Open(t, dsn)
	applied, err := chschema.MigrateCluster(ctx, conn, chtest.ClusterName)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second MigrateCluster: applied %v, %v; want nothing", applied, err)
	}
	// Migrate, as serve runs it, finds the cluster itself.
	applied, err = chschema.Migrate(ctx, conn)
	if err != nil || len(applied) != 0 {
		t.Fatalf("Migrate of a cluster database: applied %v, %v; want nothing", applied, err)
	}
}

func TestMigrateClusterRefusesWhatItCannotServe(t *testing.T) {
	chtest.Cluster(t)
	ctx := context.Background()
	name := "single_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	single := chtest.Open(t, chtest.WithDatabase(t, chtest.Cluster(t)[0].DSN(), name))
	defer single.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	if _, err := chschema.Migrate(ctx, single); err != nil {
		t.Fatal(err)
	}
	_, err := chschema.MigrateCluster(ctx, single, chtest.ClusterName)
	if err == nil || !contains(err, "single-node schema") {
		t.Errorf("MigrateCluster over a single-node database: %v", err)
	}
	_, err = chschema.MigrateCluster(ctx, single, "no_such_cluster")
	if err == nil || !contains(err, "cluster no_such_cluster is not in the remote_servers") {
		t.Errorf("an unknown cluster: %v", err)
	}
	_, err = chschema.MigrateCluster(ctx, single, "x; DROP TABLE apps")
	if err == nil || !contains(err, `invalid cluster name "x; DROP TABLE apps"`) {
		t.Errorf("a cluster name that is not an identifier: %v", err)
	}
}

// TestOwnerIsWhereDistributedPutsARow inserts rows for 400 clients
// through a Distributed table and finds each on the shard Owner names.
// On the shared cluster of two shards, on one of three, and on two
// shards of weights 1 and 3.
func TestOwnerIsWhereDistributedPutsARow(t *testing.T) {
	t.Run("two shards", func(t *testing.T) { checkOwner(t, chtest.Cluster(t), chtest.NewClusterDB(t)) })
	t.Run("three shards", func(t *testing.T) {
		nodes, dsn := chtest.NewPrivateCluster(t, 3)
		checkOwner(t, nodes, dsn)
	})
	t.Run("weights 1 and 3", func(t *testing.T) {
		nodes, err := chserver.StartWeightedCluster(context.Background(), t.TempDir(), chtest.ClusterName, []int{1, 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, n := range nodes {
				_ = n.Stop()
			}
		})
		checkOwner(t, nodes, chtest.NewClusterDBOn(t, nodes))
	})
}

func checkOwner(t *testing.T, nodes []*chserver.Server, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn := chtest.Open(t, dsn)
	layout, err := chschema.Layout(ctx, conn)
	if err != nil || layout == nil {
		t.Fatalf("Layout = %v, %v", layout, err)
	}
	want := map[string]int{}
	var ids []string
	for i := range 400 {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i))).String()
		ids = append(ids, id)
		want[id] = layout.Owner(uuid.MustParse(id))
	}
	if err := conn.Exec(ctx, "INSERT INTO client_data_versions (client_id, version) SELECT arrayJoin(arrayMap(x -> toUUID(x), ?)), 1", ids); err != nil {
		t.Fatal(err)
	}
	perShard := make([]int, len(nodes))
	for i, shardDSN := range chtest.ShardDSNs(t, nodes, dsn) {
		got, err := chschema.StringColumn(ctx, chtest.Open(t, shardDSN), "SELECT toString(client_id) FROM client_data_versions")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range got {
			if want[id] != i {
				t.Errorf("client %s is on shard %d, Owner says %d", id, i+1, want[id]+1)
			}
			perShard[i]++
		}
	}
	total := 0
	for i, n := range perShard {
		total += n
		// 400 clients: even the lightest shard gets some.
		if n < 400/len(nodes)/4 {
			t.Errorf("shard %d holds %d of 400 clients", i+1, n)
		}
	}
	if total != 400 {
		t.Errorf("the shards hold %d rows, want 400", total)
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
