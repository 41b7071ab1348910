-- The vocabulary of core.events in one scan, as small code tables: the mining step works on
-- integer codes (dictionary encoding) and joins the names back at the end.
--   _mine_step_key:   (activity, d2c_stage, source)             -> code
--   _mine_holder_key: (org_group, support_level, sourcing)      -> code
--   _mine_file_key:   source_file (codes in file-name order)    -> code
CREATE OR REPLACE TEMP TABLE _mine_scan AS
SELECT list(DISTINCT {'activity': activity, 'd2c_stage': d2c_stage, 'source': source}) AS steps,
       list(DISTINCT {'org_group': org_group, 'support_level': support_level,
                      'sourcing': sourcing}) AS holders,
       list(DISTINCT source_file) AS files,
       count(*) AS events,
       coalesce(min(source_row), 0) AS min_row, coalesce(max(source_row), 0) AS max_row,
       coalesce(min(seq), 0) AS min_seq, coalesce(max(seq), 0) AS max_seq
FROM core.events;

CREATE OR REPLACE TEMP TABLE _mine_step_key AS
SELECT (row_number() OVER (ORDER BY s.activity, s.d2c_stage NULLS FIRST, s.source))::UINTEGER
           AS code,
       s.activity, s.d2c_stage, s.source
FROM (SELECT unnest(steps) AS s FROM _mine_scan);

CREATE OR REPLACE TEMP TABLE _mine_holder_key AS
SELECT (row_number() OVER (ORDER BY h.org_group NULLS FIRST, h.support_level NULLS FIRST,
                                    h.sourcing NULLS FIRST))::UINTEGER AS code,
       h.org_group, h.support_level, h.sourcing
FROM (SELECT unnest(holders) AS h FROM _mine_scan);

CREATE OR REPLACE TEMP TABLE _mine_file_key AS
SELECT (row_number() OVER (ORDER BY source_file))::UINTEGER AS code, source_file
FROM (SELECT unnest(files) AS source_file FROM _mine_scan);
