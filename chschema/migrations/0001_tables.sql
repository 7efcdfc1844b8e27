-- Tenants. Dimension tables are ReplacingMergeTree keyed by their natural
-- key, so a re-load upserts; readers that need one row per key use FINAL.
CREATE TABLE IF NOT EXISTS clients (
    client_id UUID,
    name String,
    timezone String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY client_id;

-- One row per client app, with the catalog data denormalised into it.
CREATE TABLE IF NOT EXISTS apps (
    client_id UUID,
    app_id UUID,
    catalog_app_id UUID,
    canonical_name String,
    logo Nullable(String),
    type {{lc "String"}},
    vendor_id UUID,
    vendor_name String,
    vendor_url String,
    category_ids Array(UUID),
    category_names Array(String),
    is_favorite UInt8,
    is_approved UInt8,
    license_count Nullable(UInt32),
    risk_level Nullable(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client_id, app_id);

CREATE TABLE IF NOT EXISTS user_departments (
    client_id UUID,
    user_id UUID,
    department_id UUID,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client_id, department_id, user_id);

-- One row per (client, day, app, user). Plain MergeTree: the loader makes
-- re-loads idempotent by swapping whole monthly partitions, so queries need
-- neither FINAL nor a de-duplicating subquery.
CREATE TABLE IF NOT EXISTS app_usage_reports (
    client_id UUID,
    activity_date Date {{codec "DoubleDelta, LZ4"}},
    application_id UUID,
    user_id UUID,
    total_active_ms UInt64 {{codec "T64, LZ4"}},
    total_session_count UInt32 {{codec "T64, LZ4"}}
) ENGINE = MergeTree
PARTITION BY toYYYYMM(activity_date)
ORDER BY (client_id, activity_date, application_id, user_id);

-- First and last activity per client app, so discovered / dropped_off need
-- not scan history. min/max states are idempotent under re-loads.
CREATE TABLE IF NOT EXISTS app_activity_bounds (
    client_id UUID,
    application_id UUID,
    first_seen AggregateFunction(min, Date),
    last_seen AggregateFunction(max, Date)
) ENGINE = AggregatingMergeTree
ORDER BY (client_id, application_id);
