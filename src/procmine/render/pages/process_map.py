"""Process map: activities and their directly-follows paths, Disco-style, with sliders.

The map is drawn in the browser by dagre (MIT, render/assets/, inlined: no network, no
system binary) from the embedded per-slice aggregates: the whole log from the marts
(marts.transitions, marts.activities, marts.variants), every filter combination from
the mining index in core (sql/reports/process_map_cells.sql), deviations from marts.waste. A static
picture of the default map (a layered layout computed here, render.dfg) is an ordinary
chart, so it gets its PNG like every other chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from operator import itemgetter
from typing import Any

import altair as alt

from procmine.render import bpmn, dfg, fmt
from procmine.render.html import esc, json_for_script, note
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, conditional_value, named
from procmine.render.scope import MAX_CATEGORIES, Scope

MAX_ACTIVITIES = 60        # activities on the map (the most frequent); the rest are left out
MAX_PERIODS = 12           # latest periods as filter values (older cases: 'earlier')
MAX_CELL_ROWS = 60_000     # embedded slice rows (~2.5 MB); beyond, fewer filters combined
# Slices cost a pass over the events (~1 s per million on the test machine) and a median
# one grouping of the events per filter combination: bounded so big logs' renders stay quick.
MAX_SLICED_EVENTS = 4_000_000    # larger logs: the whole log only (no filters)
MEDIAN_BUDGET = 4_000_000        # events × filter combinations given medians
COMBINATIONS = {0: 0, 1: 4, 2: 10, 3: 14, 4: 15}   # of the four filters, up to k at a time
DEFAULT_ACTIVITIES = 100   # slider positions (percent) of the page and of the static picture
DEFAULT_PATHS = 30
MAP_WIDTH = 960           # the static picture, beside its colour legend, within a card
DIMENSIONS = (("case_type", "Record type"), ("priority", "Priority"),
              ("sourcing", "Sourcing"), ("period", "Period"))
ALL = -1
OVERALL = ".".join(["-1"] * len(DIMENSIONS))
CELL_FIELDS = ("kind", "from_activity", "to_activity", "count", "cases", "median_wait_s",
               "mean_wait_s", "total_wait_s")   # what map_data reads of a row of the map
MEASURES = (("Frequency", (("cases", "Case frequency"), ("count", "Absolute frequency"))),
            ("Performance", (("median", "Median wait"), ("mean", "Mean wait"),
                             ("total", "Total wait"))))


@cache
def asset(name: str) -> str:
    """A vendored script (render/assets/), ready to inline."""
    text = resources.files("procmine.render").joinpath("assets", name).read_text("utf-8")
    return text.replace("</script", "<\\/script")


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("process_map", "Process map", "How tickets flow from step to step")
    page.lede = ("Every activity and every directly-follows path between them, from the start "
                 "of a ticket to its end. Slide to the main path or to every detail, switch "
                 "between how often and how long, filter, and see where tickets leave the "
                 "reference model (red, dashed).")
    overall = reader.query("process_map_overall")
    if not overall:
        page.blocks.append(note("No process map yet (marts.transitions and marts.activities "
                                "are empty)."))
        page.summary = "No process map yet."
        return page
    events = sum(r["count"] for r in overall if r["kind"] == "node")
    median_filters = max(k for k, n in COMBINATIONS.items() if events * n <= MEDIAN_BUDGET)
    sliced = events <= MAX_SLICED_EVENTS
    params = {"max_categories": MAX_CATEGORIES, "max_periods": MAX_PERIODS,
              "grain": scope.grain, "median_filters": median_filters, "all_cases": sliced}
    cells = reader.query_columns("process_map_cells", params) if sliced else {}
    # unsliced: the whole log's deviations and the filters' values only (the same page)
    deviations = reader.query("process_map_deviations" if sliced
                              else "process_map_deviations_whole", params)
    data = map_data(overall, cells, deviations, scope.grain)
    data["median_filters"] = median_filters
    data["sliced"] = sliced
    whole = data["cells"][OVERALL]
    cases = sum(e[2] for e in whole["e"] if e[0] == dfg.START)
    busiest = max((e for e in whole["e"] if e[0] >= 0 and e[1] >= 0),
                  key=lambda e: (e[2], -e[0], -e[1]), default=None)
    if busiest:
        page.heading = (f"{fmt.number(cases)} cases through {len(whole['n'])} activities; "
                        f"the busiest path is {data['activities'][busiest[0]]} → "
                        f"{data['activities'][busiest[1]]} ({fmt.number(busiest[2])} times)")
    page.summary = page.heading
    page.blocks.append(Html(_controls(data) + _scripts(data)))
    page.blocks.append(static_map(data))
    if ctx.model_bpmn:
        model = bpmn.parse(ctx.model_bpmn)
        if model.nodes:
            page.blocks.append(model_picture(model))
    return page


def _dimension_values(values: Iterable[Any], name: str, grain: str) -> list[str]:
    found = {v for v in values if v is not None}
    if name != "period":
        return sorted(found, key=lambda v: (v in ("other", "(none)"), v))
    return sorted(found, key=lambda v: (v != "earlier", v == "(none)", v))


def period_label(value: str, grain: str) -> str:
    return value[:7] if grain == "month" and value[:1].isdigit() else value


def map_data(overall: list[dict[str, Any]], cells: dict[str, list[Any]],
             deviations: list[dict[str, Any]], grain: str) -> dict[str, Any]:
    """The embedded data: activity names, filter values, and per slice ("i.j.k.l", value
    indices, -1 = all) its nodes [activity, events, cases], edges [from, to, count, cases,
    median, mean, total wait (s)] (from -1: start, to -2: end) and deviations [from, to,
    instances, cases, hours]. `cells`: the slices' rows as columns (MartReader.query_columns;
    empty: none)."""
    events = {r["from_activity"]: r["count"] for r in overall if r["kind"] == "node"}
    names = sorted(events, key=lambda a: (-events[a], a))[:MAX_ACTIVITIES]
    index = {name: i for i, name in enumerate(names)}
    dims = {name: _dimension_values([*cells.get(name, ()), *(r.get(name) for r in deviations)],
                                    name, grain)
            for name, _ in DIMENSIONS}
    positions = {name: {v: i for i, v in enumerate(values)} for name, values in dims.items()}

    def key(row: dict[str, Any]) -> str:
        return ".".join(str(ALL if row.get(n) is None else positions[n][row[n]])
                        for n, _ in DIMENSIONS)

    def edge(source_name: str | None, target_name: str | None) -> list[Any] | None:
        source = dfg.START if source_name is None else index.get(source_name)
        target = dfg.END if target_name is None else index.get(target_name)
        return None if source is None or target is None else [source, target]

    out: dict[str, dict[str, list[list[Any]]]] = {}

    def add(cell: str, row: tuple[Any, ...], exact: bool) -> None:
        kind, source, target, count, cases, *waits = row   # CELL_FIELDS
        slot = out.setdefault(cell, {"n": [], "e": [], "d": []})
        if kind == "node":
            if source in index:
                slot["n"].append([index[source], count, cases])
            return
        pair = edge(source, target)
        if pair is None:
            return
        if not exact:
            waits = [None if w is None else round(w, 1) for w in waits]
        slot["e"].append([*pair, count, cases, *waits])

    fields = itemgetter(*CELL_FIELDS)
    for row in overall:
        add(OVERALL, fields(row), exact=True)
    if cells:
        rows = zip(*(cells[f] for f in CELL_FIELDS), strict=True)
        for cell, row in zip(_slice_keys(cells, positions), rows, strict=True):
            add(cell, row, exact=False)
    max_filters = len(DIMENSIONS)
    while max_filters and sum(len(c["n"]) + len(c["e"]) for c in out.values()) > MAX_CELL_ROWS:
        max_filters -= 1
        out = {k: c for k, c in out.items() if k.count("-1") >= len(DIMENSIONS) - max_filters}
    for row in deviations:
        pair, cell = edge(row["from_activity"], row["to_activity"]), key(row)
        if pair is not None and cell in out:
            out[cell]["d"].append([*pair, row["instances"], row["cases"], row["hours"]])
    dims["period"] = [period_label(v, grain) for v in dims["period"]]
    return {"activities": names, "dims": dims, "cells": out, "max_filters": max_filters,
            "left_out": max(0, len(events) - len(names))}


def _slice_keys(cells: dict[str, list[Any]], positions: dict[str, dict[Any, int]]) -> list[str]:
    """Each row's slice ("i.j.k.l"), labelled a column at a time."""
    labels = [{None: str(ALL)} | {v: str(i) for v, i in positions[name].items()}
              for name, _ in DIMENSIONS]
    parts = [[label[v] for v in cells[name]] for label, (name, _) in zip(labels, DIMENSIONS,
                                                                         strict=True)]
    return list(map(".".join, zip(*parts, strict=True)))


