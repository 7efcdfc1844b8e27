SELECT
    toString(app_id), toString(catalog_app_id), canonical_name, logo, type,
    toString(vendor_id), vendor_name, vendor_url,
    arrayMap(x -> toString(x), category_ids), category_names,
    is_favorite, is_approved, license_count, risk_level,
    cur_users, cur_ms, cur_buckets, cur_sessions, cur_points,
    toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0),
    (SELECT uniqExact(user_id) FROM app_usage_reports WHERE client_id = toUUID('21ff2330-f4a0-4d99-af09-01a1947094b0') AND activity_date >= toDate('2025-11-01') AND activity_date <= toDate('2026-10-31') AND 1) AS client_users,
    toString(lowerUTF8(canonical_name)) AS sort_key_text,
    lowerUTF8(canonical_name) AS sort_key,
    1 AS after_cursor
FROM
(
    SELECT app_id, catalog_app_id, canonical_name, logo, type, vendor_id, vendor_name, vendor_url,
        category_ids, category_names, is_favorite, is_approved, license_count, risk_level
    FROM apps FINAL
    WHERE client_id = toUUID('21ff2330-f4a0-4d99-af09-01a1947094b0')
)
ANY LEFT JOIN
(
    SELECT application_id AS app_id,
        countIf((activity_date >= toDate('2025-11-01') AND activity_date <= toDate('2026-10-31')) AS cur) AS cur_rows,
        uniqExactIf(user_id, cur AND ((1) AS dep)) AS cur_users,
        sumIf(total_active_ms, cur AND dep) AS cur_ms,
        uniqExactIf(activity_date, cur AND dep) AS cur_buckets,
        sumIf(total_session_count, cur AND dep) AS cur_sessions,
        countIf(cur AND dep) AS cur_points
    FROM app_usage_reports
    WHERE client_id = toUUID('21ff2330-f4a0-4d99-af09-01a1947094b0') AND activity_date >= toDate('2025-11-01') AND activity_date <= toDate('2026-10-31')
    GROUP BY application_id
) USING app_id
WHERE cur_rows > 0
ORDER BY after_cursor DESC, sort_key DESC, app_id DESC
LIMIT 51
