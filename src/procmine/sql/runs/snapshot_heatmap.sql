-- Keep the heat map this mining run produced (marts.waste_heatmap_history: trend over runs).
INSERT INTO marts.waste_heatmap_history
SELECT $run_id, now(), d2c_stage, waste_type, cases, hours, cost
FROM marts.waste_heatmap;
