"""Detect-to-Correct waste: the d2c_stage × waste_type heat map (the page a CIO shows)."""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, conditional_value, named
from procmine.render.scope import Scope, with_period_labels
from procmine.render.theme import CATEGORICAL, CHART_WIDTH, WASTE_SCHEME

MEASURES = ["Hours", "Cost"]
INVENTORY = "backlog"   # open cases per stage (Lean inventory): not additive with the others
FLOW_ONLY = f"datum.waste_type != '{INVENTORY}'"


def waste_colours(types: list[str]) -> alt.Scale:
    """The same colour for a waste type on every page (Okabe-Ito order)."""
    domain = fmt.ordered(types, fmt.WASTE_TYPES)
    labels = [fmt.waste_label(t) for t in domain]
    colours = [CATEGORICAL[fmt.WASTE_TYPES.index(t) % len(CATEGORICAL)]
               if t in fmt.WASTE_TYPES else CATEGORICAL[(len(fmt.WASTE_TYPES) + i) % 8]
               for i, t in enumerate(domain)]
    return alt.Scale(domain=labels, range=colours)


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("waste", "Waste heat map", "Where Detect-to-Correct loses time and money")
    cells = reader.query("waste_heatmap")
    unmapped = unmapped_note(reader)
    if unmapped:
        page.blocks.append(note(unmapped))
    if not cells:
        page.blocks.append(note("No waste mined yet (marts.waste_heatmap is empty)."))
        page.summary = "No waste mined yet."
        return page
    for cell in cells:
        cell["stage"] = (cell["d2c_stage"] or fmt.NO_STAGE).capitalize()
        cell["waste"] = fmt.waste_label(cell["waste_type"])
    flow = [c for c in cells if c["waste_type"] != INVENTORY]
    if not flow:
        page.blocks.append(note("Only backlog (inventory) was mined; no waste instances."))
        return page
    total_h = sum(c["hours"] or 0 for c in flow)
    total_cost = sum(c["cost"] or 0 for c in flow)
    top = max(flow, key=lambda c: (c["hours"] or 0, c["cost"] or 0, c["stage"], c["waste"]))
    share = (top["hours"] or 0) / total_h if total_h else 0
    page.heading = (f"{fmt.hours(total_h)} of waste costing {fmt.money(total_cost, ctx.currency)}; "
                    f"the biggest: {top['waste'].lower()} in {top['stage']} "
                    f"({fmt.percent(share, 0)} of the hours)")
    page.lede = (
        "Each cell is one kind of Lean waste in one Detect-to-Correct stage, over the whole "
        "log. Darker = more. Switch between hours and cost below the map; hover a cell for the "
        "cases affected and the most frequent evidence. Backlog (open cases, Lean inventory) "
        "is shown on its own: it overlaps the other kinds. Deviation is a step the reference "
        "model does not allow; events whose activity has no stage are not judged, so they are "
        "never deviation (their other waste shows under (no stage)).")
    page.summary = (f"{fmt.hours(total_h)} · {fmt.money(total_cost, ctx.currency)} · top: "
                    f"{top['waste'].lower()} in {top['stage']}")
    page.blocks.append(_heatmap(cells, flow, top, share, ctx))
    page.blocks.append(_totals(cells, flow, ctx))
    cube = with_period_labels(reader.query("waste_cube", scope.params()), scope)
    if cube:
        page.blocks.append(_over_time(cube, scope, ctx))
    if reader.has_table("marts", "backlog") and scope.has_dates:
        backlog = with_period_labels(reader.query("backlog_trend", scope.params()), scope)
        if backlog:
            page.blocks.append(_inventory(backlog, scope))
    if "clock" in reader.columns("marts", "waste"):
        split = reader.query("waste_clock")
        if any(r["stopped_hours"] for r in split):
            page.blocks.append(_clock_table(split))
    page.blocks.append(_evidence_table(flow))
    return page


CLOCK_LABELS = {"internal": "Internal", "customer": "Customer wait", "policy": "Policy wait"}


