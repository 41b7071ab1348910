-- The partition of each case for a partitioned mining engine (mine/partitions.py): a stable
-- hash of its case id (md5, the same in every run, on every host and DuckDB version) modulo
-- $partitions, so a case's events always travel together.
WITH case_keys AS (
    SELECT * FROM core.case_keys
),
final AS (
    SELECT case_key,
           CAST(md5_number_upper(case_id) % CAST($partitions AS UBIGINT) AS INTEGER) AS part
    FROM case_keys
)
SELECT * FROM final
