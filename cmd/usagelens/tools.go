package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/dataset"
)

func runMigrate(args []string) error {
	fs := newFlags("migrate")
	dsn := fs.String("clickhouse-dsn", "", "ClickHouse native DSN, e.g. clickhouse://default:@127.0.0.1:9000/default (required)")
	var cluster string
	clusterFlag(fs, &cluster)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return badUsage(fs, "--clickhouse-dsn (or CLICKHOUSE_DSN) is required")
	}
	ctx := context.Background()
	conn, err := chschema.Connect(ctx, *dsn, 2)
	if err != nil {
		return err
	}
	defer conn.Close()
	applied, err := migrate(ctx, conn, cluster)
	if err != nil {
		return err
	}
	fmt.Printf("schema at version %d (applied now: %d %v)\n", chschema.Latest(), len(applied), applied)
	return nil
}

// clusterFlag is --clickhouse-cluster of a command that migrates.
func clusterFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "clickhouse-cluster", "", "spread the DSN's database over this cluster of the server's remote_servers: local tables on every shard, Distributed tables on every node (docs/cluster.md); empty: one node, or the cluster the database already is on")
}

// migrate brings conn's database to the latest schema, on cluster when
// one is named (a database already on a cluster is migrated on it).
func migrate(ctx context.Context, conn driver.Conn, cluster string) ([]string, error) {
	if cluster != "" {
		return chschema.MigrateCluster(ctx, conn, cluster)
	}
	return chschema.Migrate(ctx, conn)
}

func runSeed(args []string) error {
	fs := newFlags("seed")
	out := fs.String("out", "", "dataset directory to write (required)")
	scale := fs.String("scale", "small", "tiny | small | medium | large")
	seed := fs.Uint64("seed", 1, "random seed; the same seed and scale give the same files")
	gz := fs.Bool("gzip", false, "write usage.csv.gz instead of usage.csv")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return badUsage(fs, "--out is required")
	}
	sc, err := dataset.ParseScale(*scale)
	if err != nil {
		return badUsage(fs, "--scale: %v", err)
	}
	st, err := dataset.Generate(*out, dataset.SeedOptions{Scale: sc, Seed: *seed, Gzip: *gz, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d clients, %d apps, %d users, %d usage rows\n", *out, st.Clients, st.Apps, st.Users, st.UsageRows)
	return nil
}

func runLoad(args []string) error {
	fs := newFlags("load")
	dsn := fs.String("clickhouse-dsn", "", "ClickHouse native DSN (required)")
	var cluster string
	clusterFlag(fs, &cluster)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return badUsage(fs, "--clickhouse-dsn (or CLICKHOUSE_DSN) is required")
	}
	ctx := context.Background()
	conn, err := chschema.Connect(ctx, *dsn, 4)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := migrate(ctx, conn, cluster); err != nil {
		return err
	}
	st, err := dataset.Load(ctx, conn, fs.Arg(0), os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %s: %d clients, %d apps, %d department rows, %d usage rows in %s (%.0f usage rows/s; rollups %s of it)\n",
		fs.Arg(0), st.Clients, st.Apps, st.DepartmentRows, st.UsageRows, st.Elapsed.Round(time.Millisecond),
		float64(st.UsageRows)/st.Elapsed.Seconds(), st.Rollups.Round(time.Millisecond))
	return nil
}

func runToken(args []string) error {
	fs := newFlags("token")
	client := fs.String("client", "", "client id (UUID) the token is scoped to (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	keyFile := fs.String("token-key-file", "", "file holding the signing key (else USAGELENS_TOKEN_KEY)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *client == "" {
		return badUsage(fs, "--client is required")
	}
	key, err := auth.LoadKey(os.Getenv("USAGELENS_TOKEN_KEY"), *keyFile)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(key, *client, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
