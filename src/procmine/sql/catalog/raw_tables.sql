-- The tables of schema raw (one per source, and an OCEL source's side tables), by name:
-- `run --full`'s reset (load.reset_loaded_data) empties them, the Dask loader
-- (orchestration.dask_ingest) writes each one's rows of a file to Parquet.
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'raw' AND table_type = 'BASE TABLE'
ORDER BY table_name;
