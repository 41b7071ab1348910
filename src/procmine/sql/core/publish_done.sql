-- Last step of publishing: empty staging and drop the run's working tables.
DELETE FROM staging.events WHERE run_id = $run_id;
DELETE FROM staging.cases;
DROP VIEW IF EXISTS _case_events;
DROP VIEW IF EXISTS _run_event_keys;
DROP TABLE IF EXISTS _cases_in_core;
DROP TABLE IF EXISTS _new_events;
DROP TABLE IF EXISTS _prior_events;
DROP TABLE IF EXISTS _derived_times;
DROP TABLE IF EXISTS _last_sourcing;
DROP TABLE IF EXISTS _case_dups;
DROP TABLE IF EXISTS _dup_keys;
DROP TABLE IF EXISTS _repeated_ids;
DROP TABLE IF EXISTS _repeated_ids_of;
DROP TABLE IF EXISTS _event_cases;
DROP TABLE IF EXISTS _touched_cases;
DROP MACRO TABLE IF EXISTS _staged_once;
