-- Case ids by the hash the event arrays use ($salt as in events.sql), from core.cases (one
-- row per case); ids_per_hash > 1 means two ids collide under this salt.
SELECT hash(case_id, $salt) AS h, min(case_id) AS case_id, count(DISTINCT case_id) AS ids_per_hash
FROM core.cases
GROUP BY 1
ORDER BY 1
