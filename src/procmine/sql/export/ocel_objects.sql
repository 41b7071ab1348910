-- OCEL 2.0 export, part 3: the objects, i.e. the cases that have events (an object without
-- events is left out: OCEL readers such as pm4py drop it), with core.cases' attributes.
-- A case id in several sources is one object (its first source's row).
WITH related AS (
    SELECT case_id, any_value(case_type) AS case_type, min(rank) AS rank
    FROM _ocel_e2o
    GROUP BY case_id
),
cases AS (
    SELECT case_id, case_type, source, priority, category, service, opened_at, resolved_at,
           closed_at, sla_met, reopen_count, vendor, sourcing
    FROM core.cases
),
final AS (
    SELECT r.case_id AS ocel_id, coalesce(c.case_type, r.case_type) AS ocel_type,
           c.source, c.priority, c.category, c.service,
           strftime(timezone('UTC', c.opened_at), '%Y-%m-%d %H:%M:%S.%f') AS opened_at,
           strftime(timezone('UTC', c.resolved_at), '%Y-%m-%d %H:%M:%S.%f') AS resolved_at,
           strftime(timezone('UTC', c.closed_at), '%Y-%m-%d %H:%M:%S.%f') AS closed_at,
           c.sla_met::INTEGER AS sla_met, c.reopen_count, c.vendor, c.sourcing, r.rank
    FROM related AS r
    LEFT JOIN (SELECT * FROM cases QUALIFY row_number() OVER (PARTITION BY case_id
                                                              ORDER BY source) = 1) AS c
        USING (case_id)
)
SELECT * EXCLUDE (rank) FROM final
ORDER BY rank
