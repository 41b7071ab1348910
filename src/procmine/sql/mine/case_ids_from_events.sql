-- Case ids by hash from core.events itself (when core.cases lacks some cases).
SELECT hash(case_id, $salt) AS h, min(case_id) AS case_id, count(DISTINCT case_id) AS ids_per_hash
FROM core.events
GROUP BY 1
ORDER BY 1
