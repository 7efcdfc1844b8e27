package chserver_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/chserver"
)

func TestRestartKeepsPortsAndData(t *testing.T) {
	ctx := context.Background()
	srv, err := chserver.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	dsn, tcp, http := srv.DSN(), srv.TCPPort, srv.HTTPPort

	exec(t, dsn, "CREATE TABLE kept (n UInt32) ENGINE = MergeTree ORDER BY n")
	exec(t, dsn, "INSERT INTO kept (n) SELECT toUInt32(number) FROM system.numbers LIMIT 3")
	if err := srv.Restart(ctx); err == nil {
		t.Fatal("Restart of a running server succeeded")
	}

	f := func(name string, stop func()) {
		t.Helper()
		stop()
		if err := ping(dsn); err == nil {
			t.Fatalf("%s: server still answers", name)
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if srv.DSN() != dsn || srv.TCPPort != tcp || srv.HTTPPort != http {
			t.Fatalf("%s: ports moved: %s, http %d", name, srv.DSN(), srv.HTTPPort)
		}
		if n := count(t, dsn); n != 3 {
			t.Fatalf("%s: %d rows after restart, want 3", name, n)
		}
	}
	f("stop", func() {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
	})
	f("kill", srv.Kill)
}

func open(t *testing.T, dsn string) clickhouse.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	if err := open(t, dsn).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, dsn string) uint64 {
	t.Helper()
	var n uint64
	if err := open(t, dsn).QueryRow(context.Background(), "SELECT count() FROM kept").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func ping(dsn string) error {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping(context.Background())
}

func TestSuperviseRestartsACrashedServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := chserver.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	restarts := make(chan string, 4)
	go srv.Supervise(ctx, func(format string, args ...any) { restarts <- format })
	srv.Kill()
	select {
	case <-restarts:
	case <-time.After(10 * time.Second):
		t.Fatal("Supervise did not notice the crash")
	}
	deadline := time.Now().Add(60 * time.Second)
	for ping(srv.DSN()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the crashed server did not come back under Supervise")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A second server in a directory another one holds is refused in one line
// that names the holder and how to stop it, and the holder keeps running
// on its own config.
func TestSecondServerInTheSameDirectoryNamesTheHolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := chserver.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Stop() })
	config, err := os.ReadFile(filepath.Join(dir, "config.xml"))
	if err != nil {
		t.Fatal(err)
	}

	second, err := chserver.Start(ctx, dir)
	if err == nil {
		_ = second.Stop()
		t.Fatal("a second server started in the same directory")
	}
	msg := err.Error()
	pid := strconv.Itoa(first.PID())
	for _, want := range []string{"already running in " + dir, "(PID " + pid + ")", "kill " + pid} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") || len(msg) > 300 {
		t.Errorf("error is not one short line: %q", msg)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "config.xml")); !bytes.Equal(now, config) {
		t.Error("the refused start rewrote the running server's config")
	}
	if err := ping(first.DSN()); err != nil {
		t.Fatalf("the first server stopped answering: %v", err)
	}

	// Once the holder is gone the directory is free again.
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	again, err := chserver.Start(ctx, dir)
	if err != nil {
		t.Fatalf("start after the holder stopped: %v", err)
	}
	_ = again.Stop()
}
