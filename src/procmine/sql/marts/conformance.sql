-- marts.conformance: per variant, its alignment with the reference model (conformance.py):
-- fitness in [0, 1] (NULL: not checked), the deviations described, move counts, and the
-- events of the variant conformance did not judge (activities without a d2c stage).
-- Inputs: _mine_conformance (vi, fitness, deviations, log_moves, model_moves,
-- unjudged_events), _mine_variant.
WITH variant_alignments AS (
    SELECT * FROM _mine_conformance
),
variants AS (
    SELECT * FROM _mine_variant
),
final AS (
    SELECT v.variant_id,
           a.fitness,
           a.deviations,
           v.case_count::BIGINT AS case_count,
           a.log_moves::INTEGER AS log_moves,
           a.model_moves::INTEGER AS model_moves,
           a.unjudged_events::BIGINT AS unjudged_events,
           $reference_model AS reference_model,
           v.vi
    FROM variant_alignments AS a
    JOIN variants AS v USING (vi)
)
SELECT * EXCLUDE (vi) FROM final
ORDER BY vi
