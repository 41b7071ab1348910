"""Mining rewrites only the changed cases' rows of the per-case marts (mine/changes.py), and
the result equals mining everything from scratch: on the real ServiceNow log, after new events
for existing cases, a new case, a changed case attribute and a changed setting."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from procmine import event_index, store
from procmine.config import load_config
from procmine.mine import MARTS, MineReport, d2c, mine
from tests.mine_support import config_with, same_values
from tests.real_stores import RealStore

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

# three existing cases get a later event each, INC0099999 is new, INC0000102's priority changes
TOUCHED = ("INC0000045", "INC0005043", "INC0028089")
NEW_CASE = "INC0099999"
RETAGGED = "INC0000102"
ADD_EVENTS_SQL = """
INSERT INTO core.events (event_id, case_id, case_type, activity, ts, resource, org_group,
                         support_level, sourcing, d2c_stage, source, source_file, source_row,
                         seq)
SELECT 'test-' || case_id, case_id, case_type, 'Active', max(ts) + INTERVAL 3 HOUR, NULL,
       'Group 70', NULL, 'unknown', 'work', source, 'test.csv', 1, 0
FROM core.events WHERE case_id IN (SELECT unnest($cases)) GROUP BY case_id, case_type, source
UNION ALL
SELECT 'test-new-' || i, $new_case, 'incident', activity, TIMESTAMPTZ '2017-03-01 09:00:00+00'
       + INTERVAL (i) HOUR, NULL, grp, NULL, 'unknown', stage, 'servicenow', 'test.csv', i, 0
FROM (VALUES (1, 'New', NULL, 'detect'), (2, 'Active', 'Group 56', 'work'),
             (3, 'Resolved', 'Group 56', 'resolve')) AS v(i, activity, grp, stage)
"""
NEW_CASE_ROW_SQL = """
INSERT INTO core.cases (case_id, case_type, source, priority)
VALUES ($new_case, 'incident', 'servicenow', '2 - High')
"""


def _mine(db: Path, **overrides: object) -> MineReport:
    config = config_with(overrides) if overrides else load_config()
    with store.writing(db) as conn:
        return mine(conn, config, discover=False, incremental=True)


def _marts(db: Path) -> dict[str, list[tuple]]:
    conn = store.reading(db)
    try:
        return {m: conn.execute(f"SELECT * FROM marts.{m} ORDER BY ALL").fetchall() for m in MARTS}
    finally:
        conn.close()



def _assert_equal_to_a_full_run(db: Path, tmp_path: Path, **overrides: object) -> None:
    full = tmp_path / "full.duckdb"
    shutil.copyfile(db, full)
    config = config_with(overrides) if overrides else load_config()
    with store.writing(full) as conn:
        report = mine(conn, config, discover=False, incremental=False)
    assert report.cases_rewritten == report.cases
    ours, theirs = _marts(db), _marts(full)
    for mart in MARTS:
        assert len(ours[mart]) == len(theirs[mart]), mart
        assert all(same_values(a, b) for a, b in zip(ours[mart], theirs[mart], strict=True)), mart


def _changed_copy(mined: Path, tmp_path: Path) -> Path:
    """A copy of the mined store with new events for TOUCHED, the new case NEW_CASE and
    RETAGGED's priority changed."""
    db = tmp_path / "sn.duckdb"
    shutil.copyfile(mined, db)
    with store.writing(db) as conn:
        conn.execute(ADD_EVENTS_SQL, {"cases": list(TOUCHED), "new_case": NEW_CASE})
        conn.execute(NEW_CASE_ROW_SQL, {"new_case": NEW_CASE})
        conn.execute("UPDATE core.cases SET priority = '1 - Critical' WHERE case_id = ?",
                     [RETAGGED])
        # what publishing does for the cases a run gave events (sql/core/publish_*.sql)
        conn.execute("CREATE TEMP TABLE _reindex_cases AS SELECT unnest(?) AS case_id",
                     [[*TOUCHED, NEW_CASE]])
        event_index.refresh(conn)
    return db


@pytest.fixture(scope="module")
def mined_once(servicenow_store: RealStore) -> tuple[Path, MineReport]:
    """The session's ServiceNow store (ingested, then mined as `_mine` does: the shipped
    settings, incremental) and its first mining's report; tests copy the file to change it."""
    assert servicenow_store.mined is not None
    return servicenow_store.db, servicenow_store.mined


