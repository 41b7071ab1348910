"""Partitioned history, slice 1 (docs/partitions.md): each case's partition (the UTC month of
its first event when it got its key, core.case_keys.open_month, never moved) and what each
published run touched (core.run_partitions). Expectations are computed here in Python from
core.events and the exports, not read from the code under test."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from bench.partition_nights import nights_config, split_by_update_day
from procmine import event_index, store
from procmine.config import load_config
from procmine.load import ingest, reset_loaded_data
from tests.conftest import SERVICENOW_LOG
from tests.real_stores import RealStore

HEADER = "ticket;what;when;team\n"
MAPPING = {"case": "ticket", "activity": "what", "timestamp": "when", "group": "team",
           "delimiter": ";"}
NIGHTS_FROM = date(2016, 4, 18)   # the real log's history before the nights: 2016-02-29 on
NIGHTS = 14                       # two weeks of nights, over the April → May boundary


def _month(ts: datetime) -> date:
    utc = ts.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def _events(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, datetime]]:
    """event_id -> (case_id, ts) of core.events."""
    return {event_id: (case_id, ts) for event_id, case_id, ts in conn.execute(
        "SELECT event_id, case_id, ts FROM core.events").fetchall()}


def _first_months(events: dict[str, tuple[str, datetime]]) -> dict[str, date]:
    """Per case the UTC month of its first event."""
    first: dict[str, datetime] = {}
    for case_id, ts in events.values():
        if case_id not in first or ts < first[case_id]:
            first[case_id] = ts
    return {case_id: _month(ts) for case_id, ts in first.items()}


def _open_months(conn: duckdb.DuckDBPyConnection) -> dict[str, date]:
    return dict(conn.execute("SELECT case_id, open_month FROM core.case_keys").fetchall())


def _run_partitions(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict[date, tuple[int, int]]:
    return {month: (cases, events) for month, cases, events in conn.execute(
        "SELECT open_month, cases, events FROM core.run_partitions WHERE run_id = ?",
        [run_id]).fetchall()}


def _export(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_first_load_puts_every_case_in_its_first_events_month(
        servicenow_store: RealStore) -> None:
    with servicenow_store.reading() as conn:
        events = _events(conn)
        open_months = _open_months(conn)
        partitions = _run_partitions(conn, servicenow_store.result.run_id)
    expected = _first_months(events)
    assert open_months == expected
    cases = Counter(expected.values())
    per_month = Counter(expected[case_id] for case_id, _ in events.values())
    assert partitions == {month: (cases[month], per_month[month]) for month in cases}
    assert len(partitions) >= 4
    result = servicenow_store.result
    assert (result.partitions_touched, result.partitions) == (len(cases), len(cases))


def test_a_later_earlier_event_leaves_the_cases_partition(tmp_path: Path,
                                                          db_path: Path) -> None:
    """T1 opened in March; a later run brings an event of T1 in February: T1 stays in March.
    The second run touched March (T1: two new events) and April (T3, new). A rebuild of the
    index computes T1's month from all its events; --full empties what runs touched."""
    day1 = _export(tmp_path / "day1.csv", [
        "T1;Open;2024-03-05 08:00;Desk L1",
        "T1;Active;2024-03-05 09:00;Network L2",
        "T2;Open;2024-03-31 23:30;Desk L1",
    ])
    day2 = _export(tmp_path / "day2.csv", [
        "T1;Active;2024-03-05 09:00;Network L2",       # already in core
        "T1;Logged;2024-02-28 17:00;Desk L1",          # earlier than T1's first event
        "T1;Resolved;2024-04-02 10:00;Network L2",
        "T3;Open;2024-04-01 00:10;Desk L1",
    ])
    config = load_config()
    first = ingest(config, db_path, "csv", [day1], MAPPING)
    second = ingest(config, db_path, "csv", [day2], MAPPING)
    assert second.events_loaded == 3
    march, april, february = date(2024, 3, 1), date(2024, 4, 1), date(2024, 2, 1)
    conn = store.connect(db_path)
    try:
        assert _open_months(conn) == {"T1": march, "T2": march, "T3": april}
        assert _run_partitions(conn, first.run_id) == {march: (2, 3)}
        assert _run_partitions(conn, second.run_id) == {march: (1, 2), april: (1, 1)}
        assert (second.partitions_touched, second.partitions) == (2, 2)
        event_index.rebuild(conn)
        assert _open_months(conn) == _first_months(_events(conn))
        assert _open_months(conn)["T1"] == february
        assert conn.execute("SELECT count(*) FROM core.run_partitions").fetchone()[0] == 0
    finally:
        conn.close()
    third = ingest(config, db_path, "csv", [day2], MAPPING)   # the same file: nothing new
    assert (third.events_loaded, third.partitions_touched, third.partitions) == (0, 0, 3)
    with store.writing(db_path) as conn:
        reset_loaded_data(conn)
        assert conn.execute("SELECT (SELECT count(*) FROM core.run_partitions), "
                            "(SELECT count(*) FROM core.case_keys)").fetchone() == (0, 0)


