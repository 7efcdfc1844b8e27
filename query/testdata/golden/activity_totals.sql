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
        AND app_id = toUUID(@app)
    ) AS listed
    CROSS JOIN
    (
        SELECT uniqExact(user_id) AS client_users FROM app_usage_reports
        WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))
    ) AS totals
) AS app
ANY LEFT JOIN
(
    SELECT application_id AS app_id,
        countIf((activity_date >= toDate(@start) AND activity_date <= toDate(@end)) AS cur) AS cur_rows,
        uniqExactIf(user_id, cur AND ((user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))) AS dep)) AS cur_users,
        sumIf(total_active_ms, cur AND dep) AS cur_ms,
        uniqExactIf(toMonday(activity_date), cur AND dep) AS cur_buckets,
        sumIf(total_session_count, cur AND dep) AS cur_sessions,
        countIf(cur AND dep) AS cur_points,
        uniqExactIf(user_id, ((activity_date >= toDate(@cstart) AND activity_date <= toDate(@cend)) AS cmp) AND dep) AS cmp_users,
        sumIf(total_active_ms, cmp AND dep) AS cmp_ms,
        uniqExactIf(toMonday(activity_date), cmp AND dep) AS cmp_buckets,
        sumIf(total_session_count, cmp AND dep) AS cmp_sessions
    FROM app_usage_reports
    WHERE client_id = toUUID(@client) AND activity_date >= toDate(@scan_from) AND activity_date <= toDate(@scan_to)
    GROUP BY application_id
) AS used USING app_id
WHERE 1
ORDER BY after_cursor DESC, sort_key DESC, app_id DESC

-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-01-14"
-- @end = "2026-02-28"
-- @cstart = "2025-12-01"
-- @cend = "2026-01-13"
-- @scan_from = "2025-12-01"
-- @scan_to = "2026-02-28"
-- @depts = []string{"d0000000-0000-4000-8000-000000000001"}
-- @app = "a0000000-0000-4000-8000-000000000001"
