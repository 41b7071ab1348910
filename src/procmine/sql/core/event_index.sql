-- Bring the mining index (migration 6) up to date for the cases in _reindex_cases (case_id),
-- whose events (all of them, in core) the view _reindex_events holds: new case keys and codes
-- are appended, the cases' rows of core.event_codes are replaced by all their events in
-- canonical order (ts, source_file, source_row, seq). Called by publishing for the cases a run
-- gave new events, and with every case to rebuild it (event_index.py).
-- A new case gets the next key and its partition (migration 19): the UTC month of its first
-- event, from all its events in core; a case with a key keeps both, whatever events come later.
INSERT INTO core.case_keys (case_key, case_id, open_month)
SELECT (SELECT coalesce(max(case_key), 0) FROM core.case_keys)
           + row_number() OVER (ORDER BY r.case_id),
       r.case_id,
       f.open_month
FROM _reindex_cases AS r
LEFT JOIN (
    SELECT case_id,
           CAST(date_trunc('month', make_timestamp(min(epoch_us(ts)))) AS DATE) AS open_month
    FROM _reindex_events
    GROUP BY case_id
) AS f USING (case_id)
WHERE NOT EXISTS (SELECT 1 FROM core.case_keys AS k WHERE k.case_id = r.case_id);

CREATE OR REPLACE TEMP TABLE _reindex_keys AS
SELECT k.case_key, k.case_id FROM core.case_keys AS k SEMI JOIN _reindex_cases USING (case_id);

CREATE OR REPLACE TEMP TABLE _reindex_vocabulary AS
SELECT DISTINCT activity, d2c_stage, source, org_group, support_level, sourcing, source_file
FROM _reindex_events;

INSERT INTO core.step_codes
SELECT (SELECT coalesce(max(code), 0) FROM core.step_codes)
           + row_number() OVER (ORDER BY activity, d2c_stage NULLS FIRST, source),
       activity, d2c_stage, source
FROM (SELECT DISTINCT activity, d2c_stage, source FROM _reindex_vocabulary) AS v
WHERE NOT EXISTS (SELECT 1 FROM core.step_codes AS s
                  WHERE s.activity = v.activity AND s.source = v.source
                    AND s.d2c_stage IS NOT DISTINCT FROM v.d2c_stage);

INSERT INTO core.holder_codes
SELECT (SELECT coalesce(max(code), 0) FROM core.holder_codes)
           + row_number() OVER (ORDER BY org_group NULLS FIRST, support_level NULLS FIRST,
                                         sourcing NULLS FIRST),
       org_group, support_level, sourcing
FROM (SELECT DISTINCT org_group, support_level, sourcing FROM _reindex_vocabulary) AS v
WHERE NOT EXISTS (SELECT 1 FROM core.holder_codes AS h
                  WHERE h.org_group IS NOT DISTINCT FROM v.org_group
                    AND h.support_level IS NOT DISTINCT FROM v.support_level
                    AND h.sourcing IS NOT DISTINCT FROM v.sourcing);

-- the files of those events, ranked by name: the tie-break sorts integers, not paths
CREATE OR REPLACE TEMP TABLE _reindex_files AS
SELECT source_file, row_number() OVER (ORDER BY source_file) AS file_rank
FROM (SELECT DISTINCT source_file FROM _reindex_vocabulary);

DELETE FROM core.event_codes WHERE case_key IN (SELECT case_key FROM _reindex_keys);

INSERT INTO core.event_codes
SELECT k.case_key, epoch_us(e.ts) AS t, s.code AS step, h.code AS holder
FROM _reindex_events AS e
JOIN _reindex_keys AS k USING (case_id)
JOIN _reindex_files AS f USING (source_file)
JOIN core.step_codes AS s
  ON s.activity = e.activity AND s.source = e.source
 AND s.d2c_stage IS NOT DISTINCT FROM e.d2c_stage
JOIN core.holder_codes AS h
  ON h.org_group IS NOT DISTINCT FROM e.org_group
 AND h.support_level IS NOT DISTINCT FROM e.support_level
 AND h.sourcing IS NOT DISTINCT FROM e.sourcing
ORDER BY k.case_key, t, f.file_rank, e.source_row, e.seq;

DROP TABLE _reindex_keys;
DROP TABLE _reindex_files;
DROP TABLE _reindex_vocabulary;
DROP VIEW _reindex_events;
