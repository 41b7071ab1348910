-- The biggest changes of the waste heat map against the one before this run's mining
-- (_heatmap_before, copied just before build_marts), by absolute change in hours.
SELECT
    coalesce(now_.d2c_stage, before.d2c_stage) AS d2c_stage,
    coalesce(now_.waste_type, before.waste_type) AS waste_type,
    before.hours AS hours_before,
    now_.hours AS hours_now,
    coalesce(now_.hours, 0) - coalesce(before.hours, 0) AS delta_hours,
    coalesce(now_.cost, 0) - coalesce(before.cost, 0) AS delta_cost,
    coalesce(now_.cases, 0) - coalesce(before.cases, 0) AS delta_cases
FROM marts.waste_heatmap AS now_
FULL OUTER JOIN _heatmap_before AS before
    ON now_.d2c_stage IS NOT DISTINCT FROM before.d2c_stage
   AND now_.waste_type IS NOT DISTINCT FROM before.waste_type
WHERE coalesce(now_.hours, 0) <> coalesce(before.hours, 0)
   OR coalesce(now_.cases, 0) <> coalesce(before.cases, 0)
ORDER BY abs(coalesce(now_.hours, 0) - coalesce(before.hours, 0)) DESC, 1, 2
LIMIT $limit;
