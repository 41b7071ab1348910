"""Property (hypothesis): re-ingesting any event log — the same file again, or the same events
in an overlapping export — adds nothing to core; an export listing a row one more time than
any earlier file adds exactly that occurrence (README "Event identity")."""

from __future__ import annotations

import csv
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procmine import store
from procmine.config import load_config
from procmine.load import ingest

ACTIVITIES = ["Open", "Assign", "Active", "Awaiting User Info", "Resolved", "Closed"]
GROUPS = ["Hub Service Desk L1", "Hub Network L2", "Vendor Acme Networks L3"]
START = datetime(2024, 1, 1, 8, 0)

event = st.tuples(st.integers(0, 30), st.sampled_from(ACTIVITIES), st.integers(0, 10_000),
                  st.sampled_from(GROUPS), st.sampled_from(["ann", "bob", ""]))


def _write(path: Path, rows: list[tuple[int, str, int, str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "activity", "timestamp", "resource", "group"])
        for case, activity, minute, group, resource in rows:
            stamp = (START + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M")
            writer.writerow([f"C{case}", activity, stamp, resource, group])
    return path


def _core(db: Path) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute("SELECT event_id, case_id, activity, ts FROM core.events "
                            "ORDER BY event_id").fetchall()
    finally:
        conn.close()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(event, min_size=1, max_size=60, unique_by=lambda e: e[:3]),
       split=st.integers(0, 60))
def test_reingest_and_overlapping_exports_add_nothing(rows, split) -> None:
    config = load_config()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = root / "procmine.duckdb"
        whole = _write(root / "whole.csv", rows)
        first = ingest(config, db, "csv", [whole])
        loaded = _core(db)
        assert first.events_loaded == len(loaded) == len(rows)
        assert ingest(config, db, "csv", [whole]).events_loaded == 0  # same file: skipped
        # an overlapping export: a tail of the same events, nothing new
        overlap = _write(root / "overlap.csv", rows[split % len(rows):])
        again = ingest(config, db, "csv", [overlap])
        assert again.events_loaded == 0 and _core(db) == loaded
        # the first row twice in one export: its second occurrence is a new event
        doubled = ingest(config, db, "csv", [_write(root / "doubled.csv", rows[:1] * 2)])
        assert (doubled.events_loaded, doubled.events_quarantined) == (1, 0)
        assert len(_core(db)) == len(rows) + 1
