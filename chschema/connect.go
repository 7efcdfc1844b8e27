package chschema

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Connect opens a native-protocol pool of maxConns connections to dsn and
// checks the server answers, naming the address when it does not.
func Connect(ctx context.Context, dsn string, maxConns int) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("ClickHouse DSN %q: %w", dsn, err)
	}
	opts.MaxOpenConns, opts.MaxIdleConns = maxConns, maxConns
	opts.DialTimeout = 5 * time.Second
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse at %s: %w", opts.Addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ClickHouse at %s does not answer: %w", opts.Addr, err)
	}
	return conn, nil
}
