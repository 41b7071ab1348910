-- Cases GX found unexpected (temp table _gx_rows(row_key = case_no, rule)) → every staged event
-- of the case goes to _failed. {value} is a quoted _case_facts column named by the meta.
INSERT INTO _failed
SELECT s.rowid, $rule, $column, CAST(c.{value} AS VARCHAR), $reason, s.source
FROM _case_facts AS c
JOIN staging.events AS s ON s.case_id = c.case_id AND s.source = c.source
WHERE s.run_id = $run_id
  AND c.case_no IN (SELECT row_key FROM _gx_rows WHERE rule = $rule);
