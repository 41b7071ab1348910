-- The delimiter DuckDB's CSV sniffer reads in a file being inspected (procmine.sources.inspect).
-- Params: $path, $encoding, $compression (gzip or none).
SELECT Delimiter
FROM sniff_csv($path, encoding = $encoding, compression = $compression, sample_size = 20480);
