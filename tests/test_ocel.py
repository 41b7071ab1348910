"""OCEL 2.0 out (procmine export --format ocel2) and in (--source ocel2), and marts.ocdfg:
pm4py reads procmine's files with the same counts and the same per-type directly-follows
graph, and files pm4py writes load into procmine with the same counts."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from procmine import store
from procmine.config import load_config
from procmine.export_ocel import OcelCounts, export_ocel
from procmine.load import ingest
from procmine.mine import mine
from procmine.sample import generate_sample
from tests.conftest import VOLVO_LOG, run_cli
from tests.real_stores import RealStore

Counts = tuple[int, int, int, int]   # events, objects, event-object, object-object
Edges = dict[tuple[str, str, str], int]


def _pm4py(path: Path) -> tuple[Counts, Edges]:
    """What pm4py reads from an OCEL 2.0 SQLite file, and its OC-DFG (occurrences per edge)."""
    import pm4py

    ocel = pm4py.read_ocel2_sqlite(str(path))
    graph = pm4py.discover_ocdfg(ocel)
    edges = {(object_type, a, b): len(found)
             for object_type, pairs in graph["edges"]["total_objects"].items()
             for (a, b), found in pairs.items()}
    return (len(ocel.events), len(ocel.objects), len(ocel.relations), len(ocel.o2o)), edges


def _file_counts(path: Path) -> Counts:
    with sqlite3.connect(path) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                     for table in ("event", "object", "event_object", "object_object"))


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _ocdfg(db: Path) -> Edges:
    return {(t, a, b): n for t, a, b, n in _query(
        db, "SELECT object_type, from_activity, to_activity, count FROM marts.ocdfg")}


def _mine(db: Path) -> None:
    with store.writing(db) as conn:
        mine(conn, load_config(), discover=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo sample (300 incidents with their problems and changes), mined and exported
    through the CLI; (database, OCEL file)."""
    folder = tmp_path_factory.mktemp("ocel_sample")
    generate_sample(folder / "landing", cases=300, seed=7)
    db = folder / "procmine.duckdb"
    config = load_config()
    ingest(config, db, "servicenow", [folder / "landing" / "servicenow"])
    _mine(db)
    out = folder / "sample.ocel.sqlite"
    proc = run_cli("export", "--format", "ocel2", "--out", out, "--db", db)
    assert "2,394 events, 323 objects, 2,394 event-object and 31 object-object" in " ".join(
        proc.stderr.split())
    return db, out


def test_sample_export_is_ocel2_sqlite(sample: tuple[Path, Path]) -> None:
    _, out = sample
    with sqlite3.connect(out) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
        assert conn.execute("SELECT ocel_type, ocel_type_map FROM object_map_type ORDER BY 1"
                            ).fetchall() == [("change", "change"), ("incident", "incident"),
                                             ("problem", "problem")]
        assert conn.execute("SELECT ocel_type_map FROM event_map_type "
                            "WHERE ocel_type = 'Awaiting User Info'").fetchall() == [
            ("AwaitingUserInfo",)]
        assert conn.execute("SELECT ocel_qualifier, count(*) FROM event_object GROUP BY 1"
                            ).fetchall() == [("case", 2_394)]
        assert conn.execute("SELECT ocel_qualifier, count(*) FROM object_object GROUP BY 1 "
                            "ORDER BY 1").fetchall() == [("change", 14), ("induced", 2), ("problem", 15)]
        # an incident's problem is an object of type problem
        assert conn.execute(
            "SELECT DISTINCT s.ocel_type, t.ocel_type FROM object_object AS oo "
            "JOIN object AS s ON s.ocel_id = oo.ocel_source_id "
            "JOIN object AS t ON t.ocel_id = oo.ocel_target_id WHERE ocel_qualifier = 'problem'"
        ).fetchall() == [("incident", "problem")]
    from pm4py.objects.ocel.validation import ocel20_rel_validation

    satisfied, unsatisfied = ocel20_rel_validation.apply(str(out))
    assert (len(satisfied), unsatisfied) == (24, [])   # keys, foreign keys, columns, types
    assert {"event", "object", "event_object", "object_object", "event_map_type",
            "object_map_type", "event_Open", "object_incident"} <= tables
    assert columns["event_object"] == ["ocel_event_id", "ocel_object_id", "ocel_qualifier"]
    assert columns["object_object"] == ["ocel_source_id", "ocel_target_id", "ocel_qualifier"]
    assert columns["event_Open"][:2] == ["ocel_id", "ocel_time"]
    assert columns["object_incident"][:3] == ["ocel_id", "ocel_time", "ocel_changed_field"]


