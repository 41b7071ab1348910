-- Cases opened (arrivals) and resolved per ISO weekday (1 = Monday) × hour of day, in UTC,
-- over the whole log (resolved: resolved_at, else opened + resolution time).
WITH cases AS NOT MATERIALIZED (
    SELECT * FROM pm_render_case
),
arrivals AS (
    SELECT 'Arrivals' AS flow, isodow(opened_day) AS dow, opened_hour AS hour,
           count(*) AS cases
    FROM cases WHERE opened_day IS NOT NULL GROUP BY ALL
),
resolutions AS (
    SELECT 'Resolutions' AS flow, isodow(resolved_day) AS dow, resolved_hour AS hour,
           count(*) AS cases
    FROM cases WHERE resolved_day IS NOT NULL GROUP BY ALL
),
final AS (
    SELECT * FROM arrivals
    UNION ALL
    SELECT * FROM resolutions
)
SELECT * FROM final
ORDER BY flow, dow, hour
