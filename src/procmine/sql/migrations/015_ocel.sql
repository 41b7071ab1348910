-- Migration 15: object-centric directly-follows graph per object type (marts/ocdfg.sql).
-- Objects are procmine's cases (their type is core.cases.case_type); `count` is the number of
-- times an object of the type goes from one activity to the next (pm4py's discover_ocdfg
-- "total_objects" per edge), `objects` how many distinct objects take the edge ("unique_objects").
CREATE TABLE IF NOT EXISTS marts.ocdfg (
    object_type   VARCHAR NOT NULL,
    from_activity VARCHAR NOT NULL,
    to_activity   VARCHAR NOT NULL,
    count         BIGINT NOT NULL,
    objects       BIGINT NOT NULL
);
