-- An empty core takes the current event keys (procmine.load.check_event_identity).
-- Params: $version.
UPDATE main.event_identity SET version = $version;
