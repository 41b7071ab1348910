-- Events staged and quarantined per source file in this run (before publishing).
SELECT source_file, sum(staged)::BIGINT AS events, sum(quarantined)::BIGINT AS quarantined
FROM (
    SELECT source_file, count(*) AS staged, 0 AS quarantined
    FROM staging.events WHERE run_id = $run_id GROUP BY ALL
    UNION ALL
    SELECT source_file, 0, count(DISTINCT (source_row, seq, event_id))
    FROM quarantine.events WHERE run_id = $run_id GROUP BY ALL
)
GROUP BY source_file;
