-- Per case of the drift window (_drift_week, intermediate/drift_weeks.sql): its week, hours
-- from first event to resolution, hand-offs (changes of org_group between consecutive events),
-- reopened, its variant (activities in order) and its directly-follows and hand-off edges.
WITH events AS (
    SELECT * FROM core.events
),
cases AS (
    SELECT * FROM core.cases
),
weeks AS (
    SELECT * FROM _drift_week
),
ordered AS (
    SELECT case_id, activity, org_group, ts,
           row_number() OVER w AS step,
           lag(activity) OVER w AS prev_activity,
           lag(org_group) OVER w AS prev_group,
           min(ts) OVER (PARTITION BY case_id) AS first_ts
    FROM events
    -- the canonical order of events (core/event_index.sql), so that ties in ts are stable
    WINDOW w AS (PARTITION BY case_id ORDER BY ts, source_file, source_row, seq, event_id)
),
in_window AS MATERIALIZED (
    SELECT o.* FROM ordered AS o
    SEMI JOIN weeks AS k ON k.week = date_trunc('week', o.first_ts)::DATE
),
per_case AS (
    SELECT case_id, date_trunc('week', min(first_ts))::DATE AS week, min(first_ts) AS first_ts,
           string_agg(activity, ' → ' ORDER BY step) AS variant,
           count(*) FILTER (WHERE prev_group IS NOT NULL AND org_group IS NOT NULL
                            AND org_group <> prev_group) AS handoffs,
           list(DISTINCT prev_activity || ' → ' || activity)
               FILTER (WHERE prev_activity IS NOT NULL) AS edges,
           list(DISTINCT prev_group || ' → ' || org_group)
               FILTER (WHERE prev_group IS NOT NULL AND org_group IS NOT NULL
                       AND org_group <> prev_group) AS handoff_edges
    FROM in_window GROUP BY case_id
),
final AS (
    SELECT p.case_id, p.week,
           epoch(c.resolved_at - p.first_ts) / 3600.0 AS resolution_h,
           p.handoffs::INTEGER AS handoffs,
           coalesce(c.reopen_count, 0) > 0 AS reopened,
           p.variant, p.edges, p.handoff_edges
    FROM per_case AS p
    LEFT JOIN cases AS c USING (case_id)
)
SELECT * FROM final
ORDER BY week, case_id
