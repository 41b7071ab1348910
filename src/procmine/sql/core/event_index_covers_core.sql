-- Whether the mining index has as many rows as core.events has events
-- (event_index.covers_core): table sizes, no scan. Publishing keeps both in step, so a
-- difference means the index was not built by it (an upgraded store, events written by hand).
WITH events AS (
    SELECT * FROM core.events
),
event_codes AS (
    SELECT * FROM core.event_codes
),
core_size AS (
    SELECT count(*) AS events FROM events
),
index_size AS (
    SELECT count(*) AS events FROM event_codes
),
final AS (
    SELECT c.events = i.events AS covers_core
    FROM core_size AS c, index_size AS i
)
SELECT * FROM final
