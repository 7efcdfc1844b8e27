-- One page of the utilization table computed as the spec's "DB source"
-- table says: COUNT(DISTINCT user_id), SUM(total_active_ms),
-- SUM(total_session_count) and COUNT(DISTINCT activity_date) (the daily
-- average's divisor) per app over the period, joined to apps and the
-- catalog, default sort (canonical name descending), first page of 50, with
-- the total count the DTO carries. $1 client id, $2 start date, $3 end date.
SELECT a.id::text,
       c.canonical_name,
       u.unique_users,
       u.active_ms,
       u.sessions,
       u.active_days,
       count(*) OVER () AS total_count
FROM apps a
JOIN catalog_applications c ON c.id = a.catalog_app_id
JOIN (
    SELECT application_id,
           COUNT(DISTINCT user_id)          AS unique_users,
           SUM(total_active_ms)::bigint     AS active_ms,
           SUM(total_session_count)::bigint AS sessions,
           COUNT(DISTINCT activity_date)    AS active_days
    FROM app_usage_reports
    WHERE client_id = $1::uuid AND activity_date BETWEEN $2::date AND $3::date
    GROUP BY application_id
) u ON u.application_id = a.id
WHERE a.client_id = $1::uuid
ORDER BY lower(c.canonical_name) DESC, a.id DESC
LIMIT 50
