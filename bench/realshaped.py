"""The real-shaped benchmark log (issue #20): the real BPIC 2013 (Volvo IT) incident log copied
N times with renamed cases (× 150 ≈ 9.83M events, 2,278 variants, 81 directly-follows
edges), in two layouts, generated once and cached under bench/cache/realshaped/:

- `bpic2013/volvo_xN.csv`: the export's own columns (every column of the original; case
  `SR Number` becomes `<number>-<copy>`), loaded through its adapter (`--source bpic2013`:
  groups, levels, stages present);
- `csv/volvo_xN.csv`: three columns `case_id, activity, timestamp` (activity
  "Status-Sub Status" as the adapter names it, timestamp in UTC), loaded as a generic CSV
  (`--source csv`).

Both hold the same events, so procmine, pm4py and r4pm see one log either way.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = ROOT.parent / "shared" / "data" / "itsm" / "bpic2013_volvo_incidents.csv.gz"
ORIGINAL_EVENTS = 65_533
LOADS = {"adapter": "bpic2013", "csv": "csv"}   # load name -> procmine source (landing folder)

READ_SQL = """
CREATE TEMP TABLE original AS
SELECT row_number() OVER () AS row_no, *
FROM read_csv($path, header = true, all_varchar = true, delim = ',', quote = '"')
"""
# every copy of every row, copy by copy in the original's row order
ADAPTER_SQL = """
COPY (
    SELECT * EXCLUDE (row_no, copy_no) REPLACE ("SR Number" || '-' || copy_no AS "SR Number")
    FROM original CROSS JOIN (SELECT range AS copy_no FROM range($copies))
    ORDER BY copy_no, row_no
) TO '{path}' (HEADER, DELIMITER ',')
"""
GENERIC_SQL = """
COPY (
    SELECT "SR Number" || '-' || copy_no AS case_id,
           "Status" || '-' || "Sub Status" AS activity,
           strftime(timezone('UTC', CAST("Change Date+Time" AS TIMESTAMPTZ)),
                    '%Y-%m-%d %H:%M:%S') AS timestamp
    FROM original CROSS JOIN (SELECT range AS copy_no FROM range($copies))
    ORDER BY copy_no, row_no
) TO '{path}' (HEADER, DELIMITER ',')
"""


# the named scales' copies: issue #20's × 150 (9,829,950 events) at 10M, × 2 for the CI smoke
NAMED_COPIES = {100_000: 2, 1_000_000: 15, 10_000_000: 150}


def copies_for(events: int) -> int:
    """Copies of the original log for a scale: the named scales' (NAMED_COPIES), otherwise
    about `events` events (at least 1)."""
    return NAMED_COPIES.get(events) or max(1, round(events / ORIGINAL_EVENTS))


def ensure_realshaped(cache: Path, copies: int) -> tuple[dict[str, Path], float | None]:
    """The cached files {load: path} for `copies` copies, and the seconds it took to write
    them now (None when cached). An entry is complete once its `.complete` marker exists."""
    folder = cache / "realshaped" / f"volvo-x{copies}"
    files = {load: folder / source / f"volvo_x{copies}.csv" for load, source in LOADS.items()}
    if (folder / ".complete").is_file():
        return files, None
    if not ORIGINAL.is_file():
        raise FileNotFoundError(f"{ORIGINAL}: the real BPIC 2013 log (../shared/data/itsm/)")
    started = time.perf_counter()
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    conn = duckdb.connect()
    try:
        conn.execute(READ_SQL, {"path": str(ORIGINAL)})
        # COPY's target cannot be a parameter: the path is ours (cache folder), quotes doubled
        for sql, load in ((ADAPTER_SQL, "adapter"), (GENERIC_SQL, "csv")):
            target = str(files[load]).replace("'", "''")
            conn.execute(sql.format(path=target), {"copies": copies})
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    (folder / ".complete").write_text(json.dumps({"copies": copies, "seconds": round(seconds, 1)}))
    return files, seconds
