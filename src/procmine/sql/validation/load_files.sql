-- One row per file loaded in this run (temp table _loaded_files), for the load_files suite:
-- rows staged and rows that passed validation (NULL when the source allows empty files). A
-- file of record snapshots that staged nothing passes its snapshots: each repeats a state
-- already loaded (a ServiceNow night when no ticket moved), a sound export that derives no
-- event; one whose rows name no record still fails.
CREATE OR REPLACE TEMP TABLE _load_files AS
WITH staged AS (
    SELECT source_file, count(*) AS staged_rows
    FROM staging.events WHERE run_id = $run_id GROUP BY source_file
),
quarantined AS (
    SELECT s.source_file, count(DISTINCT f.row_key) AS quarantined_rows
    FROM _failed AS f JOIN staging.events AS s ON s.rowid = f.row_key
    GROUP BY s.source_file
)
SELECT
    (row_number() OVER (ORDER BY f.source_file) - 1)::BIGINT AS row_no,
    f.source, f.source_file, coalesce(s.staged_rows, 0) AS staged_rows,
    f.snapshot_rows,
    CASE WHEN f.allow_empty THEN NULL
         WHEN coalesce(s.staged_rows, 0) = 0 AND f.snapshot_rows > 0 THEN f.snapshot_rows
         ELSE coalesce(s.staged_rows, 0) - coalesce(q.quarantined_rows, 0) END AS passed_rows
FROM _loaded_files AS f
LEFT JOIN staged AS s ON s.source_file = f.source_file
LEFT JOIN quarantined AS q ON q.source_file = f.source_file;
