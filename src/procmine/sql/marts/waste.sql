-- marts.waste: one row per waste instance (waste.py, conformance.py), with hours, cost and
-- evidence a process owner can read. The rows of the cases being rewritten (mine/changes.py):
-- _mine_waste_rows (ci, wtype, stage, detail, hours, cost, dwell_s, holder, e1, e2, e3, and
-- as TIMESTAMPTZ ts, since_ts, until_ts), with _mine_case_id (ci, case_id), _mine_evidence (intermediate/waste_evidence.sql), the code tables
-- _mine_waste_type, _mine_detail, _mine_stage, _mine_holder_key. Evidence codes e1..e3 per
-- waste type: waiting (activity, vendor holder or 0, case vendor or 0), handoff (from, to
-- holder), ping_pong (home, first away, return holder; indirect: e3 = path id), rework (other
-- work activity, repeated activity), reopen (resolved activity, reopening activity),
-- escalation_bounce (holders before, at and after the peak), deviation (previous activity or
-- 0, activity). mine/__init__.py materialises it as the whole mart or appends it.
-- Clock (mine/clock.py): hours never include clock-stopped time (customer or policy waits,
-- e.g. resolved until closed); stopped_hours is the clock-stopped time of the instance's
-- interval (interval_start → interval_end, both NULL for effort without one: hand-offs),
-- clock the class holding most of it ('internal', 'customer', 'policy'; _mine_clock).
WITH waste_rows AS (
    SELECT * FROM _mine_waste_rows
),
case_ids AS (
    SELECT * FROM _mine_case_id
),
evidence_texts AS (
    SELECT * FROM _mine_evidence
),
waste_types AS (
    SELECT * FROM _mine_waste_type
),
details AS (
    SELECT * FROM _mine_detail
),
stages AS (
    SELECT * FROM _mine_stage
),
holder_keys AS (
    SELECT * FROM _mine_holder_key
),
clock_classes AS (
    SELECT * FROM _mine_clock
),
final AS (
    SELECT k.case_id,
           st.name AS d2c_stage,
           t.name AS waste_type,
           w.hours,
           w.cost,
           e.evidence,
           d.name AS detail,
           h.org_group,
           h.sourcing,
           w.ts,
           w.stopped_hours,
           c.name AS clock,
           CASE WHEN t.name <> 'handoff'
                THEN w.since_ts END AS interval_start,
           CASE WHEN t.name <> 'handoff'
                THEN w.until_ts END AS interval_end
    FROM waste_rows AS w
    JOIN case_ids AS k ON k.ci = w.ci
    JOIN evidence_texts AS e
      ON e.wtype = w.wtype AND e.detail = w.detail AND e.e1 = w.e1 AND e.e2 = w.e2
     AND e.e3 = w.e3
    JOIN waste_types AS t ON t.code = w.wtype
    LEFT JOIN details AS d ON d.code = w.detail
    LEFT JOIN stages AS st ON st.code = w.stage
    LEFT JOIN holder_keys AS h ON h.code = w.holder
    JOIN clock_classes AS c ON c.code = w.clock
)
SELECT * FROM final
