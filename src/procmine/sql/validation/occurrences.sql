-- Event identity (README "Event identity"), before any rule: identical events of one source
-- file are distinct events. A file's rows that share a key (pm_event_id: same source, case,
-- activity, raw timestamp and adapter fields) are numbered in file order (source_row, seq):
-- the first keeps its key, the n-th gets pm_occurrence_id(key, n). Loading the same file
-- again, or an overlapping export that repeats those rows in the same order, gives the same
-- keys, so publishing adds nothing for them. Copies of one source row (same file, row and
-- seq: an adapter staging a row twice) share n and stay duplicates for event_id_unique.
-- Only rows whose key repeats in the run are looked at (_repeated_ids, made by
-- validation.repeats: usually none); the new keys' hashes join _repeated_ids, so that
-- event_id_unique and publishing (which reuses _repeated_ids) see repeats among them too.
-- Params: $run_id.

-- event_id is 32 hex digits, so '<key>#<n>' is unambiguous
CREATE OR REPLACE TEMP MACRO pm_occurrence_id(event_id, n) AS md5(event_id || '#' || n::VARCHAR);

CREATE OR REPLACE TEMP TABLE _occurrences AS
SELECT row_key, pm_occurrence_id(event_id, n) AS event_id
FROM (
    SELECT rowid AS row_key, event_id,
           dense_rank() OVER (PARTITION BY source_file, event_id ORDER BY source_row, seq) AS n
    FROM staging.events
    WHERE run_id = $run_id AND hash(event_id) IN (SELECT h FROM _repeated_ids)
)
WHERE n > 1;

UPDATE staging.events AS e SET event_id = o.event_id
FROM _occurrences AS o
WHERE e.rowid = o.row_key;

INSERT INTO _repeated_ids SELECT DISTINCT hash(event_id) FROM _occurrences;

DROP TABLE _occurrences;
