-- core.links, an inference rule of kind 'same_ci' ([links.rules.<name>], docs/d2c.md):
-- interaction -> incident when both are on the same CI (affected) and the incident opened at
-- most $window_s seconds before or after the interaction: the nearest such incident, one link
-- per interaction. With $only_unlinked, interactions that already have a given link to an
-- incident in the store are left alone (the rule fills gaps, it does not second-guess).
-- Reads _d2c_ci, core.links (the given links, written first). Params: $rule, $window_s,
-- $only_unlinked. Macros: intermediate/d2c_macros.sql.
WITH cis AS NOT MATERIALIZED (
    SELECT * FROM _d2c_ci
),
given AS (
    SELECT from_id AS interaction_id
    FROM core.links
    WHERE kind = 'reported_as' AND origin = 'given' AND from_exists AND to_exists
),
calls AS (
    SELECT case_id AS interaction_id, ci, opened_at
    FROM cis
    WHERE case_type = 'interaction' AND role = 'affected' AND opened_at IS NOT NULL
      AND (NOT $only_unlinked OR case_id NOT IN (SELECT interaction_id FROM given))
),
incidents AS NOT MATERIALIZED (
    SELECT case_id AS incident_id, ci, opened_at AS incident_at
    FROM cis
    WHERE case_type = 'incident' AND role = 'affected' AND opened_at IS NOT NULL
),
after_call AS (
    SELECT c.*, i.incident_id, i.incident_at
    FROM calls AS c
    ASOF JOIN incidents AS i ON c.ci = i.ci AND c.opened_at <= i.incident_at
),
before_call AS (
    SELECT c.*, i.incident_id, i.incident_at
    FROM calls AS c
    ASOF JOIN incidents AS i ON c.ci = i.ci AND c.opened_at >= i.incident_at
),
candidates AS (
    SELECT *, abs(pm_seconds(incident_at, opened_at)) AS gap_s
    FROM (SELECT * FROM after_call UNION ALL SELECT * FROM before_call)
    WHERE abs(pm_seconds(incident_at, opened_at)) <= $window_s
),
nearest AS (
    SELECT interaction_id,
           arg_min({'incident_id': incident_id, 'ci': ci, 'opened_at': opened_at,
                    'incident_at': incident_at, 'gap_s': gap_s},
                   (gap_s, incident_id, ci)) AS n
    FROM candidates
    GROUP BY interaction_id
),
final AS (
    SELECT 'interaction' AS from_type, interaction_id AS from_id, 'incident' AS to_type,
           n.incident_id AS to_id, 'same_ci' AS kind, 'inferred' AS origin, $rule AS rule,
           'interaction ' || interaction_id || ' on CI ' || n.ci || ' opened '
               || strftime(timezone('UTC', n.opened_at), '%Y-%m-%d %H:%M') || '; incident '
               || n.incident_id || ' on the same CI opened '
               || strftime(timezone('UTC', n.incident_at), '%Y-%m-%d %H:%M') || ' ('
               || round(n.gap_s / 3600, 1) || ' h apart)' AS evidence,
           TRUE AS to_exists, TRUE AS from_exists
    FROM nearest
)
SELECT * FROM final
