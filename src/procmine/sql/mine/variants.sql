-- marts.variants: one row per distinct activity sequence, most frequent first.
-- Input _mine_variant (variants.py): vi, variant_id, activities, case_count, case_share,
-- median_duration_s, mean_duration_s, event_count.
CREATE OR REPLACE TABLE marts.variants AS
SELECT variant_id,
       activities,
       case_count::BIGINT AS case_count,
       case_share,
       median_duration_s,
       mean_duration_s,
       event_count::BIGINT AS event_count,
       (vi + 1)::INTEGER AS rank
FROM _mine_variant
ORDER BY vi;
