-- Distinct users as rows instead of uniqExact states: on 18.16 merging
-- twelve months of per-app states runs on one core and took most of a
-- twelve-month answer (bench/RESULTS.md); uniqExact over these rows runs
-- on every core. Rebuilt like the other rollups; migration 6 fills them.
CREATE TABLE IF NOT EXISTS usage_app_month_users (
    client_id UUID,
    month Date,
    application_id UUID,
    user_id UUID
) ENGINE = MergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (client_id, month, application_id, user_id);

CREATE TABLE IF NOT EXISTS usage_client_month_users (
    client_id UUID,
    month Date,
    user_id UUID
) ENGINE = MergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (client_id, month, user_id);

DROP TABLE IF EXISTS usage_app_months;
DROP TABLE IF EXISTS usage_client_months;
