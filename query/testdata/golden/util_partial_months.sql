SELECT
    toString(app_id),
    toString(catalog_app_id),
    canonical_name,
    logo,
    CAST(type AS String),
    toString(vendor_id),
    vendor_name,
    vendor_url,
    arrayMap(x -> toString(x), category_ids),
    category_names,
    is_favorite,
    is_approved,
    license_count,
    risk_level,
    cur_users,
    cur_ms,
    cur_buckets,
    cur_sessions,
    cur_points,
    cmp_users,
    cmp_ms,
    cmp_buckets,
    cmp_sessions,
    client_users,
    toString(name_key AS sort_key) AS sort_key_text,
    1 AS after_cursor
FROM
(
    SELECT app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
        category_ids, category_names, is_favorite, is_approved, license_count, risk_level, client_users
    FROM
    (
        SELECT app_id, catalog_app_id, canonical_name, name_key, logo, type, vendor_id, vendor_name, vendor_url,
            category_ids, category_names, is_favorite, is_approved, license_count, risk_level
        FROM apps FINAL
        WHERE client_id = toUUID(@client)
    ) AS listed
    CROSS JOIN
    (
        SELECT uniqExact(user_id) AS client_users FROM
        (
            SELECT user_id FROM usage_client_month_users
            WHERE client_id = toUUID(@client) AND (month >= toDate(@cur_months_from) AND month <= toDate(@cur_months_to))
            UNION ALL
            SELECT user_id FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND ((activity_date >= toDate(@cur_head_from) AND activity_date <= toDate(@cur_head_to)) OR (activity_date >= toDate(@cur_tail_from) AND activity_date <= toDate(@cur_tail_to)))
        )
    ) AS totals
) AS app
ANY LEFT JOIN
(
    SELECT app_id, cur_rows, cur_users, cur_ms, cur_buckets, cur_sessions, cur_points,
        cmp_users, cmp_ms, cmp_buckets, cmp_sessions
    FROM
    (
        SELECT application_id AS app_id,
            sumIf(user_days, (activity_date >= toDate(@start) AND activity_date <= toDate(@end)) AS cur) AS cur_rows,
            sumIf(active_ms, cur) AS cur_ms,
            uniqExactIf(toMonday(activity_date), cur) AS cur_buckets,
            sumIf(sessions, cur) AS cur_sessions,
            cur_rows AS cur_points,
            sumIf(active_ms, (activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp) AS cmp_ms,
            uniqExactIf(toMonday(activity_date), cmp) AS cmp_buckets,
            sumIf(sessions, cmp) AS cmp_sessions
        FROM usage_app_days
        WHERE client_id = toUUID(@client) AND activity_date >= toDate(@scan_from) AND activity_date <= toDate(@scan_to)
        GROUP BY application_id
    ) AS sums
    ANY LEFT JOIN
    (
        SELECT app_id, uniqExactIf(user_id, in_cur) AS cur_users, uniqExactIf(user_id, in_cmp) AS cmp_users
        FROM
        (
            SELECT application_id AS app_id, user_id, (month >= toDate(@cur_months_from) AND month <= toDate(@cur_months_to)) AS in_cur, (month >= toDate(@cmp_months_from) AND month <= toDate(@cmp_months_to)) AS in_cmp
            FROM usage_app_month_users
            WHERE client_id = toUUID(@client) AND ((month >= toDate(@cur_months_from) AND month <= toDate(@cur_months_to)) OR (month >= toDate(@cmp_months_from) AND month <= toDate(@cmp_months_to)))
            UNION ALL
            SELECT application_id AS app_id, user_id, ((activity_date >= toDate(@cur_head_from) AND activity_date <= toDate(@cur_head_to)) OR (activity_date >= toDate(@cur_tail_from) AND activity_date <= toDate(@cur_tail_to))) AS in_cur, ((activity_date >= toDate(@cmp_head_from) AND activity_date <= toDate(@cmp_head_to)) OR (activity_date >= toDate(@cmp_tail_from) AND activity_date <= toDate(@cmp_tail_to))) AS in_cmp
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND (((activity_date >= toDate(@cur_head_from) AND activity_date <= toDate(@cur_head_to)) OR (activity_date >= toDate(@cur_tail_from) AND activity_date <= toDate(@cur_tail_to))) OR ((activity_date >= toDate(@cmp_head_from) AND activity_date <= toDate(@cmp_head_to)) OR (activity_date >= toDate(@cmp_tail_from) AND activity_date <= toDate(@cmp_tail_to))))
        )
        GROUP BY app_id
    ) AS users USING app_id
) AS used USING app_id
WHERE cur_rows > 0
ORDER BY after_cursor DESC, sort_key DESC, app_id DESC
LIMIT 51
-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-01-15"
-- @end = "2026-04-10"
-- @cstart = "2025-12-03"
-- @cend = "2025-12-20"
-- @scan_from = "2025-12-03"
-- @scan_to = "2026-04-10"
-- @cur_months_from = "2026-02-01"
-- @cur_months_to = "2026-03-01"
-- @cur_head_from = "2026-01-15"
-- @cur_head_to = "2026-01-31"
-- @cur_tail_from = "2026-04-01"
-- @cur_tail_to = "2026-04-10"
-- @cmp_months_from = "2026-01-01"
-- @cmp_months_to = "2025-11-01"
-- @cmp_head_from = "2025-12-03"
-- @cmp_head_to = "2025-12-20"
-- @cmp_tail_from = "2025-12-21"
-- @cmp_tail_to = "2025-12-20"
