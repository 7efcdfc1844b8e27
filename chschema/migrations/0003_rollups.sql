-- Rollups of app_usage_reports, written only by the loader (and migration
-- 4 for rows loaded before they existed), rebuilt per (client, month) in
-- the same partition swap as the raw rows: a materialized view would not
-- see REPLACE PARTITION. One row per key; plain MergeTree, no FINAL.

-- Per (client, day, app): the sums and the number of user-days.
CREATE TABLE IF NOT EXISTS usage_app_days (
    client_id UUID,
    activity_date Date,
    application_id UUID,
    active_ms UInt64,
    sessions UInt64,
    user_days UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(activity_date)
ORDER BY (client_id, activity_date, application_id);

-- Per (client, month, app): the exact set of users, as a mergeable state.
CREATE TABLE IF NOT EXISTS usage_app_months (
    client_id UUID,
    month Date,
    application_id UUID,
    users AggregateFunction(uniqExact, UUID)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (client_id, month, application_id);

-- Per (client, month): the exact set of users of any app.
CREATE TABLE IF NOT EXISTS usage_client_months (
    client_id UUID,
    month Date,
    users AggregateFunction(uniqExact, UUID)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (client_id, month);

-- A client's data version: the time (Unix nanoseconds) a load that touched
-- it committed. The latest wins; responses are cached under it.
CREATE TABLE IF NOT EXISTS client_data_versions (
    client_id UUID,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY client_id;
