package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlags makes a command's flag set. It prints nothing itself: parse
// returns help requests and bad command lines as errors that main prints.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpRequest is -h or --help: main prints usage on stdout and exits 0.
type helpRequest struct{ usage string }

func (h *helpRequest) Error() string { return "help requested" }

// usageError is a bad command line: main prints msg and usage on stderr and
// exits 2.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string { return e.msg }

// badUsage is a usageError for fs's command.
func badUsage(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: commandUsage(fs)}
}

// envKey is the environment variable that sets flag name.
func envKey(name string) string {
	return "USAGELENS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parse applies environment defaults (USAGELENS_<NAME>, CLICKHOUSE_DSN for
// the DSN), then the command line, where flags may come before, between and
// after the positional arguments ("--" ends the flags). It checks the number
// of positional arguments against the command's; fs.Args() holds them
// afterwards.
func parse(fs *flag.FlagSet, args []string) error {
	// A bad environment value matters only when the command line does not
	// set that flag, and never hides -h.
	envErrs := map[string]error{}
	fs.VisitAll(func(f *flag.Flag) {
		key := envKey(f.Name)
		v, ok := os.LookupEnv(key)
		if !ok && f.Name == "clickhouse-dsn" {
			key = "CLICKHOUSE_DSN"
			v, ok = os.LookupEnv(key)
		}
		if ok {
			if err := f.Value.Set(v); err != nil {
				envErrs[f.Name] = badUsage(fs, "%s=%q: invalid value for --%s: %v", key, v, f.Name, err)
			}
		}
	})
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return &helpRequest{usage: commandUsage(fs)}
		}
		if err != nil {
			return badUsage(fs, "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	fs.Visit(func(f *flag.Flag) { delete(envErrs, f.Name) })
	for _, f := range flagNames(fs) {
		if err := envErrs[f]; err != nil {
			return err
		}
	}
	cmd, _ := lookup(fs.Name())
	switch {
	case len(pos) > cmd.nargs:
		return badUsage(fs, "unexpected argument %q", pos[cmd.nargs])
	case len(pos) < cmd.nargs:
		return badUsage(fs, "missing argument %s", strings.Fields(cmd.args)[len(pos)])
	}
	// Leave exactly the positional arguments in fs.Args().
	return fs.Parse(append([]string{"--"}, pos...))
}

// commandUsage is fs's command synopsis, its arguments and its flags with
// their environment variables and defaults.
func commandUsage(fs *flag.FlagSet) string {
	cmd, _ := lookup(fs.Name())
	var b strings.Builder
	fmt.Fprintf(&b, "usage: usagelens %s [flags]", fs.Name())
	if cmd.args != "" {
		fmt.Fprintf(&b, " %s", cmd.args)
	}
	fmt.Fprintf(&b, "\n\n%s\n", cmd.summary)
	if cmd.argHelp != "" {
		fmt.Fprintf(&b, "\narguments:\n  %s\n", cmd.argHelp)
	}
	if cmd.args != "" {
		b.WriteString("\nflags (before or after the arguments; each also settable in the environment):\n")
	} else {
		b.WriteString("\nflags (each also settable in the environment):\n")
	}
	fs.VisitAll(func(f *flag.Flag) {
		typ, help := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		fmt.Fprintf(&b, "\n      %s\n      env %s", help, envKey(f.Name))
		if f.Name == "clickhouse-dsn" {
			b.WriteString(" or CLICKHOUSE_DSN")
		}
		switch f.DefValue {
		case "", "0", "false", "0s":
		default:
			fmt.Fprintf(&b, "; default %s", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// flagNames is fs's flag names in lexical order, so the first bad environment
// value reported is always the same one.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}
