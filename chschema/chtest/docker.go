package chtest

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ory/dockertest/v3"
)

// startDocker runs clickhouse/clickhouse-server in a container, for machines
// with Docker but no server binary.
func startDocker() (string, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return "", fmt.Errorf("cannot reach Docker: %w", err)
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: "clickhouse/clickhouse-server",
		Tag:        imageTag(),
		Env:        []string{"CLICKHOUSE_SKIP_USER_SETUP=1"},
	})
	if err != nil {
		return "", fmt.Errorf("cannot start clickhouse/clickhouse-server:%s: %w", imageTag(), err)
	}
	stop = func() { _ = pool.Purge(res) }
	dsn := "clickhouse://default:@" + res.GetHostPort("9000/tcp") + "/default"
	err = pool.Retry(func() error {
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
	})
	if err != nil {
		stop()
		return "", fmt.Errorf("clickhouse container not ready: %w", err)
	}
	return dsn, nil
}
