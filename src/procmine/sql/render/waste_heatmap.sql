-- marts.waste_heatmap exactly as mined (the numbers the page shows), with the three most
-- frequent evidence strings of each cell from marts.waste for the tooltips.
WITH evidence AS (
    SELECT d2c_stage, waste_type, evidence, count(*) AS n
    FROM pm_render_waste_rows WHERE evidence IS NOT NULL AND evidence <> '' GROUP BY ALL
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY d2c_stage, waste_type
                                 ORDER BY n DESC, evidence) AS r
    FROM evidence
),
top AS (
    SELECT d2c_stage, waste_type,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 1) AS evidence_1,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 2) AS evidence_2,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 3) AS evidence_3
    FROM ranked WHERE r <= 3 GROUP BY ALL
)
SELECT h.d2c_stage, h.waste_type, h.cases, h.hours, h.cost, h.share_of_cycle_time,
       t.evidence_1, t.evidence_2, t.evidence_3
FROM marts.waste_heatmap AS h
LEFT JOIN top AS t ON t.d2c_stage IS NOT DISTINCT FROM h.d2c_stage
                  AND t.waste_type IS NOT DISTINCT FROM h.waste_type
ORDER BY h.d2c_stage NULLS LAST, h.waste_type NULLS LAST, h.hours, h.cost, h.cases;
