-- _d2c_record: the core.cases fields the links and the Detect-to-Correct marts read, the JSON
-- attributes parsed once (keys of D2C_CONTRACT / docs/d2c.md). `implemented_at` is when a
-- change took effect: its actual end, else its planned end, else resolved, else closed.
WITH cases AS (
    SELECT * FROM core.cases
),
parsed AS (
    SELECT case_id, case_type, opened_at, resolved_at, closed_at, problem_id, change_id,
           service,
           json_extract_string(attributes, [
               '$.related_interaction', '$.related_incident', '$.related_change',
               '$.related_problem', '$.caused_by_ci', '$.caused_by', '$.change_type', '$.risk',
               '$.emergency', '$.cab_approval', '$.planned_end', '$.actual_end'
           ]) AS a,
           json_extract_string(attributes, '$.cis[*]') AS cis
    FROM cases
),
final AS (
    SELECT case_id, case_type, opened_at, resolved_at, closed_at, problem_id, change_id,
           service,
           nullif(trim(a[1]), '') AS related_interaction,
           nullif(trim(a[2]), '') AS related_incident,
           nullif(trim(a[3]), '') AS related_change,
           nullif(trim(a[4]), '') AS related_problem,
           nullif(trim(a[5]), '') AS caused_by_ci,
           nullif(trim(a[6]), '') AS caused_by,
           a[7] AS change_type, a[8] AS risk, a[9] AS emergency, a[10] AS cab_approval,
           CASE WHEN case_type = 'change'
                THEN coalesce(try_cast(a[12] AS TIMESTAMPTZ), try_cast(a[11] AS TIMESTAMPTZ),
                              resolved_at, closed_at) END AS implemented_at,
           CASE WHEN a[12] IS NOT NULL THEN 'actual end'
                WHEN a[11] IS NOT NULL THEN 'planned end'
                WHEN resolved_at IS NOT NULL THEN 'resolved'
                ELSE 'closed' END AS implemented_by,
           cis
    FROM parsed
)
SELECT * FROM final
