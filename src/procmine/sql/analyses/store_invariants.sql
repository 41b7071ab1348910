-- Figures that agree in every published state: each event, file and case in core was
-- recorded by a published run (run_log), and the marts were mined from exactly this core.
-- A reader seeing them disagree has seen a half-written state (the concurrency test and the
-- nightly soak, bench/soak.py, check them on every read).
WITH events AS (
    SELECT count(*) AS events, count(DISTINCT case_id) AS event_cases FROM core.events
),
published_runs AS (
    SELECT coalesce(sum(events_loaded), 0) AS logged_events,
           coalesce(sum(files_loaded), 0) AS logged_files
    FROM marts.run_log WHERE status IN ('success', 'partial')
),
runs AS (
    SELECT count(*) AS runs FROM marts.run_log
),
files AS (
    SELECT count(*) AS files FROM core.load_registry
),
cases AS (
    SELECT count(*) AS cases FROM core.cases
),
mined AS (
    SELECT coalesce(sum(event_count), 0) AS mined_events FROM marts.activities
),
final AS (
    SELECT e.events, p.logged_events, f.files, p.logged_files, c.cases, e.event_cases,
           m.mined_events, r.runs
    FROM events AS e, published_runs AS p, files AS f, cases AS c, mined AS m, runs AS r
)
SELECT * FROM final
