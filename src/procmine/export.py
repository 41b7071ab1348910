"""Export core.events to CSV or XES."""

from __future__ import annotations

from pathlib import Path

from procmine import store
from procmine.errors import NotBuiltYet

EXPORT_EVENTS_SQL = """
SELECT case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, event_id
FROM core.events
ORDER BY case_id, ts, source_file, source_row, seq
"""


def export_events(db_path: Path, fmt: str, out_file: Path) -> int:
    """Write core.events to `out_file`; returns the number of events written."""
    conn = store.reading(db_path)
    try:
        count = conn.execute("SELECT count(*) FROM core.events").fetchone()[0]
        out_file.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            conn.sql(EXPORT_EVENTS_SQL).write_csv(str(out_file))
        elif fmt == "xes":
            raise NotBuiltYet("XES export is not built yet (issue #3)")
        return count
    finally:
        conn.close()
