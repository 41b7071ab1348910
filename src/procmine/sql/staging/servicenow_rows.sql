-- ServiceNow audit snapshots, part 1: the snapshots of the records in the new files, narrow
-- (rules: docs/sources.md; part 2, servicenow_events.sql, derives events and cases from them).
-- {raw_table} is raw.<source>; the column placeholders ({number}, {state}, ...) are its
-- columns named by the source's mapping, quoted and qualified as raw_row (or NULL::VARCHAR
-- when absent); {content} hashes a row's exported values.
-- Params: $file_ids (files of this load), $null_tokens, $date_format, $timezone.
-- Cost: raw is passed once (its number column compared to the records of the new files);
-- the rest works on the snapshots of those records only (a nightly's are a few thousand).

-- Records that appear in the new files (their whole history is re-derived), each with an
-- integer key (rid) that partitions and groups their snapshots instead of the number text.
CREATE OR REPLACE TEMP TABLE _sn_records AS
SELECT number, row_number() OVER () AS rid
FROM (SELECT DISTINCT pm_null({number}, $null_tokens) AS number
      FROM {raw_table} AS raw_row
      WHERE list_contains($file_ids, _file_id) AND pm_null({number}, $null_tokens) IS NOT NULL);

-- The files of raw in load order: file_order stands for (_loaded_at, _source_file), constant
-- per file, so the snapshots are ordered and carried without those long strings.
CREATE OR REPLACE TEMP TABLE _sn_files AS
SELECT _file_id, _source_file, list_contains($file_ids, _file_id) AS is_new,
       row_number() OVER (ORDER BY _loaded_at, _source_file, _file_id) AS file_order
FROM (SELECT _file_id, any_value(_loaded_at) AS _loaded_at,
             any_value(_source_file) AS _source_file
      FROM {raw_table}
      GROUP BY _file_id);

-- All raw snapshots of those records (earlier files too), narrow: file order and row, the
-- record key and the columns events need (case attributes are read back for the last
-- snapshots only, by raw_rowid: raw's row id, fixed within this transaction), and `same`, a
-- hash of those values (for finding copies below). One pass over raw: its number column is
-- compared, the other columns are read for the matching rows only (materialised before the
-- files are joined: else DuckDB checks every raw row's _file_id against the files first).
CREATE OR REPLACE TEMP TABLE _sn_rows AS
WITH matching AS MATERIALIZED (
    SELECT _file_id, _source_row, raw_row.rowid AS raw_rowid, rec.rid, rec.number,
           pm_null({state}, $null_tokens) AS state,
           pm_null({updated_at}, $null_tokens) AS updated_raw,
           pm_null({mod_count}, $null_tokens) AS mod_raw,
           pm_null({opened_at}, $null_tokens) AS opened_raw,
           pm_null({group}, $null_tokens) AS grp,
           pm_null({resource}, $null_tokens) AS resource,
           pm_null({category}, $null_tokens) AS category
    FROM {raw_table} AS raw_row
    JOIN _sn_records AS rec ON rec.number = trim({number})  -- = pm_null: no record is a token
)
SELECT f.file_order, f.is_new, r.* EXCLUDE (_file_id),
       pm_parse_ts(updated_raw, $date_format, $timezone) AS updated_ts,
       try_cast(mod_raw AS BIGINT) AS mod_n,
       hash(rid, state, updated_raw, mod_raw, opened_raw, grp, resource, category) AS same
FROM matching AS r
JOIN _sn_files AS f USING (_file_id);

-- A snapshot exported twice (same record, same exported values) counts once, attributed to
-- its earliest-loaded copy: the later copies are dropped. Candidates are the snapshots
-- sharing every value the events use with another of the record's (usually none); only
-- their raw rows are hashed over all exported columns and ordered.
CREATE OR REPLACE TEMP TABLE _sn_copies AS
SELECT raw_rowid, file_order, _source_row, rid
FROM _sn_rows
SEMI JOIN (SELECT same FROM _sn_rows GROUP BY same HAVING count(*) > 1) AS d USING (same);

DELETE FROM _sn_rows AS r
USING (
    SELECT c.file_order, c._source_row
    FROM _sn_copies AS c
    JOIN (SELECT raw_row.rowid AS raw_rowid, {content} AS content
          FROM {raw_table} AS raw_row
          WHERE raw_row.rowid IN (SELECT raw_rowid FROM _sn_copies)) AS x
      USING (raw_rowid)
    QUALIFY row_number() OVER (PARTITION BY c.rid, x.content
                               ORDER BY c.file_order, c._source_row) > 1
) AS later
WHERE r.file_order = later.file_order AND r._source_row = later._source_row;

DROP TABLE _sn_copies;
