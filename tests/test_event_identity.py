"""Event identity (README "Event identity"): identical rows of one file are distinct events,
the same rows loaded again (the same file, an overlapping export) add nothing, and the key
is an unambiguous encoding of its fields."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ProcmineError
from procmine.load import ingest

MAPPING = {"case": "ticket", "activity": "what", "timestamp": "when", "resource": "who"}
HEADER = "ticket,what,when,who\n"
SAME = "T1,Update,2024-03-01 09:00,ann"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _query(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _events(db: Path) -> list[tuple]:
    return _query(db, "SELECT case_id, activity, source_file, source_row FROM core.events "
                      "ORDER BY source_file, source_row")


def test_three_identical_rows_loaded_twice_are_three_events(tmp_path: Path,
                                                            db_path: Path) -> None:
    export = _write(tmp_path / "day1.csv", [SAME, SAME, SAME])
    config = load_config()
    first = ingest(config, db_path, "csv", [export], MAPPING)
    # the same rows under another name (another file to the registry) and the same file
    again = tmp_path / "day1-again.csv"   # the same rows, other bytes (CRLF line ends)
    again.write_bytes(export.read_bytes().replace(b"\n", b"\r\n"))
    second = ingest(config, db_path, "csv", [again], MAPPING)
    third = ingest(config, db_path, "csv", [export], MAPPING)
    assert (first.events_loaded, first.events_quarantined) == (3, 0)
    assert (second.events_loaded, second.events_quarantined) == (0, 0)
    assert [f.status for f in second.files] == ["loaded"]
    assert third.events_loaded == 0 and [f.status for f in third.files] == ["skipped"]
    assert len(_events(db_path)) == 3
    assert _query(db_path, "SELECT count(DISTINCT event_id) FROM core.events") == [(3,)]
    assert _query(db_path, "SELECT count(*) FROM quarantine.events") == [(0,)]


def test_overlapping_export_adds_only_its_new_rows(tmp_path: Path, db_path: Path) -> None:
    other = "T1,Resolved,2024-03-01 11:00,bob"
    day1 = _write(tmp_path / "day1.csv", [SAME, SAME, other])
    # day 2 repeats day 1 (both copies of the identical row) and adds a third copy and a row
    day2 = _write(tmp_path / "day2.csv", [SAME, SAME, other, SAME, "T2,Open,2024-03-02 08:00,ann"])
    config = load_config()
    first = ingest(config, db_path, "csv", [day1], MAPPING)
    second = ingest(config, db_path, "csv", [day2], MAPPING)
    assert (first.events_loaded, second.events_loaded) == (3, 2)
    assert _events(db_path) == [
        ("T1", "Update", str(day1), 1), ("T1", "Update", str(day1), 2),
        ("T1", "Resolved", str(day1), 3),
        ("T1", "Update", str(day2), 4), ("T2", "Open", str(day2), 5)]
    # both files in one run: the union, each event once
    both = tmp_path / "both.duckdb"
    result = ingest(config, both, "csv", [day1, day2], MAPPING)
    assert (result.events_loaded, result.events_quarantined) == (5, 0)
    assert _events(both) == _events(db_path)


def test_an_xes_trace_with_two_identical_events_keeps_both(tmp_path: Path,
                                                          db_path: Path) -> None:
    event = ('<event><string key="concept:name" value="Update"/>'
             '<date key="time:timestamp" value="2024-03-01T09:00:00Z"/></event>')
    log = tmp_path / "log.xes"
    log.write_text('<?xml version="1.0" encoding="UTF-8" ?><log xes.version="1.0">'
                   '<trace><string key="concept:name" value="T-1"/>'
                   '<event><string key="concept:name" value="Open"/>'
                   '<date key="time:timestamp" value="2024-03-01T08:00:00Z"/></event>'
                   f"{event}{event}</trace></log>", encoding="utf-8")
    config = load_config()
    first = ingest(config, db_path, "xes", [log])
    copy = tmp_path / "copy.xes"
    copy.write_bytes(log.read_bytes() + b"\n")   # another checksum, the same events
    second = ingest(config, db_path, "xes", [copy])
    assert (first.events_loaded, first.events_quarantined) == (3, 0)
    assert (second.events_loaded, second.events_quarantined) == (0, 0)
    assert _query(db_path, "SELECT activity, count(*) FROM core.events GROUP BY ALL "
                           "ORDER BY 1") == [("Open", 1), ("Update", 2)]


def test_the_key_encodes_its_fields_unambiguously(tmp_path: Path, db_path: Path) -> None:
    """Two rows whose fields would join to the same '|'-separated text are two events."""
    export = _write(tmp_path / "pipes.csv", ["T1|x,y,2024-03-01 09:00,ann",
                                             "T1,x|y,2024-03-01 09:00,ann"])
    result = ingest(load_config(), db_path, "csv", [export], MAPPING)
    assert (result.events_loaded, result.events_quarantined) == (2, 0)


def test_one_source_row_staged_twice_is_still_quarantined(tmp_path: Path,
                                                         db_path: Path) -> None:
    """event_id_unique now means one source row staged twice in a run (an adapter fault)."""
    from procmine.ingest import install_macros
    from procmine.validate import validate_staged

    export = _write(tmp_path / "day1.csv", [SAME, SAME])
    ingest(load_config(), db_path, "csv", [export], MAPPING)
    with store.writing(db_path) as conn:
        install_macros(conn)
        conn.execute("INSERT INTO staging.events SELECT 'x', case_id, case_type, activity, ts, "
                     "resource, org_group, support_level, sourcing, d2c_stage, source, "
                     "source_file, source_row, seq, NULL, 'r1' FROM core.events")
        conn.execute("INSERT INTO staging.events SELECT * FROM staging.events WHERE "
                     "source_row = 2")
        conn.execute("UPDATE staging.events SET event_id = 'same'")
        report = validate_staged(conn, load_config(), "r1", batch_checks=False)
        ids = conn.execute("SELECT source_row, event_id FROM staging.events ORDER BY ALL"
                           ).fetchall()
    assert report.quarantined_by_rule.get("event_id_unique") == 1
    assert [row for row, _ in ids] == [1, 2]                  # rows 1 and 2 kept, one copy each
    assert ids[0][1] == "same" and ids[1][1] != "same"


def test_a_store_keyed_by_an_older_procmine_must_be_rebuilt(tmp_path: Path,
                                                           db_path: Path) -> None:
    """Migration 12 marks a store whose core holds events of the old keys; loading into it
    stops (nothing changes) until it is rebuilt, as `procmine run --full` does."""
    from procmine.load import reset_loaded_data

    conn = duckdb.connect(str(db_path))
    assert store.migrate(conn, target=11)[-1] == 11
    conn.execute("INSERT INTO core.events VALUES ('0f3c', 'T1', 'incident', 'Update', "
                 "TIMESTAMPTZ '2024-03-01 09:00:00+00', 'ann', NULL, NULL, 'unmapped', NULL, "
                 "'csv', 'old.csv', 1, 0)")
    conn.close()
    config = load_config()
    export = _write(tmp_path / "a.csv", [SAME, SAME])
    with pytest.raises(ProcmineError, match=r"keyed by an older procmine.*procmine run --full"):
        ingest(config, db_path, "csv", [export], MAPPING)
    # the store is exactly as it was (the failed write's copy, migrated, was discarded)
    assert _query(db_path, "SELECT event_id FROM core.events") == [("0f3c",)]
    assert _query(db_path, "SELECT max(version) FROM main.schema_migrations") == [(11,)]
    with store.writing(db_path) as conn:
        assert conn.execute("SELECT version FROM main.event_identity").fetchall() == [(1,)]
        reset_loaded_data(conn)
    assert ingest(config, db_path, "csv", [export], MAPPING).events_loaded == 2
    assert _query(db_path, "SELECT version FROM main.event_identity") == [(2,)]
