-- The default _reindex_events for event_index.sql (event_index.refresh, when the caller has
-- not defined it): every core event of the cases in _reindex_cases.
CREATE OR REPLACE TEMP VIEW _reindex_events AS
SELECT * FROM core.events SEMI JOIN _reindex_cases USING (case_id);