def _controls(data: dict[str, Any]) -> str:
    options = "".join(
        f'<optgroup label="{esc(group)}">'
        + "".join(f'<option value="{esc(v)}">{esc(label)}</option>' for v, label in items)
        + "</optgroup>" for group, items in MEASURES)
    filters = "".join(
        f'<label>{esc(label)} <select id="pm-filter-{name}"><option value="-1">All</option>'
        + "".join(f'<option value="{i}">{esc(v)}</option>'
                  for i, v in enumerate(data["dims"][name])) + "</select></label>"
        for name, label in DIMENSIONS)
    left_out = (f" The {data['left_out']} least frequent activities are left out of this page."
                if data["left_out"] else "")
    return (
        '<section class="card" id="process-map"><style>'
        ".pm-controls{display:flex;flex-wrap:wrap;gap:8px 20px;font-size:13px;align-items:center}"
        ".pm-controls input[type=range]{width:140px;vertical-align:middle}"
        "#pm-svg{width:100%;display:block;margin-top:10px}"
        ".pm-edge,.pm-node{cursor:pointer}"
        "#pm-details{font-size:13px;min-height:1.4em;color:#243b53}</style>"
        '<div class="pm-controls">'
        f'<label>Show <select id="pm-measure">{options}</select></label>'
        f'<label>Activities <input type="range" id="pm-activities" min="0" max="100" '
        f'value="{DEFAULT_ACTIVITIES}"> <span id="pm-activities-value"></span></label>'
        f'<label>Paths <input type="range" id="pm-paths" min="0" max="100" '
        f'value="{DEFAULT_PATHS}"> <span id="pm-paths-value"></span></label>'
        '<label><input type="checkbox" id="pm-deviations" checked> Deviations from the '
        "reference model</label></div>"
        f'<div class="pm-controls" style="margin-top:6px">{filters}</div>'
        '<p class="caption" id="pm-summary"></p>'
        '<svg id="pm-svg" xmlns="http://www.w3.org/2000/svg" role="img" '
        'aria-label="Process map"></svg>'
        '<p id="pm-details">Click a step or a path for its numbers.</p>'
        '<p class="caption">Activities: the most frequent until they hold the chosen share of '
        "events. Paths: the chosen share of the most frequent paths between them, plus the "
        "widest path from the start to every activity and on to the end, so the map stays "
        "connected. Whole log from marts.transitions, marts.activities and marts.variants; "
        "filtered slices from the mining index (core.event_codes); deviations from marts.waste "
        "(deviation evidence)."
        f"{esc(left_out)} Layout by dagre (MIT).</p></section>")


