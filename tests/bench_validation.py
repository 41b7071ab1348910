"""Benchmark: validating N synthetic staged events (peak RSS, seconds per 1M rows).

    .venv/bin/python tests/bench_validation.py build DB ROWS     # stage N events (ServiceNow-like)
    .venv/bin/python tests/bench_validation.py run DB [BATCH_ROWS]  # validate; prints one JSON line

`run` validates on a copy of DB inside store.writing-like conditions (no publish) and reports
the process's peak RSS (ru_maxrss), wall time, and time per 1M staged rows. Run each
measurement in a fresh process so the peak belongs to it. Not collected by pytest.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import time
from pathlib import Path

from procmine import store
from procmine.config import Config, load_config

BUILD_SQL = """
INSERT INTO staging.events BY NAME
WITH ev AS (
    SELECT i, i // 8 AS c, i % 8 AS k FROM range($rows) t(i)
)
SELECT
    md5(i::VARCHAR) AS event_id,
    'INC' || lpad(c::VARCHAR, 9, '0') AS case_id, 'incident' AS case_type,
    CASE WHEN i % 200003 = 17 THEN 'Bogus state'
         ELSE ['Open', 'Assign', 'Active', 'Awaiting User Info', 'Reassign', 'Active',
               'Resolved', 'Closed'][k + 1] END AS activity,
    TIMESTAMPTZ '2023-01-01' + to_minutes((c * 7) % 700000 + k * 90) AS ts,
    'Resource ' || (i % 997) AS resource, 'Hub Network ' || (c % 40) || ' L2' AS org_group,
    'L2' AS support_level, 'hub' AS sourcing,
    ['log', 'assign', 'diagnose', 'wait', 'assign', 'diagnose', 'resolve', 'close'][k + 1]
        AS d2c_stage,
    'servicenow' AS source, 'landing/servicenow/export_' || (i // 1000000) || '.csv'
        AS source_file,
    i % 1000000 + 1 AS source_row, 0 AS seq,
    strftime(TIMESTAMPTZ '2023-01-01' + to_minutes((c * 7) % 700000 + k * 90),
             '%d/%m/%Y %H:%M') AS ts_raw,
    'bench' AS run_id
FROM ev;

INSERT INTO staging.cases BY NAME
SELECT case_id, 'incident' AS case_type, 'servicenow' AS source,
       min(ts) AS opened_at, max(ts) FILTER (WHERE d2c_stage = 'resolve') AS resolved_at,
       max(ts) FILTER (WHERE d2c_stage = 'close') AS closed_at
FROM staging.events GROUP BY case_id;
"""


def build(db: Path, rows: int) -> None:
    from procmine.sql import run_sql

    db.unlink(missing_ok=True)
    with store.writing(db) as conn:
        run_sql(conn, BUILD_SQL, {"rows": rows})


def run(db: Path, batch_rows: int | None) -> dict[str, object]:
    started = time.perf_counter()
    import great_expectations  # noqa: F401  (a fixed per-process cost, reported apart)

    import_s = time.perf_counter() - started
    from procmine.validate import LoadedFile, validate_staged

    config = load_config()
    if batch_rows:
        data = dict(config.data)
        data["validation"] = {**config.section("validation"), "batch_rows": batch_rows}
        config = Config(data, config.path, config.base_dir)
    work = db.with_name(f".{db.name}.bench")
    shutil.copyfile(db, work)
    conn = store.connect(work)
    try:
        staged = conn.execute("SELECT count(*) FROM staging.events").fetchall()[0][0]
        files = [LoadedFile(*r) for r in conn.execute(
            "SELECT DISTINCT source, source_file FROM staging.events").fetchall()]
        started = time.perf_counter()
        report = validate_staged(conn, config, "bench", files=files)
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        work.unlink(missing_ok=True)
        work.with_name(work.name + ".wal").unlink(missing_ok=True)
    return {
        "staged": staged, "batch_rows": config.section("validation").get("batch_rows"),
        "quarantined": report.quarantined, "gx_import_s": round(import_s, 1),
        "seconds": round(seconds, 1),
        "s_per_million": round(seconds / (staged / 1e6), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    command, path = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        build(path, int(sys.argv[3]))
    else:
        print(json.dumps(run(path, int(sys.argv[3]) if len(sys.argv) > 3 else None)))
