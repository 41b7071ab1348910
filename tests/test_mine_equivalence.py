"""marts.variants, marts.transitions and marts.activities equal what pm4py computes on the
same events (get_variants, discover_dfg, discover_performance_dfg, start/end activities), on
the Volvo (BPIC 2013) log and on a generated ServiceNow-style sample; the alignments of the
conformance step equal pm4py's alignment costs."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from procmine.mine import mine
from tests.mine_support import pm4py_frame, rows

VOLVO_COLUMNS = {"case": "SR Number", "activity": "Activity", "timestamp": "Change Date+Time",
                 "resource": "Resource", "group": "Involved ST"}
WAIT_TOLERANCE_S = 1.0


def _mined(db: Path) -> duckdb.DuckDBPyConnection:
    with store.writing(db) as conn:
        mine(conn, load_config(), discover=False)
    return store.reading(db)


@pytest.fixture(scope="module")
def volvo(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    from procmine.load import ingest
    from tests.conftest import VOLVO_LOG  # (here: the sample's tests run without it)

    db = tmp_path_factory.mktemp("volvo") / "volvo.duckdb"
    ingest(load_config(), db, "csv", [VOLVO_LOG], VOLVO_COLUMNS)
    conn = _mined(db)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    from procmine.load import ingest
    from procmine.sample import generate_sample

    folder = tmp_path_factory.mktemp("sample")
    generate_sample(folder / "landing", cases=3000, seed=11)
    db = folder / "sample.duckdb"
    ingest(load_config(), db, "servicenow", [folder / "landing" / "servicenow"])
    conn = _mined(db)
    yield conn
    conn.close()


@pytest.fixture(params=[pytest.param("volvo", marks=pytest.mark.real_data), "sample"])
def mined(request: pytest.FixtureRequest) -> duckdb.DuckDBPyConnection:
    return request.getfixturevalue(request.param)


def test_variants_equal_pm4py(mined: duckdb.DuckDBPyConnection) -> None:
    import pm4py

    expected = pm4py.get_variants(pm4py_frame(mined))
    ours = {tuple(r["activities"]): r["case_count"]
            for r in rows(mined, "SELECT activities, case_count FROM marts.variants")}
    assert len(ours) > 50
    assert ours == {tuple(k): v for k, v in expected.items()}
    cases = mined.execute("SELECT count(DISTINCT case_id) FROM core.events").fetchone()[0]
    assert sum(ours.values()) == cases
    share = mined.execute("SELECT sum(case_share) FROM marts.variants").fetchone()[0]
    assert share == pytest.approx(1.0)
    ids = mined.execute("SELECT count(DISTINCT variant_id) FROM marts.variants").fetchone()[0]
    assert ids == len(ours)


def test_transitions_equal_pm4py_dfg_and_performance_dfg(
        mined: duckdb.DuckDBPyConnection) -> None:
    import pm4py

    frame = pm4py_frame(mined)
    dfg, start, end = pm4py.discover_dfg(frame)
    performance, _, _ = pm4py.discover_performance_dfg(frame)
    ours = {(r["from_activity"], r["to_activity"]): r
            for r in rows(mined, "SELECT * FROM marts.transitions")}
    assert {pair: r["count"] for pair, r in ours.items()} == dict(dfg)
    assert set(performance) == set(ours)
    for pair, stats in performance.items():
        # pm4py's performance DFG: mean and median of the seconds between the two events
        assert math.isclose(ours[pair]["mean_wait_s"], stats["mean"], abs_tol=WAIT_TOLERANCE_S)
        assert math.isclose(ours[pair]["median_wait_s"], stats["median"],
                            abs_tol=WAIT_TOLERANCE_S)
        assert ours[pair]["p90_wait_s"] >= ours[pair]["median_wait_s"] - 1e-9
    activities = {r["activity"]: r for r in rows(mined, "SELECT * FROM marts.activities")}
    assert {a: r["start_count"] for a, r in activities.items() if r["start_count"]} == start
    assert {a: r["end_count"] for a, r in activities.items() if r["end_count"]} == end
    counts = frame["concept:name"].value_counts().to_dict()
    assert {a: r["event_count"] for a, r in activities.items()} == counts


@pytest.mark.real_data
def test_alignments_equal_pm4py_costs(volvo: duckdb.DuckDBPyConnection) -> None:
    """Our trie alignment finds alignments as cheap as pm4py's (standard costs), on a spread
    of the Volvo variants, with the shipped precomputed automaton and with pm4py's net."""
    import pm4py
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments
    from pm4py.objects.log.obj import Event, EventLog, Trace

    from procmine.mine.conformance import Automaton, _Trie, build_automaton, shipped_reference

    traces = [list(r[0]) for r in volvo.execute(
        "SELECT list(coalesce(d2c_stage, activity) ORDER BY ts, source_file, source_row, seq) "
        "FROM core.events GROUP BY case_id ORDER BY min(case_id) LIMIT 120").fetchall()]
    net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(shipped_reference())))
    log = EventLog([Trace([Event({"concept:name": label}) for label in t]) for t in traces])
    expected = [r["cost"] // 10000 for r in alignments.apply_log(
        log, net, initial, final, variant=alignments.Variants.VERSION_DIJKSTRA_LESS_MEMORY,
        parameters={"show_progress_bar": False})]
    cached = Automaton.from_json(
        shipped_reference().with_suffix(".automaton.json").read_text())[1]
    for automaton in (cached, build_automaton(shipped_reference())):
        trie = _Trie(automaton)
        ours = [trie.align(t) for t in traces]
        assert [a.cost for a in ours] == expected
        assert all(len(a.log_moves) + len(a.model_moves) == a.cost for a in ours)
    assert sum(1 for c in expected if c) > 5   # some of them deviate


def test_shipped_automaton_cache_is_current() -> None:
    import hashlib

    from procmine.mine.conformance import Automaton, shipped_automaton_cache, shipped_reference

    sha, _ = Automaton.from_json(shipped_automaton_cache().read_text())
    assert sha == hashlib.sha256(shipped_reference().read_bytes()).hexdigest(), (
        "regenerate: python -c 'from procmine.mine.conformance import write_shipped_cache; "
        "write_shipped_cache()'")
