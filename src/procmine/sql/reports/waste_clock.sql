-- marts.waste by waste type and clock class (mine/clock.py): the waste hours (internal time
-- only) and the clock-stopped hours taken out of them, with the instances whose interval is
-- mostly internal, customer or policy time. NULL clock (a miner without clock classes):
-- internal.
WITH waste AS (
    SELECT * FROM marts.waste
),
final AS (
    SELECT waste_type,
           coalesce(clock, 'internal') AS clock,
           count(*) AS instances,
           coalesce(sum(hours), 0) AS hours,
           coalesce(sum(stopped_hours), 0) AS stopped_hours
    FROM waste
    GROUP BY ALL
    HAVING sum(hours) > 0 OR sum(stopped_hours) > 0
)
SELECT * FROM final
ORDER BY stopped_hours DESC, hours DESC, waste_type, clock
