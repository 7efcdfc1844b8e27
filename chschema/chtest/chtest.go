// Package chtest gives tests a real ClickHouse: CLICKHOUSE_TEST_DSN if set,
// else a private clickhouse-server from PATH, else a Docker container. With
// none of them the tests fail and say how to install a server; they never skip.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chserver"
)

var (
	once    sync.Once
	baseDSN string
	setup   error
	stop    = func() {}
)

// Main runs a package's tests and stops the server they shared. Use it from
// TestMain: `func TestMain(m *testing.M) { chtest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	stop()
	stopCluster()
	if chdbOnce.s != nil {
		chdbOnce.s.Close()
		os.RemoveAll(chdbOnce.dir)
	}
	os.Exit(code)
}

// Server returns the DSN of the shared test server, starting it on first use.
func Server(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { baseDSN, setup = find() })
	if setup != nil {
		tb.Fatalf("no ClickHouse for tests: %v", setup)
	}
	return baseDSN
}

// Private starts a server of the test's own, for tests that stop and restart
// ClickHouse without disturbing the others.
func Private(tb testing.TB) *chserver.Server {
	tb.Helper()
	srv, err := chserver.Start(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("cannot start a private clickhouse-server: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// NewDB creates a fresh database on the shared server, migrated to the
// latest schema, drops it when the test ends and returns its DSN. With
// USAGELENS_TEST_CLUSTER=N set it is NewClusterDB instead, so a suite
// written for one server runs unchanged on a cluster of N shards.
func NewDB(tb testing.TB) string {
	tb.Helper()
	if ClusterShards() > 0 {
		return NewClusterDB(tb)
	}
	return NewNodeDB(tb)
}

// NewNodeDB is NewDB on the shared single server, whatever
// USAGELENS_TEST_CLUSTER says.
func NewNodeDB(tb testing.TB) string {
	tb.Helper()
	dsn := Server(tb)
	name := "test_" + randomHex(6)
	admin := Open(tb, dsn)
	ctx := context.Background()
	if err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("cannot create database %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name) })
	dbDSN := WithDatabase(tb, dsn, name)
	if _, err := chschema.Migrate(ctx, Open(tb, dbDSN)); err != nil {
		tb.Fatalf("cannot migrate %s: %v", name, err)
	}
	return dbDSN
}

// Open connects to dsn as the service does (chschema.Connect, a pool of
// the driver's default 10) and closes the connection when the test ends.
func Open(tb testing.TB, dsn string) driver.Conn {
	tb.Helper()
	conn, err := chschema.Connect(context.Background(), dsn, 10)
	if err != nil {
		tb.Fatalf("cannot open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// WithDatabase returns dsn pointing at database name.
func WithDatabase(tb testing.TB, dsn, name string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("bad DSN %q: %v", dsn, err)
	}
	u.Path = "/" + name
	return u.String()
}

func find() (string, error) {
	if dsn := os.Getenv("CLICKHOUSE_TEST_DSN"); dsn != "" {
		return dsn, nil
	}
	if _, err := chserver.FindBinary(); err == nil {
		dir, err := os.MkdirTemp("", "usagelens-chtest-")
		if err != nil {
			return "", err
		}
		srv, err := chserver.Start(context.Background(), dir)
		if err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		stop = func() { _ = srv.Stop(); os.RemoveAll(dir) }
		return srv.DSN(), nil
	}
	if dockerUsable() {
		return startDocker()
	}
	return "", fmt.Errorf("set CLICKHOUSE_TEST_DSN, or install a server: %s (or run a Docker engine)", chserver.InstallHint)
}

func dockerUsable() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// imageTag is CLICKHOUSE_IMAGE's tag, "latest" by default.
func imageTag() string {
	if img := os.Getenv("CLICKHOUSE_IMAGE"); img != "" {
		if _, tag, ok := strings.Cut(img, ":"); ok {
			return tag
		}
		return img
	}
	return "latest"
}
