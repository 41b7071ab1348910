-- Values two formats both read, but differently (e.g. 03/04/2024 as 3 April or 4 March):
-- the examples of an ambiguous date column, most frequent first.
-- Reads _pm_ts_values(v, n). Params: $first, $second (strptime formats), $limit.
SELECT v, timezone('UTC', pm_parse_ts(v, $first, 'UTC')) AS first_reading,
       timezone('UTC', pm_parse_ts(v, $second, 'UTC')) AS second_reading
FROM _pm_ts_values
WHERE pm_parse_ts(v, $first, 'UTC') IS NOT NULL AND pm_parse_ts(v, $second, 'UTC') IS NOT NULL
  AND pm_parse_ts(v, $first, 'UTC') <> pm_parse_ts(v, $second, 'UTC')
ORDER BY n DESC, v
LIMIT $limit;
