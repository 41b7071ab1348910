"""procmine compare on the real ServiceNow log: the first half of its cases' open dates
against the second half, checked against plain Python over core.events and core.cases."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

import procmine
from procmine.compare import Comparison, proportions
from procmine.errors import ProcmineError
from tests.conftest import SERVICENOW_LOG, run_cli
from tests.real_stores import RealStore

assert SERVICENOW_LOG  # (the module reads the real data: skipped without it)

FIRST_DAY, LAST_DAY = date(2016, 2, 29), date(2016, 5, 13)   # of the cases' open times


@pytest.fixture(scope="module")
def halves(servicenow_store: RealStore) -> tuple[str, str]:
    """The first and second half of the days the cases were opened in, as START..END."""
    conn = servicenow_store.reading()
    try:
        first, last = conn.execute(
            "SELECT min(opened_at), max(opened_at) FROM marts.case_kpis").fetchone()
    finally:
        conn.close()
    start = first.astimezone(UTC).date()
    end = last.astimezone(UTC).date() + timedelta(days=1)
    assert (start, end) == (FIRST_DAY, LAST_DAY + timedelta(days=1))
    middle = start + (end - start) / 2
    return f"{start}..{middle}", f"{middle}..{end}"


@pytest.fixture(scope="module")
def comparison(servicenow_store: RealStore, halves: tuple[str, str]) -> Comparison:
    return procmine.open(servicenow_store.db, servicenow_store.config).compare(*halves)


@pytest.fixture(scope="module")
def plain(servicenow_store: RealStore, halves: tuple[str, str]) -> dict[str, object]:
    """Per period (by the case's open time: its record's opened_at, or its first event when
    earlier) the cases, their SLA flags and the directly-follows pairs, in plain Python."""
    conn = servicenow_store.reading()
    try:
        opened = dict(conn.execute("SELECT case_id, opened_at FROM core.cases").fetchall())
        sla = dict(conn.execute("SELECT case_id, sla_met FROM core.cases").fetchall())
        events = conn.execute("SELECT case_id, activity, ts FROM core.events "
                              "ORDER BY case_id, ts, source_file, source_row, seq").fetchall()
    finally:
        conn.close()
    bounds = {}
    for name, text in zip(("before", "after"), halves, strict=True):
        start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in text.split(".."))
        bounds[name] = (start, end)
    traces: dict[str, list[tuple[str, datetime]]] = {}
    for case_id, activity, ts in events:
        traces.setdefault(case_id, []).append((activity, ts))
    period_of = {}
    for case_id, trace in traces.items():
        first = trace[0][1]
        open_time = min(opened[case_id], first) if opened.get(case_id) else first
        for name, (start, end) in bounds.items():
            if start <= open_time < end:
                period_of[case_id] = name
    pairs = {"before": Counter(), "after": Counter()}
    for case_id, trace in traces.items():
        if case_id in period_of:
            for (a, _), (b, _) in pairwise(trace):
                pairs[period_of[case_id]][(a, b)] += 1
    cases = Counter(period_of.values())
    sla_known = {name: [sla[c] for c, p in period_of.items() if p == name and sla.get(c) is not None]
                 for name in ("before", "after")}
    return {"pairs": pairs, "cases": cases, "sla": sla_known}


def _row(frame, item: str) -> dict:
    rows = frame.filter(frame["item"] == item).to_dicts()
    assert len(rows) == 1, item
    return rows[0]


def test_the_halves_hold_every_case_once(comparison: Comparison, plain: dict) -> None:
    assert (comparison.cases_before, comparison.cases_after) == (10_628, 10_141)
    assert plain["cases"] == {"before": 10_628, "after": 10_141}
    assert comparison.cases_before + comparison.cases_after == 20_769   # every case


def test_one_edge_count_and_its_difference_equal_a_plain_count(comparison: Comparison,
                                                               plain: dict) -> None:
    edge = _row(comparison.edges, "Assign → Reclassify")
    before, after = plain["pairs"]["before"], plain["pairs"]["after"]
    assert (before[("Assign", "Reclassify")], after[("Assign", "Reclassify")]) == (255, 14)
    assert (edge["before"], edge["after"], edge["difference"]) == (255, 14, -241)
    assert edge["n_before"] == sum(before.values()) and edge["n_after"] == sum(after.values())
    assert edge["test"] == "chi-square" and edge["p_value"] < 1e-30 and edge["effect"] < 0
    # every edge, not only that one
    got = {tuple(r["item"].split(" → ")): (r["before"], r["after"])
           for r in comparison.edges.iter_rows(named=True)}
    assert got == {pair: (float(before[pair]), float(after[pair]))
                   for pair in set(before) | set(after)}


def test_the_halves_add_up_to_the_transitions_mart(servicenow_store: RealStore,
                                                   comparison: Comparison) -> None:
    """The two halves cover every case: their edge counts add up to marts.transitions."""
    conn = servicenow_store.reading()
    try:
        mart = {(a, b): n for a, b, n in conn.execute(
            "SELECT from_activity, to_activity, count FROM marts.transitions").fetchall()}
    finally:
        conn.close()
    summed = {tuple(r["item"].split(" → ")): r["before"] + r["after"]
              for r in comparison.edges.iter_rows(named=True)}
    assert summed == mart


def test_a_kpi_equals_a_plain_computation(comparison: Comparison, plain: dict) -> None:
    sla = _row(comparison.kpis, "SLA rate")
    for name in ("before", "after"):
        flags = plain["sla"][name]
        assert sla[f"n_{name}"] == len(flags)
        assert sla[name] == pytest.approx(sum(flags) / len(flags), abs=1e-12)
    assert (round(sla["before"], 4), round(sla["after"], 4)) == (0.456, 0.7641)
    per_day = _row(comparison.kpis, "cases opened per day")
    assert per_day["before"] == pytest.approx(10_628 / 37)
    assert per_day["after"] == pytest.approx(10_141 / 38)
    assert per_day["test"] == "binomial"


def test_sections_are_sorted_by_effect(comparison: Comparison) -> None:
    for name, frame in comparison.sections.items():
        sizes = [abs(e) for e in frame["effect"].drop_nulls().to_list()]
        assert sizes == sorted(sizes, reverse=True), name
        assert frame.height > 0, name
    assert comparison.frame().height == sum(f.height for f in comparison.sections.values())
    significant = {name: (frame.height, frame.filter(frame["q_value"] < 0.05).height)
                   for name, frame in comparison.sections.items()}
    assert significant == {"kpis": (12, 12), "variants": (1326, 26), "edges": (76, 34),
                           "waits": (58, 26), "waste": (19, 9)}
    waste = comparison.waste
    assert set(waste["test"].unique().to_list()) <= {"chi-square", "fisher", ""}


def test_small_counts_get_fishers_exact_test() -> None:
    assert proportions(1, 10, 6, 10)[0] == "fisher"
    assert proportions(100, 1000, 160, 1000)[0] == "chi-square"
    test, _, p, h = proportions(0, 50, 0, 60)
    assert (test, p, h) == ("", 1.0, 0.0)
    assert math.isclose(proportions(25, 100, 50, 100)[3],
                        2 * math.asin(math.sqrt(0.5)) - 2 * math.asin(math.sqrt(0.25)))


def test_the_cli_prints_a_table_per_section(servicenow_store: RealStore,
                                            halves: tuple[str, str]) -> None:
    proc = run_cli("compare", "--before", halves[0], "--after", halves[1], "--db",
                   servicenow_store.db, "--limit", "3")
    text = proc.stdout
    assert "before 2016-02-29..2016-04-06: 10,628 cases opened; after 2016-04-06..2016-05-14: " \
           "10,141 cases opened" in text
    for title in ("KPIs: top 3 of 12", "variants (cases): top 3 of", "directly-follows "
                  "edges (transitions): top 3 of 76", "waits on the edges", "waste heat-map "
                  "cells"):
        assert title in text, title
    assert "Assign → Resolved" in text and "SLA rate" in text


@pytest.mark.parametrize(("before", "after", "message"), [
    ("2016-04-06..2016-02-29", "2016-04-06..2016-05-14",
     "error: --before: END 2016-02-29 is not after START 2016-04-06 (START..END, END "
     "exclusive)"),
    ("2016-02-29..2016-04-06", "2016-13-01..2016-14-01",
     "error: --after: '2016-13-01..2016-14-01' is not START..END with ISO dates (YYYY-MM-DD), "
     "e.g. 2016-03-01..2016-06-01"),
    ("2016-02-29", "2016-04-06..2016-05-14",
     "error: --before: '2016-02-29' is not START..END with ISO dates (YYYY-MM-DD), "
     "e.g. 2016-03-01..2016-06-01"),
    ("2016-02-29..2016-04-06", "2017-01-01..2017-02-01",
     "error: --after 2017-01-01..2017-02-01: no case was opened in this period; the 20,769 "
     "cases were opened from 2016-02-29 to 2016-05-13"),
    ("2016-02-29..2016-04-07", "2016-04-06..2016-05-14",
     "error: --before 2016-02-29..2016-04-07 and --after 2016-04-06..2016-05-14 overlap: a "
     "case would be in both; choose periods that do not overlap"),
])
def test_bad_periods_get_one_line_naming_the_flag(servicenow_store: RealStore, before: str,
                                                  after: str, message: str) -> None:
    proc = run_cli("compare", "--before", before, "--after", after, "--db",
                   servicenow_store.db, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == message


def test_the_api_takes_date_pairs_and_names_its_arguments(servicenow_store: RealStore) -> None:
    db = procmine.open(servicenow_store.db, servicenow_store.config)
    with pytest.raises(ProcmineError, match=r"^before: END 2016-03-01 is not after START"):
        db.compare(before=("2016-04-01", "2016-03-01"), after=("2016-04-01", "2016-05-01"))
    result = db.compare(before=(date(2016, 3, 1), date(2016, 3, 8)),
                        after=(date(2016, 4, 1), date(2016, 4, 8)))
    assert str(result.before) == "2016-03-01..2016-03-08"
    assert result.kpis["item"].to_list()[0] != ""


def test_a_stationary_sample_shows_no_significant_change(tmp_path_factory) -> None:
    """The demo generator's process does not change over time: no item of any section is
    significant (q < 0.05) between the halves of its open dates (measured: the smallest q
    is 0.11, for the median case duration), while the ServiceNow halves above have many."""
    from procmine.config import load_config
    from procmine.sample import generate_sample
    from tests.real_stores import _load

    folder = tmp_path_factory.mktemp("compare-sample")
    generate_sample(folder / "landing", cases=3000, seed=7)
    sample = _load(folder, load_config(), "servicenow", folder / "landing")
    result = procmine.open(sample.db, sample.config).compare(
        before=("2024-01-01", "2024-01-15"), after=("2024-01-15", "2024-01-29"))
    assert (result.cases_before, result.cases_after) == (1_556, 1_632)
    frame = result.frame()
    assert frame.height == 305
    assert frame["q_value"].drop_nulls().min() > 0.05
