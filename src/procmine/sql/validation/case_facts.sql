-- One row per (case, source) of this run, for the staging_cases suite. Only staged rows no row
-- rule rejected count. opened/resolved/closed come from the adapter's staging.cases row when
-- there is one, else from events: opened = first opening event (staged or in core), resolved /
-- closed = first event of stage resolve / close. has_opening_event is NULL for sources that
-- define no opening activities (temp table _opening(source, activity)).
CREATE OR REPLACE TEMP TABLE _case_facts AS
WITH valid AS (
    SELECT s.case_id, s.source, s.activity, s.ts, s.d2c_stage
    FROM staging.events AS s
    WHERE s.run_id = $run_id AND s.case_id IS NOT NULL
      AND s.rowid NOT IN (SELECT row_key FROM _failed)
),
staged AS (
    SELECT v.case_id, v.source,
           min(v.ts) FILTER (WHERE o.activity IS NOT NULL) AS opened_by_event,
           min(v.ts) FILTER (WHERE v.d2c_stage = 'resolve') AS first_resolved,
           min(v.ts) FILTER (WHERE v.d2c_stage = 'close') AS first_closed,
           bool_or(o.activity IS NOT NULL) AS staged_opening
    FROM valid AS v
    LEFT JOIN _opening AS o ON o.source = v.source AND o.activity = v.activity
    GROUP BY v.case_id, v.source
),
in_core AS (
    SELECT c.case_id, c.source, min(c.ts) AS opened_in_core
    FROM core.events AS c
    JOIN _opening AS o ON o.source = c.source AND o.activity = c.activity
    WHERE c.case_id IN (SELECT case_id FROM staged WHERE NOT staged_opening)
    GROUP BY c.case_id, c.source
),
adapter AS (
    -- a (source, case) given once, as it is; one given more than once (its hash is in
    -- _case_repeats, made by validate.py): the row opened first
    SELECT case_id, source, opened_at, resolved_at, closed_at
    FROM staging.cases
    WHERE hash(source, case_id) NOT IN (SELECT h FROM _case_repeats)
    UNION ALL
    SELECT case_id, source, opened_at, resolved_at, closed_at
    FROM (
        SELECT case_id, source, opened_at, resolved_at, closed_at,
               row_number() OVER (PARTITION BY case_id, source ORDER BY opened_at NULLS LAST) AS n
        FROM staging.cases
        WHERE hash(source, case_id) IN (SELECT h FROM _case_repeats)
    )
    WHERE n = 1
)
SELECT
    (row_number() OVER (ORDER BY st.source, st.case_id) - 1)::BIGINT AS case_no,
    st.case_id, st.source,
    CASE WHEN a.case_id IS NOT NULL THEN a.opened_at
         ELSE least(st.opened_by_event, ic.opened_in_core) END AS opened_at,
    CASE WHEN a.case_id IS NOT NULL THEN a.resolved_at ELSE st.first_resolved END AS resolved_at,
    CASE WHEN a.case_id IS NOT NULL THEN a.closed_at ELSE st.first_closed END AS closed_at,
    CASE WHEN st.source IN (SELECT source FROM _opening)
         THEN st.staged_opening OR ic.case_id IS NOT NULL END AS has_opening_event
FROM staged AS st
LEFT JOIN in_core AS ic ON ic.case_id = st.case_id AND ic.source = st.source
LEFT JOIN adapter AS a ON a.case_id = st.case_id AND a.source = st.source;
