package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// newFlags makes a command's flag set whose defaults come from the
// environment (USAGELENS_<NAME>), applied after all flags are defined.
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}

// parse applies environment defaults, then the command line.
func parse(fs *flag.FlagSet, args []string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := "USAGELENS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(key)
		if !ok && f.Name == "clickhouse-dsn" {
			v, ok = os.LookupEnv("CLICKHOUSE_DSN")
		}
		if ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", key, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	return fs.Parse(args)
}
