-- marts.waste_heatmap: d2c_stage × waste_type with distinct cases, hours, cost and the share
-- of all cases' cycle time (first to last event) the hours represent. Backlog (inventory)
-- rows: cases = mean open cases at day end in the stage, hours = case-hours spent open in it.
-- Input _mine_waste (mine/__init__.py; first_of_kind: groupings.py), _mine_backlog,
-- _mine_stage_hours, _mine_case.
CREATE OR REPLACE TABLE marts.waste_heatmap AS
WITH cycle AS (
    SELECT sum(last_us - first_us) / 3.6e9 AS hours FROM _mine_case
),
waste AS (
    SELECT st.name AS d2c_stage,
           list_extract($waste_types, w.wtype + 1) AS waste_type,
           count(*) FILTER (WHERE w.first_of_kind) AS cases,   -- distinct cases
           sum(w.hours) AS hours,
           sum(w.cost) AS cost,
           count(*) AS instances
    FROM _mine_waste AS w LEFT JOIN _mine_stage AS st ON st.code = w.stage
    GROUP BY ALL
),
inventory AS (
    SELECT st.name AS d2c_stage, 'backlog' AS waste_type,
           round(avg(b.open_cases))::BIGINT AS cases,
           any_value(h.hours) AS hours,
           0.0 AS cost,
           NULL::BIGINT AS instances
    FROM _mine_backlog AS b
    LEFT JOIN _mine_stage AS st ON st.code = b.st
    LEFT JOIN _mine_stage_hours AS h ON h.st = b.st
    GROUP BY ALL
)
SELECT x.d2c_stage, x.waste_type, x.cases::BIGINT AS cases, x.hours, x.cost,
       x.hours / nullif(cycle.hours, 0) AS share_of_cycle_time,
       x.instances::BIGINT AS instances
FROM (SELECT * FROM waste UNION ALL SELECT * FROM inventory) AS x, cycle
ORDER BY x.d2c_stage NULLS LAST, x.waste_type;
