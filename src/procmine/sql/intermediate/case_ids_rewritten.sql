-- _mine_case_id with the case ids and the core.cases columns that only marts.case_kpis and
-- marts.waste read, for the rewritten cases (_mine_rewrite: ci, case_key; mine/changes.py),
-- when case_ids.sql left them out ($case_details false). The other cases keep NULL there:
-- their rows of the per-case marts are not written by this run.
WITH case_ids AS (
    SELECT * FROM _mine_case_id
),
rewritten AS (
    SELECT * FROM _mine_rewrite
),
core_case_keys AS (
    SELECT * FROM core.case_keys
),
core_cases AS (
    SELECT * FROM core.cases
),
details AS (
    SELECT r.ci, k.case_id, cc.service, cc.opened_at, cc.closed_at, cc.sla_met,
           cc.problem_id, cc.change_id, cc.sourcing
    FROM rewritten AS r
    JOIN core_case_keys AS k USING (case_key)
    LEFT JOIN core_cases AS cc ON cc.case_id = k.case_id
),
final AS (
    SELECT i.* REPLACE (d.case_id AS case_id, d.service AS service,
                        d.opened_at AS opened_at, d.closed_at AS closed_at,
                        d.sla_met AS sla_met, d.problem_id AS problem_id,
                        d.change_id AS change_id, d.sourcing AS sourcing)
    FROM case_ids AS i
    LEFT JOIN details AS d ON d.ci = i.ci
)
SELECT * FROM final
