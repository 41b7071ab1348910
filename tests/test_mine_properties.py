"""Property-based invariants of the mining step on random event logs (hypothesis): variant
counts add up to the cases, transitions to events − cases, no case waits longer than it
lasts; and variants, transitions, hand-offs, ping-pong and each case's last group equal a
plain Python computation
that orders events the canonical way (ts, source_file, source_row, seq; ties included)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procmine.mine import mine
from tests.mine_support import Log, fresh_db, rows

ACTIVITIES = ["Open", "Assign", "Reassign", "Active", "Awaiting User Info", "Awaiting Vendor",
              "Reclassify", "Resolved", "Closed"]
GROUPS = [None, "Hub Service Desk L1", "Spoke Retail IT L1", "Hub Network L2", "Hub Server L2",
          "Hub Database L3"]
STEPS = st.tuples(st.sampled_from(ACTIVITIES), st.sampled_from([0, 0, 1, 7, 60, 1440]),
                  st.sampled_from(GROUPS), st.sampled_from(["a.csv", "b.csv"]))
LOGS = st.lists(st.lists(STEPS, min_size=1, max_size=12), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    connection = fresh_db(tmp_path_factory.mktemp("props") / "props.duckdb")
    yield connection
    connection.close()


def _log(cases: list[list[tuple[str, int, str | None, str]]], seed: int) -> Log:
    """Events with cumulative minute offsets (0 = a tie), shuffled source rows and insertion
    order, so only the canonical ordering can recover each case's sequence."""
    rnd = random.Random(seed)
    log = Log()
    flat = []
    for number, steps in enumerate(cases):
        minute = rnd.randrange(0, 5000)
        for activity, delta, group, source_file in steps:
            minute += delta
            flat.append((f"C{number:03d}", activity, minute, group, source_file))
    source_rows = rnd.sample(range(1, 10 * len(flat) + 1), len(flat))
    order = list(range(len(flat)))
    rnd.shuffle(order)
    for i in order:
        case, activity, minute, group, source_file = flat[i]
        log.add(case, activity, minute, group, row=source_rows[i])
        log.events[-1]["source_file"] = source_file
    return log


def _sequences(log: Log) -> dict[str, list[dict]]:
    by_case: dict[str, list[dict]] = defaultdict(list)
    for event in log.events:
        by_case[event["case_id"]].append(event)
    return {case: sorted(events, key=lambda e: (e["ts"], e["source_file"], e["source_row"],
                                                e["seq"]))
            for case, events in by_case.items()}


def _group_counts(events: list[dict]) -> tuple[int, int]:
    """(hand-offs, returns to a group held before) over the case's group runs."""
    runs: list[str] = []
    for event in events:
        group = event["org_group"]
        if group is not None and (not runs or runs[-1] != group):
            runs.append(group)
    returns = sum(1 for i, group in enumerate(runs) if group in runs[:i])
    return max(len(runs) - 1, 0), returns


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cases=LOGS, seed=st.integers(0, 10_000))
def test_mining_invariants(conn: duckdb.DuckDBPyConnection, cases, seed: int) -> None:
    log = _log(cases, seed)
    log.write(conn)
    report = mine(conn, log.config, discover=False)
    sequences = _sequences(log)
    n_events, n_cases = len(log.events), len(sequences)
    assert (report.events, report.cases) == (n_events, n_cases)

    variants = {tuple(r["activities"]): r["case_count"]
                for r in rows(conn, "SELECT activities, case_count FROM marts.variants")}
    assert sum(variants.values()) == n_cases
    assert variants == Counter(tuple(e["activity"] for e in events)
                               for events in sequences.values())

    transitions = {(r["from_activity"], r["to_activity"]): r["count"]
                   for r in rows(conn, "SELECT * FROM marts.transitions")}
    assert sum(transitions.values()) == n_events - n_cases
    assert transitions == Counter((a["activity"], b["activity"])
                                  for events in sequences.values()
                                  for a, b in pairwise(events))

    kpis = {r["case_id"]: r for r in rows(conn, "SELECT * FROM marts.case_kpis")}
    assert set(kpis) == set(sequences)
    for case, events in sequences.items():
        k = kpis[case]
        assert k["event_count"] == len(events)
        assert k["duration_s"] == (events[-1]["ts"] - events[0]["ts"]).total_seconds()
        assert 0 <= k["waiting_s"] <= k["duration_s"] + 1e-6
        assert (k["handoffs"], k["ping_pong"]) == _group_counts(events)
        assert k["ping_pong"] == k["ping_pong_direct"] + k["ping_pong_indirect"]
        # the holder of the last event: the last group the case had (events without a
        # group stay with the group before them)
        groups = [e["org_group"] for e in events if e["org_group"] is not None]
        assert k["last_group"] == (groups[-1] if groups else None)

    per_case = rows(conn, "SELECT case_id, sum(hours) AS hours FROM marts.waste "
                          "WHERE waste_type = 'waiting' GROUP BY case_id")
    for r in per_case:
        assert r["hours"] * 3600 <= kpis[r["case_id"]]["duration_s"] + 1e-6
    heat = conn.execute("SELECT coalesce(sum(share_of_cycle_time), 0) FROM marts.waste_heatmap "
                        "WHERE waste_type = 'waiting'").fetchone()[0]
    assert heat <= 1.0 + 1e-9


def test_invariants_hold_on_a_big_random_log(conn: duckdb.DuckDBPyConnection,
                                             tmp_path: Path) -> None:
    """One larger log (thousands of cases) through the same checks, without shrinking."""
    rnd = random.Random(7)
    cases = [[(rnd.choice(ACTIVITIES), rnd.choice([0, 1, 7, 60, 1440]), rnd.choice(GROUPS),
               rnd.choice(["a.csv", "b.csv"])) for _ in range(rnd.randint(1, 20))]
             for _ in range(3000)]
    log = _log(cases, 1)
    log.write(conn)
    mine(conn, log.config, discover=False)
    sequences = _sequences(log)
    assert conn.execute("SELECT sum(case_count) FROM marts.variants").fetchone()[0] == 3000
    assert conn.execute("SELECT sum(count) FROM marts.transitions").fetchone()[0] == (
        len(log.events) - 3000)
    kpis = {r["case_id"]: (r["handoffs"], r["ping_pong"]) for r in rows(
        conn, "SELECT case_id, handoffs, ping_pong FROM marts.case_kpis")}
    assert kpis == {case: _group_counts(events) for case, events in sequences.items()}


def test_ties_ordered_by_file_row_and_seq_also_beyond_packed_keys(
        conn: duckdb.DuckDBPyConnection) -> None:
    """Events at the same time are ordered by source_file, source_row, seq — also when the
    row numbers are too large to pack the tie-break into one integer."""
    for base in (1, 2**40):
        log = Log()
        # inserted in reverse; all at minute 0: the order must come from (file, row, seq)
        steps = [("b.csv", base + 1, 0, "Closed"), ("a.csv", base + 9, 1, "Resolved"),
                 ("a.csv", base + 9, 0, "Active"), ("a.csv", base + 2, 0, "Open")]
        for source_file, row, seq, activity in steps:
            log.add("T", activity, 0, "Hub Service Desk L1", row=row, seq=seq)
            log.events[-1]["source_file"] = source_file
        log.write(conn)
        mine(conn, log.config, discover=False)
        variants = rows(conn, "SELECT activities FROM marts.variants")
        assert variants == [{"activities": ["Open", "Active", "Resolved", "Closed"]}], base
