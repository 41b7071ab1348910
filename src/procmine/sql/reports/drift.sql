-- The overview's drift section: the changes of marts.drift, latest first.
WITH drift AS (
    SELECT * FROM marts.drift
),
final AS (
    SELECT week, kind, series,
           CASE kind WHEN 'kpi' THEN 'KPI: ' || series ELSE series END AS what,
           before_value, after_value, change, relative_change, score,
           weeks_before, weeks_after, coalesce(contributor_detail, '') AS contributors,
           window_start, window_end
    FROM drift
)
SELECT * FROM final
ORDER BY week DESC, score DESC