def test_first_run_writes_every_case_and_a_rerun_none(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    db = tmp_path / "sn.duckdb"
    shutil.copyfile(mined_once[0], db)
    first = mined_once[1]
    assert (first.cases, first.cases_rewritten, first.rewrite_reason) == (
        20_769, 20_769, "first run")
    before = _marts(db)
    again = _mine(db)
    assert (again.cases_rewritten, again.rewrite_reason) == (0, "")
    after = _marts(db)
    # equal up to the last bits of floating sums (DuckDB adds in parallel, in any order)
    assert all(len(after[m]) == len(before[m]) and all(
        same_values(a, b) for a, b in zip(after[m], before[m], strict=True)) for m in MARTS)


def test_changed_cases_only_and_equal_to_a_full_run(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    db = _changed_copy(mined_once[0], tmp_path)
    report = _mine(db)
    assert (report.cases, report.cases_rewritten) == (20_770, len(TOUCHED) + 2)
    conn = store.reading(db)
    try:
        rows = conn.execute("SELECT count(*), count(DISTINCT case_id) FROM marts.case_kpis "
                            ).fetchall()[0]
        new_case = conn.execute("SELECT event_count, priority FROM marts.case_kpis "
                                "WHERE case_id = ?", [NEW_CASE]).fetchall()
        retagged = conn.execute("SELECT priority FROM marts.case_kpis WHERE case_id = ?",
                                [RETAGGED]).fetchall()
    finally:
        conn.close()
    assert rows == (20_770, 20_770)
    assert new_case == [(3, "2 - High")]
    assert retagged == [("1 - Critical",)]
    _assert_equal_to_a_full_run(db, tmp_path)


def _d2c_heatmap(db: Path) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute("SELECT * FROM marts.d2c_waste_heatmap ORDER BY ALL").fetchall()
    finally:
        conn.close()


def test_the_d2c_heat_map_is_of_the_rewritten_waste(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    """marts.d2c_waste_heatmap is written from marts.waste holding the rewritten cases' rows:
    the run's heat map is the one computed again after it, not the one before it."""
    db = _changed_copy(mined_once[0], tmp_path)
    before = _d2c_heatmap(db)
    _mine(db)
    after = _d2c_heatmap(db)
    with store.writing(db) as conn:
        d2c.build_heatmap(conn)
    again = _d2c_heatmap(db)
    assert after != before
    assert len(after) == len(again) and all(
        same_values(a, b) for a, b in zip(after, again, strict=True))


def test_the_case_table_is_built_for_the_rewritten_cases_only(
        mined_once: tuple[Path, MineReport], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The case table (kpis.case_table) holds the rewritten cases alone: the other cases'
    rows of marts.case_kpis are not written (the marts' equality with a full run: the test
    above)."""
    import procmine.mine as mining

    db = _changed_copy(mined_once[0], tmp_path)
    rows: list[int] = []
    case_table = mining.case_table

    def recording(*args: object, **kwargs: object) -> dict:
        table = case_table(*args, **kwargs)
        rows.append(len(table["ci"]))
        return table

    monkeypatch.setattr(mining, "case_table", recording)
    report = _mine(db)
    assert report.cases_rewritten == len(TOUCHED) + 2
    assert rows == [len(TOUCHED) + 2]


def test_a_changed_setting_rewrites_every_case(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    db = tmp_path / "sn.duckdb"
    shutil.copyfile(mined_once[0], db)
    overrides = {"cost": {"handoff_effort_h": 0.5}}
    report = _mine(db, **overrides)
    assert (report.cases_rewritten, report.rewrite_reason) == (
        20_769, "settings or mining code changed")
    assert _mine(db, **overrides).cases_rewritten == 0
    _assert_equal_to_a_full_run(db, tmp_path, **overrides)


def test_marts_out_of_step_with_the_state_rewrite_every_case(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    db = tmp_path / "sn.duckdb"
    shutil.copyfile(mined_once[0], db)
    with store.writing(db) as conn:
        conn.execute("DELETE FROM marts.case_kpis WHERE case_id = 'INC0000045'")
    report = _mine(db)
    assert report.rewrite_reason == "marts.case_kpis and the state differ"
    assert report.cases_rewritten == 20_769
    _assert_equal_to_a_full_run(db, tmp_path)


def test_a_rebuilt_index_rewrites_every_case(
        mined_once: tuple[Path, MineReport], tmp_path: Path) -> None:
    db = tmp_path / "sn.duckdb"
    shutil.copyfile(mined_once[0], db)
    with store.writing(db) as conn:   # case keys are numbered anew
        event_index.rebuild(conn)
    report = _mine(db)
    assert (report.cases_rewritten, report.rewrite_reason) == (20_769, "first run")
    _assert_equal_to_a_full_run(db, tmp_path)


def test_state_tables_are_plain_sql(mined_once: tuple[Path, MineReport]) -> None:
    conn = duckdb.connect(str(mined_once[0]), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM mining.case_state").fetchall() == [(20_769,)]
        assert conn.execute("SELECT count(*) FROM mining.run_state").fetchall() == [(1,)]
    finally:
        conn.close()