def _scripts(data: dict[str, Any]) -> str:
    return (f'<script type="application/json" id="pm-data">{json_for_script(data)}</script>'
            f"<script>{asset('dagre.min.js')}</script>"
            f"<script>{asset('process_map.js')}</script>")


def default_map(data: dict[str, Any]) -> tuple[dfg.Simplified, dict[str, Any]]:
    """The whole log's map at the page's default slider positions."""
    whole = data["cells"][OVERALL]
    events = {n[0]: n[1] for n in whole["n"]}
    edges = [dfg.Edge(e[0], e[1], e[2]) for e in whole["e"]]
    return dfg.simplify(events, edges, DEFAULT_ACTIVITIES / 100, DEFAULT_PATHS / 100), whole


def static_map(data: dict[str, Any]) -> Chart:
    """The default map as a chart (case frequency), laid out in layers: the picture for
    slides."""
    simple, whole = default_map(data)
    placed = dfg.layered_layout(simple.activities, simple.edges)
    stats = {n[0]: n for n in whole["n"]}
    cases = {(e[0], e[1]): e[3] for e in whole["e"]}
    names = data["activities"]

    def label(i: int) -> str:   # plain text: the PNG's font (Liberation Sans) has no ▶ ■
        return "Start" if i == dfg.START else "End" if i == dfg.END else names[i]

    def short(i: int) -> str:   # fits a box on the picture
        text = label(i)
        return text if len(text) <= 22 else text[:21] + "…"

    nodes = [{"id": n, "name": label(n), "x": placed.x[n], "y": placed.y[n],
              "x0": placed.x[n] - 78, "x1": placed.x[n] + 78,
              "y0": placed.y[n] - 19, "y1": placed.y[n] + 19,
              "cases": stats[n][2] if n in stats else None,
              "events": stats[n][1] if n in stats else None,
              "text": short(n) if n not in stats else f"{short(n)}\n{fmt.number(stats[n][2])}"}
             for n in [dfg.START, *simple.activities, dfg.END]]
    lines, marks = [], []
    for k, edge in enumerate(simple.edges):
        x0, y0 = placed.x[edge.source], placed.y[edge.source]
        x1, y1 = placed.x[edge.target], placed.y[edge.target]
        # paths upwards bow to the right, paths over more than one layer to the left
        bend = 90.0 if y1 <= y0 else -120.0 if y1 - y0 > 100 else 0.0
        if edge.source == edge.target:
            bend = 60.0
            y0, y1 = y0 - 12, y0 + 12
        mid_x, mid_y = (x0 + x1) / 2 + bend, (y0 + y1) / 2
        value = cases.get((edge.source, edge.target), edge.count)
        for order, (x, y) in enumerate([(x0, y0 + 14), (mid_x, mid_y), (x1, y1 - 16)]):
            lines.append({"edge": k, "order": order, "x": x, "y": y, "cases": value,
                          "path": f"{label(edge.source)} → {label(edge.target)}"})
        marks.append({"edge": k, "x": mid_x, "y": mid_y, "cases": value,
                      "text": fmt.number(value),
                      "path": f"{label(edge.source)} → {label(edge.target)}",
                      "tip_x": x1, "tip_y": y1 - 20})
    scale_x = alt.X("x:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None)
    scale_y = alt.Y("y:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None)
    colour = alt.Color("cases:Q", title="Cases", scale=alt.Scale(scheme="blues", type="sqrt"))
    edge_layer = alt.Chart(named("map_edges")).mark_line(interpolate="basis").encode(
        x=scale_x, y=scale_y, detail=alt.Detail("edge:N"), order=alt.Order("order:Q"), color=colour,
        strokeWidth=alt.StrokeWidth("cases:Q", scale=alt.Scale(range=[1, 8], type="sqrt"),
                                    legend=None),
        tooltip=[alt.Tooltip("path:N", title="Path"),
                 alt.Tooltip("cases:Q", title="Cases", format=",.0f")])
    tips = alt.Chart(named("map_labels")).mark_point(shape="triangle-down", filled=True,
                                                       size=60, color="#52606d").encode(
        x=alt.X("tip_x:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None),
        y=alt.Y("tip_y:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None))
    edge_text = alt.Chart(named("map_labels")).mark_text(
        fontSize=10, color="#334e68", stroke="#ffffff", strokeWidth=3, strokeOpacity=0.8
    ).encode(x=scale_x, y=scale_y, text=alt.Text("text:N"))
    edge_text_top = alt.Chart(named("map_labels")).mark_text(
        fontSize=10, color="#334e68").encode(x=scale_x, y=scale_y, text=alt.Text("text:N"))
    boxes = alt.Chart(named("map_nodes")).transform_filter("datum.cases").mark_rect(
        cornerRadius=6, stroke="#486581", opacity=1).encode(
        x=alt.X("x0:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None), y2=alt.Y2("y1:Q"),
        color=alt.Color("cases:Q", scale=alt.Scale(scheme="blues", type="sqrt"), legend=None),
        tooltip=[alt.Tooltip("name:N", title="Activity"),
                 alt.Tooltip("events:Q", title="Events", format=",.0f"),
                 alt.Tooltip("cases:Q", title="Cases", format=",.0f")])
    most = max((n["cases"] or 0 for n in nodes), default=1) or 1
    for node in nodes:
        node["dark"] = not node["cases"] or (node["cases"] / most) ** 0.5 > 0.6
        if not node["cases"]:   # start and end: small dark pills
            node["x0"], node["x1"] = node["x"] - 34, node["x"] + 34
            node["y0"], node["y1"] = node["y"] - 13, node["y"] + 13
    terminals = alt.Chart(named("map_nodes")).transform_filter("!datum.cases").mark_rect(
        cornerRadius=13, color="#243b53").encode(
        x=alt.X("x0:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None), y2=alt.Y2("y1:Q"))
    node_text = alt.Chart(named("map_nodes")).mark_text(
        fontSize=10, fontWeight=600, lineBreak="\n",
        dy=alt.ExprRef("datum.cases ? -6 : 0")).encode(
        x=scale_x, y=scale_y, text=alt.Text("text:N"),
        color=conditional_value(alt.ColorValue, "datum.dark", "#ffffff", "#102a43"))
    total = sum(e[2] for e in whole["e"] if e[0] == dfg.START)
    chart = alt.layer(edge_layer, tips, edge_text, edge_text_top, boxes, terminals,
                      node_text).properties(
        width=int(min(MAP_WIDTH, placed.width)), height=int(placed.height),
        title=alt.Title(
            f"The process map: {fmt.number(total)} cases, {len(simple.activities)} activities, "
            f"{len(simple.edges)} paths",
            subtitle=f"Whole log, case frequency; activities {DEFAULT_ACTIVITIES}%, paths "
                     f"{DEFAULT_PATHS}% (the map above at its default positions)"))
    return Chart("process-map", chart, {"map_edges": lines, "map_nodes": nodes,
                                        "map_labels": marks},
                 caption="The map above as a picture for slides (a layered layout)")


GATEWAY_LABELS = {"xor": "×", "and": "+", "or": "O"}
ELEMENT_COLOURS = {"start": "#2f9e44", "task": "#deebf7", "xor": "#ffe8a3", "and": "#ffd43b",
                   "or": "#fab005", "end": "#c92a2a"}


def model_picture(model: bpmn.Model) -> Chart:
    """The discovered model (BPMN: tasks, gateways, start and end), laid out in layers like
    the map: its picture without graphviz."""
    ids = [n[0] for n in model.nodes]
    kinds = {n[0]: n[1] for n in model.nodes}
    index = {}
    for node_id in ids:
        kind = kinds[node_id]
        index[node_id] = (dfg.START if kind == "start" and dfg.START not in index.values()
                          else dfg.END if kind == "end" and dfg.END not in index.values()
                          else len([v for v in index.values() if v >= 0]))
    inner = sorted(v for v in index.values() if v >= 0)
    edges = sorted({dfg.Edge(index[a], index[b], 1) for a, b in model.flows
                    if a in index and b in index}, key=lambda e: (e.source, e.target))
    placed = dfg.layered_layout(inner, edges, node_width=150, layer_height=70)
    names = {index[n[0]]: n for n in model.nodes}
    nodes = []
    for key, (_, kind, name) in names.items():
        task = kind == "task"
        half = 70 if task else 14
        nodes.append({"x": placed.x[key], "y": placed.y[key], "kind": kind,
                      "x0": placed.x[key] - half, "x1": placed.x[key] + half,
                      "y0": placed.y[key] - (17 if task else 14),
                      "y1": placed.y[key] + (17 if task else 14),
                      "text": (name if len(name) <= 22 else name[:21] + "…") if task
                      else GATEWAY_LABELS.get(kind, ""), "name": name or kind})
    lines = []
    for k, edge in enumerate(edges):
        x0, y0 = placed.x[edge.source], placed.y[edge.source]
        x1, y1 = placed.x[edge.target], placed.y[edge.target]
        bend = 70.0 if y1 <= y0 else -90.0 if y1 - y0 > 90 else 0.0
        tip = 22 if names[edge.target][1] == "task" else 19
        for order, (x, y) in enumerate([(x0, y0), ((x0 + x1) / 2 + bend, (y0 + y1) / 2),
                                        (x1, y1 - tip)]):
            lines.append({"edge": k, "order": order, "x": x, "y": y})
    width = int(min(MAP_WIDTH, placed.width))
    x = alt.X("x:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None)
    flows = alt.Chart(named("model_flows")).mark_line(
        interpolate="basis", color="#829ab1", strokeWidth=1.5).encode(
        x=x, y=y, detail=alt.Detail("edge:N"), order=alt.Order("order:Q"))
    heads = alt.Chart(named("model_flows")).transform_filter("datum.order == 2").mark_point(
        shape="triangle-down", filled=True, size=50, color="#52606d").encode(x=x, y=y)
    shapes = alt.Chart(named("model_nodes")).mark_rect(cornerRadius=6, stroke="#486581").encode(
        x=alt.X("x0:Q", scale=alt.Scale(domain=[0, placed.width]), axis=None), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", scale=alt.Scale(domain=[placed.height, 0]), axis=None), y2=alt.Y2("y1:Q"),
        color=alt.Color("kind:N", title="Element", scale=alt.Scale(
            domain=[k for k in ELEMENT_COLOURS if k in kinds.values()],
            range=[c for k, c in ELEMENT_COLOURS.items() if k in kinds.values()])),
        tooltip=[alt.Tooltip("name:N", title="Element"), alt.Tooltip("kind:N", title="Kind")])
    text = alt.Chart(named("model_nodes")).mark_text(fontSize=10, fontWeight=600,
                                                      color="#102a43").encode(
        x=x, y=y, text=alt.Text("text:N"))
    tasks = sum(1 for n in model.nodes if n[1] == "task")
    gateways = sum(1 for n in model.nodes if n[1] in GATEWAY_LABELS)
    chart = alt.layer(flows, heads, shapes, text).properties(
        width=width, height=int(placed.height),
        title=alt.Title(f"The discovered model: {tasks} tasks, {gateways} gateways",
                        subtitle="The BPMN the mining step discovered from the most common "
                                 "variants (× exclusive, + parallel gateway)"))
    return Chart("process-map-model", chart, {"model_flows": lines, "model_nodes": nodes},
                 caption="From model/discovered_model.bpmn (pm4py's inductive miner)")