def test_pm4py_reads_the_sample_export_with_procmines_counts_and_ocdfg(
        sample: tuple[Path, Path]) -> None:
    db, out = sample
    counts, edges = _pm4py(out)
    assert counts == _file_counts(out) == (2_394, 323, 2_394, 31)
    mart = _ocdfg(db)
    assert edges == mart
    # per type: each object's events less one
    assert _query(db, "SELECT object_type, sum(count) FROM marts.ocdfg GROUP BY 1 ORDER BY 1") == [
        ("change", 63), ("incident", 1_964), ("problem", 44)]
    # the same-time events (Open and Assign of one snapshot) keep procmine's order
    assert mart[("incident", "Open", "Assign")] == 300
    assert ("incident", "Assign", "Open") not in mart


def test_the_sample_export_loads_back_and_exports_the_same(
        sample: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = sample
    db = tmp_path / "back.duckdb"
    proc = run_cli("ingest", out, "--source", "ocel2", "--db", db)
    assert "1 file(s) loaded, 0 skipped (already loaded), 0 failed: +2,394 events in core, 0 " \
           "quarantined" in " ".join(proc.stderr.split())
    assert _query(db, "SELECT case_type, count(*) FROM core.cases GROUP BY 1 ORDER BY 1") == [
        ("change", 13), ("incident", 300), ("problem", 10)]
    again = tmp_path / "again.sqlite"
    assert export_ocel(db, again) == OcelCounts(2_394, 323, 2_394, 31, 0)
    with sqlite3.connect(out) as first, sqlite3.connect(again) as second:
        for table in ("event_object", "object_object", "event"):
            assert set(first.execute(f"SELECT * FROM {table}")) == set(
                second.execute(f"SELECT * FROM {table}"))


def test_pm4py_rewrites_the_sample_export_and_it_loads_back(
        sample: tuple[Path, Path], tmp_path: Path) -> None:
    """pm4py's writer (its own time format, table order) read by procmine: same events, same
    per-type directly-follows graph."""
    import pm4py

    db, out = sample
    rewritten = tmp_path / "pm4py.sqlite"
    pm4py.write_ocel2_sqlite(pm4py.read_ocel2_sqlite(str(out)), str(rewritten))
    assert _file_counts(rewritten) == (2_394, 323, 2_394, 31)
    back = tmp_path / "back.duckdb"
    result = ingest(load_config(), back, "ocel2", [rewritten])
    assert (result.events_loaded, result.events_quarantined) == (2_394, 0)
    events = "SELECT case_id, case_type, activity, ts FROM core.events"
    assert sorted(_query(back, events)) == sorted(_query(db, events))
    _mine(back)
    assert _ocdfg(back) == _ocdfg(db)
    assert _query(back, "SELECT count(*) FROM raw.ocel2_o2o") == [(31,)]


def test_volvo_export_equals_pm4py(volvo_store: RealStore, tmp_path: Path) -> None:
    """The real BPIC 2013 log: 65,533 events of 7,554 incidents, no object links (the
    session's store: ingested with the shipped configuration and mined as `_mine` does)."""
    db = volvo_store.db
    out = tmp_path / "volvo.sqlite"
    assert export_ocel(db, out) == OcelCounts(65_533, 7_554, 65_533, 0, 0)
    counts, edges = _pm4py(out)
    assert counts == (65_533, 7_554, 65_533, 0)
    mart = _ocdfg(db)
    assert edges == mart and len(mart) == 81
    assert sum(mart.values()) == 65_533 - 7_554


@pytest.fixture(scope="module")
def pm4py_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCEL written by pm4py: the first 5,000 Volvo rows, each event related to its
    incident and its product, with pm4py's object-interaction o2o relations."""
    import pm4py

    frame = pd.read_csv(VOLVO_LOG, nrows=5_000).rename(columns={
        "SR Number": "incident", "Product": "product", "Activity": "concept:name"})
    frame["time:timestamp"] = pd.to_datetime(frame["Change Date+Time"], utc=True)
    ocel = pm4py.convert_log_to_ocel(
        frame[["incident", "product", "concept:name", "time:timestamp"]],
        activity_column="concept:name", timestamp_column="time:timestamp",
        object_types=["incident", "product"])
    ocel = pm4py.ocel_o2o_enrichment(ocel, included_graphs=["object_interaction_graph"])
    path = tmp_path_factory.mktemp("ocel_pm4py") / "volvo_5000.sqlite"
    pm4py.write_ocel2_sqlite(ocel, str(path))
    return path


def test_a_pm4py_file_loads_with_its_counts(pm4py_file: Path, tmp_path: Path) -> None:
    counts, edges = _pm4py(pm4py_file)
    assert counts == _file_counts(pm4py_file) == (5_000, 373, 10_000, 540)
    db = tmp_path / "procmine.duckdb"
    result = ingest(load_config(), db, "ocel2", [pm4py_file])
    assert (result.files_loaded, result.events_loaded, result.events_quarantined) == (
        1, 10_000, 0)   # one canonical event per event and object
    assert _query(db, "SELECT case_type, count(*) FROM core.cases GROUP BY 1 ORDER BY 1") == [
        ("incident", 270), ("product", 103)]
    assert _query(db, "SELECT count(*) FROM raw.ocel2_o2o") == [(540,)]
    _mine(db)
    assert _ocdfg(db) == edges
    out = tmp_path / "back.sqlite"
    assert export_ocel(db, out) == OcelCounts(5_000, 373, 10_000, 540, 0)
    back, back_edges = _pm4py(out)
    assert back == counts and back_edges == edges


def test_core_links_are_exported_with_their_qualifiers(
        sample: tuple[Path, Path], tmp_path: Path) -> None:
    """core.links (given and inferred links between records), when the store has it."""
    db = tmp_path / "links.duckdb"
    db.write_bytes(sample[0].read_bytes())
    incidents = [r[0] for r in _query(db, "SELECT case_id FROM core.cases WHERE case_type = "
                                          "'incident' ORDER BY case_id LIMIT 2")]
    change = _query(db, "SELECT min(case_id) FROM core.cases WHERE case_type = 'change'")[0][0]
    with store.writing(db) as conn:
        conn.execute("DELETE FROM core.links")   # (mining's links replaced by these)
        conn.execute("INSERT INTO core.links (from_type, from_id, to_type, to_id, kind, origin, "
                     "rule, to_exists, from_exists) VALUES "
                     "('incident', ?, 'change', ?, 'caused_by', 'given', 'caused_by', true, true), "
                     "('incident', ?, 'change', ?, 'caused_by', 'inferred', 'change_window_7d', "
                     "true, true), "
                     "('incident', ?, 'change', 'CHG-NOT-LOADED', 'caused_by', 'given', "
                     "'caused_by', false, true)",
                     [incidents[0], change, incidents[1], change, incidents[0]])
    out = tmp_path / "links.sqlite"
    assert export_ocel(db, out) == OcelCounts(2_394, 323, 2_394, 31, 1)
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT ocel_source_id, ocel_qualifier FROM object_object "
                            "WHERE ocel_qualifier LIKE 'caused_by%' ORDER BY 1").fetchall() == [
            (incidents[0], "caused_by"), (incidents[1], "caused_by (inferred: change_window_7d)")]
    assert _pm4py(out)[0] == (2_394, 323, 2_394, 31)


