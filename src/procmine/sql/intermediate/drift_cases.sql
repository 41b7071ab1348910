-- Per case of the drift window (mine/drift.py weekly_series), from the mining index rather
-- than core.events: its week, hours from first event to resolution, hand-offs and whether it
-- was reopened (what drift_kpis_weekly.sql reads), with its ci and variant (vi) for
-- drift_items_weekly.sql. Inputs: _mine_drift_case (ci, first_us, vi, handoffs: changes of
-- org_group between consecutive events of the case, both with a group; drift.case_tables),
-- _mine_case_id (ci, case_id, resolved_at, reopen_count: the case's core.cases row),
-- _drift_week (drift_weeks.sql).
WITH drift_cases AS (
    SELECT * FROM _mine_drift_case
),
case_ids AS (
    SELECT * FROM _mine_case_id
),
weeks AS (
    SELECT * FROM _drift_week
),
case_weeks AS (
    SELECT d.ci, d.vi, d.handoffs,
           make_timestamp(d.first_us)::TIMESTAMPTZ AS first_ts,
           date_trunc('week', make_timestamp(d.first_us)::TIMESTAMPTZ)::DATE AS week
    FROM drift_cases AS d
),
in_window AS (
    SELECT c.* FROM case_weeks AS c
    SEMI JOIN weeks AS k ON k.week = c.week
),
final AS (
    SELECT k.case_id, w.week,
           epoch(k.resolved_at - w.first_ts) / 3600.0 AS resolution_h,
           w.handoffs::INTEGER AS handoffs,
           coalesce(k.reopen_count, 0) > 0 AS reopened,
           w.ci, w.vi
    FROM in_window AS w
    JOIN case_ids AS k ON k.ci = w.ci
)
SELECT * FROM final
ORDER BY week, case_id
