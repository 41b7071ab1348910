-- _part_cases: the core.cases columns marts/case_kpis.sql reads, with mining's case index
-- (ci, _mine_case_id), so that mine/partition_marts.py ships each case partition its rows.
WITH case_ids AS (
    SELECT * FROM _mine_case_id
),
core_cases AS (
    SELECT * FROM core.cases
),
final AS (
    SELECT i.ci, c.case_id, c.case_type, c.source, c.priority, c.category, c.service,
           c.opened_at, c.resolved_at, c.closed_at, c.sla_met, c.problem_id, c.change_id,
           c.vendor, c.sourcing
    FROM case_ids AS i
    JOIN core_cases AS c ON c.case_id = i.case_id
)
SELECT * FROM final
