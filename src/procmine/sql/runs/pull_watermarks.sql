-- Where each API pull resumes: the records of table_name with field above watermark are
-- fetched next (`procmine status`; core.pull_watermarks, absent from stores that never pulled).
SELECT source, table_name, field, watermark
FROM core.pull_watermarks
ORDER BY 1, 2;