def _clock_table(rows: list[dict[str, Any]]) -> Html:
    """Waste hours (internal time) beside the clock-stopped hours taken out of them."""
    stopped = sum(r["stopped_hours"] for r in rows)
    shown = [{"waste": fmt.waste_label(r["waste_type"]),
              "clock": CLOCK_LABELS.get(r["clock"], r["clock"]),
              "instances": fmt.number(r["instances"]), "hours": fmt.number(r["hours"]),
              "stopped": fmt.number(r["stopped_hours"])} for r in rows]
    return card(
        f"Clock stopped: {fmt.hours(stopped)} left out of the waste hours",
        "<p class=\"note\">Waste hours count internal time only. Time in a clock-stopped "
        "state (waiting for the user or customer, resolved until closed, planned waits; "
        "[sources.&lt;name&gt;.clock]) is reported here, by the class holding most of each "
        "instance's interval, and costs nothing.</p>" + table(
            [("waste", "Waste", False), ("clock", "Mostly", False),
             ("instances", "Instances", True), ("hours", "Waste hours (internal)", True),
             ("stopped", "Clock-stopped hours", True)], shown))


def unmapped_note(reader: MartReader, top: int = 5) -> str:
    """What share of the log has activities without a D2C stage (not judged by conformance,
    so never deviation waste), its top activities and where to map them; "" when none."""
    if "d2c_stage" not in reader.columns("marts", "activities"):
        return ""
    rows = reader.query("unmapped")
    if not rows:
        return ""
    first = rows[0]
    events, total = first["unmapped_events"] or 0, first["total_events"] or 0
    cases, total_cases = first["unmapped_cases"] or 0, first["total_cases"] or 0
    names = ", ".join(f"{r['activity']} ({fmt.number(r['event_count'])})" for r in rows[:top])
    more = f" and {len(rows) - top:,} more" if len(rows) > top else ""
    return (f"Unmapped activities: {fmt.number(events)} of {fmt.number(total)} events "
            f"({fmt.percent(events / total if total else 0)}) in {fmt.number(cases)} of "
            f"{fmt.number(total_cases)} cases ({fmt.percent(cases / total_cases if total_cases else 0)}) "
            f"have an activity without a Detect-to-Correct stage: {names}{more}. They are not "
            "judged against the reference model, so they never count as deviation; their "
            "other waste shows under (no stage). Map them to stages in procmine.toml "
            "([sources.<name>.stages] or [stages]) and run again.")


def _heatmap(cells: list[dict[str, Any]], flow: list[dict[str, Any]], top: dict[str, Any],
             share: float, ctx: Context) -> Chart:
    stages = fmt.ordered([c["stage"] for c in flow],
                         [s.capitalize() for s in [*fmt.D2C_STAGES, fmt.NO_STAGE]])
    types = fmt.ordered([c["waste_type"] for c in flow], fmt.WASTE_TYPES)
    measure = alt.param(name="measure", value="Hours",
                        bind=alt.binding_radio(options=MEASURES, name="Colour by "))
    base = (
        alt.Chart(named("waste_heatmap"))
        .add_params(measure)
        .transform_filter(FLOW_ONLY)
        .transform_calculate(value="measure == 'Cost' ? datum.cost : datum.hours")
        .transform_joinaggregate(max_value="max(value)")
        .transform_calculate(
            label="measure == 'Cost' ? format(datum.cost, ',.0f') : format(datum.hours, ',.0f') + ' h'",
            dark="datum.value > 0.55 * datum.max_value")
        .encode(
            x=alt.X("waste:N", title="Lean waste type", sort=[fmt.waste_label(t) for t in types],
                    axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=12)),
            y=alt.Y("stage:N", title="Detect-to-Correct stage", sort=stages,
                    axis=alt.Axis(labelFontSize=12)),
        )
    )
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("waste:N", title="Waste"),
        alt.Tooltip("hours:Q", title="Hours", format=",.1f"),
        alt.Tooltip("cost:Q", title=f"Cost ({ctx.currency})", format=",.0f"),
        alt.Tooltip("cases:Q", title="Cases", format=",.0f"),
        alt.Tooltip("share_of_cycle_time:Q", title="Share of cycle time", format=".1%"),
        alt.Tooltip("evidence_1:N", title="Top evidence"),
        alt.Tooltip("evidence_2:N", title="2nd"), alt.Tooltip("evidence_3:N", title="3rd"),
    ]
    rects = base.mark_rect(cornerRadius=2).encode(
        color=alt.Color("value:Q", legend=None,
                        scale=alt.Scale(scheme=WASTE_SCHEME, zero=True)),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=12, fontWeight=600).encode(
        text=alt.Text("label:N"),
        color=conditional_value(alt.ColorValue, "datum.dark", "#ffffff", "#1f2933"),
        tooltip=tooltip,
    )
    width = min(CHART_WIDTH, 110 * len(types))
    chart = (rects + text).properties(
        width=width, height=44 * len(stages),
        title=alt.Title(
            f"{fmt.waste_label(top['waste_type'])} in {top['stage']} is the biggest waste: "
            f"{fmt.hours(top['hours'])} ({fmt.percent(share, 0)} of all waste hours), "
            f"{fmt.money(top['cost'], ctx.currency)}",
            subtitle=f"Waste hours (or cost in {ctx.currency}) by Detect-to-Correct stage and "
                     "Lean waste type, whole log"))
    return Chart("waste-heatmap", chart, {"waste_heatmap": cells},
                 caption="From marts.waste_heatmap; evidence from marts.waste")