def test_files_that_are_not_ocel2_fail_with_one_clear_line(tmp_path: Path) -> None:
    text = tmp_path / "log.sqlite"
    text.write_text("case,activity\n1,Open\n")
    empty = tmp_path / "empty.sqlite"
    with sqlite3.connect(empty) as conn:
        conn.execute("CREATE TABLE event (ocel_id TEXT, ocel_type TEXT)")
    result = ingest(load_config(), tmp_path / "procmine.duckdb", "ocel2", [text, empty])
    assert [f.message for f in result.failed_files] == [
        f"{text}: not an SQLite file (OCEL 2.0 SQLite expected; for OCEL XML or JSON, "
        "convert it with pm4py first)",
        f"{empty}: not an OCEL 2.0 SQLite file: no table object, event_object, object_object, "
        "event_map_type, object_map_type"]
    assert result.events_loaded == 0


def _small_ocel(path: Path, day: int = 1) -> Path:
    """An order and an item; e1 relates to o1 twice (two qualifiers), e3 to nothing. `day`
    moves the first event (another file, with the same ids)."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE event (ocel_id TEXT, ocel_type TEXT);
            CREATE TABLE object (ocel_id TEXT, ocel_type TEXT);
            CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT,
                                       ocel_qualifier TEXT);
            CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT,
                                        ocel_qualifier TEXT);
            CREATE TABLE event_map_type (ocel_type TEXT, ocel_type_map TEXT);
            CREATE TABLE object_map_type (ocel_type TEXT, ocel_type_map TEXT);
            CREATE TABLE "event_PlaceOrder" (ocel_id TEXT, ocel_time TIMESTAMP, clerk TEXT);
            CREATE TABLE "event_Ship" (ocel_id TEXT, ocel_time TIMESTAMP);
            CREATE TABLE "object_order" (ocel_id TEXT, ocel_time TIMESTAMP,
                                         ocel_changed_field TEXT, priority TEXT);
            CREATE TABLE "object_item" (ocel_id TEXT, ocel_time TIMESTAMP,
                                        ocel_changed_field TEXT);
            INSERT INTO event VALUES ('e1', 'place order'), ('e2', 'ship'), ('e3', 'ship');
            INSERT INTO event_map_type VALUES ('place order', 'PlaceOrder'), ('ship', 'Ship');
            INSERT INTO "event_PlaceOrder" VALUES ('e1', '2024-05-0DAY 10:00:00+02:00', 'ann');
            INSERT INTO "event_Ship" VALUES ('e2', '2024-05-02 09:00:00'),
                                            ('e3', '2024-05-03 09:00:00');
            INSERT INTO object VALUES ('o1', 'order'), ('i1', 'item');
            INSERT INTO object_map_type VALUES ('order', 'order'), ('item', 'item');
            INSERT INTO "object_order" VALUES ('o1', '1970-01-01 00:00:00', NULL, 'high'),
                                              ('o1', '2024-05-02 00:00:00', 'priority', 'low');
            INSERT INTO "object_item" VALUES ('i1', '1970-01-01 00:00:00', NULL);
            INSERT INTO event_object VALUES ('e1', 'o1', 'placed'), ('e1', 'o1', 'paid'),
                                            ('e1', 'i1', 'contains'), ('e2', 'i1', 'shipped');
            INSERT INTO object_object VALUES ('o1', 'i1', 'contains');
        """.replace("DAY", str(day)))
    return path


