-- marts.drift: change points in the weekly KPIs and in the mix of edges and variants
-- (mine/drift.py; docs/drift.md).
CREATE TABLE IF NOT EXISTS marts.drift (
    week DATE,                    -- the first week of the new regime (Monday, UTC)
    kind VARCHAR,                 -- kpi | edge | handoff | variant
    series VARCHAR,               -- the KPI's name, or 'directly-follows edges', ...
    before_value DOUBLE,          -- KPI: its mean over the weeks before; mix: the top item's share
    after_value DOUBLE,
    change DOUBLE,                -- after_value - before_value
    relative_change DOUBLE,       -- change / before_value (NULL when before_value = 0)
    score DOUBLE,                 -- the change's cost reduction over the penalty (> 1)
    weeks_before INTEGER,
    weeks_after INTEGER,
    contributors VARCHAR[],       -- mixes: the items that changed most, most first
    contributor_detail VARCHAR,   -- 'item: share before → after', ...
    window_start DATE,
    window_end DATE               -- exclusive
);
