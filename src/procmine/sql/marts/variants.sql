-- marts.variants: one row per distinct activity sequence, most frequent first, with the
-- median and mean duration (first to last event) of its cases.
-- Inputs: _mine_variant (variants.py: vi, variant_id, activities, case_count, case_share,
-- event_count), _mine_variant_case (ci, vi and duration_s of each case).
WITH variants AS (
    SELECT * FROM _mine_variant
),
variant_cases AS (
    SELECT * FROM _mine_variant_case
),
variant_durations AS (
    SELECT vi, median(duration_s) AS median_duration_s, avg(duration_s) AS mean_duration_s
    FROM variant_cases GROUP BY vi
),
final AS (
    SELECT v.variant_id,
           v.activities,
           v.case_count::BIGINT AS case_count,
           v.case_share,
           d.median_duration_s,
           d.mean_duration_s,
           v.event_count::BIGINT AS event_count,
           (v.vi + 1)::INTEGER AS rank
    FROM variants AS v
    JOIN variant_durations AS d USING (vi)
)
SELECT * FROM final
ORDER BY rank
