package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/chschema/chtest"
)

// result is one run of the real binary.
type result struct {
	stdout, stderr string
	code           int
}

// runEnv runs bin with args and env added to the test key's environment.
func runEnv(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "USAGELENS_TOKEN_KEY="+testKey), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("cannot run %s %v: %v", bin, args, err)
	}
	return r
}

var commandNames = []string{"serve", "migrate", "seed", "load", "token", "health", "bench"}

// Help on stdout, exit 0: overall, and per command with its arguments.
func TestCLIHelp(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{}, {"-h"}, {"--help"}, {"-help"}, {"help"}} {
		r := runEnv(t, bin, nil, args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: usagelens <command>") {
			t.Errorf("usagelens %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
			continue
		}
		for _, name := range commandNames {
			if !strings.Contains(r.stdout, "\n  "+name+" ") {
				t.Errorf("usagelens %v: no line for %s in\n%s", args, name, r.stdout)
			}
		}
	}
	for _, name := range commandNames {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}} {
			r := runEnv(t, bin, nil, args...)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: usagelens "+name+" [flags]") {
				t.Errorf("usagelens %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
			}
		}
	}
	// load documents its positional argument; help after it works too.
	for _, args := range [][]string{{"load", "-h"}, {"load", "somedir", "--help"}} {
		r := runEnv(t, bin, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: usagelens load [flags] DIR\n") ||
			!strings.Contains(r.stdout, "arguments:\n  DIR ") || !strings.Contains(r.stdout, "--clickhouse-dsn") ||
			!strings.Contains(r.stdout, "CLICKHOUSE_DSN") {
			t.Errorf("usagelens %v: exit %d, stdout:\n%s", args, r.code, r.stdout)
		}
	}
	r := runEnv(t, bin, nil, "token", "-h")
	if !strings.Contains(r.stdout, "--ttl duration") || !strings.Contains(r.stdout, "env USAGELENS_TTL; default 24h0m0s") {
		t.Errorf("token -h does not show --ttl with its environment variable and default:\n%s", r.stdout)
	}
}

// A bad command line: exit 2, one line saying why, then the usage, all on
// stderr; nothing runs.
func TestCLIUsageErrors(t *testing.T) {
	bin := binary(t)
	client := "c0000000-0000-4000-8000-000000000001"
	f := func(env []string, wantReason, wantUsage string, args ...string) {
		t.Helper()
		r := runEnv(t, bin, env, args...)
		reason, rest, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || r.stdout != "" || !strings.Contains(reason, wantReason) ||
			!strings.HasPrefix(rest, "\nusage: usagelens "+wantUsage) {
			t.Errorf("usagelens %v: exit %d, stdout %q, stderr:\n%s\nwant exit 2, first line with %q, then usage %q",
				args, r.code, r.stdout, r.stderr, wantReason, wantUsage)
		}
	}
	f(nil, `usagelens: unknown command "nope"`, "<command>", "nope")
	f(nil, `usagelens: unknown command "--verbose"`, "<command>", "--verbose")
	f(nil, `usagelens help: unknown command "nope"`, "<command>", "help", "nope")
	f(nil, `usagelens token: flag provided but not defined: -bogus`, "token [flags]", "token", "--bogus")
	f(nil, `usagelens token: invalid value "forever" for flag -ttl`, "token [flags]", "token", "--client", client, "--ttl", "forever")
	f(nil, `usagelens token: unexpected argument "extra"`, "token [flags]", "token", "--client", client, "extra")
	f(nil, `usagelens token: unexpected argument "extra"`, "token [flags]", "token", "extra", "--client", client)
	f(nil, `usagelens token: --client is required`, "token [flags]", "token")
	f(nil, `usagelens serve: unexpected argument "now"`, "serve [flags]", "serve", "now")
	f(nil, `usagelens migrate: unexpected argument "db"`, "migrate [flags]", "migrate", "--clickhouse-dsn", "clickhouse://127.0.0.1:1/x", "db")
	f(nil, `usagelens migrate: --clickhouse-dsn (or CLICKHOUSE_DSN) is required`, "migrate [flags]", "migrate")
	f(nil, `usagelens seed: unexpected argument "dir"`, "seed [flags]", "seed", "--out", t.TempDir(), "dir")
	f(nil, `usagelens seed: --scale: unknown scale "huge"`, "seed [flags]", "seed", "--out", t.TempDir(), "--scale", "huge")
	f(nil, `usagelens load: missing argument DIR`, "load [flags] DIR", "load", "--clickhouse-dsn", "clickhouse://127.0.0.1:1/x")
	f(nil, `usagelens load: unexpected argument "b"`, "load [flags] DIR", "load", "a", "b", "--clickhouse-dsn", "clickhouse://127.0.0.1:1/x")
	f(nil, `usagelens load: --clickhouse-dsn (or CLICKHOUSE_DSN) is required`, "load [flags] DIR", "load", "dir")
	f(nil, `usagelens bench: unexpected argument "x"`, "bench [flags]", "bench", "--scale", "tiny", "x")
	f(nil, `usagelens bench: --anchors: "fast" is not one of`, "bench [flags]", "bench", "--scale", "tiny", "--anchors", "fast")
	// A bad environment value is a bad command line too, unless a flag
	// overrides it.
	f([]string{"USAGELENS_TTL=forever"}, `usagelens token: USAGELENS_TTL="forever": invalid value for --ttl`, "token [flags]", "token", "--client", client)
	if r := runEnv(t, bin, []string{"USAGELENS_TTL=forever"}, "token", "--client", client, "--ttl", "1h"); r.code != 0 {
		t.Errorf("--ttl did not win over a bad USAGELENS_TTL: exit %d, %s", r.code, r.stderr)
	}
}

