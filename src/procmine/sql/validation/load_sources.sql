-- One row per source staged in this run, for the load_sources suite. The previous run of a
-- source is its latest run in core.load_registry (rows = staged rows: events + quarantined).
-- Loads (and previous loads) under $min_rows rows get no share / ratio (not judged). A source's
-- first load is its backfill (history, typically far bigger than a nightly export), so it is
-- never the baseline: the row-count check starts with the second nightly load.
CREATE OR REPLACE TEMP TABLE _load_sources AS
WITH staged AS (
    SELECT source, count(*) AS staged_rows
    FROM staging.events WHERE run_id = $run_id GROUP BY source
),
quarantined AS (
    SELECT source, count(DISTINCT row_key) AS quarantined_rows FROM _failed GROUP BY source
),
runs AS (
    SELECT source, run_id, max(loaded_at) AS loaded_at, sum(events + quarantined) AS run_rows,
           row_number() OVER (PARTITION BY source ORDER BY max(loaded_at)) AS load_no
    FROM core.load_registry
    WHERE run_id IS DISTINCT FROM $run_id
    GROUP BY source, run_id
),
previous AS (
    SELECT source, arg_max(run_id, loaded_at) AS previous_run,
           arg_max(run_rows, loaded_at) AS previous_rows
    FROM runs WHERE load_no > 1 GROUP BY source
)
SELECT
    (row_number() OVER (ORDER BY s.source) - 1)::BIGINT AS row_no,
    s.source, s.staged_rows, coalesce(q.quarantined_rows, 0) AS quarantined_rows,
    CASE WHEN s.staged_rows >= $min_rows
         THEN coalesce(q.quarantined_rows, 0) / s.staged_rows END AS quarantined_share,
    p.previous_run, p.previous_rows,
    CASE WHEN p.previous_rows >= $min_rows
         THEN s.staged_rows / p.previous_rows END AS row_count_ratio
FROM staged AS s
LEFT JOIN quarantined AS q ON q.source = s.source
LEFT JOIN previous AS p ON p.source = s.source;
