package chschema

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Rollup is one pre-aggregation of app_usage_reports, kept month by month
// by whoever writes usage (the loader, and migration 4).
type Rollup struct {
	Table string
	// DateColumn is what the table is partitioned by, as toYYYYMM of it.
	DateColumn string
	Columns    string
	// aggregate selects Columns from usage rows, for the GROUP BY of group.
	aggregate, group string
}

// Rollups are every rollup table, in the order they are built.
var Rollups = []Rollup{
	{Table: "usage_app_days", DateColumn: "activity_date",
		Columns:   "client_id, activity_date, application_id, active_ms, sessions, user_days",
		aggregate: "client_id, activity_date, application_id, sum(total_active_ms), sum(toUInt64(total_session_count)), count()",
		group:     "client_id, activity_date, application_id"},
	{Table: "usage_app_month_users", DateColumn: "month",
		Columns:   "client_id, month, application_id, user_id",
		aggregate: "client_id, toStartOfMonth(activity_date) AS month, application_id, user_id",
		group:     "client_id, month, application_id, user_id"},
	{Table: "usage_client_month_users", DateColumn: "month",
		Columns:   "client_id, month, user_id",
		aggregate: "client_id, toStartOfMonth(activity_date) AS month, user_id",
		group:     "client_id, month, user_id"},
}

// Build is the statement that aggregates the usage rows of source that
// match where (SQL of constants and column names only) into table.
func (r Rollup) Build(table, source, where string) string {
	return "INSERT INTO " + table + " (" + r.Columns + ") SELECT " + r.aggregate +
		" FROM " + source + " WHERE " + where + " GROUP BY " + r.group
}

// Keep is the statement that copies into table the rows of r's live table
// in month partition part (YYYYMM digits) that match where: the clients a
// load does not touch keep their rollups through the partition swap.
func (r Rollup) Keep(table, part, where string) string {
	return "INSERT INTO " + table + " (" + r.Columns + ") SELECT " + r.Columns + " FROM " + r.Table +
		" WHERE toYYYYMM(" + r.DateColumn + ") = " + part + " AND " + where
}

// Version polling: every instance of the service re-reads the data
// versions every VersionPoll, and answers from its cache only while its
// last successful read started less than VersionStale ago; a load returns
// VersionSettle after it wrote its versions. So a request sent after
// `usagelens load` returned is never answered with the data before it.
const (
	VersionPoll   = 100 * time.Millisecond
	VersionStale  = 200 * time.Millisecond
	VersionSettle = 250 * time.Millisecond
)

// WriteVersions records that the clients' data changed now.
func WriteVersions(ctx context.Context, conn driver.Conn, clients []string) error {
	if len(clients) == 0 {
		return nil
	}
	v := uint64(time.Now().UnixNano())
	err := conn.Exec(ctx, "INSERT INTO client_data_versions (client_id, version) SELECT arrayJoin(arrayMap(x -> toUUID(x), ?)), toUInt64(?)", clients, v)
	if err != nil {
		return fmt.Errorf("cannot record the new data version of %d clients: %w", len(clients), err)
	}
	return nil
}

// SettleVersions waits until every instance has polled the versions
// written before it.
func SettleVersions(ctx context.Context) error {
	select {
	case <-time.After(VersionSettle):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backfill is a migration that builds the named rollups from the usage
// rows loaded before they existed, month by month through a staging table
// and a partition swap, so a repeated run gives the same rows. A migration
// names its tables: it must not follow later changes of Rollups.
func backfill(tables ...string) func(context.Context, driver.Conn) error {
	return func(ctx context.Context, conn driver.Conn) error {
		parts, err := usagePartitions(ctx, conn)
		if err != nil {
			return err
		}
		for _, r := range Rollups {
			if slices.Contains(tables, r.Table) {
				if err := r.backfill(ctx, conn, parts); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// noMonth is a month no table holds: loads accept days from 2000 on.
const noMonth = "197001"

// SettleReplaced makes the REPLACE PARTITIONs before it durable. On
// ClickHouse 18.16 a replaced part stays on disk, inactive, for a while,
// and a server killed (even stopped) in that time brings it back active
// after its restart: the month's rows twice. Dropping a partition,
// even one the table does not have, removes the inactive parts at once.
// Newer releases write a covering empty part and need nothing.
func SettleReplaced(ctx context.Context, conn driver.Conn, table string) error {
	if err := conn.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION "+noMonth); err != nil {
		return fmt.Errorf("cannot settle the replaced months of %s: %w", table, err)
	}
	return nil
}

func (r Rollup) backfill(ctx context.Context, conn driver.Conn, parts []string) error {
	stage := StagingTable(r.Table, "migrate")
	for _, s := range []string{"DROP TABLE IF EXISTS " + stage, "CREATE TABLE " + stage + " AS " + r.Table} {
		if err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("cannot prepare %s: %w", stage, err)
		}
	}
	for _, p := range parts {
		stmts := []string{
			r.Build(stage, "app_usage_reports", "toYYYYMM(activity_date) = "+p),
			"ALTER TABLE " + r.Table + " REPLACE PARTITION " + p + " FROM " + stage,
			"ALTER TABLE " + stage + " DROP PARTITION " + p,
		}
		for _, s := range stmts {
			if err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("cannot build %s for month %s: %w", r.Table, p, err)
			}
		}
	}
	if err := SettleReplaced(ctx, conn, r.Table); err != nil {
		return err
	}
	if err := conn.Exec(ctx, "DROP TABLE "+stage); err != nil {
		return fmt.Errorf("cannot drop %s: %w", stage, err)
	}
	return nil
}

// firstRollups is migration 4: the day rollup of earlier usage rows, and a
// first data version for every client. (The per-month distinct-user
// states it once built were replaced by migration 5.)
func firstRollups(ctx context.Context, conn driver.Conn) error {
	if err := backfill("usage_app_days")(ctx, conn); err != nil {
		return err
	}
	err := conn.Exec(ctx, "INSERT INTO client_data_versions (client_id, version) SELECT client_id, toUInt64(?) FROM clients GROUP BY client_id", uint64(time.Now().UnixNano()))
	if err != nil {
		return fmt.Errorf("cannot record first data versions: %w", err)
	}
	return nil
}

// usagePartitions are the months app_usage_reports holds, as YYYYMM.
func usagePartitions(ctx context.Context, conn driver.Conn) ([]string, error) {
	parts, err := StringColumn(ctx, conn, "SELECT DISTINCT toString(toYYYYMM(activity_date)) AS p FROM app_usage_reports ORDER BY p")
	if err != nil {
		return nil, fmt.Errorf("cannot list usage months: %w", err)
	}
	for _, p := range parts {
		if strings.Trim(p, "0123456789") != "" {
			return nil, fmt.Errorf("unexpected usage month %q", p)
		}
	}
	return parts, nil
}

// StringColumn runs a query of one String column and returns its values.
func StringColumn(ctx context.Context, conn driver.Conn, query string, args ...any) ([]string, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
