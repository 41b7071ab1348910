-- marts.drift: the changes drift detection found (mine/drift.py, ruptures' PELT over the
-- weekly series of the last [drift] window_weeks complete weeks): from which week, in what
-- (a KPI, or the mix of directly-follows edges, hand-off edges or variants), how big, and
-- the items that contribute most.
WITH found AS (
    SELECT * FROM _mine_drift
),
final AS (
    SELECT CAST(week AS DATE) AS week, kind, series,
           before_value, after_value, change, relative_change, score,
           weeks_before::INTEGER AS weeks_before, weeks_after::INTEGER AS weeks_after,
           contributors, contributor_detail,
           CAST(window_start AS DATE) AS window_start, CAST(window_end AS DATE) AS window_end
    FROM found
)
SELECT * FROM final
ORDER BY week, score DESC
