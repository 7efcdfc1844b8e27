package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/usagelens/usagelens/bench"
	"github.com/usagelens/usagelens/dataset"
)

var benchAnchors = []string{"sql", "nethttp", "export", "rss", "rollups", "cache", "wrk", "users", "jobs", "xlsx"}

func runBench(args []string) error {
	fs := newFlags("bench")
	var c bench.Config
	fs.StringVar(&c.DatasetDir, "dataset", "", "dataset directory to load (with --scale: generated there unless it holds one)")
	scale := fs.String("scale", "", "generate a dataset of this scale: tiny | small | medium | large")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the generated dataset")
	fs.StringVar(&c.RequestsFile, "requests", "", "request log to replay (default: the dataset's requests.txt)")
	fs.StringVar(&c.Mix, "mix", "", "log | dashboard | both | zipf (default: both when a request log exists, else dashboard)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "concurrent replay workers")
	fs.DurationVar(&c.Duration, "duration", time.Minute, "how long the replay runs")
	out := fs.String("out", "", "write the report as JSON to this file")
	fs.StringVar(&c.DSN, "clickhouse-dsn", "", "ClickHouse to use (default: start a private clickhouse-server, stopped afterwards)")
	fs.StringVar(&c.ClickHouseHTTP, "clickhouse-http", "", "that ClickHouse's HTTP interface (default: the DSN's host, port 8123)")
	fs.IntVar(&c.Shards, "shards", 1, "with no --clickhouse-dsn: start a private cluster of this many shards (one clickhouse-server each, on this machine) and spread the dataset over it; 1: one server")
	fs.BoolVar(&c.SkipLoad, "skip-load", false, "do not load the dataset: the DSN's database already holds it")
	fs.StringVar(&c.WorkDir, "work-dir", "", "keep generated data, private servers and logs here (default: a temporary directory, removed)")
	fs.IntVar(&c.AnchorRuns, "anchor-runs", 5, "timed repetitions per anchor measurement (figures are medians)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (service and client) for the whole run to this file")
	anchors := fs.String("anchors", strings.Join(benchAnchors, ","), "anchors to measure: any of "+strings.Join(benchAnchors, ", ")+", or none")
	fs.Int64Var(&c.CacheBytes, "cache-bytes", 256<<20, "the service's response cache bound in bytes, as serve's --cache-bytes; 0: no cache")
	fs.BoolVar(&c.Rollups, "rollups", true, "the service answers from the rollups where they are exact, as serve's --rollups")
	variants := fs.String("replay-variants", "", "also replay the same traffic against fresh services: nocache (no response cache), raw (no cache, no rollups), comma-separated")
	fs.DurationVar(&c.WrkDuration, "wrk-duration", 20*time.Second, "length of each wrk run of the wrk anchor")
	fs.BoolVar(&c.Postgres, "postgres", false, "also run the PostgreSQL reference: a private cluster loaded by bench/pg/setup.sh")
	fs.StringVar(&c.PostgresDSN, "postgres-dsn", "", "PostgreSQL already loaded by bench/pg/setup.sh (implies the PostgreSQL anchor)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if c.DatasetDir == "" && *scale == "" {
		return badUsage(fs, "give --dataset DIR or --scale S")
	}
	if *scale != "" {
		sc, err := dataset.ParseScale(*scale)
		if err != nil {
			return badUsage(fs, "--scale: %v", err)
		}
		c.Scale = sc
	}
	for _, a := range strings.Split(*anchors, ",") {
		switch a = strings.TrimSpace(a); {
		case a == "none" || a == "":
		case slices.Contains(benchAnchors, a):
		default:
			return badUsage(fs, "--anchors: %q is not one of %s or none", a, strings.Join(benchAnchors, ", "))
		}
	}
	on := func(name string) bool { return slices.Contains(strings.Split(*anchors, ","), name) }
	c.RawSQL, c.NetHTTP, c.Export, c.RSS = on("sql"), on("nethttp"), on("export"), on("rss")
	c.RollupSQL, c.CacheHit, c.Wrk, c.Users, c.Jobs, c.XLSX = on("rollups"), on("cache"), on("wrk"), on("users"), on("jobs"), on("xlsx")
	for _, v := range strings.Split(*variants, ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.Variants = append(c.Variants, v)
		}
	}
	c.Progress = os.Stderr

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cannot create --cpuprofile %s: %w", *cpuProfile, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cannot start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, c)
	if err != nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("cannot create --out %s: %w", *out, err)
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return fmt.Errorf("cannot write --out %s: %w", *out, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("cannot write --out %s: %w", *out, err)
		}
		fmt.Fprintf(os.Stderr, "report written to %s\n", *out)
	}
	return nil
}
