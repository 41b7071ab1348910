-- marts.waste_heatmap: d2c_stage × waste_type with distinct cases, hours, cost and the share
-- of all cases' cycle time (first to last event) the hours represent. Backlog (inventory)
-- rows: cases = mean open cases at day end in the stage, hours = case-hours spent open in it.
-- Waste hours and cost exclude clock-stopped time (mine/clock.py); stopped_hours: the
-- clock-stopped (customer and policy) hours of the cell's instances (backlog rows: NULL).
-- Inputs: _mine_waste (mine/__init__.py; first_of_kind: groupings.py), _mine_backlog,
-- _mine_stage_hours, _mine_case, _mine_stage (code, name); $waste_types.
WITH waste_instances AS (
    SELECT * FROM _mine_waste
),
open_per_day AS (
    SELECT * FROM _mine_backlog
),
stage_open_hours AS (
    SELECT * FROM _mine_stage_hours
),
cases AS (
    SELECT * FROM _mine_case
),
stages AS NOT MATERIALIZED (
    SELECT * FROM _mine_stage
),
cycle AS (
    SELECT sum(last_us - first_us) / 3.6e9 AS hours FROM cases
),
waste_cells AS (
    SELECT st.name AS d2c_stage,
           list_extract($waste_types, w.wtype + 1) AS waste_type,
           count(*) FILTER (WHERE w.first_of_kind) AS cases,   -- distinct cases
           sum(w.hours) AS hours,
           sum(w.cost) AS cost,
           count(*) AS instances,
           sum(w.stopped_hours) AS stopped_hours
    FROM waste_instances AS w LEFT JOIN stages AS st ON st.code = w.stage
    GROUP BY ALL
),
inventory_cells AS (
    SELECT st.name AS d2c_stage, 'backlog' AS waste_type,
           round(avg(b.open_cases))::BIGINT AS cases,
           any_value(h.hours) AS hours,
           0.0 AS cost,
           NULL::BIGINT AS instances,
           NULL::DOUBLE AS stopped_hours
    FROM open_per_day AS b
    LEFT JOIN stages AS st ON st.code = b.st
    LEFT JOIN stage_open_hours AS h ON h.st = b.st
    GROUP BY ALL
),
final AS (
    SELECT x.d2c_stage, x.waste_type, x.cases::BIGINT AS cases, x.hours, x.cost,
           x.hours / nullif(cycle.hours, 0) AS share_of_cycle_time,
           x.instances::BIGINT AS instances,
           x.stopped_hours
    FROM (SELECT * FROM waste_cells UNION ALL SELECT * FROM inventory_cells) AS x, cycle
)
SELECT * FROM final
ORDER BY d2c_stage NULLS LAST, waste_type
