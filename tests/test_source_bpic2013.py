"""BPIC 2013 (Volvo IT) adapter on the real log: counts, UTC timestamps, attributes, sourcing,
pm4py agreement (variants, directly-follows), the XES round trip, and a BOM-prefixed file."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pytest

from procmine import store
from procmine.config import Config, load_config
from procmine.export import export_events
from procmine.load import RunResult, ingest
from tests.conftest import VOLVO_LOG
from tests.real_stores import RealStore

CASES = 7_554
ROWS = 65_533
ORDER = "ORDER BY case_id, ts, source_file, source_row, seq"


@pytest.fixture(scope="module")
def volvo(volvo_store: RealStore) -> tuple[Path, RunResult]:
    """The session's Volvo store (tests/real_stores.py), read only."""
    return volvo_store.db, volvo_store.result


@pytest.fixture
def conn(volvo: tuple[Path, RunResult]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = store.reading(volvo[0])
    yield connection
    connection.close()


def _csv_traces() -> dict[str, list[str]]:
    """Activities per case straight from the CSV (plain Python), ordered by time then row."""
    rows: dict[str, list[tuple[datetime, int, str]]] = {}
    with gzip.open(VOLVO_LOG, "rt", encoding="utf-8-sig", newline="") as handle:
        for row_no, row in enumerate(csv.DictReader(handle), start=1):
            at = datetime.fromisoformat(row["Change Date+Time"])
            activity = f"{row['Status']}-{row['Sub Status']}"
            rows.setdefault(row["SR Number"], []).append((at, row_no, activity))
    return {case: [a for _, _, a in sorted(events)] for case, events in rows.items()}


def _dfg(traces: list[list[str]]) -> Counter[tuple[str, str]]:
    return Counter(pair for trace in traces for pair in pairwise(trace))


def _pm4py_frame(conn: duckdb.DuckDBPyConnection) -> Any:
    frame = conn.execute(
        'SELECT case_id AS "case:concept:name", activity AS "concept:name", '
        f'ts AS "time:timestamp", resource AS "org:resource" FROM core.events {ORDER}').df()
    frame["time:timestamp"] = frame["time:timestamp"].dt.tz_convert("UTC")
    return frame


def test_every_case_and_row_is_accounted_for(volvo: tuple[Path, RunResult],
                                             conn: duckdb.DuckDBPyConnection) -> None:
    assert volvo[1].status == "success"
    events, cases = conn.execute(
        "SELECT (SELECT count(*) FROM core.events) + (SELECT count(DISTINCT (source_row, seq, "
        "event_id)) FROM quarantine.events), (SELECT count(DISTINCT case_id) FROM (SELECT "
        "case_id FROM core.events UNION SELECT case_id FROM quarantine.events))").fetchone()
    assert (events, cases) == (ROWS, CASES)
    assert conn.execute("SELECT count(*) FROM core.events").fetchone() == (ROWS,)
    assert conn.execute("SELECT count(*) FROM core.cases").fetchone() == (CASES,)
    # the vocabulary of defaults.toml is exactly the data's
    activities = {r[0] for r in conn.execute("SELECT DISTINCT activity FROM core.events").fetchall()}
    assert activities == set(load_config().source("bpic2013").stages)


def test_timestamps_with_offsets_are_stored_in_utc(conn: duckdb.DuckDBPyConnection) -> None:
    first = conn.execute(
        "SELECT activity, ts, resource, org_group, support_level, sourcing, d2c_stage, "
        "source_row FROM core.events WHERE case_id = '1-364285768' "
        "ORDER BY ts, source_row LIMIT 3").fetchall()
    assert first == [
        ("Accepted-In Progress", datetime(2010, 3, 31, 14, 59, 42, tzinfo=UTC), "fr-Frederic",
         "V30", "L1", "spoke:a2", "diagnose", 1),
        ("Accepted-In Progress", datetime(2010, 3, 31, 15, 0, 56, tzinfo=UTC), "fr-Frederic",
         "V30", "L1", "spoke:a2", "diagnose", 2),
        ("Queued-Awaiting Assignment", datetime(2010, 3, 31, 15, 45, 48, tzinfo=UTC),
         "fr-Frederic", "V5 3rd", "L3", "spoke:a2", "assign", 3),
    ]


def test_case_attributes(conn: duckdb.DuckDBPyConnection) -> None:
    row = conn.execute(
        "SELECT case_type, priority, opened_at, resolved_at IS NOT NULL, closed_at IS NOT NULL, "
        "attributes->>'product', attributes->>'country', "
        "CAST(attributes->'org_lines' AS VARCHAR), CAST(attributes->'function_divs' AS VARCHAR) "
        "FROM core.cases WHERE case_id = '1-364285768'").fetchone()
    assert row == ("incident", "Medium", datetime(2010, 3, 31, 14, 59, 42, tzinfo=UTC), True,
                   True, "PROD582", "fr", '["Org line A2"]', '["A2_4","A2_5"]')
    priorities = dict(conn.execute("SELECT priority, count(*) FROM core.cases GROUP BY 1").fetchall())
    assert set(priorities) == {"Low", "Medium", "High", "Major"}


def test_support_levels_and_default_sourcing(conn: duckdb.DuckDBPyConnection) -> None:
    levels = dict(conn.execute("SELECT coalesce(support_level, '-'), count(*) FROM core.events "
                               "GROUP BY 1").fetchall())
    assert levels == {"L1": 46_042, "L2": 16_541, "L3": 2_911, "-": 39}  # "L2/L3" -> none
    by_line = conn.execute(
        "SELECT r.\"Involved Org line 3\", e.sourcing, count(*) FROM core.events e "
        "JOIN raw.bpic2013 r ON r._source_file = e.source_file AND r._source_row = e.source_row "
        "GROUP BY ALL").fetchall()
    for line, sourcing, _ in by_line:
        expected = {"Org line C": "hub", "Org line A2": "spoke:a2", "Org line B": "spoke:b",
                    "Other": "unmapped"}.get(line, "spoke:other")
        assert sourcing == expected, line


def test_variants_and_directly_follows_equal_pm4py(conn: duckdb.DuckDBPyConnection) -> None:
    import pm4py

    frame = _pm4py_frame(conn)
    variants = pm4py.get_variants(frame)
    dfg, starts, ends = pm4py.discover_dfg(frame)
    traces = _csv_traces()
    assert len(traces) == CASES
    expected_variants = Counter(tuple(t) for t in traces.values())
    assert len(variants) == len(expected_variants) and dict(variants) == dict(expected_variants)
    assert dict(dfg) == dict(_dfg(list(traces.values())))
    assert dict(starts) == dict(Counter(t[0] for t in traces.values()))
    assert dict(ends) == dict(Counter(t[-1] for t in traces.values()))
    # and the same from core.events with SQL (what marts.transitions is built from)
    sql_dfg = dict(((a, b), n) for a, b, n in conn.execute(
        "SELECT activity, nxt, count(*) FROM (SELECT activity, lead(activity) OVER (PARTITION "
        "BY case_id ORDER BY ts, source_file, source_row, seq) AS nxt FROM core.events) "
        "WHERE nxt IS NOT NULL GROUP BY ALL").fetchall())
    assert sql_dfg == dict(dfg)


def test_xes_round_trip_through_pm4py(volvo: tuple[Path, RunResult],
                                      conn: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import pm4py

    out = tmp_path / "volvo.xes.gz"
    assert export_events(volvo[0], "xes", out) == ROWS
    log = pm4py.read_xes(str(out), show_progress_bar=False)
    assert log["case:concept:name"].nunique() == CASES and len(log) == ROWS
    core = Counter(dict(conn.execute("SELECT activity, count(*) FROM core.events GROUP BY 1"
                                     ).fetchall()))
    assert Counter(log["concept:name"]) == core
    # same cases, same ordered traces
    read_back = log.groupby("case:concept:name", sort=True)["concept:name"].apply(tuple).to_dict()
    stored: dict[str, list[str]] = {}
    for case_id, activity in conn.execute(f"SELECT case_id, activity FROM core.events {ORDER}"
                                          ).fetchall():
        stored.setdefault(case_id, []).append(activity)
    assert read_back == {k: tuple(v) for k, v in stored.items()}
    assert set(log["case:priority"]) == {"Low", "Medium", "High", "Major"}


def test_bom_header_and_team_rule_precedence(tmp_path: Path, db_path: Path) -> None:
    export = tmp_path / "volvo_bom.csv"
    header = ("SR Number,Change Date+Time,Status,Sub Status,Involved ST,ST Level,"
              "Involved Org line 3,SR Latest Impact,Product,Country,Owner Country,Resource\r\n")
    export.write_bytes(("\ufeff" + header +
                        "1-1,2012-05-01T10:00:00+02:00,Queued,Awaiting Assignment,G97,L1,"
                        "Org line C,Low,PROD1,be,Belgium,be-Ann\r\n"
                        "1-1,2012-05-01T11:00:00+02:00,Completed,Resolved,Acme 2nd,L2,"
                        "Org line C,Low,PROD1,be,Belgium,be-Bob\r\n").encode("utf-8"))
    config = load_config()
    data = {**config.data, "sourcing": [{"match": "Acme*", "sourcing": "vendor:acme"},
                                        *config.data["sourcing"]]}
    result = ingest(Config(data), db_path, "bpic2013", [export])
    assert result.status == "success"
    conn = store.reading(db_path)
    try:
        assert conn.execute("SELECT activity, ts, org_group, support_level, sourcing "
                            "FROM core.events ORDER BY ts").fetchall() == [
            ("Queued-Awaiting Assignment", datetime(2012, 5, 1, 8, tzinfo=UTC), "G97", "L1", "hub"),
            ("Completed-Resolved", datetime(2012, 5, 1, 9, tzinfo=UTC), "Acme 2nd", "L2",
             "vendor:acme"),
        ]
        assert "SR Number" in {r[0] for r in conn.execute("DESCRIBE raw.bpic2013").fetchall()}
    finally:
        conn.close()
