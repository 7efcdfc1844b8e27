package chtest

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chserver"
)

// ClusterName is the cluster the test shards form.
const ClusterName = "usagelens_test"

var clusterOnce struct {
	sync.Once
	nodes []*chserver.Server
	dir   string
	err   error
}

// ClusterShards is USAGELENS_TEST_CLUSTER: how many shards NewDB spreads
// its databases over, 0 for one server.
func ClusterShards() int {
	n, _ := strconv.Atoi(os.Getenv("USAGELENS_TEST_CLUSTER"))
	return n
}

// Cluster returns the shared test cluster's nodes, starting them on first
// use: private clickhouse-servers on loopback, USAGELENS_TEST_CLUSTER of
// them (two when unset), forming ClusterName. Main stops them.
func Cluster(tb testing.TB) []*chserver.Server {
	tb.Helper()
	clusterOnce.Do(func() {
		n := max(ClusterShards(), 2)
		clusterOnce.dir, clusterOnce.err = os.MkdirTemp("", "usagelens-chcluster-")
		if clusterOnce.err == nil {
			clusterOnce.nodes, clusterOnce.err = chserver.StartCluster(context.Background(), clusterOnce.dir, ClusterName, n)
		}
	})
	if clusterOnce.err != nil {
		tb.Fatalf("no ClickHouse cluster for tests: %v", clusterOnce.err)
	}
	return clusterOnce.nodes
}

func stopCluster() {
	for _, s := range clusterOnce.nodes {
		_ = s.Stop()
	}
	if clusterOnce.dir != "" {
		os.RemoveAll(clusterOnce.dir)
	}
}

// NewClusterDB creates a fresh database on the shared test cluster,
// migrated to the latest schema (local tables on every shard, Distributed
// tables on every node), drops it everywhere when the test ends and
// returns the DSN of the database on the first node.
func NewClusterDB(tb testing.TB) string {
	tb.Helper()
	return NewClusterDBOn(tb, Cluster(tb))
}

// NewPrivateCluster starts a cluster of n shards of the test's own, for
// tests that stop shards, and returns its nodes and the DSN of a fresh
// database on the first node.
func NewPrivateCluster(tb testing.TB, n int) ([]*chserver.Server, string) {
	tb.Helper()
	nodes, err := chserver.StartCluster(context.Background(), tb.TempDir(), ClusterName, n)
	if err != nil {
		tb.Fatalf("cannot start a private cluster: %v", err)
	}
	tb.Cleanup(func() {
		for _, s := range nodes {
			_ = s.Stop()
		}
	})
	return nodes, NewClusterDBOn(tb, nodes)
}

// NewClusterDBOn is NewClusterDB on the cluster nodes form.
func NewClusterDBOn(tb testing.TB, nodes []*chserver.Server) string {
	tb.Helper()
	name := "test_" + randomHex(6)
	dsn := WithDatabase(tb, nodes[0].DSN(), name)
	ctx := context.Background()
	tb.Cleanup(func() {
		for _, n := range nodes {
			conn, err := chschema.Connect(ctx, n.DSN(), 1)
			if err != nil {
				continue // a test may leave a shard down
			}
			for _, db := range []string{name, name + "_shard"} {
				_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
			}
			conn.Close()
		}
	})
	conn := Open(tb, dsn)
	if _, err := chschema.MigrateCluster(ctx, conn, ClusterName); err != nil {
		tb.Fatalf("cannot migrate %s on cluster %s: %v", name, ClusterName, err)
	}
	return dsn
}

// ShardDSNs are the DSNs of the local database behind dsn's cluster
// database on each shard, in shard order.
func ShardDSNs(tb testing.TB, nodes []*chserver.Server, dsn string) []string {
	tb.Helper()
	var out []string
	for _, n := range nodes {
		out = append(out, WithDatabase(tb, n.DSN(), Database(tb, dsn)+"_shard"))
	}
	return out
}

// Database is the database dsn names.
func Database(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("bad DSN %q: %v", dsn, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Optimize merges every part of table (OPTIMIZE … FINAL) in conn's
// database, on every shard of a cluster database.
func Optimize(tb testing.TB, conn driver.Conn, table string) {
	tb.Helper()
	OnShards(tb, conn, "OPTIMIZE TABLE "+table+" FINAL")
}

// OnShards runs stmt in conn's database, or on the local database of every
// shard of a cluster database: OPTIMIZE, TRUNCATE and ALTER do not go
// through a Distributed table.
func OnShards(tb testing.TB, conn driver.Conn, stmt string) {
	tb.Helper()
	ctx := context.Background()
	shards, err := chschema.OpenShards(ctx, conn, 1)
	if err != nil {
		tb.Fatal(err)
	}
	defer shards.Close()
	for i, c := range shards.Conns {
		if err := c.Exec(ctx, stmt); err != nil {
			tb.Fatalf("%s %s: %v", stmt, shards.Names[i], err)
		}
	}
}