// Flags come from the environment, the command line wins, and flags may
// follow positional arguments.
func TestCLIFlagsAndEnvironment(t *testing.T) {
	bin := binary(t)
	client := "c0000000-0000-4000-8000-000000000001"
	f := func(env []string, wantTTL time.Duration, args ...string) {
		t.Helper()
		r := runEnv(t, bin, env, args...)
		if r.code != 0 {
			t.Fatalf("usagelens %v (env %v): exit %d, %s", args, env, r.code, r.stderr)
		}
		claims, err := auth.Verify([]byte(testKey), strings.TrimSpace(r.stdout), time.Now())
		if err != nil || claims.ClientID != client {
			t.Fatalf("usagelens %v: token %q: %v %+v", args, r.stdout, err, claims)
		}
		if got := time.Until(claims.ExpiresAt); got > wantTTL || got < wantTTL-time.Minute {
			t.Errorf("usagelens %v (env %v): token expires in %s, want %s", args, env, got, wantTTL)
		}
	}
	f([]string{"USAGELENS_CLIENT=" + client, "USAGELENS_TTL=2h"}, 2*time.Hour, "token")
	f([]string{"USAGELENS_CLIENT=nope", "USAGELENS_TTL=2h"}, 3*time.Hour, "token", "--client", client, "--ttl", "3h")
	f(nil, 24*time.Hour, "token", "-client="+client)
}

// load takes its flags after DIR, finds the DSN in CLICKHOUSE_DSN, and
// creates a database that does not exist yet; migrate does too.
func TestCLICreatesTheDatabase(t *testing.T) {
	bin := binary(t)
	base := chtest.Server(t)
	admin := chtest.Open(t, base)
	suffix := strconv.FormatInt(time.Now().UnixNano(), 10)
	loadDB, migrateDB := "usagelens_cli_load_"+suffix, "usagelens_cli_migrate_"+suffix
	t.Cleanup(func() {
		for _, db := range []string{loadDB, migrateDB} {
			_ = admin.Exec(t.Context(), "DROP DATABASE IF EXISTS "+db)
		}
	})
	dir := filepath.Join(t.TempDir(), "tiny")
	if r := runEnv(t, bin, nil, "seed", "--out", dir, "--scale", "tiny"); r.code != 0 {
		t.Fatalf("seed: exit %d %s", r.code, r.stderr)
	}
	r := runEnv(t, bin, nil, "load", dir, "--clickhouse-dsn", chtest.WithDatabase(t, base, loadDB))
	if r.code != 0 || !strings.Contains(r.stdout, "usage rows") {
		t.Fatalf("load DIR --clickhouse-dsn: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runEnv(t, bin, []string{"CLICKHOUSE_DSN=" + chtest.WithDatabase(t, base, migrateDB)}, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, "schema at version") {
		t.Fatalf("CLICKHOUSE_DSN=... migrate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, db := range []string{loadDB, migrateDB} {
		var n uint64
		err := admin.QueryRow(t.Context(), "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'", db).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("database %s: schema_migrations count %d, %v", db, n, err)
		}
	}
}

// A connection failure is exit 1 and one line naming what failed.
func TestCLIConnectionErrors(t *testing.T) {
	bin := binary(t)
	base := chtest.Server(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	f := func(want string, args ...string) {
		t.Helper()
		r := runEnv(t, bin, nil, args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("usagelens %v: exit %d, stderr %q; want exit 1 and one line with %q", args, r.code, r.stderr, want)
		}
	}
	f("usagelens migrate: cannot reach ClickHouse at "+closed+": connection refused", "migrate", "--clickhouse-dsn", "clickhouse://default:@"+closed+"/default")
	f(`authentication failed for user "default"`, "migrate", "--clickhouse-dsn", "clickhouse://default:wrong@"+u.Host+"/default")
	f(`does not exist at `+u.Host+` and cannot be created`, "load", t.TempDir(), "--clickhouse-dsn", "clickhouse://default:@"+u.Host+"/usagelens_never?readonly=1")
}

// health exits 0 on a 200, 1 on any other answer or none.
func TestCLIHealth(t *testing.T) {
	bin := binary(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := func(url string, want int) {
		t.Helper()
		if r := runEnv(t, bin, nil, "health", "--url", url); r.code != want {
			t.Errorf("health --url %s: exit %d (stderr %q), want %d", url, r.code, r.stderr, want)
		}
	}
	f(srv.URL+"/readyz", 0)
	f(srv.URL+"/nope", 1)
	f("http://127.0.0.1:1/readyz", 1)
}
