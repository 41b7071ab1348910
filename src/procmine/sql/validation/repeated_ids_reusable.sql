-- Whether validation's _repeated_ids (repeated_ids_keep.sql) still serve run $run_id
-- (validation.repeats.run_repeats): they are its, and as many rows are staged as it left.
-- Rows only leave staging after validation, and a hash repeated among fewer rows was repeated
-- among more, so the kept set covers every repeat. 1 when reusable, else 0.
-- Params: $run_id.
WITH repeated_ids_of AS (
    SELECT * FROM _repeated_ids_of
),
staged_events AS (
    SELECT * FROM staging.events
),
staged AS (
    SELECT count(*) AS staged
    FROM staged_events
    WHERE run_id = $run_id
),
final AS (
    SELECT count(*) AS reusable
    FROM repeated_ids_of AS k
    JOIN staged AS s ON k.staged = s.staged
    WHERE k.run_id = $run_id
)
SELECT * FROM final
