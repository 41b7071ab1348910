-- core.d2c_records: per record (core.cases row) the fields the links and the Detect-to-Correct
-- marts read, its JSON attributes parsed (the keys of docs/d2c.md). Publishing
-- writes it for the cases whose core.cases row it rewrites (load.publish_d2c_records), so a
-- nightly parses its few thousand records, not every one. `implemented_at` is when a
-- change took effect: its actual end, else its planned end, else resolved, else closed. A
-- change without the change_type / risk attributes takes its category / priority (ServiceNow).
-- No settings: link rules and placeholders apply later, in mining (mine/d2c.py).
-- Reads _d2c_parse_cases: the core.cases rows to parse (core/d2c_records_touched.sql, or
-- core/d2c_records_all.sql: every row).
WITH cases AS (
    SELECT * FROM _d2c_parse_cases
),
parsed AS (
    SELECT case_id, case_type, opened_at, resolved_at, closed_at, problem_id, change_id,
           service, category, priority,
           json_transform(attributes, '{"related_interaction": "VARCHAR",
               "related_incident": "VARCHAR", "related_change": "VARCHAR",
               "related_problem": "VARCHAR", "caused_by_ci": "VARCHAR", "caused_by": "VARCHAR",
               "change_type": "VARCHAR", "risk": "VARCHAR", "emergency": "VARCHAR",
               "cab_approval": "VARCHAR", "planned_end": "VARCHAR", "actual_end": "VARCHAR",
               "cis": ["VARCHAR"]}') AS a
    FROM cases
),
final AS (
    SELECT case_id, case_type, opened_at, resolved_at, closed_at, problem_id, change_id,
           service,
           nullif(trim(a.related_interaction), '') AS related_interaction,
           nullif(trim(a.related_incident), '') AS related_incident,
           nullif(trim(a.related_change), '') AS related_change,
           nullif(trim(a.related_problem), '') AS related_problem,
           nullif(trim(a.caused_by_ci), '') AS caused_by_ci,
           nullif(trim(a.caused_by), '') AS caused_by,
           CASE WHEN case_type = 'change' THEN coalesce(a.change_type, category) END
               AS change_type,
           CASE WHEN case_type = 'change' THEN coalesce(a.risk, priority) END AS risk,
           a.emergency, a.cab_approval,
           CASE WHEN case_type = 'change'
                THEN coalesce(try_cast(a.actual_end AS TIMESTAMPTZ),
                              try_cast(a.planned_end AS TIMESTAMPTZ), resolved_at, closed_at)
                END AS implemented_at,
           CASE WHEN a.actual_end IS NOT NULL THEN 'actual end'
                WHEN a.planned_end IS NOT NULL THEN 'planned end'
                WHEN resolved_at IS NOT NULL THEN 'resolved'
                ELSE 'closed' END AS implemented_by,
           coalesce(a.cis, []) AS cis
    FROM parsed
)
SELECT * FROM final
