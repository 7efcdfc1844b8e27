package chschema

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/fold"
)

// addNameKey is migration 2: apps.name_key, the folded form of
// canonical_name (package fold) that name sort and search use instead of
// the server's lowerUTF8. It is Go, not SQL, for two reasons: 18.16 has no
// ADD COLUMN IF NOT EXISTS, so the column is looked up first; and the key
// of rows loaded before the column existed is computed here.
func addNameKey(ctx context.Context, conn driver.Conn) error {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'apps' AND name = 'name_key'").Scan(&n)
	if err != nil {
		return fmt.Errorf("cannot look for apps.name_key: %w", err)
	}
	if n == 0 {
		if err := conn.Exec(ctx, "ALTER TABLE apps ADD COLUMN name_key String AFTER canonical_name"); err != nil {
			return fmt.Errorf("cannot add apps.name_key: %w", err)
		}
	}
	return backfillNameKeys(ctx, conn)
}

// backfillChunk bounds the names bound into one statement, well under the
// server's max_query_size.
const backfillChunk = 500

// backfillNameKeys re-inserts every app row without a key with its key and
// a higher version, which FINAL then prefers. The column list is spelled
// out as it was at version 2: a migration must not follow later changes.
func backfillNameKeys(ctx context.Context, conn driver.Conn) error {
	rows, err := conn.Query(ctx, "SELECT DISTINCT canonical_name FROM apps FINAL WHERE name_key = '' AND canonical_name != ''")
	if err != nil {
		return fmt.Errorf("cannot find apps without a name key: %w", err)
	}
	var names []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		names = append(names, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot find apps without a name key: %w", err)
	}
	for start := 0; start < len(names); start += backfillChunk {
		chunk := names[start:min(start+backfillChunk, len(names))]
		keys := make([]string, len(chunk))
		for i, s := range chunk {
			keys[i] = fold.Key(s)
		}
		err := conn.Exec(ctx, `INSERT INTO apps (client_id, app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
    category_ids, category_names, is_favorite, is_approved, license_count, risk_level, version)
SELECT client_id, app_id, catalog_app_id, canonical_name, transform(canonical_name, @names, @keys, ''), logo, type, vendor_id, vendor_name, vendor_url,
    category_ids, category_names, is_favorite, is_approved, license_count, risk_level, version + 1
FROM apps FINAL
WHERE name_key = '' AND has(@names, canonical_name)`, clickhouse.Named("names", chunk), clickhouse.Named("keys", keys))
		if err != nil {
			return fmt.Errorf("cannot write name keys of %d apps: %w", len(chunk), err)
		}
	}
	return nil
}
