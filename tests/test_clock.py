"""Clock semantics (mine/clock.py) on real data: waste hours never include clock-stopped time,
bottlenecks lead with internal delay, the clock-stopped waits are reported apart.

The clock-stopped intervals are recomputed here plainly, event by event from core.events and
the configuration, and every waste instance's interval is checked against them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import Config, load_config
from procmine.load import ingest
from procmine.mine import mine
from tests.real_stores import RealStore

EVENTS_SQL = """
SELECT case_id, activity, d2c_stage, source, epoch_us(ts) AS t
FROM core.events ORDER BY case_id, ts, source_file, source_row, seq
"""


def stopped_intervals(conn: duckdb.DuckDBPyConnection, config: Config
                      ) -> dict[str, list[tuple[int, int]]]:
    """Per case, the (start, end) microseconds of each wait spent clock-stopped: from an event
    in a customer or policy state of its source, or after which the case stands resolved
    (a resolved activity or a resolve/close stage, kept through reassignments and
    reclassifications, [reopen] ignore_stages), to the case's next event."""
    sources = config.section("sources")
    default = config.section("clock")
    resolved_activities = set(config.section("reopen")["resolved_activities"])
    ignored = set(config.section("reopen")["ignore_stages"])
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    previous: tuple[str, int, bool] | None = None
    resolved = False
    for case, activity, stage, source, t in conn.execute(EVENTS_SQL).fetchall():
        if previous is not None and previous[0] == case and previous[2]:
            out[case].append((previous[1], t))
        if previous is None or previous[0] != case:
            resolved = False
        if activity in resolved_activities or stage in ("resolve", "close"):
            resolved = True
        elif stage not in ignored:
            resolved = False
        rules = sources.get(source, {}).get("clock", default)
        stopped = (activity in rules.get("customer", []) or activity in rules.get("policy", [])
                   or (resolved and rules.get("after_resolution", True)))
        previous = (case, t, stopped)
    return out


def test_servicenow_waste_hours_never_include_clock_stopped_time(
        servicenow_store: RealStore) -> None:
    conn = servicenow_store.reading()
    stopped = stopped_intervals(conn, servicenow_store.config)
    rows = conn.execute(
        "SELECT case_id, waste_type, hours, stopped_hours, epoch_us(interval_start), "
        "epoch_us(interval_end) FROM marts.waste").fetchall()
    checked = overlapping = 0
    for case, waste_type, hours, stopped_hours, start, end in rows:
        if waste_type == "handoff":   # handling effort, no elapsed interval
            assert start is None and end is None and hours == 0.25 and stopped_hours == 0
            continue
        overlap = sum(max(0, min(end, b) - max(start, a)) for a, b in stopped[case])
        assert hours * 3.6e9 == pytest.approx(end - start - overlap, abs=1), (case, waste_type)
        assert stopped_hours * 3.6e9 == pytest.approx(overlap, abs=1), (case, waste_type)
        checked += 1
        overlapping += overlap > 0
    assert (checked, overlapping) == (12751, 7632)
    # the resolved → closed window the issue found charged to deviations: now policy wait
    assign_after_resolved = conn.execute(
        "SELECT clock, count(*), sum(hours), median(stopped_hours) FROM marts.waste "
        "WHERE evidence = 'Assign after Resolved is not in the reference model' "
        "GROUP BY clock ORDER BY clock").fetchall()
    assert [(c, n, h) for c, n, h, _ in assign_after_resolved] == [
        ("internal", 33, 0.0), ("policy", 1643, 0.0)]   # internal: zero-length intervals
    assert assign_after_resolved[1][3] == pytest.approx(120.8333, abs=1e-4)


def test_servicenow_heatmap_top_cell_moves_off_the_resolution_window(
        servicenow_store: RealStore) -> None:
    conn = servicenow_store.reading()
    cells = {(s, w): (h, st, c) for s, w, h, st, c in conn.execute(
        "SELECT d2c_stage, waste_type, hours, stopped_hours, cost FROM marts.waste_heatmap "
        "WHERE waste_type <> 'backlog'").fetchall()}
    # before: assign × deviation, 421,548 h, 12.6M EUR: all of it clock-stopped now
    hours, stopped_h, cost = cells[("assign", "deviation")]
    assert (round(hours, 1), round(stopped_h, 1), cost) == (0.0, 421548.1, 0.0)
    top = max(cells, key=lambda k: cells[k][2])
    assert top == ("assign", "ping_pong")
    assert (round(cells[top][0]), round(cells[top][1]), round(cells[top][2])) == (
        387230, 28316, 2323378)
    # waiting for the user: customer wait, out of the waiting hours
    waiting = conn.execute(
        "SELECT clock, count(*), sum(hours), round(sum(stopped_hours)) FROM marts.waste "
        "WHERE waste_type = 'waiting' AND evidence LIKE 'Awaiting User Info%' "
        "GROUP BY clock ORDER BY clock").fetchall()
    assert [(c, h) for c, _, h, _ in waiting] == [("customer", 0.0), ("internal", 0.0)]
    kpis = conn.execute(
        "SELECT round(customer_wait_hours), round(policy_wait_hours), "
        "median_clock_resolution_s < median_resolution_s FROM marts.kpis "
        "WHERE dimension = 'all' AND period IS NULL").fetchall()
    assert kpis == [(881527.0, 3223644.0, True)]
    assert cells[("wait", "waiting")][1] == pytest.approx(881527, abs=1)


