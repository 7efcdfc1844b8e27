// Command usagelens is the usagelens service and its tools: serve, migrate,
// seed, load, token and bench.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// command describes one subcommand for help and argument checking; the
// functions that run them are wired in main.
type command struct {
	name, summary string
	// args is the synopsis of the positional arguments ("DIR"), argHelp
	// documents each; nargs is how many the command takes.
	args, argHelp string
	nargs         int
}

var commands = []command{
	{name: "serve", summary: "run the HTTP API (starts a local ClickHouse when no DSN is given)"},
	{name: "migrate", summary: "apply the ClickHouse schema (creating the DSN's database if missing)"},
	{name: "seed", summary: "write a deterministic demo/benchmark dataset directory"},
	{name: "load", summary: "validate and load a dataset directory into ClickHouse (migrating first)",
		args: "DIR", argHelp: "DIR  the dataset directory (clients.csv, apps.csv, user_departments.csv, usage.csv or usage.csv.gz)", nargs: 1},
	{name: "token", summary: "print a bearer token for one client"},
	{name: "health", summary: "exit 0 when a health URL answers 200 (the container healthcheck)"},
	{name: "bench", summary: "load a dataset, replay traffic and measure it against anchors"},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// overallUsage lists the commands, one line each.
func overallUsage() string {
	var b strings.Builder
	b.WriteString("usage: usagelens <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`  help     print this help, or 'help <command>' for one command's

Run 'usagelens <command> -h' for a command's flags and arguments. Flags may
come before or after the arguments. Every flag can also be set in the
environment as USAGELENS_<FLAG> (upper case, dashes as underscores); the DSN
also as CLICKHOUSE_DSN. Flags win over the environment.
`)
	return b.String()
}

func main() {
	runs := map[string]func([]string) error{
		"serve": runServe, "migrate": runMigrate, "seed": runSeed, "load": runLoad, "token": runToken, "health": runHealth,
		"bench": runBench,
	}
	os.Exit(dispatch(os.Args[1:], runs, os.Stdout, os.Stderr))
}

// dispatch sends args to a command and returns the exit code: 0 for success
// and help, 2 for a bad command line, 1 for a failure of the command.
func dispatch(args []string, runs map[string]func([]string) error, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, overallUsage())
		return 0
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, overallUsage())
		return 0
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, overallUsage())
			return 0
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "usagelens help: unexpected argument %q\n\n%s", args[2], overallUsage())
			return 2
		}
		if _, ok := runs[args[1]]; !ok {
			fmt.Fprintf(stderr, "usagelens help: unknown command %q\n\n%s", args[1], overallUsage())
			return 2
		}
		// The command prints its own usage for -h.
		name, args = args[1], []string{args[1], "-h"}
	}
	cmd, ok := runs[name]
	if !ok {
		fmt.Fprintf(stderr, "usagelens: unknown command %q\n\n%s", name, overallUsage())
		return 2
	}
	err := cmd(args[1:])
	var help *helpRequest
	var bad *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(stdout, help.usage)
		return 0
	case errors.As(err, &bad):
		fmt.Fprintf(stderr, "usagelens %s: %s\n\n%s", name, bad.msg, bad.usage)
		return 2
	default:
		fmt.Fprintf(stderr, "usagelens %s: %v\n", name, err)
		return 1
	}
}
