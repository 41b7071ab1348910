-- The partitions a run touched (core.run_partitions) and those the store holds (the case-open
-- months of core.case_keys): the run summary's "N of M partitions touched".
SELECT (SELECT count(*) FROM core.run_partitions WHERE run_id = $run_id) AS touched,
       (SELECT count(DISTINCT open_month) FROM core.case_keys) AS partitions
