-- Events and cases in core for the run summary. Cases are counted in core.cases (one row per
-- source and case, every one with events in core.events), not as distinct case ids of every
-- event: a tenth of the rows to read.
SELECT
    (SELECT count(*) FROM core.events) AS events,
    (SELECT count(DISTINCT case_id) FROM core.cases) AS cases;
