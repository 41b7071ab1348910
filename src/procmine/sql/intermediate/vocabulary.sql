-- The code tables of the mining index (migration 6) under the names the mining SQL models
-- use: the mining step works on integer codes (dictionary encoding) and joins the names
-- back at the end.
--   _mine_step_key:   (activity, d2c_stage, source)             -> code
--   _mine_holder_key: (org_group, support_level, sourcing)      -> code
CREATE OR REPLACE TEMP VIEW _mine_step_key AS
SELECT code, activity, d2c_stage, source FROM core.step_codes;

CREATE OR REPLACE TEMP VIEW _mine_holder_key AS
SELECT code, org_group, support_level, sourcing FROM core.holder_codes;
