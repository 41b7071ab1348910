-- The activities a BPIC 2013 (Volvo IT) file being inspected would load as, most frequent
-- first: 'Status-Sub Status', as the bpic2013 adapter names them (staging/bpic2013_events.sql).
-- {table} is the temp table holding the file (the quoted name).
-- Params: $null_tokens, $limit.
SELECT concat_ws('-', pm_null("Status", $null_tokens), pm_null("Sub Status", $null_tokens)) AS a,
       count(*) AS n
FROM {table}
GROUP BY a
ORDER BY n DESC, a
LIMIT $limit;
