"""Mining's per-event work done range by range of whole cases (events.case_chunks,
waste.previous_same, EventArrays.case_sums) and the per-case marts written part by part
(mine.writer.PART_ROWS): bounded temporaries for issue #20's 40M events, the same marts as one pass.
On the real ServiceNow log, mined once with the default sizes (one range, one part) and once
with ranges of 1,000 events (about 120) and parts of 5,000 rows, every mart and every case
signature equal."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from procmine import store
from procmine.mine import MARTS, mine, waste
from procmine.mine import events as events_mod
from procmine.mine import writer as writer_mod
from procmine.mine.events import load_events
from tests.mine_support import same_values
from tests.real_stores import RealStore

SMALL = 1_000


def _mine_copy(real: RealStore, folder: Path) -> dict[str, list[tuple]]:
    db = folder / "procmine.duckdb"
    folder.mkdir()
    shutil.copyfile(real.db, db)
    with store.writing(db) as conn:
        report = mine(conn, real.config, discover=False, incremental=False)
        assert report.cases_rewritten == report.cases
    conn = store.reading(db)
    try:
        tables = [f"marts.{m}" for m in MARTS] + ["mining.case_state"]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    finally:
        conn.close()


def test_ranges_cover_whole_cases(servicenow_store: RealStore) -> None:
    conn = servicenow_store.reading()
    try:
        events = load_events(conn)
    finally:
        conn.close()
    ranges = events.case_chunks(SMALL)
    assert len(ranges) > 100
    assert ranges[0][0] == 0 and ranges[-1][1] == events.n
    assert all(hi == lo for (_, hi), (lo, _) in itertools.pairwise(ranges))
    assert set(events.starts.tolist()) >= {lo for lo, _ in ranges}   # each starts a case
    assert all(hi - lo <= SMALL + int(events.lengths.max()) for lo, hi in ranges)


def test_range_successors_and_dwell_equal_the_whole_arrays(servicenow_store: RealStore
                                                           ) -> None:
    """next_and_dwell computed for a range alone (the arrays forgotten) equals the slices
    of the whole-log arrays, range by range: what backlog_tables reads."""
    conn = servicenow_store.reading()
    try:
        events = load_events(conn)
    finally:
        conn.close()
    has_next, dwell = events.has_next.copy(), events.dwell_us.copy()
    assert dwell.any() and (~has_next).sum() == events.cases
    events.forget("has_next", "dwell_us")
    ranges = events.case_chunks(SMALL)
    for lo, hi in ranges:
        part_next, part_dwell = events.next_and_dwell(lo, hi)
        assert np.array_equal(part_next, has_next[lo:hi])
        assert np.array_equal(part_dwell, dwell[lo:hi])
    assert "dwell_us" not in events.__dict__ and "has_next" not in events.__dict__


def test_previous_same_by_ranges_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(20)
    cases = np.repeat(np.arange(5_000), rng.integers(1, 12, 5_000))
    for scale in (1, 40_000):   # codes below 2^16 (one radix pass) and above (two)
        codes = rng.integers(0, 7, len(cases)) * scale
        whole = waste.previous_same(codes, cases)
        monkeypatch.setattr(waste, "CHUNK_EVENTS", 97)
        ranged = waste.previous_same(codes, cases)
        monkeypatch.undo()
        assert (whole >= 0).sum() > 1_000
        np.testing.assert_array_equal(ranged, whole)


def test_marts_equal_with_small_ranges(servicenow_store: RealStore, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _mine_copy(servicenow_store, tmp_path / "whole")
    monkeypatch.setattr(events_mod, "CHUNK_EVENTS", SMALL)
    monkeypatch.setattr(waste, "CHUNK_EVENTS", SMALL)
    monkeypatch.setattr(writer_mod, "PART_ROWS", 5 * SMALL)
    ranged = _mine_copy(servicenow_store, tmp_path / "ranged")
    assert len(whole["mining.case_state"]) > 20_000
    for table, rows in whole.items():
        assert len(ranged[table]) == len(rows), table
        assert all(same_values(a, b) for a, b in zip(ranged[table], rows, strict=True)), table
