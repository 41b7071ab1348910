-- marts.waste_drivers: per waste type, the case attributes that over-index among the cases
-- with that waste: support = share of those cases with the value, base_share = share of all
-- cases with it, lift = support / base_share (> 1: over-represented). group and sourcing are
-- every group / sourcing a case passed through. Only values with >= $min_cases waste cases.
-- Values are numbered (vid) first, so the large joins and groupings are over integers.
-- Inputs (groupings.py): _mine_case_group / _mine_case_sourcing, the distinct (ci, code) of
-- the groups and sourcings of each case's group runs (names in _mine_group / _mine_sourcing);
-- _mine_case_waste (ci, wmask), per case with waste the bit mask of its waste types
-- (bit = code of _mine_waste_type): cases are joined to their attributes once, not once per
-- waste type.
CREATE OR REPLACE TABLE marts.waste_drivers AS
WITH case_attrs AS (
    SELECT k.ci, c.priority, c.category, c.source
    FROM _mine_case_id AS k JOIN marts.case_kpis AS c USING (case_id)
),
named AS (
    SELECT DISTINCT 'priority' AS attribute, priority AS value FROM case_attrs
    UNION SELECT DISTINCT 'category', category FROM case_attrs
    UNION SELECT DISTINCT 'source', source FROM case_attrs
    UNION SELECT 'group', name FROM _mine_group
    UNION SELECT 'sourcing', name FROM _mine_sourcing
),
vals AS (
    SELECT attribute, value, (row_number() OVER (ORDER BY attribute, value))::INTEGER AS vid
    FROM named WHERE value IS NOT NULL
),
group_vid AS (
    SELECT g.code, v.vid FROM _mine_group AS g
    JOIN vals AS v ON v.attribute = 'group' AND v.value = g.name
),
sourcing_vid AS (
    SELECT s.code, v.vid FROM _mine_sourcing AS s
    JOIN vals AS v ON v.attribute = 'sourcing' AND v.value = s.name
),
attrs AS (
    SELECT a.ci, v.vid FROM case_attrs AS a
    JOIN vals AS v ON v.attribute = 'priority' AND v.value = a.priority
    UNION ALL
    SELECT a.ci, v.vid FROM case_attrs AS a
    JOIN vals AS v ON v.attribute = 'category' AND v.value = a.category
    UNION ALL
    SELECT a.ci, v.vid FROM case_attrs AS a
    JOIN vals AS v ON v.attribute = 'source' AND v.value = a.source
    UNION ALL
    SELECT t.ci, g.vid FROM _mine_case_group AS t JOIN group_vid AS g USING (code)
    UNION ALL
    SELECT t.ci, s.vid FROM _mine_case_sourcing AS t JOIN sourcing_vid AS s USING (code)
),
total AS (SELECT count(*) AS cases FROM _mine_case),
base AS (SELECT vid, count(*) AS cases FROM attrs GROUP BY vid),
per_type AS (
    SELECT t.code AS wtype, count(*) AS cases
    FROM _mine_case_waste AS w JOIN _mine_waste_type AS t ON w.wmask & (1 << t.code) <> 0
    GROUP BY ALL
),
hits_by_mask AS (
    SELECT w.wmask, a.vid, count(*) AS cases
    FROM _mine_case_waste AS w JOIN attrs AS a USING (ci)
    GROUP BY ALL
),
hits AS (
    SELECT t.code AS wtype, h.vid, sum(h.cases) AS cases
    FROM hits_by_mask AS h JOIN _mine_waste_type AS t ON h.wmask & (1 << t.code) <> 0
    GROUP BY ALL
)
SELECT list_extract($waste_types, hits.wtype + 1) AS waste_type,
       v.attribute,
       v.value,
       hits.cases::BIGINT AS cases,
       hits.cases / per_type.cases AS support,
       (hits.cases / per_type.cases) / (base.cases / total.cases) AS lift,
       base.cases / total.cases AS base_share,
       hits.cases / base.cases AS waste_rate,
       base.cases::BIGINT AS value_cases
FROM hits
JOIN per_type USING (wtype)
JOIN base USING (vid)
JOIN vals AS v USING (vid)
CROSS JOIN total
WHERE hits.cases >= $min_cases
  AND (hits.cases / per_type.cases) / (base.cases / total.cases) > 1
ORDER BY waste_type, lift DESC, cases DESC, attribute, value;
