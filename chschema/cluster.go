package chschema

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/go-faster/city"
	"github.com/google/uuid"
)

// A cluster database is the database the DSN names, on every node of the
// cluster, holding one Distributed table per table of the schema; the
// tables themselves live in ShardDB on every shard. The API's SQL is the
// same on a single node and on a cluster: it reads the tables of the DSN's
// database, Distributed or not. What differs sits here: migrations and
// loads run on each shard's local tables (partition swaps cannot go
// through a Distributed table), with rows placed where the sharding key
// puts them.

// ShardKey is the sharding expression of every Distributed table: a
// client's rows live on one shard, so per-client joins and distinct counts
// are exact on that shard. The UUID is hashed as text: cityHash64 of a
// UUID fails on INSERT in 18.16 and hashes differently in current
// releases, while the text's hash is the same everywhere.
const ShardKey = "cityHash64(toString(client_id))"

// layoutTable records, in a cluster database on every node, which cluster
// and local database its Distributed tables route to.
const layoutTable = "cluster_layout"

// Cluster is the layout of a cluster database.
type Cluster struct {
	Name    string
	ShardDB string
	Shards  []Shard
	// opts are the connection options of the database the layout was
	// read through; shards are reached with its user and password.
	opts *clickhouse.Options
}

// Shard is one shard of a cluster, as system.clusters lists it.
type Shard struct {
	Num    uint32
	Weight uint32
	// Addr is the native-protocol address of its one replica.
	Addr string
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkIdentifier refuses a name that would need quoting in DDL.
func checkIdentifier(what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("invalid %s %q: use letters, digits and underscores, not starting with a digit", what, name)
	}
	return nil
}

// ReadCluster reads the shards of the cluster name from the remote_servers
// of the server conn is connected to. A shard with more than one replica
// is refused: usagelens creates unreplicated tables, whose replicas would
// drift apart (docs/cluster.md says what replication needs).
func ReadCluster(ctx context.Context, conn driver.Conn, name string) (*Cluster, error) {
	if err := checkIdentifier("cluster name", name); err != nil {
		return nil, err
	}
	opts, err := optionsOf(conn)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, "SELECT shard_num, shard_weight, replica_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", name)
	if err != nil {
		return nil, fmt.Errorf("cannot read cluster %s from system.clusters: %w", name, err)
	}
	defer rows.Close()
	c := &Cluster{Name: name, opts: opts}
	for rows.Next() {
		var num, weight, replica uint32
		var host string
		var port uint16
		if err := rows.Scan(&num, &weight, &replica, &host, &port); err != nil {
			return nil, err
		}
		if replica > 1 {
			return nil, fmt.Errorf("cluster %s: shard %d has more than one replica; usagelens creates unreplicated tables, so give each shard one replica (see docs/cluster.md on replication)", name, num)
		}
		c.Shards = append(c.Shards, Shard{Num: num, Weight: weight, Addr: fmt.Sprintf("%s:%d", host, port)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(c.Shards) == 0 {
		return nil, fmt.Errorf("cluster %s is not in the remote_servers of the ClickHouse at %s (system.clusters has no such cluster)", name, addrs(opts))
	}
	if c.totalWeight() == 0 {
		return nil, fmt.Errorf("cluster %s: every shard has weight 0", name)
	}
	return c, nil
}

// Layout is the cluster conn's database is spread over, or nil for a
// single-node database.
func Layout(ctx context.Context, conn driver.Conn) (*Cluster, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?", layoutTable).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("cannot look for %s: %w", layoutTable, err)
	}
	if n == 0 {
		return nil, nil
	}
	var name, shardDB string
	if err := conn.QueryRow(ctx, "SELECT cluster, shard_database FROM "+layoutTable+" LIMIT 1").Scan(&name, &shardDB); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", layoutTable, err)
	}
	c, err := ReadCluster(ctx, conn, name)
	if err != nil {
		return nil, err
	}
	c.ShardDB = shardDB
	if err := checkProductMode(ctx, conn, c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkProductMode refuses a cluster database whose user does not have
// distributed_product_mode = local: with the default (deny) every
// statement with a subquery over a Distributed table fails, and with
// global each subquery is sent to every shard. local keeps a subquery
// on the shard, where all of a client's rows are.
func checkProductMode(ctx context.Context, conn driver.Conn, c *Cluster) error {
	var mode string
	if err := conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'distributed_product_mode'").Scan(&mode); err != nil {
		return fmt.Errorf("cannot read distributed_product_mode: %w", err)
	}
	if mode != "local" {
		return fmt.Errorf("cluster %s: user %q has distributed_product_mode = %s; set it to local in that user's profile on every node (docs/cluster.md)", c.Name, c.opts.Auth.Username, mode)
	}
	return nil
}

func (c *Cluster) totalWeight() uint64 {
	var w uint64
	for _, s := range c.Shards {
		w += uint64(s.Weight)
	}
	return w
}

// Owner is the index in Shards of the shard that holds client's rows: the
// one a Distributed table sends them to, ShardKey modulo the sum of the
// weights, the slots given out in shard order. city.CH64 is the CityHash
// version ClickHouse's cityHash64 implements.
func (c *Cluster) Owner(client uuid.UUID) int {
	slot := city.CH64([]byte(client.String())) % c.totalWeight()
	for i, s := range c.Shards {
		if slot < uint64(s.Weight) {
			return i
		}
		slot -= uint64(s.Weight)
	}
	panic("unreachable: slot beyond the total weight")
}

// open connects to the local database of shard i, creating it if needed.
func (c *Cluster) open(ctx context.Context, i int, maxConns int) (driver.Conn, error) {
	return c.connect(ctx, c.Shards[i].Addr, c.ShardDB, maxConns)
}

func (c *Cluster) connect(ctx context.Context, addr, db string, maxConns int) (driver.Conn, error) {
	opts := *c.opts
	opts.Addr = []string{addr}
	opts.Auth.Database = db
	conn, err := connectWith(ctx, &opts, maxConns)
	if err != nil {
		return nil, fmt.Errorf("cluster %s, shard at %s: %w", c.Name, addr, err)
	}
	return conn, nil
}

// Shards are the connections a load writes through: the database itself
// on a single node, the local database of each shard on a cluster.
type Shards struct {
	Conns []driver.Conn
	// Names say which shard an error is about ("" on a single node).
	Names   []string
	cluster *Cluster
	owners  map[uuid.UUID]int
}

// OpenShards opens a connection to every shard of conn's database, or
// returns conn itself for a single node. Close them with Close.
func OpenShards(ctx context.Context, conn driver.Conn, maxConns int) (*Shards, error) {
	c, err := Layout(ctx, conn)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return &Shards{Conns: []driver.Conn{conn}, Names: []string{""}}, nil
	}
	s := &Shards{cluster: c, owners: map[uuid.UUID]int{}}
	for i, sh := range c.Shards {
		sc, err := c.open(ctx, i, maxConns)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Conns = append(s.Conns, sc)
		s.Names = append(s.Names, fmt.Sprintf("shard %d (%s)", sh.Num, sh.Addr))
	}
	return s, nil
}

