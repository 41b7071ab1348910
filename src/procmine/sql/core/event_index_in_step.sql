-- Whether the mining index is in step with core.events (event_index.in_step): the same number
-- of events and the same sum of their times in both, as publishing keeps them. A scan of two
-- numeric columns; catches events added, removed or re-timed outside publishing.
WITH events AS (
    SELECT * FROM core.events
),
event_codes AS (
    SELECT * FROM core.event_codes
),
core_totals AS (
    SELECT count(*) AS events, coalesce(sum(epoch_us(ts)), 0) AS time_sum
    FROM events
),
index_totals AS (
    SELECT count(*) AS events, coalesce(sum(t), 0) AS time_sum
    FROM event_codes
),
final AS (
    SELECT (c.events, c.time_sum) = (i.events, i.time_sum) AS in_step
    FROM core_totals AS c, index_totals AS i
)
SELECT * FROM final
