-- `procmine export --format xes` (export.write_xes): core.events, one trace per (case, source)
-- in a row, then the canonical order of DESIGN.md (ts, source_file, source_row, seq); ts in
-- UTC as XES writes it. export.EVENT_KEYS names the columns by position.
SELECT source, case_id, activity,
       strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%g+00:00') AS ts,
       resource, org_group, support_level, sourcing, d2c_stage, event_id
FROM core.events
ORDER BY case_id, source, ts, source_file, source_row, seq
