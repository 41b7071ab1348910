-- _mine_pp_evidence (a temp table): the group path of each indirect ping-pong (pid), its
-- holders' groups in step order, for waste_evidence.sql. Inputs: _mine_pp_path (pid, step,
-- holder), _mine_holder_key.
WITH path_steps AS (
    SELECT * FROM _mine_pp_path
),
holder_keys AS (
    SELECT * FROM _mine_holder_key
),
final AS (
    SELECT p.pid, string_agg(coalesce(h.org_group, '?'), ' → ' ORDER BY p.step) AS path
    FROM path_steps AS p JOIN holder_keys AS h ON h.code = p.holder
    GROUP BY p.pid
)
SELECT * FROM final
