-- marts.backlog: open cases per d2c stage at the end of each day (Lean inventory), from
-- _mine_backlog (kpis.py: day as days since 1970-01-01, st stage code, open_cases) and the
-- hours cases spent open in each stage (_mine_stage_hours: st, hours).
CREATE OR REPLACE TABLE marts.backlog AS
SELECT (DATE '1970-01-01' + b.day::INTEGER) AS day,
       st.name AS d2c_stage,
       b.open_cases::BIGINT AS open_cases
FROM _mine_backlog AS b
LEFT JOIN _mine_stage AS st ON st.code = b.st
ORDER BY day, d2c_stage NULLS LAST;
