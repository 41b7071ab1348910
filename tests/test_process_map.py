"""The process map page: its simplification rules, its data against the marts and core, and
the map as Chromium draws it (offline, sliders, performance view) on the demo store."""

from __future__ import annotations

import itertools
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from procmine import store
from procmine.render import bpmn, dfg, render_all
from procmine.render.pages.process_map import OVERALL, default_map, model_picture
from procmine.sample import generate_sample
from tests.test_dashboards import embedded_specs, isolated_config
from tests.test_dashboards_browser import (  # noqa: F401 (browser: a fixture)
    CHROMIUM,
    MARKS_JS,
    Visit,
    browser,
)

DATA_RE = re.compile(r'<script type="application/json" id="pm-data">(.*?)</script>', re.S)


# ---------------------------------------------------------------- the rules, by hand

def _toy() -> tuple[dict[int, int], list[dfg.Edge]]:
    """start → 0 → 1 → end (main path), 0 → 2 → 1 (a detour), 2 → 0 (a rare loop),
    1 → 3 → end (rare)."""
    S, E = dfg.START, dfg.END
    edges = [dfg.Edge(S, 0, 100), dfg.Edge(0, 1, 80), dfg.Edge(0, 2, 20), dfg.Edge(2, 1, 20),
             dfg.Edge(2, 0, 2), dfg.Edge(1, E, 95), dfg.Edge(1, 3, 5), dfg.Edge(3, E, 5)]
    events = {0: 100, 1: 100, 2: 20, 3: 5}
    return events, edges


def test_activity_slider_keeps_the_most_frequent_until_the_coverage() -> None:
    events, _ = _toy()
    assert dfg.kept_activities(events, 1.0) == [0, 1, 2, 3]
    assert dfg.kept_activities(events, 0.9) == [0, 1, 2]      # 220 of 225 events
    assert dfg.kept_activities(events, 0.8) == [0, 1]         # 200 ≥ 180
    assert dfg.kept_activities(events, 0.0) == [0]            # at least one


def test_paths_slider_keeps_the_share_and_the_widest_paths() -> None:
    events, edges = _toy()
    full = dfg.simplify(events, edges, 1.0, 1.0)
    assert len(full.edges) == 8 and full.node_count == 6
    # 0 %: only the widest path from the start to each activity and from each to the end
    # (the rare loop 2 → 0 is on none of them)
    bare = dfg.simplify(events, edges, 1.0, 0.0)
    assert {(e.source, e.target) for e in bare.edges} == {
        (dfg.START, 0), (0, 1), (1, dfg.END), (0, 2), (2, 1), (1, 3), (3, dfg.END)}
    # dropping activity 3 drops its paths; the rest stays connected start → end
    three = dfg.simplify(events, edges, 0.9, 0.0)
    assert {(e.source, e.target) for e in three.edges} == {
        (dfg.START, 0), (0, 1), (1, dfg.END), (0, 2), (2, 1)}
    assert len(dfg.simplify(events, edges, 0.9, 0.8).edges) == 5    # 5 of the 6 candidates
    assert len(dfg.simplify(events, edges, 0.9, 0.9).edges) == 6    # ceil(5.4): the loop too
    two = dfg.simplify(events, edges, 0.8, 0.0)
    assert {(e.source, e.target) for e in two.edges} == {(dfg.START, 0), (0, 1), (1, dfg.END)}


def test_widest_path_prefers_the_frequent_route() -> None:
    S, E = dfg.START, dfg.END
    # two routes to 2: via 0 (bottleneck 3) or via 1 (bottleneck 9)
    edges = [dfg.Edge(S, 0, 10), dfg.Edge(S, 1, 9), dfg.Edge(0, 2, 3), dfg.Edge(1, 2, 9),
             dfg.Edge(2, E, 12), dfg.Edge(0, E, 7)]
    simple = dfg.simplify({0: 10, 1: 9, 2: 12}, edges, 1.0, 0.0)
    assert {(e.source, e.target) for e in simple.edges} == {
        (S, 0), (S, 1), (1, 2), (2, E), (0, E)}


