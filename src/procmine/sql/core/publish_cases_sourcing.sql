-- Step 3b of publishing into a core.cases that held rows: the sourcing of touched cases whose
-- row was not inserted by core/publish_cases.sql (those were inserted with it) becomes
-- that of the last group that held the case.
UPDATE core.cases AS c
SET sourcing = l.sourcing
FROM _last_sourcing AS l
WHERE c.case_id = l.case_id AND c.sourcing IS DISTINCT FROM l.sourcing;
