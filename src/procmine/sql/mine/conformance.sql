-- marts.conformance: per variant, its alignment with the reference model (conformance.py):
-- fitness in [0, 1] (NULL: not checked), the deviations described, move counts.
CREATE OR REPLACE TABLE marts.conformance AS
SELECT v.variant_id,
       c.fitness,
       c.deviations,
       v.case_count::BIGINT AS case_count,
       c.log_moves::INTEGER AS log_moves,
       c.model_moves::INTEGER AS model_moves,
       $reference_model AS reference_model
FROM _mine_conformance AS c
JOIN _mine_variant AS v USING (vi)
ORDER BY v.vi;
