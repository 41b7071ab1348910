-- Which of the given columns hold only boolean words of one dialect (TRUE/FALSE, true/false,
-- T/F, Y/N, yes/no): their distinct non-null values, lower-cased, within pm_bool's words.
-- 1/0 columns are left alone (a count of 0s and 1s is not a boolean).
-- Reads _pm_column_values(col VARCHAR, v VARCHAR) (procmine.sources.dialect).
SELECT col
FROM _pm_column_values
GROUP BY col
HAVING count(*) > 0
   AND bool_and(lower(v) IN ('true', 'false', 't', 'f', 'yes', 'no', 'y', 'n'))
ORDER BY col;
