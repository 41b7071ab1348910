-- marts.waste_drivers: per waste type, the case attributes that over-index among the cases
-- with that waste: support = share of those cases with the value, base_share = share of all
-- cases with it, lift = support / base_share (> 1: over-represented). group and sourcing are
-- every group / sourcing a case passed through. Only values with >= $min_cases waste cases.
-- The counts come from groupings.driver_counts over the values of intermediate/driver_values.sql
-- (_mine_driver_value: attribute, value, vid): _mine_driver_base (vid, cases with the value),
-- _mine_driver_type (wtype, cases with the waste type), _mine_driver_hits (wtype, vid, cases
-- with both); _mine_case has one row per case.
WITH value_cases AS (
    SELECT * FROM _mine_driver_base
),
type_cases AS (
    SELECT * FROM _mine_driver_type
),
type_value_cases AS (
    SELECT * FROM _mine_driver_hits
),
driver_values AS (
    SELECT * FROM _mine_driver_value
),
cases AS (
    SELECT * FROM _mine_case
),
total AS (
    SELECT count(*) AS cases FROM cases
),
final AS (
    SELECT list_extract($waste_types, hits.wtype + 1) AS waste_type,
           v.attribute,
           v.value,
           hits.cases::BIGINT AS cases,
           hits.cases / per_type.cases AS support,
           (hits.cases / per_type.cases) / (base.cases / total.cases) AS lift,
           base.cases / total.cases AS base_share,
           hits.cases / base.cases AS waste_rate,
           base.cases::BIGINT AS value_cases
    FROM type_value_cases AS hits
    JOIN type_cases AS per_type USING (wtype)
    JOIN value_cases AS base USING (vid)
    JOIN driver_values AS v USING (vid)
    CROSS JOIN total
    WHERE hits.cases >= $min_cases
      AND (hits.cases / per_type.cases) / (base.cases / total.cases) > 1
)
SELECT * FROM final
ORDER BY waste_type, lift DESC, cases DESC, attribute, value
