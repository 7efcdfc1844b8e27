SELECT
    toString(user_id),
    display_name,
    email,
    arrayMap(x -> toString(x), depts),
    active_ms,
    sessions,
    active_days,
    apps_used,
    first_day,
    last_day,
    top_ids,
    top_ms,
    toString(active_ms AS sort_key) AS sort_key_text,
    1 AS after_cursor
FROM
(
    SELECT user_id, active_ms, sessions, active_days, apps_used, first_day, last_day, top_ids, top_ms, depts
    FROM
    (
        SELECT user_id, active_ms, sessions, active_days, apps_used, first_day, last_day, top_ids, top_ms
        FROM
        (
            SELECT user_id, sum(total_active_ms) AS active_ms, sum(toUInt64(total_session_count)) AS sessions,
                uniqExact(activity_date) AS active_days, uniqExact(application_id) AS apps_used,
                min(activity_date) AS first_day, max(activity_date) AS last_day
            FROM app_usage_reports
            WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND has(arrayMap(x -> toUUID(x), @only), user_id)
            GROUP BY user_id
            HAVING 1
        ) AS totals
        ANY LEFT JOIN
        (
            SELECT user_id,
                arraySort(x -> (-toInt64(tupleElement(x, 1)), tupleElement(x, 2)), groupArray((app_ms, toString(application_id)))) AS ranked,
                arrayMap(x -> tupleElement(x, 2), arraySlice(ranked, 1, 3)) AS top_ids,
                arrayMap(x -> tupleElement(x, 1), arraySlice(ranked, 1, 3)) AS top_ms
            FROM
            (
                SELECT user_id, application_id, sum(total_active_ms) AS app_ms
                FROM app_usage_reports
                WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND has(arrayMap(x -> toUUID(x), @only), user_id)
                GROUP BY user_id, application_id
            )
            GROUP BY user_id
        ) AS top USING user_id
    ) AS with_top
    ANY LEFT JOIN
    (
        SELECT user_id, arraySort(groupUniqArray(department_id)) AS depts
        FROM user_departments
        WHERE client_id = toUUID(@client)
        GROUP BY user_id
    ) AS membership USING user_id
) AS with_depts
ANY LEFT JOIN
(
    SELECT user_id, display_name, email, name_key, email_key
    FROM users FINAL
    WHERE client_id = toUUID(@client)
) AS names USING user_id
WHERE 1
ORDER BY after_cursor DESC, sort_key DESC, user_id DESC
LIMIT 51
-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-02-01"
-- @end = "2026-02-28"
-- @only = []string{"b0000000-0000-4000-8000-000000000001"}