def test_flattening_qualifiers_times_and_events_without_objects(tmp_path: Path) -> None:
    log = _small_ocel(tmp_path / "small.sqlite")
    db = tmp_path / "procmine.duckdb"
    result = ingest(load_config(), db, "ocel2", [log])
    assert (result.events_loaded, result.quarantined_by_rule) == (3, {"case_id_not_null": 1})
    assert _query(db, "SELECT case_id, case_type, activity, ts, source_row FROM core.events "
                      "ORDER BY source_row") == [
        ("o1", "order", "place order", datetime(2024, 5, 1, 8, tzinfo=UTC), 1),
        ("i1", "item", "place order", datetime(2024, 5, 1, 8, tzinfo=UTC), 3),
        ("i1", "item", "ship", datetime(2024, 5, 2, 9, tzinfo=UTC), 4)]
    assert _query(db, "SELECT case_id, priority, attributes->>'priority' FROM core.cases "
                      "ORDER BY 1") == [("i1", None, None), ("o1", "high", "high")]
    out = tmp_path / "back.sqlite"
    # e3 (no object) is quarantined, not exported; e1's second qualifier stays in raw
    assert export_ocel(db, out) == OcelCounts(2, 2, 3, 1, 0)
    with sqlite3.connect(out) as conn:
        assert sorted(conn.execute("SELECT * FROM event_object")) == [
            ("e1", "i1", "contains"), ("e1", "o1", "placed"), ("e2", "i1", "shipped")]


def test_case_types_choose_the_objects_that_are_cases(tmp_path: Path) -> None:
    import dataclasses

    config = load_config()
    sources = {**config.data["sources"],
               "ocel2": {**config.data["sources"]["ocel2"], "case_types": ["item"]}}
    config = dataclasses.replace(config, data={**config.data, "sources": sources})
    db = tmp_path / "procmine.duckdb"
    result = ingest(config, db, "ocel2", [_small_ocel(tmp_path / "small.sqlite")])
    assert result.events_loaded == 2
    assert _query(db, "SELECT DISTINCT case_id FROM core.events") == [("i1",)]
    # the order is no object of the export, so neither is its relation to the item
    assert export_ocel(db, tmp_path / "items.sqlite") == OcelCounts(2, 1, 2, 0, 1)


