-- Migration 12: which event identity core.events' keys were made with (README "Event
-- identity"). 1: procmine before it, a md5 of '|'-joined fields, identical rows of a file
-- quarantined as duplicates; 2: a md5 of the fields' JSON list, identical rows of a file
-- numbered apart. A store holding version-1 events cannot take new loads (their keys would
-- not match and overlapping exports would be loaded twice): publishing stops with a clear
-- error until the store is rebuilt (`procmine run --full`, or the files loaded into a new
-- store). An empty core takes version 2 at once.
CREATE TABLE IF NOT EXISTS main.event_identity (
    version INTEGER NOT NULL
);

INSERT INTO main.event_identity
SELECT CASE WHEN EXISTS (SELECT 1 FROM core.events) THEN 1 ELSE 2 END
WHERE NOT EXISTS (SELECT 1 FROM main.event_identity);
