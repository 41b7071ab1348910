-- core.links, an inference rule of kind 'induced' ([links.rules.<name>], docs/d2c.md): change
-- -> incident when the incident's CI ($ci_role: 'caused_by' = attributes.caused_by_ci, or
-- 'affected') is one the change touched and the change took effect (implemented_at: actual
-- end, else planned end, else resolved, else closed) at most $window_s seconds before the
-- incident opened (0 <= opened - implemented <= window, both ends included). Every change in
-- the window is linked (each is a suspect); one link per (change, incident).
-- Reads core.d2c_records, _d2c_ci. Params: $rule, $ci_role, $window_s. Macros:
-- intermediate/d2c_macros.sql.
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
cis AS NOT MATERIALIZED (
    SELECT * FROM _d2c_ci
),
changes AS (
    SELECT x.case_id AS change_id, x.ci, r.implemented_at, r.implemented_by
    FROM cis AS x
    JOIN records AS r USING (case_id)
    WHERE x.case_type = 'change' AND x.role = 'affected' AND r.implemented_at IS NOT NULL
),
incidents AS (
    SELECT case_id AS incident_id, ci, opened_at
    FROM cis
    WHERE case_type = 'incident' AND role = $ci_role AND opened_at IS NOT NULL
),
pairs AS (
    SELECT ch.change_id, i.incident_id,
           arg_min({'ci': ch.ci, 'implemented_at': ch.implemented_at,
                    'implemented_by': ch.implemented_by, 'opened_at': i.opened_at}, ch.ci)
               AS first
    FROM incidents AS i
    JOIN changes AS ch
      ON ch.ci = i.ci AND i.opened_at >= ch.implemented_at
     AND epoch_us(i.opened_at) <= epoch_us(ch.implemented_at) + $window_s::BIGINT * 1000000
    GROUP BY ch.change_id, i.incident_id
),
final AS (
    SELECT 'change' AS from_type, change_id AS from_id, 'incident' AS to_type,
           incident_id AS to_id, 'induced' AS kind, 'inferred' AS origin, $rule AS rule,
           'CI ' || first.ci || ' changed by ' || change_id || ' (' || first.implemented_by
               || ' ' || strftime(timezone('UTC', first.implemented_at), '%Y-%m-%d %H:%M')
               || '); incident ' || incident_id || ' opened '
               || strftime(timezone('UTC', first.opened_at), '%Y-%m-%d %H:%M') || ' ('
               || round(pm_seconds(first.opened_at, first.implemented_at) / 86400, 1)
               || ' days later)' AS evidence,
           TRUE AS to_exists, TRUE AS from_exists
    FROM pairs
)
SELECT * FROM final
