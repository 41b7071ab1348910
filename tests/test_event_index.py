"""The mining index (core.event_codes): kept by publishing, equal to a full rebuild, and
healed by the mining step when something else wrote core.events."""

from __future__ import annotations

from pathlib import Path

import duckdb

from procmine import event_index, store
from procmine.config import load_config
from procmine.load import ingest
from procmine.mine import mine
from tests.mine_support import rows

HEADER = "ticket;what;when;team\n"
MAPPING = {"case": "ticket", "activity": "what", "timestamp": "when", "group": "team",
           "delimiter": ";"}

# the index as names, in storage order: what mining reads
DECODED_SQL = """
SELECT k.case_id, make_timestamp(c.t)::TIMESTAMPTZ AS ts, s.activity, h.org_group
FROM (SELECT *, row_number() OVER () AS pos FROM core.event_codes) AS c
JOIN core.case_keys AS k USING (case_key)
JOIN core.step_codes AS s ON s.code = c.step
JOIN core.holder_codes AS h ON h.code = c.holder
ORDER BY c.pos
"""


def _export(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _decoded(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(DECODED_SQL).fetchall()


def _runs(decoded: list[tuple]) -> dict[str, list[tuple]]:
    """Per case its events in index order; asserts each case is one contiguous run."""
    runs: dict[str, list[tuple]] = {}
    previous = None
    for row in decoded:
        if row[0] != previous:
            assert row[0] not in runs, f"case {row[0]} is not contiguous in the index"
            runs[row[0]] = []
        runs[row[0]].append(row[1:])
        previous = row[0]
    return runs


def test_incremental_publishing_keeps_the_index_equal_to_a_rebuild(
        tmp_path: Path, db_path: Path) -> None:
    day1 = _export(tmp_path / "day1.csv", [
        "T2;Open;2024-03-01 09:00;Desk L1",
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
    ])
    # day 2: new events of T1 (one earlier than its last event, one tied in time), a new
    # activity and group, a new case T0 that sorts before the others
    day2 = _export(tmp_path / "day2.csv", [
        "T1;Resolved;2024-03-02 10:00;Network L2",
        "T1;Awaiting User Info;2024-03-01 08:15;Vendor Acme L3",
        "T1;Closed;2024-03-02 10:00;Network L2",
        "T0;Open;2024-03-02 07:00;Desk L1",
    ])
    config = load_config()
    assert ingest(config, db_path, "csv", [day1], MAPPING).events_loaded == 3
    assert ingest(config, db_path, "csv", [day2], MAPPING).events_loaded == 4
    conn = store.connect(db_path)
    try:
        assert event_index.in_step(conn)
        incremental = _runs(_decoded(conn))
        canonical = conn.execute(
            "SELECT case_id, ts, activity, org_group FROM core.events "
            "ORDER BY case_id, ts, source_file, source_row, seq").fetchall()
        assert incremental["T1"] == [r[1:] for r in canonical if r[0] == "T1"]
        assert [r[1] for r in incremental["T1"]] == [
            "Open", "Awaiting User Info", "Active", "Resolved", "Closed"]
        event_index.rebuild(conn)
        assert _runs(_decoded(conn)) == incremental
        assert conn.execute("SELECT count(*), count(DISTINCT case_key) FROM core.case_keys"
                            ).fetchone() == (3, 3)
    finally:
        conn.close()


def test_mining_rebuilds_an_index_out_of_step(tmp_path: Path, db_path: Path) -> None:
    export = _export(tmp_path / "day1.csv", [
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
        "T1;Resolved;2024-03-01 09:00;Network L2",
    ])
    config = load_config()
    ingest(config, db_path, "csv", [export], MAPPING)
    conn = store.connect(db_path)
    try:
        # as a database upgraded from migration 5 has it: core.events, no index
        for table in ("event_codes", "case_keys", "step_codes", "holder_codes"):
            conn.execute(f"DELETE FROM core.{table}")
        assert not event_index.in_step(conn)
        report = mine(conn, config, discover=False)
        assert (report.events, report.cases) == (3, 1)
        assert event_index.in_step(conn)
        assert rows(conn, "SELECT activities FROM marts.variants") == [
            {"activities": ["Open", "Active", "Resolved"]}]
        # an index whose rows were appended out of order (not by publishing) is rebuilt
        conn.execute("CREATE TEMP TABLE _shuffled AS SELECT * FROM core.event_codes ORDER BY t DESC")
        conn.execute("DELETE FROM core.event_codes")
        conn.execute("INSERT INTO core.event_codes SELECT * FROM _shuffled")
        mine(conn, config, discover=False)
        assert rows(conn, "SELECT activities FROM marts.variants") == [
            {"activities": ["Open", "Active", "Resolved"]}]
        assert [r[2] for r in _decoded(conn)] == ["Open", "Active", "Resolved"]
    finally:
        conn.close()


def _index_equals_a_rebuild(conn: duckdb.DuckDBPyConnection) -> None:
    assert event_index.in_step(conn)
    published = _runs(_decoded(conn))
    event_index.rebuild(conn)
    assert _runs(_decoded(conn)) == published


def test_publishing_checks_new_events_against_the_cases_they_touch(
        tmp_path: Path, db_path: Path) -> None:
    day1 = _export(tmp_path / "day1.csv", [
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
        "T2;Open;2024-03-01 09:00;Desk L1",
    ])
    # two overlapping exports in one run: both repeat events of T1 already in core, one new
    # event of T1 and one of a new case T3 are in both files
    day2a = _export(tmp_path / "day2a.csv", [
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
        "T1;Resolved;2024-03-02 10:00;Network L2",
        "T3;Open;2024-03-02 07:00;Desk L1",
    ])
    day2b = _export(tmp_path / "day2b.csv", [
        "T3;Open;2024-03-02 07:00;Desk L1",
        "T1;Resolved;2024-03-02 10:00;Network L2",
        "T1;Active;2024-03-01 08:30;Network L2",
        "T3;Active;2024-03-02 07:30;Network L2",
    ])
    config = load_config()
    assert ingest(config, db_path, "csv", [day1], MAPPING).events_loaded == 3
    assert ingest(config, db_path, "csv", [day2a, day2b], MAPPING).events_loaded == 3
    conn = store.connect(db_path)
    try:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM core.events"
                            ).fetchone() == (6, 6)
        # a copy in two files of one run: the first file's is kept
        assert conn.execute("SELECT source_file FROM core.events WHERE case_id = 'T3' "
                            "AND activity = 'Open'").fetchone()[0].endswith("day2a.csv")
        cases = {r[0]: r[1:] for r in conn.execute(
            "SELECT case_id, strftime(opened_at, '%d %H:%M'), strftime(resolved_at, '%d %H:%M') "
            "FROM core.cases").fetchall()}
        assert cases == {"T1": ("01 08:00", "02 10:00"), "T2": ("01 09:00", None),
                         "T3": ("02 07:00", None)}
        _index_equals_a_rebuild(conn)
    finally:
        conn.close()


def test_publishing_rebuilds_an_index_that_does_not_cover_core(
        tmp_path: Path, db_path: Path) -> None:
    """Publishing finds the events core holds of a case through core.case_keys: with the index
    missing (a database upgraded from migration 5) it is rebuilt first, so events already in
    core are not published twice."""
    day1 = _export(tmp_path / "day1.csv", [
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
    ])
    day2 = _export(tmp_path / "day2.csv", [
        "T1;Open;2024-03-01 08:00;Desk L1",
        "T1;Active;2024-03-01 08:30;Network L2",
        "T1;Resolved;2024-03-02 10:00;Network L2",
    ])
    config = load_config()
    ingest(config, db_path, "csv", [day1], MAPPING)
    with store.writing(db_path) as conn:
        for table in ("event_codes", "case_keys", "step_codes", "holder_codes"):
            conn.execute(f"DELETE FROM core.{table}")
    assert ingest(config, db_path, "csv", [day2], MAPPING).events_loaded == 1
    conn = store.connect(db_path)
    try:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM core.events"
                            ).fetchone() == (3, 3)
        _index_equals_a_rebuild(conn)
    finally:
        conn.close()
