-- _mine_case_id: the id of each case of the event arrays (_mine_case_hash: ci, h), matched
-- by the hash events.sql uses ($salt), from {table} (core.cases, else core.events). Two ids
-- with one hash show as a ci with two rows (the caller retries with another salt).
CREATE OR REPLACE TEMP TABLE _mine_case_id AS
SELECT k.ci, ids.case_id
FROM _mine_case_hash AS k
JOIN (SELECT DISTINCT hash(case_id, $salt) AS h, case_id FROM {table}) AS ids USING (h);
