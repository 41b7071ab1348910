-- Record tables (procmine.sources.records), part 2: one row per record. record_fields are the
-- configured columns' values over the record's rows, built by records.py from quoted column
-- names (aggregates; the row's own values when every record has one row, and group_by is then
-- empty): _file/_row (the record's first row: its events' lineage, so that events at one
-- instant keep the configured order, seq), c_<key> (core.cases columns), e<i>_ts/_raw (event
-- i: the earliest or latest reading), a<i> (attribute i).
CREATE OR REPLACE TEMP TABLE _rec AS
SELECT _record_id,
    {record_fields}
FROM _rec_rows
WHERE _record_id IS NOT NULL
{group_by};
