package chschema_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
)

// A DSN naming a database the server lacks gets it created, name quoted
// (dashes, spaces and non-ASCII are fine), and connects to it; connecting
// again finds it.
func TestConnectCreatesTheDatabase(t *testing.T) {
	base := chtest.Server(t)
	admin := chtest.Open(t, base)
	ctx := context.Background()
	name := fmt.Sprintf("usagelens new-db é %d", time.Now().UnixNano())
	t.Cleanup(func() { _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`") })
	dsn := chtest.WithDatabase(t, base, name)
	for i := 0; i < 2; i++ {
		conn, err := chschema.Connect(ctx, dsn, 2)
		if err != nil {
			t.Fatalf("Connect #%d: %v", i+1, err)
		}
		var cur string
		if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&cur); err != nil || cur != name {
			t.Fatalf("currentDatabase() = %q, %v; want %q", cur, err, name)
		}
		if _, err := chschema.Migrate(ctx, conn); err != nil {
			t.Fatalf("Migrate in the created database: %v", err)
		}
		conn.Close()
	}
	var n uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", name).Scan(&n); err != nil || n != 1 {
		t.Fatalf("system.databases has %d rows for %q, %v", n, name, err)
	}
}

// Each failure is one line saying what failed.
func TestConnectErrors(t *testing.T) {
	base := chtest.Server(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	addr := u.Host
	ctx := context.Background()
	f := func(dsn string, code int32, want ...string) {
		t.Helper()
		conn, err := chschema.Connect(ctx, dsn, 1)
		if err == nil {
			conn.Close()
			t.Fatalf("Connect(%s) succeeded", dsn)
		}
		msg := err.Error()
		t.Logf("%s -> %s", dsn, msg)
		if strings.Contains(msg, "\n") {
			t.Errorf("Connect(%s): error has more than one line: %q", dsn, msg)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("Connect(%s) = %q; want it to contain %q", dsn, msg, w)
			}
		}
		var ex *clickhouse.Exception
		if code != 0 && (!errors.As(err, &ex) || ex.Code != code) {
			t.Errorf("Connect(%s) = %q: does not unwrap to ClickHouse code %d", dsn, msg, code)
		}
	}

	// Authentication: 18.16's own codes.
	f("clickhouse://default:wrong@"+addr+"/default", 193, "authentication failed for user \"default\"", addr, "Wrong password")
	f("clickhouse://nobody:@"+addr+"/default", 192, "authentication failed for user \"nobody\"", addr, "Unknown user")

	// A missing database that cannot be created (the session is
	// read-only, so CREATE DATABASE is refused).
	missing := fmt.Sprintf("usagelens_missing_%d", time.Now().UnixNano())
	f("clickhouse://default:@"+addr+"/"+missing+"?readonly=1", 164, "database \""+missing+"\" does not exist", "cannot be created", addr)

	// Names that cannot be quoted with backticks are refused before
	// anything is sent.
	f("clickhouse://default:@"+addr+"/a%60b", 0, "invalid ClickHouse database name", "backticks")
	f("clickhouse://default:@"+addr+"/a%00b", 0, "invalid ClickHouse database name")

	// Nothing listens: refused, address named.
	closed := freeAddr(t)
	f("clickhouse://default:@"+closed+"/default", 0, "cannot reach ClickHouse at "+closed, "connection refused")

	// Something accepts but never answers: a timeout, address named.
	silent := listen(t, func(c net.Conn) { time.Sleep(time.Minute) })
	start := time.Now()
	f("clickhouse://default:@"+silent+"/default", 0, "cannot reach ClickHouse at "+silent, "no answer within")
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the timeout took %s", d)
	}

	// An HTTP server (ClickHouse's HTTP port) where the native port belongs.
	httpAddr := listen(t, func(c net.Conn) {
		_, _ = c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
	})
	f("clickhouse://default:@"+httpAddr+"/default", 0, httpAddr, "does not speak the native protocol")

	// Current releases say AUTHENTICATION_FAILED (516); no such server is
	// installed, so a fake one answers the hello with that exception.
	auth516 := listen(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		_, _ = c.Read(buf)
		_, _ = c.Write(exceptionPacket(516, "DB::Exception", "default: Authentication failed: password is incorrect, or there is no user with such name."))
	})
	f("clickhouse://default:x@"+auth516+"/default", 516, "authentication failed for user \"default\"", auth516)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// listen serves each connection with handle until the test ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return ln.Addr().String()
}

// exceptionPacket is a native-protocol server Exception packet.
func exceptionPacket(code int32, name, message string) []byte {
	b := binary.AppendUvarint(nil, 2) // ServerException
	b = binary.LittleEndian.AppendUint32(b, uint32(code))
	for _, s := range []string{name, message, ""} { // name, message, stack trace
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, 0) // not nested
}
