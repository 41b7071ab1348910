-- A CSV file being inspected, every column as text, into the temp table {table} (the quoted
-- name; procmine.sources.inspect). Quotes and escapes are '"', as the csv adapter reads them.
-- Params: $path, $delim, $encoding, $compression (gzip or none).
CREATE TEMP TABLE {table} AS
SELECT *
FROM read_csv($path, delim = $delim, quote = '"', escape = '"', header = true,
              all_varchar = true, encoding = $encoding, compression = $compression,
              max_line_size = 67108864);
