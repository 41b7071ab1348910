-- What the marts are computed from: core's events and cases (count and an order-independent
-- hash of their content). Equal values mean mining again would give the same marts.
SELECT
    (SELECT count(*) FROM core.events) AS events,
    (SELECT coalesce(bit_xor(hash(event_id)), 0) FROM core.events) AS events_hash,
    (SELECT count(*) FROM core.cases) AS cases,
    (SELECT coalesce(bit_xor(hash(c)), 0) FROM core.cases AS c) AS cases_hash;
