-- _mine_evidence (a temp table): the evidence text of the waste instances written by
-- marts/waste.sql (_mine_waste_rows), once per distinct code combination. Inputs: _mine_waste_rows,
-- _mine_pp_evidence (ping_pong_paths.sql), _mine_vendor (code, name), _mine_activity,
-- _mine_holder_key; $waste_types / $details. Evidence codes e1..e3 per waste type: waiting
-- (activity, vendor holder or 0, case vendor or 0), handoff (from, to holder), ping_pong
-- (home, first away, return holder; indirect: e3 = path id), rework (other work activity,
-- repeated activity), reopen (resolved activity, reopening activity), escalation_bounce
-- (holders before, at and after the peak), deviation (previous activity or 0, activity).
WITH waste_rows AS (
    SELECT * FROM _mine_waste_rows
),
activities AS NOT MATERIALIZED (
    SELECT * FROM _mine_activity
),
holder_keys AS NOT MATERIALIZED (
    SELECT * FROM _mine_holder_key
),
ping_pong_paths AS (
    SELECT * FROM _mine_pp_evidence
),
vendors AS (
    SELECT * FROM _mine_vendor
),
evidence_keys AS (   -- each distinct code combination
    SELECT DISTINCT wtype, detail, e1, e2, e3,
           list_extract($waste_types, wtype + 1) AS waste_type,
           list_extract($details, detail + 1) AS detail_name
    FROM waste_rows
),
final AS (
    SELECT k.wtype, k.detail, k.e1, k.e2, k.e3,
           CASE k.waste_type
               WHEN 'waiting' THEN
                   a1.name || CASE WHEN k.e2 > 0 THEN ' at ' || coalesce(h2.org_group, '?') ELSE '' END
                   || CASE WHEN k.e3 > 0 THEN ' (vendor ' || coalesce(v.name, '?') || ')' ELSE '' END
                   || CASE WHEN k.detail_name = 'still_waiting' THEN ' (no later event yet)'
                           ELSE '' END
               WHEN 'handoff' THEN coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?')
               WHEN 'ping_pong' THEN
                   CASE WHEN k.detail_name = 'direct'
                        THEN coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?')
                             || ' → ' || coalesce(h3.org_group, '?')
                        ELSE coalesce(pp.path, '?') END
               WHEN 'rework' THEN a2.name || ' repeated after ' || coalesce(a1.name, '?')
               WHEN 'reopen' THEN coalesce(a1.name, '?') || ' → ' || a2.name
               WHEN 'escalation_bounce' THEN
                   coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?') || ' → '
                   || coalesce(h3.org_group, '?') || ' ('
                   || coalesce(h1.support_level, '?') || ' → ' || coalesce(h2.support_level, '?')
                   || ' → ' || coalesce(h3.support_level, '?') || ')'
               WHEN 'deviation' THEN
                   a2.name || ' after ' || coalesce(a1.name, 'the start')
                   || ' is not in the reference model'
           END AS evidence
    FROM evidence_keys AS k
    LEFT JOIN activities AS a1
           ON a1.code = k.e1 AND k.waste_type IN ('waiting', 'rework', 'reopen', 'deviation')
    LEFT JOIN activities AS a2
           ON a2.code = k.e2 AND k.waste_type IN ('rework', 'reopen', 'deviation')
    LEFT JOIN holder_keys AS h1
           ON h1.code = k.e1 AND k.waste_type IN ('handoff', 'ping_pong', 'escalation_bounce')
    LEFT JOIN holder_keys AS h2
           ON h2.code = k.e2 AND k.waste_type IN ('waiting', 'handoff', 'ping_pong',
                                                  'escalation_bounce')
    LEFT JOIN holder_keys AS h3
           ON h3.code = k.e3 AND (k.waste_type = 'escalation_bounce'
                                  OR (k.waste_type = 'ping_pong' AND k.detail_name = 'direct'))
    LEFT JOIN ping_pong_paths AS pp
           ON pp.pid = k.e3 AND k.waste_type = 'ping_pong' AND k.detail_name = 'indirect'
    LEFT JOIN vendors AS v ON v.code = k.e3 AND k.waste_type = 'waiting'
)
SELECT * FROM final
