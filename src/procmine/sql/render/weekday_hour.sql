-- Cases opened (arrivals) and resolved per ISO weekday (1 = Monday) × hour of day, in UTC,
-- over the whole log (resolved: resolved_at, else opened + resolution time).
SELECT 'Arrivals' AS flow, isodow(opened_day) AS dow, opened_hour AS hour, count(*) AS cases
FROM pm_render_case WHERE opened_day IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'Resolutions', isodow(resolved_day), resolved_hour, count(*)
FROM pm_render_case WHERE resolved_day IS NOT NULL GROUP BY ALL
ORDER BY flow, dow, hour;
