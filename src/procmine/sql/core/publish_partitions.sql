-- After the mining index gave the run's new cases their keys and partitions (event_index.sql):
-- per partition (core.case_keys.open_month) the run touched, its cases with events in core
-- (_cases_in_core: given new events or attributes by the run) and its new events
-- (_run_event_keys). Migration 19; docs/partitions.md §5.
INSERT INTO core.run_partitions (run_id, open_month, cases, events)
WITH run_cases AS (
    SELECT case_id FROM _cases_in_core
),
run_event_keys AS (
    SELECT case_key FROM _run_event_keys
),
case_keys AS (
    SELECT case_key, case_id, open_month FROM core.case_keys
),
cases_per_partition AS (
    SELECT k.open_month, count(*) AS cases
    FROM run_cases AS r
    JOIN case_keys AS k USING (case_id)
    GROUP BY k.open_month
),
events_per_partition AS (
    SELECT k.open_month, count(*) AS events
    FROM run_event_keys AS e
    JOIN case_keys AS k USING (case_key)
    GROUP BY k.open_month
),
final AS (
    SELECT $run_id AS run_id, c.open_month, c.cases, coalesce(e.events, 0) AS events
    FROM cases_per_partition AS c
    LEFT JOIN events_per_partition AS e ON e.open_month IS NOT DISTINCT FROM c.open_month
)
SELECT * FROM final;
