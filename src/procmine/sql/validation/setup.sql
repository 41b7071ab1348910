-- Working tables of one validation pass (temp: never published). _failed holds one row per
-- (staged row, failed rule); row_key is the staged row's rowid in staging.events.
CREATE OR REPLACE TEMP TABLE _failed (
    row_key BIGINT, rule VARCHAR, column_name VARCHAR, bad_value VARCHAR, reason VARCHAR,
    source VARCHAR
);
CREATE OR REPLACE TEMP TABLE _opening (source VARCHAR, activity VARCHAR);
-- _loaded_files: per file of the run, whether its source allows empty files and how many of
-- its rows are record snapshots (NULL: rows are not snapshots; sources.base.Adapter)
CREATE OR REPLACE TEMP TABLE _loaded_files (source VARCHAR, source_file VARCHAR,
                                            allow_empty BOOLEAN, snapshot_rows BIGINT);
-- (_repeated_ids(h), the hashes of the run's event ids staged more than once, is made by
-- validation.repeats.run_repeats for the DuckDB rules and kept for publishing.)
