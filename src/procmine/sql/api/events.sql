-- core.events as pm4py's event frame: its column names (case:concept:name, concept:name,
-- time:timestamp, org:resource, org:group; case attributes prefixed case:), cases contiguous
-- and each case's events in procmine's canonical order (ts, source_file, source_row, seq).
-- $source: only this source's events (NULL: all).
SELECT case_id       AS "case:concept:name",
       activity      AS "concept:name",
       ts            AS "time:timestamp",
       resource      AS "org:resource",
       org_group     AS "org:group",
       case_type     AS "case:case_type",
       support_level,
       sourcing,
       d2c_stage,
       source,
       event_id,
       source_file,
       source_row,
       seq
FROM core.events
WHERE $source IS NULL OR source = $source
ORDER BY case_id, ts, source_file, source_row, seq