# ---------------------------------------------------------------- the demo store

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`make demo`'s data (2,000 incidents, seed 7) ingested, mined (with the discovered
    model, as `make demo`) and rendered once."""
    from procmine.load import ingest
    from procmine.mine import mine

    base = tmp_path_factory.mktemp("procmap-demo")
    landing, db, out = base / "landing", base / "procmine.duckdb", base / "dashboards"
    generate_sample(landing, 2000, 7)
    config = isolated_config(base)
    files = sorted((landing / "servicenow").glob("*.csv"))
    ingest(config, db, "servicenow", files)
    with store.writing(db) as conn:
        mine(conn, config, model_dir=out / "model")
    conn = store.reading(db)
    try:
        render_all(conn, config, out)
    finally:
        conn.close()
    return db, out


def test_the_reference_model_as_a_picture() -> None:
    from importlib import resources

    text = resources.files("procmine.reference").joinpath("d2c_reference.bpmn").read_text()
    model = bpmn.parse(text)
    kinds = [k for _, k, _ in model.nodes]
    assert (kinds.count("task"), kinds.count("xor"), len(model.flows)) == (10, 12, 33)
    chart = model_picture(model)
    assert len(chart.datasets["model_nodes"]) == 24
    assert len(chart.datasets["model_flows"]) == 3 * 33
    assert chart.spec()["title"]["text"] == "The discovered model: 10 tasks, 12 gateways"


def test_the_discovered_model_is_drawn_without_graphviz(demo: tuple[Path, Path]) -> None:
    _, out = demo
    model = bpmn.parse((out / "model" / "discovered_model.bpmn").read_text("utf-8"))
    specs = embedded_specs(out / "process_map.html")
    nodes = specs["process-map-model"]["datasets"]["model_nodes"]
    assert sorted(n["name"] for n in nodes if n["kind"] == "task") == sorted(
        name for _, kind, name in model.nodes if kind == "task")
    assert (out / "process-map-model.png").stat().st_size > 10_000


def _data(out: Path) -> dict:
    return json.loads(DATA_RE.search((out / "process_map.html").read_text("utf-8")).group(1))


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_page_and_its_png_are_written(demo: tuple[Path, Path]) -> None:
    _, out = demo
    assert (out / "process-map.png").stat().st_size > 10_000
    html = (out / "process_map.html").read_text("utf-8")
    assert 'href="process_map.html"' in (out / "index.html").read_text("utf-8")
    assert "dagre" in html and "http://" not in html.replace("http://www.w3.org", "")


def test_whole_log_equals_the_marts(demo: tuple[Path, Path]) -> None:
    db, out = demo
    data = _data(out)
    names = data["activities"]
    whole = data["cells"][OVERALL]
    embedded = {(names[e[0]], names[e[1]]): (e[2], e[4], e[5], e[6])
                for e in whole["e"] if e[0] >= 0 and e[1] >= 0}
    mart = {(f, t): (c, med, mean, total) for f, t, c, med, mean, total in _rows(
        db, "SELECT from_activity, to_activity, count, median_wait_s, mean_wait_s, total_wait_s "
            "FROM marts.transitions")}
    assert embedded == mart and len(mart) == 25
    starts = sum(e[2] for e in whole["e"] if e[0] == dfg.START)
    assert starts == _rows(db, "SELECT count(*) FROM marts.case_kpis")[0][0] == 2127


def _plain_slice(db: Path, where: str) -> dict[tuple[str | None, str | None], list[float]]:
    """Waits per directly-follows pair of the cases matching `where`, computed in Python
    from core.events in canonical order (start: from None, end: to None)."""
    rows = _rows(db, f"""
        SELECT e.case_id, e.activity, epoch(e.ts) FROM core.events e
        JOIN marts.case_kpis k USING (case_id) WHERE {where}
        ORDER BY e.case_id, e.ts, e.source_file, e.source_row, e.seq""")
    by_case: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for case, activity, ts in rows:
        by_case[case].append((activity, ts))
    waits: dict[tuple[str | None, str | None], list[float]] = defaultdict(list)
    for steps in by_case.values():
        waits[(None, steps[0][0])].append(0.0)
        for (a, t0), (b, t1) in itertools.pairwise(steps):
            waits[(a, b)].append(t1 - t0)
        waits[(steps[-1][0], None)].append(0.0)
    return waits


def test_a_filtered_slice_equals_a_plain_computation(demo: tuple[Path, Path]) -> None:
    db, out = demo
    data = _data(out)
    names = data["activities"]
    priority = data["dims"]["priority"].index("2 - High")
    cell = data["cells"][f"-1.{priority}.-1.-1"]
    expected = _plain_slice(db, "k.priority = '2 - High'")
    got = {(None if e[0] < 0 else names[e[0]], None if e[1] < 0 else names[e[1]]): e
           for e in cell["e"]}
    assert set(got) == set(expected)
    for pair, waits in expected.items():
        edge = got[pair]
        assert edge[2] == len(waits), pair
        if pair[0] is not None and pair[1] is not None:
            assert edge[4] == pytest.approx(statistics.median(waits)), pair
            assert edge[6] == pytest.approx(sum(waits), abs=0.1), pair
    assert sum(e[2] for e in cell["e"] if e[0] == dfg.START) == 162


def test_slices_add_up_to_the_whole_log(demo: tuple[Path, Path]) -> None:
    """Every case type's slice summed gives marts.transitions' counts (the slices come from
    core.events, the whole log from the marts)."""
    _, out = demo
    data = _data(out)
    whole = {(e[0], e[1]): e[2] for e in data["cells"][OVERALL]["e"]}
    summed: dict[tuple[int, int], int] = defaultdict(int)
    for i in range(len(data["dims"]["case_type"])):
        for e in data["cells"][f"{i}.-1.-1.-1"]["e"]:
            summed[(e[0], e[1])] += e[2]
    assert dict(summed) == whole


def test_deviations_are_the_waste_marts_evidence(demo: tuple[Path, Path]) -> None:
    db, out = demo
    data = _data(out)
    names = data["activities"]
    devs = {(names[d[0]], names[d[1]]): d[2] for d in data["cells"][OVERALL]["d"]}
    assert devs == {("Resolved", "Active"): 106, ("Active", "Resolved"): 3}
    total = _rows(db, "SELECT count(*) FROM marts.waste WHERE waste_type = 'deviation'")[0][0]
    assert sum(devs.values()) == total


# ---------------------------------------------------------------- in Chromium

SLIDERS = [  # (activities %, paths %) -> nodes, edges drawn on the demo store
    ((100, 100), (13, 28)), ((100, 80), (13, 25)), ((100, 60), (13, 22)),
    ((100, 30), (13, 18)), ((100, 0), (13, 18)), ((90, 70), (9, 11)), ((80, 90), (8, 10)),
    ((80, 50), (8, 8)), ((50, 30), (6, 5)), ((0, 0), (3, 0)),
]


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_map_draws_offline_and_the_sliders_simplify_it(demo: tuple[Path, Path],
                                                       browser: object) -> None:  # noqa: F811
    db, out = demo
    data = _data(out)
    whole = data["cells"][OVERALL]
    events = {n[0]: n[1] for n in whole["n"]}
    edges = [dfg.Edge(e[0], e[1], e[2]) for e in whole["e"]]
    visit = Visit(browser, (out / "process_map.html").as_uri())
    try:
        page = visit.page
        page.wait_for_function("document.body.getAttribute('data-map') === 'ready'")
        assert visit.errors == [] and visit.foreign_requests(None) == []
        charts = page.evaluate(MARKS_JS)   # the map's picture and the discovered model's
        assert sorted(c["spec"] for c in charts) == ["spec-process-map", "spec-process-map-model"]
        assert all(c["rendered"] == "1" and c["marks"] > 0 for c in charts), charts
        hover = page.locator("#pm-svg g.pm-edge title").first.text_content()
        assert "times" in hover and "median wait" in hover
        default, _ = default_map(data)
        assert (page.get_attribute("#pm-svg", "data-nodes"),
                page.get_attribute("#pm-svg", "data-edges")) == (
            str(default.node_count), str(len(default.edges)))
        for (activities, paths), (nodes, arrows) in SLIDERS:
            page.fill("#pm-activities", str(activities))
            page.fill("#pm-paths", str(paths))
            drawn = page.evaluate("() => [document.querySelectorAll('#pm-svg g.pm-node').length,"
                                  " document.querySelectorAll('#pm-svg g.pm-edge').length]")
            reference = dfg.simplify(events, edges, activities / 100, paths / 100)
            assert drawn == [nodes, arrows] == [reference.node_count, len(reference.edges)], (
                activities, paths)
        # the performance view: every drawn path's median is marts.transitions' median
        page.fill("#pm-activities", "100")
        page.fill("#pm-paths", "100")
        page.select_option("#pm-measure", "median")
        shown = page.evaluate(
            "() => Array.from(document.querySelectorAll('#pm-svg g.pm-edge')).map(g => "
            "[g.dataset.from, g.dataset.to, g.dataset.medianS, g.querySelector('text')"
            ".textContent])")
        medians = {(f, t): m for f, t, m in _rows(
            db, "SELECT from_activity, to_activity, median_wait_s FROM marts.transitions")}
        inner = [s for s in shown if (s[0], s[1]) in medians]
        assert len(inner) == len(medians) == 25
        for source, target, median, _ in inner:
            assert float(median) == medians[(source, target)], (source, target)
        label = {(s[0], s[1]): s[3] for s in shown}
        assert label[("Resolved", "Closed")].startswith("5.0 d")
        # the deviation overlay marks the paths outside the reference model
        assert page.locator("#pm-svg g.pm-edge.pm-deviation").count() == 2
        page.uncheck("#pm-deviations")
        assert page.locator("#pm-svg g.pm-edge.pm-deviation").count() == 0
        # a filter redraws the map from its slice
        priority = data["dims"]["priority"].index("1 - Critical")
        page.select_option("#pm-filter-priority", str(priority))
        assert page.inner_text("#pm-summary").startswith("37 cases")
        page.select_option("#pm-filter-priority", "-1")
        page.select_option("#pm-filter-case_type", str(data["dims"]["case_type"].index("change")))
        assert page.inner_text("#pm-summary").startswith("72 cases")
        page.locator("#pm-svg g.pm-edge").first.click()
        assert "times" in page.inner_text("#pm-details")
        assert visit.errors == []
    finally:
        visit.page.close()


def test_slices_beyond_the_budget_allow_fewer_filters(demo: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.render.marts import MartReader
    from procmine.render.pages import process_map

    db, _ = demo
    params = {"max_categories": 8, "max_periods": 12, "grain": "week", "median_filters": 4,
              "all_cases": True}
    conn = store.reading(db)
    try:
        with MartReader(conn) as reader:
            overall = reader.query("process_map_overall")
            cells = reader.query_columns("process_map_cells", params)
            deviations = reader.query("process_map_deviations", params)
    finally:
        conn.close()
    full = process_map.map_data(overall, cells, deviations, "week")
    assert full["max_filters"] == 4
    monkeypatch.setattr(process_map, "MAX_CELL_ROWS", 3000)
    small = process_map.map_data(overall, cells, deviations, "week")
    kept = {key.count("-1") for key in small["cells"]}
    assert small["max_filters"] < 4 and min(kept) == 4 - small["max_filters"]
    rows = sum(len(c["n"]) + len(c["e"]) for k, c in small["cells"].items() if k != OVERALL)
    assert rows <= 3000
    for key, cell in small["cells"].items():   # what is kept is kept whole
        assert cell == full["cells"][key]


def test_an_unsliced_map_reads_the_same_deviations_without_the_slices(
        demo: tuple[Path, Path]) -> None:
    """Beyond MAX_SLICED_EVENTS the page embeds the whole log only: the short query's rows,
    over the slices of the deviating cases only, give it the same data (whole-log deviations
    and the filters' values) as the CUBE's over every case's slice."""
    from procmine.render.marts import MartReader
    from procmine.render.pages import process_map

    db, _ = demo
    params = {"max_categories": 8, "max_periods": 12, "grain": "week", "median_filters": 0}
    conn = store.reading(db)
    try:
        with MartReader(conn) as reader:
            overall = reader.query("process_map_overall")
            every_slice = reader.query("process_map_deviations", {**params, "all_cases": True})
            every_case = reader.conn.execute("SELECT count(*) FROM pm_render_map_slices")
            every_case = every_case.fetchall()[0][0]
            # (the slices of the cases with a deviation only)
            whole = reader.query("process_map_deviations_whole", {**params, "all_cases": False})
            deviating = reader.conn.execute("SELECT count(*) FROM pm_render_map_slices")
            deviating = deviating.fetchall()[0][0]
    finally:
        conn.close()
    expected = process_map.map_data(overall, {}, every_slice, "week")
    got = process_map.map_data(overall, {}, whole, "week")
    assert got == expected
    assert expected["cells"][OVERALL]["d"] and len(expected["dims"]["priority"]) > 1
    assert len(whole) < len(every_slice)
    assert 0 < deviating < every_case


def _cube_of_instances(instances: list[tuple[tuple[str, ...], str, str | None, str, float]]
                       ) -> dict[tuple[Any, ...], tuple[int, int, float]]:
    """(case_type, priority, sourcing, period or None = all, from, to) -> (instances, cases,
    hours) over every combination of the four filters, counted in Python."""
    counts: dict[tuple[Any, ...], list[Any]] = {}
    for values, case_id, source, target, hours in instances:
        for kept in itertools.product((False, True), repeat=len(values)):
            key = (*(v if k else None for v, k in zip(values, kept, strict=True)),
                   source, target)
            slot = counts.setdefault(key, [0, set(), 0.0])
            slot[0] += 1
            slot[1].add(case_id)
            slot[2] += hours
    return {key: (n, len(cases), hours) for key, (n, cases, hours) in counts.items()}


def test_the_deviations_per_slice_are_the_waste_marts_instances(
        demo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both deviation queries (per slice, and the whole log's of an unsliced map) against the
    deviation instances of marts.waste parsed and counted here, over each case's slice; their
    shared rows (pm_render_map_deviations) are written once per set of parameters, again when
    the slices they read change, and never read stale."""
    from procmine.render import marts
    from procmine.render.marts import MartReader

    db, _ = demo
    params = {"max_categories": 8, "max_periods": 12, "grain": "week", "median_filters": 0,
              "all_cases": True}
    written: list[str] = []
    materialise = marts.materialise

    def counted(conn: Any, model: str, table: str, *args: Any, **kwargs: Any) -> None:
        written.append(table)
        materialise(conn, model, table, *args, **kwargs)

    monkeypatch.setattr(marts, "materialise", counted)
    conn = store.reading(db)
    try:
        with MartReader(conn) as reader:
            per_slice = reader.query("process_map_deviations", params)
            whole = reader.query("process_map_deviations_whole", params)
            assert written == [marts.MAP_SLICES, marts.MAP_DEVIATIONS]   # once for both
            slices = {row[0]: row[1:] for row in reader.conn.execute(
                "SELECT case_id, case_type, priority, sourcing, period "
                "FROM pm_render_map_slices").fetchall()}
            # other slices (a month's periods), then the first ones again: rewritten each time
            by_month = reader.query("process_map_deviations", {**params, "grain": "month"})
            again = reader.query("process_map_deviations", params)
            assert written == [marts.MAP_SLICES, marts.MAP_DEVIATIONS] * 3
            assert again == per_slice and by_month != per_slice
            # a map too big to slice reads the deviating cases' slices only: same whole log
            unsliced = reader.query("process_map_deviations_whole",
                                    {**params, "all_cases": False})
            assert unsliced == whole
    finally:
        conn.close()
    waste = _rows(db, "SELECT case_id, evidence, hours FROM marts.waste "
                      "WHERE waste_type = 'deviation'")
    instances = []
    for case_id, evidence, hours in waste:
        target, _, source = evidence.removesuffix(" is not in the reference model"
                                                  ).rpartition(" after ")
        instances.append((slices[case_id], case_id, None if source == "the start" else source,
                          target, hours))
    expected = _cube_of_instances(instances)
    assert len(instances) > 100 and len(expected) > 100

    def got(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[int, int, float]]:
        return {(r["case_type"], r["priority"], r["sourcing"], r["period"],
                 r["from_activity"], r["to_activity"]): (r["instances"], r["cases"], r["hours"])
                for r in rows if r["instances"] is not None}

    def same(rows: list[dict[str, Any]],
             counted: dict[tuple[Any, ...], tuple[int, int, float]]) -> None:
        found = got(rows)
        assert found.keys() == counted.keys()
        for key, (n, cases, hours) in found.items():
            assert (n, cases) == counted[key][:2], key
            assert hours == pytest.approx(counted[key][2], abs=1e-3), key

    same(per_slice, expected)
    assert len(per_slice) == len(expected)
    same(whole, {k: v for k, v in expected.items() if k[:4] == (None,) * 4})
    named = {(r["case_type"], r["priority"], r["sourcing"], r["period"])
             for r in whole if r["instances"] is None}
    deviating = {case_id for _, case_id, *_ in instances}
    assert named == {(*(None,) * i, value, *(None,) * (3 - i))
                     for case_id in deviating for i, value in enumerate(slices[case_id])}


def test_a_log_too_big_to_slice_embeds_the_whole_log_with_its_deviations(
        demo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The page beyond MAX_SLICED_EVENTS (4M events, here lowered under the demo's): no
    slices, the whole log's map and deviations the same as the sliced page's, and as filter
    values (disabled) those of the deviating cases."""
    from procmine.render.marts import MartReader
    from procmine.render.page import Context, Html
    from procmine.render.pages import process_map
    from procmine.render.scope import load_scope

    def embedded() -> dict[str, Any]:
        conn = store.reading(db)
        try:
            with MartReader(conn) as reader:
                page = process_map.build(reader, load_scope(reader), Context())
        finally:
            conn.close()
        block = next(b.html for b in page.blocks if isinstance(b, Html) and "pm-data" in b.html)
        return json.loads(DATA_RE.search(block).group(1))

    db, _ = demo
    sliced = embedded()
    monkeypatch.setattr(process_map, "MAX_SLICED_EVENTS", 1000)
    whole = embedded()
    assert sliced["sliced"] and not whole["sliced"]
    assert len(sliced["cells"]) > 1 and list(whole["cells"]) == [OVERALL]
    assert whole["cells"][OVERALL] == sliced["cells"][OVERALL]
    assert len(whole["cells"][OVERALL]["d"]) == 2
    for name, values in whole["dims"].items():   # (the deviating cases' values: disabled)
        assert values and set(values) <= set(sliced["dims"][name]), name
