package chschema

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

const (
	dialTimeout = 5 * time.Second
	pingTimeout = 10 * time.Second
)

// ClickHouse error codes Connect tells apart. 516 is AUTHENTICATION_FAILED
// of current releases; 18.16 says UNKNOWN_USER, WRONG_PASSWORD or
// REQUIRED_PASSWORD instead.
const (
	codeUnknownDatabase  = 81
	codeUnknownUser      = 192
	codeWrongPassword    = 193
	codeRequiredPassword = 194
	codeAuthFailed       = 516
)

// Connect opens a native-protocol pool of maxConns connections to dsn and
// checks the server answers. When the DSN's database does not exist it is
// created (CREATE DATABASE IF NOT EXISTS, sent to the server's default
// database), so migrate, load and serve can start on a fresh server. Errors
// are one line naming what failed: the address that cannot be reached, the
// user whose login was refused, or the database that cannot be created.
func Connect(ctx context.Context, dsn string, maxConns int) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		// Not the DSN itself: it may hold a password.
		return nil, fmt.Errorf("invalid ClickHouse DSN: %w", err)
	}
	if err := checkDatabaseName(opts.Auth.Database); err != nil {
		return nil, err
	}
	return connectWith(ctx, opts, maxConns)
}

// connectWith is Connect with parsed options.
func connectWith(ctx context.Context, opts *clickhouse.Options, maxConns int) (driver.Conn, error) {
	db := opts.Auth.Database
	opts.MaxOpenConns, opts.MaxIdleConns = maxConns, maxConns
	opts.DialTimeout = dialTimeout
	if opts.Settings == nil {
		opts.Settings = clickhouse.Settings{}
	}
	for k, v := range sessionSettings() {
		if _, set := opts.Settings[k]; !set {
			opts.Settings[k] = v
		}
	}
	conn, err := open(ctx, opts)
	if err != nil && db != "" && exceptionCode(err) == codeUnknownDatabase {
		if cerr := createDatabase(ctx, opts); cerr != nil {
			return nil, cerr
		}
		conn, err = open(ctx, opts)
	}
	if err != nil {
		return nil, describe(err, opts)
	}
	return &optsConn{Conn: conn, opts: *opts}, nil
}

// sessionSettings are sent with every query. They matter on a cluster
// only, and are the same on a single node so that one SQL serves both: an
// INSERT into a Distributed table returns once every shard has its rows
// (the asynchronous default reports success with a shard down). The other
// setting a cluster needs is a string, which 18.16 takes only from the
// user's profile (checkProductMode).
func sessionSettings() clickhouse.Settings {
	return clickhouse.Settings{"insert_distributed_sync": 1}
}

// optsConn is a connection that remembers how it was opened, so that a
// cluster's shards can be reached with the same user and password.
type optsConn struct {
	driver.Conn
	opts clickhouse.Options
}

// optionsOf are the options conn was opened with.
func optionsOf(conn driver.Conn) (*clickhouse.Options, error) {
	c, ok := conn.(*optsConn)
	if !ok {
		return nil, errors.New("this connection was not opened by chschema.Connect, so a cluster's shards cannot be reached with its user and password")
	}
	o := c.opts
	return &o, nil
}

// checkDatabaseName refuses names that cannot be quoted as an identifier
// with backticks.
func checkDatabaseName(db string) error {
	if strings.ContainsAny(db, "`\x00") {
		return fmt.Errorf("invalid ClickHouse database name %q in the DSN: backticks and NUL bytes are not allowed", db)
	}
	return nil
}

// open opens a pool and pings it, closing it again on failure.
func open(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// createDatabase creates opts' database through one connection to the
// server's default database (the one it names does not exist yet).
func createDatabase(ctx context.Context, opts *clickhouse.Options) error {
	admin := *opts
	admin.Auth.Database = ""
	admin.MaxOpenConns, admin.MaxIdleConns = 1, 1
	db := opts.Auth.Database
	conn, err := open(ctx, &admin)
	if err != nil {
		return describe(err, &admin)
	}
	defer conn.Close()
	// The name is checked by checkDatabaseName: no backtick can end the
	// identifier early. DDL takes no bound arguments.
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+db+"`"); err != nil {
		return &connectError{
			msg: fmt.Sprintf("ClickHouse database %q does not exist at %s and cannot be created: %s", db, addrs(opts), oneLine(err)),
			err: err,
		}
	}
	return nil
}

// connectError is a one-line account of a failed connection that still
// unwraps to the driver's error.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// describe turns a driver error from opening or pinging into one line that
// says what failed.
func describe(err error, opts *clickhouse.Options) error {
	at := addrs(opts)
	var msg string
	var ex *clickhouse.Exception
	var nerr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &ex):
		switch ex.Code {
		case codeAuthFailed, codeUnknownUser, codeWrongPassword, codeRequiredPassword:
			msg = fmt.Sprintf("ClickHouse at %s: authentication failed for user %q: %s", at, opts.Auth.Username, oneLine(err))
		case codeUnknownDatabase:
			db := fmt.Sprintf("database %q", opts.Auth.Database)
			if opts.Auth.Database == "" {
				db = fmt.Sprintf("the default database of user %q", opts.Auth.Username)
			}
			msg = fmt.Sprintf("ClickHouse at %s: %s does not exist: %s", at, db, oneLine(err))
		default:
			msg = fmt.Sprintf("ClickHouse at %s refused the connection: %s", at, oneLine(err))
		}
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("cannot reach ClickHouse at %s: cannot resolve host %q: %s", at, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		msg = fmt.Sprintf("cannot reach ClickHouse at %s: no answer within %s", at, dialTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("cannot reach ClickHouse at %s: connection refused (is the server running, and is this its native-protocol port?)", at)
	case strings.Contains(err.Error(), "[handshake] unexpected packet"):
		// Typically the HTTP port (8123) given instead of the native one (9000).
		msg = fmt.Sprintf("ClickHouse at %s: the server there does not speak the native protocol (the HTTP port instead of the native one?): %s", at, oneLine(err))
	default:
		msg = fmt.Sprintf("cannot connect to ClickHouse at %s: %s", at, oneLine(err))
	}
	return &connectError{msg: msg, err: err}
}

func exceptionCode(err error) int32 {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	return 0
}

func addrs(opts *clickhouse.Options) string {
	if len(opts.Addr) == 0 {
		return "(no address)"
	}
	return strings.Join(opts.Addr, ", ")
}

// oneLine is err's first line: server messages may carry a stack trace.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(s)
}
