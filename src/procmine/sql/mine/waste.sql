-- marts.waste: one row per waste instance (waste.py, conformance.py), with hours, cost and
-- evidence a process owner can read. Inputs: _mine_waste (iid, ci, wtype, detail, hours,
-- cost, dwell_s, t_us, x, holder, e1, e2, e3), _mine_pp_path (iid, step, holder),
-- _mine_case (ci, case_id), code tables; $waste_types / $details name the codes.
CREATE OR REPLACE TEMP TABLE _mine_pp_evidence AS
SELECT p.iid, string_agg(h.org_group, ' → ' ORDER BY p.step) AS path
FROM _mine_pp_path AS p JOIN _mine_holder_key AS h ON h.code = p.holder
GROUP BY p.iid;

CREATE OR REPLACE TABLE marts.waste AS
WITH w AS (
    SELECT w.*,
           list_extract($waste_types, w.wtype + 1) AS waste_type,
           list_extract($details, w.detail + 1) AS detail_name
    FROM _mine_waste AS w
)
SELECT k.case_id,
       CASE WHEN w.waste_type = 'reopen' THEN 'reopen' ELSE s.d2c_stage END AS d2c_stage,
       w.waste_type,
       w.hours,
       w.cost,
       CASE w.waste_type
           WHEN 'waiting' THEN
               s.activity || CASE WHEN w.detail_name = 'still_waiting'
                                  THEN ' (still waiting at the case''s last event)'
                                  ELSE ' for ' || printf('%.1f', w.hours) || ' h' END
               || CASE WHEN w.e1 = 1 THEN coalesce(
                       ' at vendor ' || coalesce(c.vendor, CASE WHEN h.sourcing LIKE 'vendor:%'
                                                          THEN substr(h.sourcing, 8) END), '')
                       ELSE '' END
           WHEN 'handoff' THEN
               coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?')
           WHEN 'ping_pong' THEN
               CASE WHEN w.detail_name = 'direct'
                    THEN coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?')
                         || ' → ' || coalesce(h3.org_group, '?')
                    ELSE coalesce(pp.path, '?') END
           WHEN 'rework' THEN s.activity || ' repeated after ' || coalesce(a1.name, '?')
           WHEN 'reopen' THEN coalesce(a1.name, '?') || ' → ' || s.activity
           WHEN 'escalation_bounce' THEN
               coalesce(h1.org_group, '?') || ' → ' || coalesce(h2.org_group, '?') || ' → '
               || coalesce(h3.org_group, '?') || ' ('
               || coalesce(h1.support_level, '?') || ' → ' || coalesce(h2.support_level, '?')
               || ' → ' || coalesce(h3.support_level, '?') || ')'
           WHEN 'deviation' THEN
               s.activity || ' after ' || coalesce(a1.name, 'the start')
               || ' is not in the reference model'
       END AS evidence,
       nullif(w.detail_name, '') AS detail,
       s.activity,
       h.org_group,
       h.support_level,
       h.sourcing,
       make_timestamp(w.t_us)::TIMESTAMPTZ AS ts,
       w.dwell_s AS wait_after_s
FROM w
JOIN _mine_case AS k ON k.ci = w.ci
JOIN _mine_step_key AS s ON s.code = w.x
LEFT JOIN _mine_holder_key AS h ON h.code = w.holder
LEFT JOIN _mine_holder_key AS h1
       ON h1.code = w.e1 AND w.waste_type IN ('handoff', 'ping_pong', 'escalation_bounce')
LEFT JOIN _mine_holder_key AS h2
       ON h2.code = w.e2 AND w.waste_type IN ('handoff', 'ping_pong', 'escalation_bounce')
LEFT JOIN _mine_holder_key AS h3
       ON h3.code = w.e3 AND w.waste_type IN ('ping_pong', 'escalation_bounce')
LEFT JOIN _mine_activity AS a1
       ON a1.code = w.e1 AND w.waste_type IN ('rework', 'reopen', 'deviation')
LEFT JOIN _mine_pp_evidence AS pp ON pp.iid = w.iid
LEFT JOIN core.cases AS c ON c.case_id = k.case_id AND w.e1 = 1 AND w.waste_type = 'waiting';
