"""Operating model: hand-offs between hub, spokes and vendors, waiting at vendors, KPIs."""

from __future__ import annotations

import re
from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, esc, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, conditional_value, named
from procmine.render.scope import Scope
from procmine.render.theme import CATEGORICAL, CHART_WIDTH, NEUTRAL, VOLUME_SCHEME

MAX_SOURCING = 15
MAX_GROUPS = 20
HANDOFF_MEASURES = ["Hand-offs", "Added wait"]


def is_vendor(sourcing: str | None) -> bool:
    return bool(sourcing) and str(sourcing).startswith("vendor")


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("operating_model", "Operating model",
                "How work moves between hub, spokes and vendors")
    page.lede = esc("Hub-and-spoke IT with outsourced suppliers: every hand-off between teams "
                    "adds handling effort and waiting. Sourcing comes from the [[sourcing]] "
                    "rules of the configuration (hub, spoke:<unit>, vendor:<name>).")
    dimensions = [r["dimension"] for r in reader.query("handoff_dimensions")]
    sourcing_dim = next((d for d in dimensions if d == "sourcing"), None)
    group_dim = next((d for d in dimensions if d in ("org_group", "group")), None)
    if sourcing_dim:
        rows = reader.query("handoffs", {"dimension": sourcing_dim, "max_keys": MAX_SOURCING})
        if rows:
            page.blocks.append(_matrix(rows, "sourcing", "Sourcing", ctx))
            top = max(rows, key=lambda r: (r["handoffs"] or 0, r["from_key"], r["to_key"]))
            page.heading = (f"Busiest hand-off: {top['from_key']} → {top['to_key']} "
                            f"({fmt.number(top['handoffs'])} hand-offs)")
            page.summary = page.heading
    if group_dim:
        rows = reader.query("handoffs", {"dimension": group_dim, "max_keys": MAX_GROUPS})
        if rows:
            page.blocks.append(_matrix(rows, "group", "Support group", ctx))
    waiting = reader.query("waiting_by_sourcing", {"max_keys": MAX_SOURCING})
    if waiting:
        page.blocks.append(_waiting(waiting, ctx))
    kpis = reader.query("sourcing_kpis", {"max_keys": MAX_SOURCING})
    if kpis:
        page.blocks.append(_kpi_chart(kpis, ctx))
        page.blocks.append(_kpi_table(kpis, ctx))
    if len(page.blocks) == 0:
        page.blocks.append(note("No hand-offs or sourcing mined yet (marts.handoff_matrix is "
                                "empty and marts.case_kpis has no sourcing)."))
        page.summary = "No operating-model data mined yet."
    return page


