"""Every real log of ../shared/data/itsm/: each row accounted for (in core, or quarantined
with a stated real defect, exact counts), and marts.variants / marts.transitions equal to
pm4py's get_variants, discover_dfg and discover_performance_dfg computed on the same file
read directly by pandas (every row an event; for ServiceNow, whose rows are snapshots, the
events of the independent plain-Python derivation of test_source_servicenow). pm4py orders a
case's events by a stable sort on the timestamp (format_dataframe: case, timestamp, then
file order), procmine by ts, source_file, source_row, seq: the same order for one file.
The stores are the session's (tests/real_stores.py), loaded once."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC

import pandas as pd
import pytest

from tests.conftest import BPIC13_PROBLEMS_LOG, BPIC14_LOG, SERVICENOW_LOG, VOLVO_LOG
from tests.real_stores import RealStore

CASE, ACTIVITY, TS = "case:concept:name", "concept:name", "time:timestamp"
WAIT_TOLERANCE_S = 1.0


def _file_frame(path, case: str, activity: str | tuple[str, str], ts: str) -> pd.DataFrame:
    """The export read by pandas, every row an event, in pm4py's columns and order."""
    import pm4py

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    label = (raw[activity] if isinstance(activity, str)
             else raw[activity[0]] + "-" + raw[activity[1]])
    frame = pd.DataFrame({CASE: raw[case], ACTIVITY: label,
                          TS: pd.to_datetime(raw[ts], utc=True, format="ISO8601")})
    return pm4py.format_dataframe(frame, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TS)


def _servicenow_frame() -> pd.DataFrame:
    """The independent derivation's events that validation keeps (all but the -100 state)."""
    import pm4py

    from tests.test_source_servicenow import _python_derivation

    events = [e for e in _python_derivation(SERVICENOW_LOG) if e[1] != "-100"]
    events.sort(key=lambda e: (e[0], e[2], e[3], e[4]))   # case, ts, row, seq
    frame = pd.DataFrame({CASE: [e[0] for e in events], ACTIVITY: [e[1] for e in events],
                          TS: pd.to_datetime([e[2].astimezone(UTC) for e in events], utc=True)})
    return pm4py.format_dataframe(frame, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TS)


LOGS = {
    # name: (store fixture, pm4py frame, file rows, events in core, quarantined by rule,
    #        cases, variants)
    "servicenow": ("servicenow_store", _servicenow_frame, 119_998, 119_402,
                   {"activity_in_vocabulary": 1}, 20_769, 1_326),
    "volvo": ("volvo_store", lambda: _file_frame(VOLVO_LOG, "SR Number", "Activity",
                                                 "Change Date+Time"),
              65_533, 65_533, {}, 7_554, 2_278),
    "bpic14": ("bpic14_store", lambda: _file_frame(
        BPIC14_LOG, "Incident ID", "Detail Incident Activity.IncidentActivity_Type",
        "Detail Incident Activity.DateStamp"), 466_660, 466_660, {}, 46_629, 19_198),
    "bpic13_problems": ("bpic13_problems_store", lambda: _file_frame(
        BPIC13_PROBLEMS_LOG, "case:concept:name", ("concept:name", "lifecycle:transition"),
        "time:timestamp"), 6_660, 6_660, {}, 1_487, 327),
}


@pytest.fixture(params=list(LOGS))
def real(request: pytest.FixtureRequest) -> tuple[str, RealStore]:
    return request.param, request.getfixturevalue(LOGS[request.param][0])


_frames: dict[str, pd.DataFrame] = {}


def _frame(name: str) -> pd.DataFrame:
    if name not in _frames:
        _frames[name] = LOGS[name][1]()
    return _frames[name]


def test_every_row_is_accounted_for(real: tuple[str, RealStore]) -> None:
    name, loaded = real
    _, _, rows, events, quarantined, cases, _ = LOGS[name]
    conn = loaded.reading()
    try:
        source = loaded.result.files[0].source
        assert conn.execute(f'SELECT count(*) FROM raw."{source}"').fetchone()[0] == rows
        assert conn.execute("SELECT count(*), count(DISTINCT case_id) FROM core.events"
                            ).fetchone() == (events, cases)
        assert dict(conn.execute(
            "SELECT rule, count(DISTINCT (source_row, seq)) FROM quarantine.events GROUP BY 1"
        ).fetchall()) == quarantined
        assert (loaded.result.events_loaded, loaded.result.events_quarantined) == (
            events, sum(quarantined.values()))
        if name != "servicenow":   # one event per row: each row is in core or quarantine
            assert conn.execute(
                f'SELECT count(*) FROM raw."{source}" AS r WHERE NOT EXISTS (SELECT 1 FROM '
                "core.events AS e WHERE e.source_row = r._source_row) AND NOT EXISTS (SELECT 1 "
                "FROM quarantine.events AS q WHERE q.source_row = r._source_row)").fetchone() == (0,)
    finally:
        conn.close()


def test_variants_equal_pm4py_on_the_file(real: tuple[str, RealStore]) -> None:
    import pm4py

    name, loaded = real
    expected = {tuple(k): v for k, v in pm4py.get_variants(_frame(name)).items()}
    conn = loaded.reading()
    try:
        ours = {tuple(a): n for a, n in conn.execute(
            "SELECT activities, case_count FROM marts.variants").fetchall()}
    finally:
        conn.close()
    assert len(ours) == len(expected) == LOGS[name][6]
    assert ours == expected
    assert sum(ours.values()) == LOGS[name][5]


def test_transitions_equal_pm4py_dfg_and_performance_dfg(real: tuple[str, RealStore]) -> None:
    import pm4py

    name, loaded = real
    frame = _frame(name)
    dfg, _, _ = pm4py.discover_dfg(frame)
    performance, _, _ = pm4py.discover_performance_dfg(frame)
    conn = loaded.reading()
    try:
        ours = {(f, t): (n, mean, median) for f, t, n, mean, median in conn.execute(
            "SELECT from_activity, to_activity, count, mean_wait_s, median_wait_s "
            "FROM marts.transitions").fetchall()}
    finally:
        conn.close()
    assert {pair: v[0] for pair, v in ours.items()} == dict(dfg)
    assert set(performance) == set(ours)
    off = [pair for pair, stats in performance.items()
           if not (math.isclose(ours[pair][1], stats["mean"], abs_tol=WAIT_TOLERANCE_S)
                   and math.isclose(ours[pair][2], stats["median"], abs_tol=WAIT_TOLERANCE_S))]
    assert off == []
    assert sum(dfg.values()) == sum(Counter(frame[CASE]).values()) - frame[CASE].nunique()