def test_event_ids_two_files_share_stay_apart(tmp_path: Path) -> None:
    """pm4py numbers events 0, 1, ...: two files' e1 are two events; their objects are one."""
    db = tmp_path / "procmine.duckdb"
    result = ingest(load_config(), db, "ocel2", [_small_ocel(tmp_path / "a.sqlite"),
                                                 _small_ocel(tmp_path / "b.sqlite", day=2)])
    # b's e2 (same object, type and time as a's) is the same canonical event: kept once
    assert (result.files_loaded, result.events_loaded) == (2, 5)
    # a case's times come from its events in every file
    assert _query(db, "SELECT case_id, opened_at FROM core.cases ORDER BY 1") == [
        ("i1", datetime(2024, 5, 1, 8, tzinfo=UTC)), ("o1", datetime(2024, 5, 1, 8, tzinfo=UTC))]
    out = tmp_path / "both.sqlite"
    assert export_ocel(db, out) == OcelCounts(3, 2, 5, 1, 0)
    with sqlite3.connect(out) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT ocel_id FROM event")) == [
            f"ocel2:{tmp_path / 'a.sqlite'}:e1", f"ocel2:{tmp_path / 'a.sqlite'}:e2",
            f"ocel2:{tmp_path / 'b.sqlite'}:e1"]


@pytest.mark.extended   # pm4py reads, mines and writes 866k events: ~3 min (make test-extended)
def test_bpic14_records_round_trip_through_pm4py(bpic14_d2c_store: RealStore,
                                                 tmp_path: Path) -> None:
    """The real BPIC 2014 tables (interactions, incidents, changes: 866,034 events of 211,633
    objects) mined with their links, exported, read by pm4py with the same counts and the
    same per-type directly-follows graph; pm4py's rewrite of the file loads back into
    procmine with the same counts."""
    import pm4py

    db = tmp_path / "bpic14.duckdb"
    shutil.copyfile(bpic14_d2c_store.db, db)
    with store.writing(db) as conn:
        mine(conn, bpic14_d2c_store.config, discover=False)
    # one relation per pair and qualifier (a call linked by both records' fields is one);
    # relations to records without events (no object in the file) are left out
    links = _query(db, "SELECT count(*) FROM (SELECT DISTINCT from_id, to_id, kind, "
                       "CASE WHEN origin = 'inferred' THEN rule END FROM core.links "
                       "WHERE from_id IN (SELECT case_id FROM core.events) "
                       "AND to_id IN (SELECT case_id FROM core.events))")[0][0]
    out = tmp_path / "bpic14.sqlite"
    counts = export_ocel(db, out)
    assert (counts.events, counts.objects, counts.event_objects) == (866_034, 211_633, 866_034)
    assert counts.object_objects == links > 130_000
    ocel = pm4py.read_ocel2_sqlite(str(out))
    assert (len(ocel.events), len(ocel.objects), len(ocel.relations), len(ocel.o2o)) == (
        866_034, 211_633, 866_034, links)
    graph = pm4py.discover_ocdfg(ocel)
    edges = {(object_type, a, b): len(found)
             for object_type, pairs in graph["edges"]["total_objects"].items()
             for (a, b), found in pairs.items()}
    assert edges == _ocdfg(db)
    assert {t for t, _, _ in edges} == {"change", "incident", "interaction"}
    rewritten = tmp_path / "pm4py.sqlite"
    pm4py.write_ocel2_sqlite(ocel, str(rewritten))
    back = tmp_path / "back.duckdb"
    result = ingest(load_config(), back, "ocel2", [rewritten])
    assert (result.events_loaded, result.events_quarantined) == (866_034, 0)
    assert _query(back, "SELECT case_type, count(*) FROM core.cases GROUP BY 1 ORDER BY 1") == (
        _query(db, "SELECT case_type, count(*) FROM core.cases GROUP BY 1 ORDER BY 1"))
    assert _query(back, "SELECT count(*) FROM raw.ocel2_o2o") == [(links,)]
