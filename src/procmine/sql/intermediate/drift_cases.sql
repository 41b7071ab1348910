-- Per case of the mining index, what drift's weekly KPIs read from core.cases (mine/drift.py
-- weekly_series; the weeks, hand-offs and variants come from the index in numpy): whether
-- it is resolved and when (epoch microseconds, 0 when not), and whether it was reopened.
-- Input: _mine_case_id (intermediate/case_ids.sql: ci, resolved_at, reopen_count).
WITH case_ids AS (
    SELECT * FROM _mine_case_id
),
final AS (
    SELECT ci,
           resolved_at IS NOT NULL AS resolved,
           coalesce(epoch_us(resolved_at), 0) AS resolved_us,
           coalesce(reopen_count, 0) > 0 AS reopened
    FROM case_ids
)
SELECT * FROM final
