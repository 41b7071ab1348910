-- marts.conformance: per variant, its alignment with the reference model (conformance.py):
-- fitness in [0, 1] (NULL: not checked), the deviations described, move counts, and the
-- events of the variant conformance did not judge (activities without a d2c stage).
CREATE OR REPLACE TABLE marts.conformance AS
SELECT v.variant_id,
       c.fitness,
       c.deviations,
       v.case_count::BIGINT AS case_count,
       c.log_moves::INTEGER AS log_moves,
       c.model_moves::INTEGER AS model_moves,
       c.unjudged_events::BIGINT AS unjudged_events,
       $reference_model AS reference_model
FROM _mine_conformance AS c
JOIN _mine_variant AS v USING (vi)
ORDER BY v.vi;
