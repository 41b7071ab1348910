-- marts.backlog: open cases per d2c stage at the end of each day (Lean inventory), from
-- _mine_backlog (kpis.py: day as days since 1970-01-01, st stage code, open_cases) and the
-- stage code table _mine_stage (code, name).
WITH open_per_day AS (
    SELECT * FROM _mine_backlog
),
stages AS (
    SELECT * FROM _mine_stage
),
final AS (
    SELECT (DATE '1970-01-01' + b.day::INTEGER) AS day,
           st.name AS d2c_stage,
           b.open_cases::BIGINT AS open_cases
    FROM open_per_day AS b
    LEFT JOIN stages AS st ON st.code = b.st
)
SELECT * FROM final
ORDER BY day, d2c_stage NULLS LAST
