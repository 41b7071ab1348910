-- Cases opened (arrivals) and resolved per ISO weekday (1 = Monday) × hour of day, in UTC,
-- over the whole log.
WITH c AS (
    SELECT opened_at, coalesce(resolved_at, opened_at + to_seconds(resolution_s)) AS resolved_at
    FROM pm_render_case
)
SELECT 'Arrivals' AS flow, isodow(opened_at) AS dow, hour(opened_at) AS hour, count(*) AS cases
FROM c WHERE opened_at IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'Resolutions', isodow(resolved_at), hour(resolved_at), count(*)
FROM c WHERE resolved_at IS NOT NULL GROUP BY ALL
ORDER BY flow, dow, hour;
