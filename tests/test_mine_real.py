"""Mining the real logs: on the UCI ServiceNow incident log, ping-pong and reopen counts equal
an independent, plainly written computation over core.events; on the BPIC 2013 (Volvo) log
through its own adapter, hand-offs and escalation bounces too; `procmine mine` end to end."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from tests.conftest import run_cli
from tests.real_stores import RealStore

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


@pytest.fixture(scope="module")
def servicenow(servicenow_store: RealStore) -> duckdb.DuckDBPyConnection:
    """The session's ServiceNow store (tests/real_stores.py: ingested, mined), read-only."""
    conn = servicenow_store.reading()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def volvo(volvo_store: RealStore) -> duckdb.DuckDBPyConnection:
    """The session's Volvo store (its own adapter, bpic2013; ingested, mined), read-only."""
    conn = volvo_store.reading()
    yield conn
    conn.close()


def _cases(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Events per case in the canonical order: (activity, stage, group, level)."""
    cases: dict[str, list[tuple]] = defaultdict(list)
    for case, activity, stage, group, level in conn.execute(
            "SELECT case_id, activity, d2c_stage, org_group, support_level FROM core.events "
            "ORDER BY case_id, ts, source_file, source_row, seq").fetchall():
        cases[case].append((activity, stage, group, level))
    return cases


def _group_runs(events: list[tuple]) -> list[tuple[str, str | None]]:
    runs: list[tuple[str, str | None]] = []
    for _, _, group, level in events:
        if group is not None and (not runs or runs[-1][0] != group):
            runs.append((group, level))
    return runs


def plain_ping_pong(events: list[tuple]) -> tuple[int, int]:
    """(direct, indirect) returns to a group held before: A→B→A vs A→B→…→A."""
    groups = [g for g, _ in _group_runs(events)]
    direct = indirect = 0
    for i, group in enumerate(groups):
        if group in groups[:i]:
            last_visit = max(j for j in range(i) if groups[j] == group)
            if last_visit == i - 2:
                direct += 1
            else:
                indirect += 1
    return direct, indirect


def plain_reopens(events: list[tuple], resolved_activities: set[str],
                  ignored_stages: set[str]) -> int:
    """Events that are neither a resolution/close nor an ignored (assign, classify) step,
    coming after a resolved activity with no such event in between."""
    reopens, resolved = 0, False
    for activity, stage, _, _ in events:
        is_open = stage not in ("resolve", "close") and stage not in ignored_stages
        if is_open and resolved:
            reopens += 1
        if activity in resolved_activities:
            resolved = True
        if is_open:
            resolved = False
    return reopens


def plain_bounces(events: list[tuple]) -> int:
    """Level goes down after the case had reached the higher level from a lower one."""
    levels = [int(level[1]) if level else 0 for _, level in _group_runs(events)]
    bounces = 0
    for i in range(2, len(levels)):
        before = [lv for lv in levels[:i - 1] if lv]
        if levels[i] and levels[i - 1] and levels[i] < levels[i - 1] and before \
                and min(before) < levels[i - 1]:
            bounces += 1
    return bounces


def test_servicenow_ping_pong_and_reopen_equal_a_plain_computation(
        servicenow: duckdb.DuckDBPyConnection) -> None:
    reopen = load_config().section("reopen")
    resolved, ignored = set(reopen["resolved_activities"]), set(reopen["ignore_stages"])
    expected = {"direct": 0, "indirect": 0, "reopen": 0}
    expected_cases = defaultdict(int)
    for case, events in _cases(servicenow).items():
        direct, indirect = plain_ping_pong(events)
        reopens = plain_reopens(events, resolved, ignored)
        expected["direct"] += direct
        expected["indirect"] += indirect
        expected["reopen"] += reopens
        expected_cases[case] = reopens
    found = dict(servicenow.execute(
        "SELECT coalesce(detail, waste_type), count(*) FROM marts.waste "
        "WHERE waste_type IN ('ping_pong', 'reopen') GROUP BY 1").fetchall())
    print("ServiceNow:", expected)
    assert found == expected
    assert expected["direct"] > 1000 and expected["indirect"] > 300 and expected["reopen"] > 200
    per_case = dict(servicenow.execute(
        "SELECT case_id, reopen_count FROM marts.case_kpis").fetchall())
    assert per_case == dict(expected_cases)
    # the export's own reopen counter agrees: every case it reopened is reopened here
    source = dict(servicenow.execute(
        "SELECT k.case_id, c.reopen_count FROM marts.case_kpis AS k "
        "JOIN core.cases AS c USING (case_id)").fetchall())
    assert all(per_case[case] > 0 for case, n in source.items() if n)
    extra = sum(1 for case, n in source.items() if not n and per_case[case])
    assert extra <= 0.001 * len(source)


def test_servicenow_marts_are_consistent(servicenow: duckdb.DuckDBPyConnection) -> None:
    cases = servicenow.execute("SELECT count(DISTINCT case_id) FROM core.events").fetchone()[0]
    events = servicenow.execute("SELECT count(*) FROM core.events").fetchone()[0]
    assert servicenow.execute("SELECT sum(case_count) FROM marts.variants").fetchone()[0] == cases
    assert servicenow.execute("SELECT sum(count) FROM marts.transitions").fetchone()[0] == (
        events - cases)
    assert servicenow.execute("SELECT count(*) FROM marts.case_kpis WHERE waiting_s > "
                              "duration_s + 1e-6").fetchone()[0] == 0
    handoffs = servicenow.execute("SELECT sum(handoffs) FROM marts.handoff_matrix "
                                  "WHERE dimension = 'group'").fetchone()[0]
    assert handoffs == servicenow.execute("SELECT count(*) FROM marts.waste "
                                          "WHERE waste_type = 'handoff'").fetchone()[0]
    heat = servicenow.execute("SELECT sum(hours) FROM marts.waste_heatmap "
                              "WHERE waste_type <> 'backlog'").fetchone()[0]
    assert heat == pytest.approx(servicenow.execute(
        "SELECT sum(hours) FROM marts.waste").fetchone()[0])
    ranks = servicenow.execute(
        # internal delay first (clock-stopped waits after), then by total delay
        "SELECT dimension, d2c_stage, list(rank ORDER BY clock <> 'internal', "
        "total_delay_s DESC, key, clock) "
        "FROM marts.bottlenecks GROUP BY ALL").fetchall()
    assert all(r == list(range(1, len(r) + 1)) for _, _, r in ranks)


def test_volvo_handoffs_and_bounces_equal_a_plain_computation(
        volvo: duckdb.DuckDBPyConnection) -> None:
    handoffs = bounces = 0
    for events in _cases(volvo).values():
        handoffs += max(len(_group_runs(events)) - 1, 0)
        bounces += plain_bounces(events)
    found = dict(volvo.execute("SELECT waste_type, count(*) FROM marts.waste "
                               "WHERE waste_type IN ('handoff', 'escalation_bounce') "
                               "GROUP BY 1").fetchall())
    print("Volvo:", found)
    assert found == {"handoff": handoffs, "escalation_bounce": bounces}
    assert bounces > 100


def test_procmine_mine_command(volvo: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    source = Path(volvo.execute("SELECT path FROM duckdb_databases() "
                                "WHERE database_name = current_database()").fetchone()[0])
    db.write_bytes(source.read_bytes())
    (tmp_path / "procmine.toml").write_text('[paths]\ndashboards = "pages"\n')
    proc = run_cli("mine", "--db", db, cwd=tmp_path)
    assert "variants" in proc.stderr and "mined 65,533 events of 7,554 cases" in proc.stderr
    # nothing changed since the fixture mined it: no per-case rows are written again
    assert "per-case rows written for 0 cases (the changed ones)" in " ".join(proc.stderr.split())
    assert (tmp_path / "pages" / "model" / "discovered_model.bpmn").exists()
    proc = run_cli("mine", "--db", db, "--all-cases", cwd=tmp_path)
    assert ("per-case rows written for 7,554 cases (asked to rewrite every case)"
            in " ".join(proc.stderr.split()))
    conn = store.reading(db)
    assert conn.execute("SELECT count(*) FROM marts.variants").fetchone()[0] > 1000
    conn.close()
