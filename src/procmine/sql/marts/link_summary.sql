-- marts.link_summary: core.links counted per kind, origin, rule and status ('linked': both
-- records in the store; 'not_in_store': a given link naming a record the store lacks), plus
-- the references that made no link ('placeholder <value>', e.g. BPIC 2014's '#MULTIVALUE'),
-- with one example a person can look up. Reads core.links, _d2c_ref.
WITH links AS (
    SELECT * FROM core.links
),
refs AS (
    SELECT * FROM _d2c_ref
),
link_counts AS (
    SELECT kind, origin, rule, from_type, to_type,
           CASE WHEN to_exists AND from_exists THEN 'linked' ELSE 'not_in_store' END AS status,
           count(*) AS links, min(evidence) AS example
    FROM links
    GROUP BY ALL
),
placeholder_counts AS (
    SELECT kind, 'given' AS origin, rule,
           CASE WHEN carrier_is_from THEN carrier_type ELSE other_type END AS from_type,
           CASE WHEN carrier_is_from THEN other_type ELSE carrier_type END AS to_type,
           'placeholder ' || value AS status, count(*) AS links,
           min(carrier_type || ' ' || carrier_id || ' names ' || rule || ' = ' || value)
               AS example
    FROM refs
    WHERE status = 'placeholder'
    GROUP BY ALL
),
final AS (
    SELECT * FROM link_counts
    UNION ALL
    SELECT * FROM placeholder_counts
)
SELECT * FROM final
ORDER BY kind, origin, rule, status
