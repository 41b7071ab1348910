-- The most frequent value of _pm_ts_values that the format $fmt does not read (with $fmt
-- NULL, no format was found: the most frequent value), for the one-line error.
-- Params: $fmt (a strptime format, '' for ISO 8601, or NULL).
SELECT v
FROM _pm_ts_values
WHERE $fmt IS NULL OR pm_parse_ts(v, $fmt, 'UTC') IS NULL
ORDER BY n DESC, v
LIMIT 1;
