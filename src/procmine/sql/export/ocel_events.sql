-- OCEL 2.0 export, part 2: one row per OCEL event (its first core event's attributes), in
-- canonical order; ocel_time in UTC as 'YYYY-MM-DD HH:MM:SS.ffffffnnn': the store's
-- microseconds, then the event's place among same-time events of its objects as nanoseconds
-- (the largest over its objects, at most 999; readers at microsecond precision drop it).
WITH e2o AS (
    SELECT * FROM _ocel_e2o
),
firsts AS (
    SELECT * EXCLUDE (tie), max(tie) OVER (PARTITION BY ocel_id) AS tie
    FROM e2o
    QUALIFY row_number() OVER (PARTITION BY ocel_id ORDER BY rank) = 1
),
final AS (
    SELECT ocel_id, activity AS ocel_type,
           strftime(timezone('UTC', ts), '%Y-%m-%d %H:%M:%S.%f')
               || lpad(least(tie, 999)::VARCHAR, 3, '0') AS ocel_time,
           resource, org_group, support_level, sourcing, d2c_stage, source, rank
    FROM firsts
)
SELECT * EXCLUDE (rank) FROM final
ORDER BY rank
