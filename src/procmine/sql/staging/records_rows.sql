-- Record tables (procmine.sources.records), part 1: the rows of the new files with their
-- record id and _order (file, then row: which row of a record is its first). Placeholders
-- (formatted in by records.py; named here without braces, as the comment is formatted too):
-- raw_table and case are quoted identifiers; blank is "every exported cell is empty" (rows an
-- export pads its table with: skipped, they stay in raw).
CREATE OR REPLACE TEMP TABLE _rec_rows AS
SELECT *, pm_null({case}, $null_tokens) AS _record_id, {blank} AS _blank,
       (list_position($file_ids, _file_id)::BIGINT << 40) + _source_row AS _order
FROM {raw_table}
WHERE list_contains($file_ids, _file_id);
