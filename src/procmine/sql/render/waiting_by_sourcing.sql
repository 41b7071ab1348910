-- Waiting waste by sourcing (of the waste instance, else of its case) and by reason: in a
-- vendor waiting state (detail = 'vendor', e.g. Awaiting Vendor) or other waiting; the
-- $max_keys sourcings with the most waiting hours.
WITH w AS (
    SELECT coalesce(sourcing, '(none)') AS sourcing,
           CASE WHEN detail = 'vendor' THEN 'In a vendor waiting state' ELSE 'Other waiting' END
               AS reason,
           case_id, hours, cost
    FROM pm_render_waste WHERE waste_type = 'waiting'
),
top AS (
    SELECT sourcing FROM w GROUP BY sourcing
    ORDER BY sum(hours) DESC NULLS LAST, sourcing LIMIT $max_keys
)
SELECT sourcing, reason, count(DISTINCT case_id) AS cases,
       round(coalesce(sum(hours), 0), 3) AS hours, round(coalesce(sum(cost), 0), 2) AS cost,
       count(*) AS instances
FROM w WHERE sourcing IN (SELECT sourcing FROM top)
GROUP BY sourcing, reason
ORDER BY sourcing, reason;
