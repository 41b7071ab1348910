-- Migration 14: clock semantics (mine/clock.py). Waits are internal, customer or policy;
-- waste hours exclude clock-stopped time, bottlenecks rank internal delay first, KPIs report
-- the clock-stopped waits apart. New columns only (nothing renamed); the per-case marts
-- (waste, case_kpis) are appended to by name, so an upgraded store needs them.
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS stopped_hours DOUBLE;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS clock VARCHAR;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS interval_start TIMESTAMPTZ;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS interval_end TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS customer_wait_s DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS policy_wait_s DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS clock_resolution_s DOUBLE;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS clock VARCHAR;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS clock_rank INTEGER;
ALTER TABLE marts.waste_heatmap ADD COLUMN IF NOT EXISTS stopped_hours DOUBLE;
ALTER TABLE marts.kpis ADD COLUMN IF NOT EXISTS median_clock_resolution_s DOUBLE;
ALTER TABLE marts.kpis ADD COLUMN IF NOT EXISTS mean_clock_resolution_s DOUBLE;
ALTER TABLE marts.kpis ADD COLUMN IF NOT EXISTS customer_wait_hours DOUBLE;
ALTER TABLE marts.kpis ADD COLUMN IF NOT EXISTS policy_wait_hours DOUBLE;
