-- Waiting waste by sourcing (of the waste instance, else of its case): where tickets sit
-- idle, vendors included; the $max_keys sourcings with the most waiting hours.
SELECT coalesce(sourcing, '(none)') AS sourcing, count(DISTINCT case_id) AS cases,
       round(coalesce(sum(hours), 0), 3) AS hours, round(coalesce(sum(cost), 0), 2) AS cost,
       count(*) AS instances
FROM pm_render_waste
WHERE waste_type = 'waiting'
GROUP BY 1
ORDER BY hours DESC, sourcing
LIMIT $max_keys;
