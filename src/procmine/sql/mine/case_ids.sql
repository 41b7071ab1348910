-- _mine_case_id: per case of the event arrays (_mine_case_key: ci, case_key, first_step) its
-- id, its vendor, the attributes waste drivers are sought in (priority, category and source as
-- marts.case_kpis has them: the case's source, else its first step's), and a hash of its id and
-- every core.cases column a per-case mart reads (all but the attributes JSON; NULL when the
-- case has no core.cases row): changes.py combines it with the hash of the case's events.
CREATE OR REPLACE TEMP TABLE _mine_case_id AS
SELECT c.ci,
       k.case_id,
       cc.vendor,
       cc.priority,
       cc.category,
       coalesce(cc.source, first_step.source) AS source,
       CASE WHEN cc.case_id IS NOT NULL THEN
           hash(cc.case_id, cc.case_type, cc.source, cc.priority, cc.category, cc.service,
                cc.opened_at, cc.resolved_at, cc.closed_at, cc.sla_met, cc.reopen_count,
                cc.problem_id, cc.change_id, cc.vendor, cc.sourcing)
       END AS signature
FROM _mine_case_key AS c
JOIN core.case_keys AS k USING (case_key)
LEFT JOIN core.cases AS cc ON cc.case_id = k.case_id
LEFT JOIN _mine_step_key AS first_step ON first_step.code = c.first_step;
