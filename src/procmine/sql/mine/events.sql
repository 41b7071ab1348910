-- core.events as compact integer columns, sorted by case (a hash of case_id) and ts; events
-- with equal ts are put in source_file, source_row, seq order by events.py with the tie-break
-- columns ({tiebreak}: one packed BIGINT k when the codes fit, else f, r, s). x and y are
-- codes of _mine_step_key and _mine_holder_key (vocabulary.sql). $salt changes the case hash
-- if two ids collide.
SELECT hash(e.case_id, $salt) AS h,
       epoch_us(e.ts) AS t,
       s.code AS x,
       k.code AS y,
       {tiebreak}
FROM core.events AS e
JOIN _mine_step_key AS s
  ON s.activity = e.activity AND s.source = e.source
 AND s.d2c_stage IS NOT DISTINCT FROM e.d2c_stage
JOIN _mine_holder_key AS k
  ON k.org_group IS NOT DISTINCT FROM e.org_group
 AND k.support_level IS NOT DISTINCT FROM e.support_level
 AND k.sourcing IS NOT DISTINCT FROM e.sourcing
JOIN _mine_file_key AS f ON f.source_file = e.source_file
ORDER BY h, t
