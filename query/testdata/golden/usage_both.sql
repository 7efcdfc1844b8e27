SELECT activity_date, application_id, user_id, total_active_ms, total_session_count
FROM app_usage_reports
WHERE client_id = toUUID(@client) AND activity_date >= toDate(@start) AND activity_date <= toDate(@end) AND has(arrayMap(x -> toUUID(x), @apps), application_id) AND user_id IN (SELECT user_id FROM user_departments WHERE client_id = toUUID(@client) AND has(arrayMap(x -> toUUID(x), @depts), department_id))
ORDER BY activity_date, reinterpretAsUInt64(reinterpretAsFixedString(application_id)), reinterpretAsUInt64(substring(reinterpretAsFixedString(application_id), 9, 8)), reinterpretAsUInt64(reinterpretAsFixedString(user_id)), reinterpretAsUInt64(substring(reinterpretAsFixedString(user_id), 9, 8))
-- @client = "c0000000-0000-4000-8000-000000000001"
-- @start = "2026-02-01"
-- @end = "2026-02-28"
-- @apps = []string{"a0000000-0000-4000-8000-000000000001"}
-- @depts = []string{"d0000000-0000-4000-8000-000000000001"}
