-- Record tables (procmine.sources.records), part 1: one row per record of the new files.
-- Placeholders (formatted in by records.py; named here without braces, as the comment is
-- formatted too): raw_table and case are quoted identifiers; blank is "every exported cell is
-- empty" (rows an export pads its table with: skipped, they stay in raw); record_fields are the
-- configured columns' aggregates over one record's rows, built by records.py from quoted
-- column names: c_<key> (core.cases columns), e<i>_ts/_raw (event i: the earliest or latest
-- reading), a<i> (attribute i). A record's events carry its first row as their lineage (so
-- that events at one instant keep the configured order, seq).
CREATE OR REPLACE TEMP TABLE _rec_rows AS
SELECT *, pm_null({case}, $null_tokens) AS _record_id, {blank} AS _blank
FROM {raw_table}
WHERE list_contains($file_ids, _file_id);

CREATE OR REPLACE TEMP TABLE _rec AS
SELECT _record_id,
    arg_min(_source_file, _source_row) AS _file, min(_source_row) AS _row,
    {record_fields}
FROM _rec_rows
WHERE _record_id IS NOT NULL
GROUP BY _record_id;
