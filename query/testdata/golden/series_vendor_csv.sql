SELECT
    toString(g_id),
    g_name,
    t_ms,
    t_sessions,
    t_users,
    t_apps,
    t_rows,
    arrayMap(x -> toString(x), a_bins),
    a_ms,
    a_sessions,
    a_users,
    a_apps,
    a_rows,
    a_days,
    toString(t_ms AS sort_key) AS sort_key_text,
    1 AS after_cursor
FROM
(
    SELECT vendor_id AS g_id, any(vendor_name) AS g_name FROM apps FINAL WHERE client_id = toUUID(@client) GROUP BY vendor_id
) AS dim
ANY LEFT JOIN
(
    SELECT g_id,
        sum(b_ms) AS t_ms, sum(b_sessions) AS t_sessions, uniqExactMerge(s_users) AS t_users,
        uniqExactMerge(s_apps) AS t_apps, sum(b_rows) AS t_rows,
        arraySort(groupArray(bin)) AS a_bins,
        arraySort((x, k) -> k, groupArray(b_ms), groupArray(bin)) AS a_ms,
        arraySort((x, k) -> k, groupArray(b_sessions), groupArray(bin)) AS a_sessions,
        arraySort((x, k) -> k, groupArray(b_users), groupArray(bin)) AS a_users,
        arraySort((x, k) -> k, groupArray(b_apps), groupArray(bin)) AS a_apps,
        arraySort((x, k) -> k, groupArray(b_rows), groupArray(bin)) AS a_rows,
        arraySort((x, k) -> k, groupArray(b_days), groupArray(bin)) AS a_days
    FROM
    (
        SELECT vendor_id AS g_id, toStartOfMonth(activity_date) AS bin,
            sum(active_ms) AS b_ms, sum(sessions) AS b_sessions,
            uniqExactIf(user_id, is_user = 1) AS b_users, uniqExactStateIf(user_id, is_user = 1) AS s_users,
            uniqExactIf(application_id, is_sum = 1) AS b_apps, uniqExactStateIf(application_id, is_sum = 1) AS s_apps,
            sum(user_days) AS b_rows, uniqExactIf(activity_date, is_sum = 1) AS b_days
        FROM (
            SELECT activity_date, application_id, user_id, active_ms, sessions, user_days, is_sum, is_user, vendor_id
            FROM (
            SELECT activity_date, application_id, toUUID('00000000-0000-0000-0000-000000000000') AS user_id, active_ms, sessions, user_days, toUInt8(1) AS is_sum, toUInt8(0) AS is_user
            FROM usage_app_days
            WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end)
            UNION ALL
            SELECT month AS activity_date, application_id, user_id, toUInt64(0) AS active_ms, toUInt64(0) AS sessions, toUInt64(0) AS user_days, toUInt8(0) AS is_sum, toUInt8(1) AS is_user
            FROM usage_app_month_users
            WHERE client_id = toUUID(@client) AND month >= toDate(@cur_months_from) AND month <= toDate(@cur_months_to)
            UNION ALL
            SELECT activity_date, application_id, user_id, toUInt64(0) AS active_ms, toUInt64(0) AS sessions, toUInt64(0) AS user_days, toUInt8(0) AS is_sum, toUInt8(1) AS is_user
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND ((activity_date >= toDate(@cur_head_from) AND activity_date <= toDate(@cur_head_to)) OR (activity_date >= toDate(@cur_tail_from) AND activity_date <= toDate(@cur_tail_to)))
        ) AS u
            ALL INNER JOIN
            (
                SELECT app_id AS application_id, vendor_id FROM apps FINAL WHERE client_id = toUUID(@client)
            ) AS a USING application_id
        )
        GROUP BY g_id, bin
    )
    GROUP BY g_id
) AS agg USING g_id
ORDER BY after_cursor DESC, sort_key DESC, g_id DESC

-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-01-01"
-- @end = "2026-03-31"
-- @cur_months_from = "2026-01-01"
-- @cur_months_to = "2026-03-01"
-- @cur_head_from = "2026-01-01"
-- @cur_head_to = "2025-12-31"
-- @cur_tail_from = "2026-04-01"
-- @cur_tail_to = "2026-03-31"
