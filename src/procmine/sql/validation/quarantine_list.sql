-- `procmine quarantine list` (quarantine.quarantine_counts): per rule and source, the rows
-- quarantine.events holds, the runs that put them there and the latest, most rows first.
-- Params: $source (NULL: every source).
SELECT rule, source, count(*) AS rows, count(DISTINCT run_id) AS runs,
       max(quarantined_at) AS last_quarantined
FROM quarantine.events
WHERE ($source IS NULL OR source = $source)
GROUP BY rule, source
ORDER BY rows DESC, rule, source
