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
    SELECT g_id, ifNull(display_name, '') AS g_name FROM
        (
            SELECT user_id AS g_id FROM
            (
                SELECT user_id FROM user_departments WHERE client_id = toUUID(@client)
                UNION ALL
                SELECT user_id FROM app_usage_reports WHERE client_id = toUUID(@client)
            )
            WHERE 1 AND user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))
            GROUP BY user_id
        ) AS known
        ANY LEFT JOIN
        (
            SELECT user_id AS g_id, display_name FROM users FINAL WHERE client_id = toUUID(@client)
        ) AS named USING g_id
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
        SELECT user_id AS g_id, activity_date AS bin,
            sum(active_ms) AS b_ms, sum(sessions) AS b_sessions,
            uniqExactIf(user_id, is_user = 1) AS b_users, uniqExactStateIf(user_id, is_user = 1) AS s_users,
            uniqExactIf(application_id, is_sum = 1) AS b_apps, uniqExactStateIf(application_id, is_sum = 1) AS s_apps,
            sum(user_days) AS b_rows, uniqExactIf(activity_date, is_sum = 1) AS b_days
        FROM (
            SELECT activity_date, application_id, user_id, total_active_ms AS active_ms, toUInt64(total_session_count) AS sessions, toUInt64(1) AS user_days, toUInt8(1) AS is_sum, toUInt8(1) AS is_user
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))
        )
        GROUP BY g_id, bin
    )
    GROUP BY g_id
) AS agg USING g_id
ORDER BY after_cursor DESC, sort_key DESC, g_id DESC
LIMIT 51
-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-02-01"
-- @end = "2026-02-28"
-- @depts = []string{"d0000000-0000-4000-8000-000000000001"}
