-- The rows of one loaded file that are snapshots of a record (they name one: a number), for
-- validation's file_contributes_rows. A nightly export whose snapshots all repeat states
-- already loaded derives no event and stages nothing, and is still a sound export; a file
-- whose rows name no record is not.
-- {raw_table} is raw.<source>, {number} its number column (qualified as raw_row).
-- Params: $file_id, $null_tokens.
SELECT count(*) AS snapshot_rows
FROM {raw_table} AS raw_row
WHERE _file_id = $file_id AND pm_null({number}, $null_tokens) IS NOT NULL
