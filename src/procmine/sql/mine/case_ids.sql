-- _mine_case_id: the id of each case of the event arrays (_mine_case_key: ci, case_key).
CREATE OR REPLACE TEMP TABLE _mine_case_id AS
SELECT c.ci, k.case_id
FROM _mine_case_key AS c
JOIN core.case_keys AS k USING (case_key);
