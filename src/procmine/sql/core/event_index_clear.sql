-- Empty the mining index (codes and case keys) and the mining state keyed by it: a rebuild
-- (event_index_rebuild.sql) and `--full` (reset.sql) both start from here.
DELETE FROM core.event_codes;
DELETE FROM core.case_keys;
DELETE FROM core.step_codes;
DELETE FROM core.holder_codes;
-- mining.case_state is keyed by case key: new keys invalidate it (mine/changes.py)
DELETE FROM mining.case_state;
DELETE FROM mining.run_state;
-- what earlier runs touched, by the partitions of these keys (migration 19): the rebuild that
-- follows computes every case's month again from all its events, so they would not describe it
DELETE FROM core.run_partitions;
