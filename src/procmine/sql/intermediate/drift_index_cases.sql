-- Per case of the drift window, from the mining index (mine/drift.py weekly_series_of): the
-- same rows as drift_cases.sql without reading and sorting core.events again. Inputs:
-- _mine_drift_case (ci, first_us, last_us, vi, handoffs: changes of org_group between
-- consecutive events of the case, both with a group), _mine_drift_handoff (ci, code: each
-- distinct hand-off edge of the case), _mine_drift_handoff_name (code, item: 'from → to'),
-- _mine_variant (vi, activities),
-- _mine_case_id (ci, case_id), _drift_week (drift_index_weeks.sql), core.cases. A case's
-- directly-follows edges and variant are its variant's.
WITH drift_cases AS (
    SELECT * FROM _mine_drift_case
),
handoff_edges AS (
    SELECT * FROM _mine_drift_handoff
),
handoff_names AS (
    SELECT * FROM _mine_drift_handoff_name
),
variants AS (
    SELECT * FROM _mine_variant
),
case_ids AS (
    SELECT * FROM _mine_case_id
),
weeks AS (
    SELECT * FROM _drift_week
),
cases AS (
    SELECT * FROM core.cases
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
variant_items AS (
    SELECT vi,
           array_to_string(activities, ' → ') AS variant,
           list_distinct(list_transform(range(1, len(activities)),
                                        lambda i: activities[i] || ' → ' || activities[i + 1]))
               AS edges
    FROM variants
    WHERE vi IN (SELECT vi FROM in_window)
),
case_handoffs AS (
    SELECT h.ci, list(n.item) AS handoff_edges
    FROM handoff_edges AS h
    JOIN handoff_names AS n ON n.code = h.code
    SEMI JOIN in_window AS w ON w.ci = h.ci
    GROUP BY h.ci
),
final AS (
    SELECT k.case_id, w.week,
           epoch(c.resolved_at - w.first_ts) / 3600.0 AS resolution_h,
           w.handoffs::INTEGER AS handoffs,
           coalesce(c.reopen_count, 0) > 0 AS reopened,
           v.variant, v.edges, h.handoff_edges
    FROM in_window AS w
    JOIN case_ids AS k ON k.ci = w.ci
    JOIN variant_items AS v ON v.vi = w.vi
    LEFT JOIN case_handoffs AS h ON h.ci = w.ci
    LEFT JOIN cases AS c ON c.case_id = k.case_id
)
SELECT * FROM final
ORDER BY week, case_id
