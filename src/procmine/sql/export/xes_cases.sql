-- The XES traces' attributes (export.write_xes): core.cases' rows keyed by (source, case_id),
-- the other columns in the order of export.CASE_COLUMNS, times in UTC as XES writes them and
-- the attributes JSON as text.
SELECT source, case_id, case_type, priority, category, service,
       strftime(timezone('UTC', opened_at), '%Y-%m-%dT%H:%M:%S.%g+00:00') AS opened_at,
       strftime(timezone('UTC', resolved_at), '%Y-%m-%dT%H:%M:%S.%g+00:00') AS resolved_at,
       strftime(timezone('UTC', closed_at), '%Y-%m-%dT%H:%M:%S.%g+00:00') AS closed_at,
       sla_met, reopen_count, problem_id, change_id, vendor, sourcing,
       CAST(attributes AS VARCHAR) AS attributes
FROM core.cases