def _matrix(rows: list[dict[str, Any]], kind: str, label: str, ctx: Context) -> Chart:
    volume: dict[str, int] = {}
    for r in rows:
        for key in (r["from_key"], r["to_key"]):
            volume[key] = volume.get(key, 0) + (r["handoffs"] or 0)
    keys = sorted(volume, key=lambda k: (-volume[k], k))  # busiest first
    top = max(rows, key=lambda r: (r["handoffs"] or 0, r["from_key"], r["to_key"]))
    total = sum(r["handoffs"] or 0 for r in rows)
    name = f"handoffs_{re.sub(r'[^a-z0-9]+', '_', kind)}"
    measure = alt.param(name=f"measure_{kind}", value=HANDOFF_MEASURES[0], bind=alt.binding_radio(
        options=HANDOFF_MEASURES, name="Colour by "))
    base = (
        alt.Chart(named(name)).add_params(measure)
        .transform_calculate(value=f"measure_{kind} == 'Added wait' ? datum.added_wait_h : "
                                   "datum.handoffs")
        .transform_joinaggregate(max_value="max(value)")
        .encode(x=alt.X("to_key:N", title=f"… to {label.lower()}", sort=keys,
                        axis=alt.Axis(labelAngle=-40, orient="top", labelLimit=180)),
                y=alt.Y("from_key:N", title=f"From {label.lower()} …", sort=keys,
                        axis=alt.Axis(labelLimit=200)))
    )
    tooltip = [alt.Tooltip("from_key:N", title="From"), alt.Tooltip("to_key:N", title="To"),
               alt.Tooltip("handoffs:Q", title="Hand-offs", format=",.0f"),
               alt.Tooltip("cases:Q", title="Cases", format=",.0f"),
               alt.Tooltip("added_wait_h:Q", title="Added wait (hours)", format=",.1f")]
    rects = base.mark_rect().encode(
        color=alt.Color("value:Q", title=None, legend=None,
                        scale=alt.Scale(scheme=VOLUME_SCHEME, zero=True)),
        tooltip=tooltip)
    small = len(keys) <= 12
    layers = [rects]
    if small:
        layers.append(base.mark_text(fontSize=11).encode(
            text=alt.Text("handoffs:Q", format=",.0f"),
            color=conditional_value(alt.ColorValue, "datum.value > 0.55 * datum.max_value",
                                    "#ffffff", "#1f2933"),
            tooltip=tooltip))
    step = 72 if len(keys) <= 6 else 56 if small else 24
    chart = alt.layer(*layers).properties(
        width=min(CHART_WIDTH, step * len(keys)), height=step * len(keys) * (0.7 if small else 1),
        title=alt.Title(
            f"{label} hand-offs: {top['from_key']} → {top['to_key']} is the busiest "
            f"({fmt.number(top['handoffs'])} of {fmt.number(total)})",
            subtitle=f"Hand-offs of a ticket from one {label.lower()} to another (cell numbers"
                     f"{'' if small else ' in the tooltip'}), busiest first; darker = more. "
                     "Switch to added wait (hours) below."))
    return Chart(f"operating-model-{kind}-handoffs", chart, {name: rows},
                 caption=f"From marts.handoff_matrix ({label.lower()} × {label.lower()})")


VENDOR_STATE = "In a vendor waiting state"


def _waiting(rows: list[dict[str, Any]], ctx: Context) -> Chart:
    for row in rows:
        row["kind"] = ("At a vendor team" if is_vendor(row["sourcing"]) else
                       "Internal, awaiting a vendor" if row["reason"] == VENDOR_STATE
                       else "Internal, other waiting")
    total = sum(r["hours"] or 0 for r in rows)
    on_vendors = sum(r["hours"] or 0 for r in rows if r["kind"] != "Internal, other waiting")
    per_sourcing: dict[str, float] = {}
    for row in rows:
        if is_vendor(row["sourcing"]):
            per_sourcing[row["sourcing"]] = per_sourcing.get(row["sourcing"], 0) + (row["hours"] or 0)
    worst = max(sorted(per_sourcing), key=lambda k: per_sourcing[k]) if per_sourcing else None
    title = (f"{fmt.percent(on_vendors / total if total else 0, 0)} of all waiting is on "
             f"vendors: {fmt.hours(on_vendors)}" + (f", most at {worst}" if worst else ""))
    kinds = ["At a vendor team", "Internal, awaiting a vendor",
             "Internal, other waiting"]
    chart = alt.Chart(named("waiting_by_sourcing")).mark_bar().encode(
        y=alt.Y("sourcing:N", title="Sourcing", sort="-x"),
        x=alt.X("sum(hours):Q", title="Waiting (hours)"),
        color=alt.Color("kind:N", title=None, sort=kinds, legend=alt.Legend(labelLimit=260),
                        scale=alt.Scale(
            domain=kinds, range=[CATEGORICAL[5], CATEGORICAL[1], NEUTRAL])),
        order=alt.Order("kind:N", sort="ascending"),
        tooltip=[alt.Tooltip("sourcing:N", title="Sourcing"),
                 alt.Tooltip("reason:N", title="Waiting"),
                 alt.Tooltip("sum(hours):Q", title="Waiting (hours)", format=",.1f"),
                 alt.Tooltip("sum(cost):Q", title=f"Cost ({ctx.currency})", format=",.0f"),
                 alt.Tooltip("sum(cases):Q", title="Cases", format=",.0f")],
    ).properties(width=CHART_WIDTH - 200, height={"step": 26}, title=alt.Title(
        title, subtitle="Waiting waste (hours a ticket sat idle) by the sourcing holding it, "
                        "whole log; awaiting a vendor = a vendor waiting state such as "
                        "Awaiting Vendor"))
    return Chart("operating-model-vendor-waiting", chart, {"waiting_by_sourcing": rows},
                 caption="From marts.waste (waste_type = waiting)")


