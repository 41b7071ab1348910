-- Per case key, a hash of the case id and every core.cases column a per-case mart reads
-- (all but the attributes JSON): changes.py combines it with the hash of the case's events.
SELECT k.case_key,
       hash(c.case_id, c.case_type, c.source, c.priority, c.category, c.service, c.opened_at,
            c.resolved_at, c.closed_at, c.sla_met, c.reopen_count, c.problem_id, c.change_id,
            c.vendor, c.sourcing) AS signature
FROM core.cases AS c
JOIN core.case_keys AS k USING (case_id)
