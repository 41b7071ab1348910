-- marts.waste_drivers: per waste type, the case attributes that over-index among the cases
-- with that waste: support = share of those cases with the value, base_share = share of all
-- cases with it, lift = support / base_share (> 1: over-represented). group and sourcing are
-- every group / sourcing a case passed through. Only values with >= $min_cases waste cases.
CREATE OR REPLACE TABLE marts.waste_drivers AS
WITH case_attrs AS (
    SELECT k.ci, unnest([{'attribute': 'priority', 'value': c.priority},
                         {'attribute': 'category', 'value': c.category},
                         {'attribute': 'source', 'value': c.source}]) AS a
    FROM _mine_case_id AS k JOIN marts.case_kpis AS c USING (case_id)
),
attrs AS (
    SELECT ci, a.attribute, a.value FROM case_attrs WHERE a.value IS NOT NULL
    UNION ALL
    SELECT DISTINCT t.ci, 'group', h.org_group
    FROM _mine_touch AS t JOIN _mine_holder_key AS h ON h.code = t.holder
    WHERE h.org_group IS NOT NULL
    UNION ALL
    SELECT DISTINCT t.ci, 'sourcing', h.sourcing
    FROM _mine_touch AS t JOIN _mine_holder_key AS h ON h.code = t.holder
    WHERE h.sourcing IS NOT NULL
),
total AS (SELECT count(*) AS cases FROM _mine_case),
base AS (SELECT attribute, value, count(*) AS cases FROM attrs GROUP BY ALL),
waste_cases AS (SELECT DISTINCT wtype, ci FROM _mine_waste),
per_type AS (SELECT wtype, count(*) AS cases FROM waste_cases GROUP BY wtype),
hits AS (
    SELECT w.wtype, a.attribute, a.value, count(*) AS cases
    FROM waste_cases AS w JOIN attrs AS a USING (ci)
    GROUP BY ALL
)
SELECT list_extract($waste_types, hits.wtype + 1) AS waste_type,
       hits.attribute,
       hits.value,
       hits.cases::BIGINT AS cases,
       hits.cases / per_type.cases AS support,
       (hits.cases / per_type.cases) / (base.cases / total.cases) AS lift,
       base.cases / total.cases AS base_share,
       hits.cases / base.cases AS waste_rate,
       base.cases::BIGINT AS value_cases
FROM hits
JOIN per_type USING (wtype)
JOIN base USING (attribute, value)
CROSS JOIN total
WHERE hits.cases >= $min_cases
  AND (hits.cases / per_type.cases) / (base.cases / total.cases) > 1
ORDER BY waste_type, lift DESC, cases DESC, attribute, value;
