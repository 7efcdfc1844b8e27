// Command usagelens is the usagelens service and its tools: serve, migrate,
// seed, load, token and bench.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: usagelens <command> [flags]

commands:
  serve    run the HTTP API (starts a local ClickHouse when no DSN is given)
  migrate  apply the ClickHouse schema
  seed     write a deterministic demo/benchmark dataset directory
  load     validate and load a dataset directory into ClickHouse
  token    print a bearer token for one client
  bench    load a dataset, replay traffic and measure it against anchors

Run 'usagelens <command> -h' for a command's flags. Every flag can also be
set in the environment as USAGELENS_<FLAG> (dashes as underscores); the
DSN also as CLICKHOUSE_DSN.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"serve": runServe, "migrate": runMigrate, "seed": runSeed, "load": runLoad, "token": runToken,
		"bench": runBench,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "usagelens %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