def test_a_store_of_version_18_gets_its_cases_months(servicenow_store: RealStore,
                                                     db_path: Path) -> None:
    """A store migrated from version 18: every case key gets its first event's month."""
    conn = duckdb.connect(str(db_path))
    try:
        assert store.migrate(conn, target=18)[-1] == 18
        conn.execute(f"ATTACH '{servicenow_store.db}' AS loaded (READ_ONLY)")
        for table in ("events", "event_codes", "step_codes", "holder_codes"):
            conn.execute(f"INSERT INTO core.{table} SELECT * FROM loaded.core.{table}")
        conn.execute("INSERT INTO core.case_keys SELECT case_key, case_id "
                     "FROM loaded.core.case_keys")
        conn.execute("DETACH loaded")
        assert "open_month" not in {c[0] for c in conn.execute(
            "DESCRIBE core.case_keys").fetchall()}
        assert store.migrate(conn, target=19) == [19]
        assert _open_months(conn) == _first_months(_events(conn))
        assert event_index.in_step(conn)
        assert conn.execute("SELECT count(*) FROM core.run_partitions").fetchone()[0] == 0
    finally:
        conn.close()


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> list:
    folder = tmp_path_factory.mktemp("partition-nights")
    return split_by_update_day(SERVICENOW_LOG, folder / "exports", start=NIGHTS_FROM)


def test_real_nights_touch_the_partitions_of_their_cases(nights, tmp_path: Path) -> None:
    """The real ServiceNow log: its history before NIGHTS_FROM, then one export per update day.
    After each night: no key moved; new keys have their cases' first events' months; the
    night's partitions hold the cases of its export (with events in core) and its new
    events."""
    config = nights_config(tmp_path)
    db = tmp_path / "procmine.duckdb"
    history, *days = nights[:NIGHTS + 1]
    assert history.day < NIGHTS_FROM <= days[0].day
    months: dict[str, date] = {}
    seen: dict[str, tuple[str, datetime]] = {}
    touched = []
    for night in [history, *days]:
        result = ingest(config, db, "servicenow", [night.path])
        with store.reading(db) as conn:
            events = _events(conn)
            open_months = _open_months(conn)
            partitions = _run_partitions(conn, result.run_id)
        new = {e: events[e] for e in events.keys() - seen.keys()}
        firsts = _first_months(events)
        months.update({case_id: firsts[case_id] for case_id in firsts.keys() - months.keys()})
        assert open_months == months           # new keys as expected, old ones unmoved
        with night.path.open(encoding="utf-8", newline="") as f:
            numbers = {row["number"] for row in csv.DictReader(f)}
        cases = Counter(months[n] for n in numbers if n in firsts)
        new_events = Counter(months[case_id] for case_id, _ in new.values())
        assert partitions == {m: (cases[m], new_events[m]) for m in cases}, night.day
        assert result.events_loaded == len(new)
        assert (result.partitions_touched, result.partitions) == (
            len(cases), len(set(months.values())))
        touched.append(len(cases))
        seen = events
    assert touched[0] == 3                     # the history: February to April 2016
    assert max(touched[1:]) >= 2               # a night spans months
    assert len(set(months.values())) == 4      # the nights opened May's cases


def test_a_case_given_attributes_alone_touches_its_partition(tmp_path: Path,
                                                             db_path: Path) -> None:
    """A later snapshot of INC1 that changes its priority only (no event) touches INC1's
    partition with no new event: its core.cases row changes, so its per-case marts would."""
    header = "number,incident_state,sys_mod_count,opened_at,sys_updated_at,assignment_group," \
             "priority\n"
    day1 = tmp_path / "day1.csv"
    day1.write_text(header + "INC1,New,0,30/1/2024 09:00,30/1/2024 09:01,Desk L1,3 - Moderate\n"
                    "INC2,New,0,2/2/2024 09:00,2/2/2024 09:01,Desk L1,3 - Moderate\n",
                    encoding="utf-8")
    day2 = tmp_path / "day2.csv"
    day2.write_text(header + "INC1,New,1,30/1/2024 09:00,5/3/2024 10:00,Desk L1,1 - Critical\n"
                    "INC3,New,0,5/3/2024 11:00,5/3/2024 11:01,Desk L1,3 - Moderate\n",
                    encoding="utf-8")
    config = load_config()
    overrides = {"date_format": "%d/%m/%Y %H:%M"}
    ingest(config, db_path, "servicenow", [day1], overrides)
    second = ingest(config, db_path, "servicenow", [day2], overrides)
    with store.reading(db_path) as conn:
        assert conn.execute("SELECT priority FROM core.cases WHERE case_id = 'INC1'"
                            ).fetchall() == [("1 - Critical",)]
        new_events = conn.execute("SELECT count(*) FROM core.events WHERE case_id = 'INC3'"
                                  ).fetchone()[0]
        assert _run_partitions(conn, second.run_id) == {
            date(2024, 1, 1): (1, 0), date(2024, 3, 1): (1, new_events)}
    assert second.events_loaded == new_events > 0