def test_servicenow_resolved_to_closed_is_policy_wait_not_a_bottleneck(
        servicenow_store: RealStore) -> None:
    conn = servicenow_store.reading()
    rows = conn.execute(
        "SELECT key, d2c_stage, clock, cases, round(median_wait_s / 3600, 1), overall_rank, "
        "clock_rank FROM marts.bottlenecks WHERE dimension = 'transition' "
        "ORDER BY overall_rank").fetchall()
    closing = [r for r in rows if r[0] == "Resolved → Closed"]
    assert closing == [("Resolved → Closed", "resolve", "policy", 18514, 120.6, 58, 1)]
    internal = [r for r in rows if r[2] == "internal"]
    assert [r[5] for r in internal] == list(range(1, len(internal) + 1))   # ranked first
    assert internal[0][:5] == ("Assign → Awaiting Vendor", "assign", "internal", 52, 1677.1)
    assert {r[2] for r in rows[len(internal):]} == {"customer", "policy"}
    # resolution time is open → resolved, not → closed
    assert conn.execute(
        "SELECT count(*) FROM marts.case_kpis WHERE resolved_at > closed_at").fetchall() == [(0,)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection,
                                                                      dict]]:
    """The demo sample of `make demo` (procmine sample --cases 2000 --seed 7), mined."""
    from procmine.sample import generate_sample

    folder = tmp_path_factory.mktemp("demo")
    summary = generate_sample(folder / "landing", cases=2000, seed=7)
    db, config = folder / "demo.duckdb", load_config()
    ingest(config, db, "servicenow", [folder / "landing" / "servicenow"])
    with store.writing(db) as conn:
        mine(conn, config, discover=False)
    conn = store.reading(db)
    yield conn, json.loads(Path(summary.manifest).read_text(encoding="utf-8"))
    conn.close()


def test_demo_top_bottleneck_is_the_injected_vendor_wait(demo) -> None:
    conn, manifest = demo
    top = conn.execute(
        "SELECT key, d2c_stage, clock, cases FROM marts.bottlenecks "
        "WHERE dimension = 'transition' AND overall_rank = 1").fetchall()
    assert top == [("Awaiting Vendor → Active", "wait", "internal", 120)]
    injected = {case for case, kinds in manifest["cases_with_waste"].items()
                if "vendor_waiting" in kinds}
    waited = {r[0] for r in conn.execute(
        "SELECT case_id FROM (SELECT case_id, activity, lead(activity) OVER ("
        "PARTITION BY case_id ORDER BY ts, source_file, source_row, seq) AS next "
        "FROM core.events) WHERE activity = 'Awaiting Vendor' AND next = 'Active'").fetchall()}
    assert waited == injected and len(injected) == manifest["case_counts"]["vendor_waiting"]
    stopped = conn.execute(
        "SELECT key, clock, clock_rank FROM marts.bottlenecks WHERE dimension = 'transition' "
        "AND clock <> 'internal' AND clock_rank = 1 ORDER BY clock").fetchall()
    assert stopped == [("Awaiting User Info → Active", "customer", 1),
                       ("Resolved → Closed", "policy", 1)]
    # no group is a bottleneck for holding resolved tickets until the auto-close
    groups = conn.execute(
        "SELECT DISTINCT d2c_stage FROM marts.bottlenecks WHERE dimension = 'group' "
        "AND clock = 'internal'").fetchall()
    assert ("resolve",) not in groups and ("close",) not in groups


def test_volvo_waits_for_users_and_planned_dates_stop_the_clock(volvo_store: RealStore) -> None:
    """BPIC 2013 defaults ([sources.bpic2013.clock]): waiting for the user or customer is
    customer wait, an agreed implementation date policy wait, a vendor's delay internal."""
    conn = volvo_store.reading()
    waits = conn.execute(
        "SELECT split_part(evidence, ' (', 1), clock, count(*), sum(hours), "
        "round(sum(stopped_hours)) FROM marts.waste WHERE waste_type = 'waiting' "
        "AND evidence LIKE 'Accepted-Wait - %' GROUP BY ALL ORDER BY 1, 2").fetchall()
    assert waits == [   # internal rows of stopped states: zero-length waits
        ("Accepted-Wait - Customer", "customer", 101, 0.0, 11660.0),
        ("Accepted-Wait - Implementation", "internal", 2, 0.0, 0.0),
        ("Accepted-Wait - Implementation", "policy", 491, 0.0, 63937.0),
        ("Accepted-Wait - User", "customer", 4214, 0.0, 463412.0),
        ("Accepted-Wait - User", "internal", 3, 0.0, 0.0),
        ("Accepted-Wait - Vendor", "internal", 313, pytest.approx(waits[-1][3]), 0.0)]
    assert waits[-1][3] > 0
    ranked = conn.execute(
        "SELECT key, clock, cases, overall_rank, clock_rank FROM marts.bottlenecks "
        "WHERE dimension = 'transition' AND (overall_rank = 1 OR key = "
        "'Completed-Resolved → Completed-Closed') ORDER BY overall_rank").fetchall()
    assert ranked == [("Accepted-Wait - Vendor → Completed-Resolved", "internal", 118, 1, 1),
                      ("Completed-Resolved → Completed-Closed", "policy", 5574, 44, 1)]
