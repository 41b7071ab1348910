-- The version of the event keys core.events holds (main.event_identity, migration 012):
-- below procmine.load.EVENT_IDENTITY, new keys would not match the stored ones.
SELECT min(version) AS version FROM main.event_identity;
