-- `procmine export --format csv` (export.py): core.events' columns, in case order, then the
-- canonical order of DESIGN.md (ts, source_file, source_row, seq).
SELECT case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, event_id
FROM core.events
ORDER BY case_id, ts, source_file, source_row, seq