def _totals(cells: list[dict[str, Any]], flow: list[dict[str, Any]], ctx: Context) -> Chart:
    types = fmt.ordered([c["waste_type"] for c in flow], fmt.WASTE_TYPES)
    colour = alt.Color("waste:N", title="Waste", scale=waste_colours(types), legend=None)
    base = alt.Chart(named("waste_heatmap")).transform_filter(FLOW_ONLY).transform_aggregate(
        hours="sum(hours)", cost="sum(cost)", cases="sum(cases)", groupby=["waste"])
    y = alt.Y("waste:N", title=None, sort="-x")
    tip = [alt.Tooltip("waste:N", title="Waste"),
           alt.Tooltip("hours:Q", title="Hours", format=",.1f"),
           alt.Tooltip("cost:Q", title=f"Cost ({ctx.currency})", format=",.0f")]
    hours = base.mark_bar().encode(
        x=alt.X("hours:Q", title="Waste (hours)", axis=alt.Axis(tickCount=4)), y=y,
        color=colour, tooltip=tip,
    ).properties(width=340, height=26 * len(types), title="Hours")
    cost = base.mark_bar().encode(
        x=alt.X("cost:Q", title=f"Waste cost ({ctx.currency})", axis=alt.Axis(tickCount=4)),
        y=y, color=colour, tooltip=tip,
    ).properties(width=340, height=26 * len(types), title=f"Cost ({ctx.currency})")
    by_type: dict[str, float] = {}
    for c in flow:
        by_type[c["waste"]] = by_type.get(c["waste"], 0) + (c["cost"] or 0)
    costliest = max(sorted(by_type), key=lambda k: by_type[k])
    chart = alt.hconcat(hours, cost, spacing=40).properties(title=alt.Title(
        f"{costliest} costs most: {fmt.money(by_type[costliest], ctx.currency)} "
        f"of {fmt.money(sum(by_type.values()), ctx.currency)}",
        subtitle="Waste totals per Lean waste type over all stages, whole log"))
    return Chart("waste-totals", chart, {"waste_heatmap": cells},
                 caption="Hand-offs and ping-pong cost handling effort, not only waiting")


