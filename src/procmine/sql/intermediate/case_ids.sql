-- _mine_case_id (a temp table): per case of the event arrays (_mine_case_key: ci, case_key,
-- first_step, vi) its variant (vi), id, record type (core.cases.case_type; both for
-- marts/ocdfg.sql), its
-- resolution time and reopen count (drift_cases.sql), its vendor, the attributes waste drivers are sought in (priority,
-- category and source as marts.case_kpis has them: the case's source, else its first
-- step's), the other core.cases columns marts.case_kpis shows (read here once, joined by
-- the VARCHAR case id, so that case_kpis.sql joins this table by ci), and a hash of its id and every core.cases column a per-case mart reads (all but
-- the attributes JSON; NULL when the case has no core.cases row): changes.py combines it
-- with the hash of the case's events.
WITH case_keys AS (
    SELECT * FROM _mine_case_key
),
core_case_keys AS (
    SELECT * FROM core.case_keys
),
core_cases AS (
    SELECT * FROM core.cases
),
step_keys AS (
    SELECT * FROM _mine_step_key
),
final AS (
    SELECT c.ci,
           c.vi,
           k.case_id,
           cc.case_type,
           cc.resolved_at,
           cc.reopen_count,
           cc.vendor,
           cc.priority,
           cc.category,
           coalesce(cc.source, first_step.source) AS source,
           cc.service,
           cc.opened_at,
           cc.closed_at,
           cc.sla_met,
           cc.problem_id,
           cc.change_id,
           cc.sourcing,
           CASE WHEN cc.case_id IS NOT NULL THEN
               hash(cc.case_id, cc.case_type, cc.source, cc.priority, cc.category, cc.service,
                    cc.opened_at, cc.resolved_at, cc.closed_at, cc.sla_met, cc.reopen_count,
                    cc.problem_id, cc.change_id, cc.vendor, cc.sourcing)
           END AS signature
    FROM case_keys AS c
    JOIN core_case_keys AS k USING (case_key)
    LEFT JOIN core_cases AS cc ON cc.case_id = k.case_id
    LEFT JOIN step_keys AS first_step ON first_step.code = c.first_step
)
SELECT * FROM final
