-- Lean inventory: mean open cases per d2c_stage per period, from marts.backlog (open cases
-- per stage at each day's end), from the start of the trend charts.
WITH stage_backlog AS (
    SELECT * FROM marts.backlog
),
final AS (
    SELECT CAST(date_trunc($grain, day) AS DATE) AS period,
           coalesce(d2c_stage, '(no stage)') AS d2c_stage,
           round(avg(open_cases), 2) AS open_cases
    FROM stage_backlog
    WHERE day >= CAST($chart_start AS DATE)
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY period, d2c_stage
