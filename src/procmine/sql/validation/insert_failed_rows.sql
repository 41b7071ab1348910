-- Rows GX found unexpected (temp table _gx_rows(row_key, rule)) → _failed with the offending
-- value. {value} is a quoted staging.events column named by the expectation's meta.
INSERT INTO _failed
SELECT s.rowid, $rule, $column, CAST(s.{value} AS VARCHAR), $reason, s.source
FROM staging.events AS s
WHERE s.rowid IN (SELECT row_key FROM _gx_rows WHERE rule = $rule);