// Owner is the index of the connection that holds client's rows.
func (s *Shards) Owner(client uuid.UUID) int {
	if s.cluster == nil {
		return 0
	}
	i, ok := s.owners[client]
	if !ok {
		i = s.cluster.Owner(client)
		s.owners[client] = i
	}
	return i
}

// Close closes the shards' connections, not a single node's.
func (s *Shards) Close() {
	if s.cluster == nil {
		return
	}
	for _, c := range s.Conns {
		c.Close()
	}
}

// MigrateCluster brings the database conn is connected to, on the cluster
// name, to the latest schema: the migrations run on the local database
// <db>_shard of every shard (ON CLUSTER needs ZooKeeper), then every node
// gets a Distributed table over each local table, recreated when the
// local table's columns changed, and records the versions applied on
// every shard. A run cut short is safely repeated.
func MigrateCluster(ctx context.Context, conn driver.Conn, name string) (applied []string, err error) {
	c, err := ReadCluster(ctx, conn, name)
	if err != nil {
		return nil, err
	}
	db := c.opts.Auth.Database
	if db == "" {
		if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
			return nil, fmt.Errorf("cannot read the current database: %w", err)
		}
	}
	c.ShardDB = db + "_shard"
	if err := checkIdentifier("database name", c.ShardDB); err != nil {
		return nil, err
	}
	if err := checkProductMode(ctx, conn, c); err != nil {
		return nil, err
	}
	if err := c.checkLayout(ctx, conn); err != nil {
		return nil, err
	}
	for i := range c.Shards {
		a, err := c.migrateShard(ctx, i)
		if err != nil {
			return applied, err
		}
		applied = union(applied, a)
	}
	for _, sh := range c.Shards {
		if err := c.routeNode(ctx, sh.Addr, db); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// checkLayout refuses a database that is a single-node one already, or
// spread over another cluster.
func (c *Cluster) checkLayout(ctx context.Context, conn driver.Conn) error {
	have, err := Layout(ctx, conn)
	if err != nil {
		return err
	}
	if have != nil {
		if have.Name != c.Name || have.ShardDB != c.ShardDB {
			return fmt.Errorf("this database is spread over cluster %s (local tables in %s), not %s", have.Name, have.ShardDB, c.Name)
		}
		return nil
	}
	v, err := CurrentVersion(ctx, conn)
	if err != nil {
		return err
	}
	if v > 0 {
		return fmt.Errorf("this database holds a single-node schema (version %d); a cluster needs a database of its own: name a new one in the DSN", v)
	}
	return nil
}

func (c *Cluster) migrateShard(ctx context.Context, i int) ([]string, error) {
	sc, err := c.open(ctx, i, 2)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	applied, err := migrateNode(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("cluster %s, shard %d (%s): %w", c.Name, c.Shards[i].Num, c.Shards[i].Addr, err)
	}
	return applied, nil
}

// routeNode makes the cluster database on the node at addr match the
// local tables there: a Distributed table per table, the layout, and the
// migrations the shard recorded.
func (c *Cluster) routeNode(ctx context.Context, addr, db string) error {
	nc, err := c.connect(ctx, addr, db, 2)
	if err != nil {
		return err
	}
	defer nc.Close()
	fail := func(err error) error { return fmt.Errorf("cluster %s, node %s: %w", c.Name, addr, err) }
	local, err := tableColumns(ctx, nc, c.ShardDB, "engine LIKE '%MergeTree' AND name != 'schema_migrations' AND position(name, ?) = 0", stagingMark)
	if err != nil {
		return fail(err)
	}
	routed, err := tableColumns(ctx, nc, db, "engine = 'Distributed'")
	if err != nil {
		return fail(err)
	}
	for t, cols := range local {
		if have, ok := routed[t]; ok && have == cols {
			continue
		}
		stmts := []string{
			"DROP TABLE IF EXISTS " + t,
			fmt.Sprintf("CREATE TABLE %s AS %s.%s ENGINE = Distributed(%s, %s, %s, %s)", t, c.ShardDB, t, c.Name, c.ShardDB, t, ShardKey),
		}
		for _, s := range stmts {
			if err := nc.Exec(ctx, s); err != nil {
				return fail(fmt.Errorf("cannot route %s: %w", t, err))
			}
		}
	}
	for t := range routed {
		if _, ok := local[t]; !ok {
			if err := nc.Exec(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
				return fail(fmt.Errorf("cannot drop the routing of %s: %w", t, err))
			}
		}
	}
	if err := c.recordLayout(ctx, nc); err != nil {
		return fail(err)
	}
	return nil
}

// recordLayout writes the layout row once and copies the migrations the
// node's shard recorded into the cluster database's own table, which
// Ready and CurrentVersion read.
func (c *Cluster) recordLayout(ctx context.Context, nc driver.Conn) error {
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS " + layoutTable + " (cluster String, shard_database String) ENGINE = TinyLog",
		createMigrationsTable,
	}
	for _, s := range stmts {
		if err := nc.Exec(ctx, s); err != nil {
			return err
		}
	}
	var n uint64
	if err := nc.QueryRow(ctx, "SELECT count() FROM "+layoutTable).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if err := nc.Exec(ctx, "INSERT INTO "+layoutTable+" (cluster, shard_database) SELECT ?, ?", c.Name, c.ShardDB); err != nil {
			return err
		}
	}
	return nc.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) SELECT version, name, applied_at FROM "+c.ShardDB+
		".schema_migrations WHERE version NOT IN (SELECT version FROM schema_migrations)")
}

// tableColumns maps each table of db that matches where (SQL over
// system.tables, binding args) to its sorted columns
// as one text, to tell a changed table from an unchanged one.
func tableColumns(ctx context.Context, conn driver.Conn, db, where string, args ...any) (map[string]string, error) {
	q := "SELECT table, arrayStringConcat(arraySort(groupArray(concat(name, ' ', type))), ', ') FROM system.columns " +
		"WHERE database = ? AND table IN (SELECT name FROM system.tables WHERE database = ? AND " + where + ") GROUP BY table"
	rows, err := conn.Query(ctx, q, append([]any{db, db}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot list the tables of %s: %w", db, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var t, cols string
		if err := rows.Scan(&t, &cols); err != nil {
			return nil, err
		}
		out[t] = cols
	}
	return out, rows.Err()
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// stagingMark is in the name of every staging table of loads and
// migrations (StagingTable); they are not routed.
const stagingMark = "__stage_"

// StagingTable is the name of a private copy of table, tagged tag.
func StagingTable(table, tag string) string { return table + stagingMark + tag }
