-- What the marts are computed from: core's events and cases. Equal values mean mining again
-- would give the same marts. Events: their count and the sum of their times, and an
-- order-independent hash of the mining index's integer codes (case, time, step = activity /
-- stage / source, holder = group / level / sourcing), which publishing keeps in step with
-- core.events (hashing the 32-character event ids instead cost ~2 s at 10M events); cases:
-- count and a hash of every column of every row.
SELECT
    (SELECT count(*) FROM core.events) AS events,
    (SELECT coalesce(sum(epoch_us(ts)), 0) FROM core.events) AS events_time,
    (SELECT coalesce(bit_xor(hash(case_key, t, step, holder)), 0) FROM core.event_codes)
        AS index_hash,
    (SELECT count(*) FROM core.cases) AS cases,
    (SELECT coalesce(bit_xor(hash(c)), 0) FROM core.cases AS c) AS cases_hash;
