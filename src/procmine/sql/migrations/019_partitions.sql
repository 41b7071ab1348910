-- Migration 19: partitioned history, slice 1 (docs/partitions.md §2 and §5). A case's
-- partition is the UTC month of its first event, recorded once when it gets its key; nothing
-- reads it yet (slices 2-4 will).
--   core.case_keys.open_month  the first day of that month; set by core/event_index.sql for a
--                              new key from all the case's events in core, never moved by a
--                              later run (an event earlier than the case's first does not move
--                              the case between partitions); a rebuild of the index (which
--                              reassigns keys) computes it again from all events.
--   core.run_partitions        per published run, each partition it touched: its cases with
--                              events in core (given new events or new attributes) and its new
--                              events there. In core, not mining: publishing (the load layer)
--                              writes it in the same transaction as the events it counts, and
--                              what a run touched is a fact of core that mining will read, as it
--                              reads core.events. marts.run_log is unchanged (DESIGN.md's
--                              SQL contract).
-- The month is taken without time zone lookups, as sql/marts/kpis.sql does.
ALTER TABLE core.case_keys ADD COLUMN IF NOT EXISTS open_month DATE;

-- a store of version 18: every key gets its case's first event's month in core.events
UPDATE core.case_keys AS k
SET open_month = f.open_month
FROM (
    SELECT case_id,
           CAST(date_trunc('month', make_timestamp(min(epoch_us(ts)))) AS DATE) AS open_month
    FROM core.events
    GROUP BY case_id
) AS f
WHERE k.case_id = f.case_id AND k.open_month IS NULL;

CREATE TABLE IF NOT EXISTS core.run_partitions (
    run_id     VARCHAR NOT NULL,
    open_month DATE,               -- the partition (core.case_keys.open_month)
    cases      BIGINT NOT NULL,    -- the run's cases in it (with new events or attributes)
    events     BIGINT NOT NULL     -- the run's new events in it
);