def _kpi_chart(rows: list[dict[str, Any]], ctx: Context) -> Chart:
    unit, per = fmt.duration_unit(fmt.typical([r["median_resolution_s"] for r in rows]))
    for row in rows:
        value = row["median_resolution_s"]
        row["median_resolution"] = round(value / per, 3) if value is not None else None
        row["kind"] = "Vendor" if is_vendor(row["sourcing"]) else "Internal"
    order = [r["sourcing"] for r in rows]
    colour = alt.Color("kind:N", title=None, scale=alt.Scale(
        domain=["Vendor", "Internal"], range=[CATEGORICAL[5], CATEGORICAL[0]]))
    base = alt.Chart(named("sourcing_kpis")).encode(
        y=alt.Y("sourcing:N", title="Sourcing", sort=order), color=colour,
        tooltip=[alt.Tooltip("sourcing:N", title="Sourcing"),
                 alt.Tooltip("cases:Q", title="Cases", format=",.0f"),
                 alt.Tooltip("median_resolution:Q", title=f"Median resolution ({unit})",
                             format=",.1f"),
                 alt.Tooltip("sla_rate:Q", title="Within SLA", format=".0%"),
                 alt.Tooltip("reopen_rate:Q", title="Reopened", format=".1%"),
                 alt.Tooltip("reassignment_rate:Q", title="Reassigned", format=".0%"),
                 alt.Tooltip("waste_cost_per_case:Q", title=f"Waste cost per case "
                             f"({ctx.currency})", format=",.0f")])
    panels = [
        ("cases", "Cases", ",.0f"), ("median_resolution", f"Median resolution ({unit})", ",.0f"),
        ("sla_rate", "Within SLA (%)", ".0%"), ("reassignment_rate", "Reassigned (%)", ".0%"),
        ("waste_cost_per_case", f"Waste cost per case ({ctx.currency})", ",.0f"),
    ]
    panels = [p for p in panels if any(r.get(p[0]) is not None for r in rows)]
    charts = [base.mark_bar().encode(
        x=alt.X(f"{field}:Q", title=title, axis=alt.Axis(format=form, tickCount=3)),
        y=alt.Y("sourcing:N", title="Sourcing" if i == 0 else None, sort=order,
                axis=alt.Axis(labels=i == 0, ticks=i == 0)),
    ).properties(width=150, height={"step": 24}) for i, (field, title, form) in enumerate(panels)]
    slowest = max(rows, key=lambda r: (r["median_resolution_s"] or 0, r["sourcing"]))
    chart = alt.hconcat(*charts, spacing=10).properties(title=alt.Title(
        f"Slowest to resolve: {slowest['sourcing']} "
        f"({fmt.duration(slowest['median_resolution_s'])} median)",
        subtitle="KPIs per sourcing of the case; vendors in orange"))
    return Chart("operating-model-sourcing-kpis", chart, {"sourcing_kpis": rows},
                 caption="From marts.case_kpis and marts.waste by the case's sourcing")


def _kpi_table(rows: list[dict[str, Any]], ctx: Context) -> Html:
    cells = [{"sourcing": r["sourcing"], "cases": fmt.number(r["cases"]),
              "resolution": fmt.duration(r["median_resolution_s"]),
              "sla": fmt.percent(r["sla_rate"]), "reopen": fmt.percent(r["reopen_rate"]),
              "reassign": fmt.percent(r["reassignment_rate"]),
              "waste": fmt.number(r["waste_hours_per_case"], 1),
              "cost": fmt.number(r["waste_cost_per_case"], 0)} for r in rows]
    columns = [("sourcing", "Sourcing", False), ("cases", "Cases", True),
               ("resolution", "Median resolution", True), ("sla", "Within SLA", True),
               ("reopen", "Reopened", True), ("reassign", "Reassigned", True),
               ("waste", "Waste hours per case", True),
               ("cost", f"Waste cost per case ({ctx.currency})", True)]
    if all(r["sla_rate"] is None for r in rows):
        columns = [c for c in columns if c[0] != "sla"]
    return card("KPIs per sourcing", table(columns, cells))