def _over_time(cube: list[dict[str, Any]], scope: Scope, ctx: Context) -> Chart:
    for row in cube:
        row["waste"] = fmt.waste_label(row["waste_type"])
    types = fmt.ordered([r["waste_type"] for r in cube], fmt.WASTE_TYPES)
    colour = alt.Color("waste:N", title="Waste type", scale=waste_colours(types),
                       sort=[fmt.waste_label(t) for t in types])
    priorities = sorted({r["priority"] for r in cube})
    priority = alt.param(name="f_priority", value="All", bind=alt.binding_select(
        options=["All", *priorities], name="Priority "))
    periods = alt.selection_point(name="periods", fields=["period"], empty=True)
    base = alt.Chart(named("waste_cube")).transform_filter(
        "f_priority == 'All' || datum.priority == f_priority")
    timeline = base.transform_filter("datum.period != null").mark_bar().encode(
        x=alt.X("period:O", title=scope.period_title, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("sum(hours):Q", title="Waste (hours)"),
        color=colour,
        opacity=alt.condition(periods, alt.value(1.0), alt.value(0.35)),   # a dict: page.py
        tooltip=[alt.Tooltip("period:O", title=scope.period_title),
                 alt.Tooltip("waste:N", title="Waste"),
                 alt.Tooltip("sum(hours):Q", title="Hours", format=",.1f"),
                 alt.Tooltip("sum(cost):Q", title=f"Cost ({ctx.currency})", format=",.0f")],
    ).add_params(periods).properties(width=CHART_WIDTH, height=180)
    sourcings = sorted({r["sourcing"] for r in cube})
    by_sourcing = base.transform_filter(periods).mark_bar().encode(
        y=alt.Y("sourcing:N", title="Sourcing", sort="-x"),
        x=alt.X("sum(hours):Q", title="Waste (hours) in the selected periods"),
        color=colour,
        tooltip=[alt.Tooltip("sourcing:N", title="Sourcing"),
                 alt.Tooltip("waste:N", title="Waste"),
                 alt.Tooltip("sum(hours):Q", title="Hours", format=",.1f"),
                 alt.Tooltip("sum(cost):Q", title=f"Cost ({ctx.currency})", format=",.0f")],
    ).properties(width=CHART_WIDTH, height=max(60, 24 * len(sourcings)))
    chart = alt.vconcat(timeline, by_sourcing, spacing=20).add_params(priority).properties(
        title=alt.Title(
            f"Is waste going down? Waste hours per {scope.grain}, and who carries it",
            subtitle=[f"Click a {scope.grain} (shift-click for more) to see its waste by "
                      "sourcing below; filter by priority with the menu.",
                      f"Waste is counted in the {scope.grain} its case opened."]))
    return Chart("waste-trend", chart, {"waste_cube": cube},
                 caption="From marts.waste by the case's opening period")


def _inventory(rows: list[dict[str, Any]], scope: Scope) -> Chart:
    for row in rows:
        row["stage"] = row["d2c_stage"].capitalize()
    stages = fmt.ordered([r["stage"] for r in rows],
                         [s.capitalize() for s in [*fmt.D2C_STAGES, fmt.NO_STAGE]])
    per_stage: dict[str, float] = {}
    for row in rows:
        per_stage[row["stage"]] = per_stage.get(row["stage"], 0) + (row["open_cases"] or 0)
    biggest = max(sorted(per_stage), key=lambda k: per_stage[k])
    colours = [CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(stages))]
    chart = alt.Chart(named("backlog")).mark_area().encode(
        x=alt.X("period:O", title=scope.period_title, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("open_cases:Q", title="Open cases (mean per day)", stack="zero"),
        color=alt.Color("stage:N", title="Stage", sort=stages,
                        scale=alt.Scale(domain=stages, range=colours)),
        order=alt.Order("stage_order:Q"),
        tooltip=[alt.Tooltip("period:O", title=scope.period_title),
                 alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("open_cases:Q", title="Open cases (mean)", format=",.1f")],
    ).transform_calculate(
        stage_order=f"indexof({json.dumps(stages)}, datum.stage)",
    ).properties(width=CHART_WIDTH - 120, height=200, title=alt.Title(
        f"Inventory: most open tickets sit in {biggest.lower()}",
        subtitle=f"Backlog (Lean inventory): mean open cases per stage per {scope.grain}"))
    return Chart("waste-inventory", chart, {"backlog": rows}, caption="From marts.backlog")


def _evidence_table(cells: list[dict[str, Any]]) -> Any:
    biggest = sorted(cells, key=lambda c: (-(c["hours"] or 0), c["stage"], c["waste"]))[:10]
    rows = [{"stage": c["stage"], "waste": c["waste"], "hours": fmt.number(c["hours"], 1),
             "cases": fmt.number(c["cases"]),
             "evidence": "; ".join(e for e in (c.get("evidence_1"), c.get("evidence_2"))
                                   if e) or "–"} for c in biggest]
    return card("The ten biggest cells and what the evidence says", table(
        [("stage", "Stage", False), ("waste", "Waste", False), ("hours", "Hours", True),
         ("cases", "Cases", True), ("evidence", "Most frequent evidence", False)], rows))
