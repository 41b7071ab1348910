-- marts.waste_heatmap exactly as mined (the numbers the page shows), with the three most
-- frequent evidence strings of each cell from marts.waste for the tooltips.
WITH waste_heatmap AS (
    SELECT * FROM marts.waste_heatmap
),
waste_rows AS (
    SELECT * FROM pm_render_waste_rows
),
evidence_counts AS (
    SELECT d2c_stage, waste_type, evidence, count(*) AS n
    FROM waste_rows WHERE evidence IS NOT NULL AND evidence <> '' GROUP BY ALL
),
ranked_evidence AS (
    SELECT *, row_number() OVER (PARTITION BY d2c_stage, waste_type
                                 ORDER BY n DESC, evidence) AS r
    FROM evidence_counts
),
top_evidence AS (
    SELECT d2c_stage, waste_type,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 1) AS evidence_1,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 2) AS evidence_2,
           max(left(evidence, 160) || ' (' || n || '×)') FILTER (WHERE r = 3) AS evidence_3
    FROM ranked_evidence WHERE r <= 3 GROUP BY ALL
),
final AS (
    SELECT h.d2c_stage, h.waste_type, h.cases, h.hours, h.cost, h.share_of_cycle_time,
           t.evidence_1, t.evidence_2, t.evidence_3
    FROM waste_heatmap AS h
    LEFT JOIN top_evidence AS t ON t.d2c_stage IS NOT DISTINCT FROM h.d2c_stage
                               AND t.waste_type IS NOT DISTINCT FROM h.waste_type
)
SELECT * FROM final
ORDER BY d2c_stage NULLS LAST, waste_type NULLS LAST, hours, cost, cases
