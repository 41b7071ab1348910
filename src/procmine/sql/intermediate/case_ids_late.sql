-- _mine_case_id narrowed (a temp table, renamed to _mine_case_id by mine/__init__.py once
-- marts.case_kpis is written): the columns the models after it read, marts/ocdfg.sql's
-- vi and case_type and drift_cases.sql's resolved_at and reopen_count. The case ids, the core.cases
-- columns of marts.case_kpis and the signatures (~165 bytes per case at 10M events) are not
-- kept while marts.kpis, the backlog and drift run.
WITH case_ids AS (
    SELECT * FROM _mine_case_id
),
final AS (
    SELECT ci, vi, case_type, resolved_at, reopen_count
    FROM case_ids
)
SELECT * FROM final
