"""Bottlenecks: where cases wait between activities, at which groups, and at what hours."""

from __future__ import annotations

import re
from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, conditional_value, named
from procmine.render.scope import Scope
from procmine.render.theme import CHART_WIDTH, DIVERGING_SCHEME, VOLUME_SCHEME, WAIT_SCHEME

MAX_ACTIVITIES = 25
MAX_KEYS = 25
TABLE_ROWS = 20
STOPPED_ROWS = 10
CLOCK_LABELS = {"customer": "Customer wait", "policy": "Policy wait", "internal": "Internal"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DIMENSION_LABELS = {"org_group": "Support group", "group": "Support group",
                    "sourcing": "Sourcing (hub / spoke / vendor)", "resource": "Resource",
                    "support_level": "Support level"}


def dimension_label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("bottlenecks", "Bottlenecks", "Where tickets wait")
    page.lede = ("Waiting time between steps, at groups and in stages, and when work arrives "
                 "against when it is finished. Total delay = median wait × cases: the fix that "
                 "frees the most time is at the top. The ranking holds the internal delay the "
                 "organisation can shorten; clock-stopped waits (waiting for the customer, "
                 "resolved until closed, planned waits) are listed apart.")
    ranked = reader.query("bottleneck_table", {"limit": TABLE_ROWS})
    if ranked:
        top = ranked[0]
        page.heading = (f"Biggest bottleneck: {top['key']}"
                        + (f" in {top['d2c_stage']}" if top.get("d2c_stage") else "")
                        + f", median wait {fmt.duration(top['median_wait_s'])} × "
                          f"{fmt.number(top['cases'])} cases")
        page.summary = page.heading
        page.blocks.append(_table(ranked))
    if "clock" in reader.columns("marts", "bottlenecks"):
        stopped = reader.query("bottleneck_stopped", {"limit": STOPPED_ROWS})
        if stopped:
            page.blocks.append(_stopped_table(stopped))
    transitions = reader.query("transitions", {"max_activities": MAX_ACTIVITIES})
    if transitions:
        page.blocks.append(_transition_map(transitions))
    matrix = reader.query("bottleneck_matrix", {"max_keys": MAX_KEYS})
    for dimension in sorted({r["dimension"] for r in matrix})[:3]:
        rows = [r for r in matrix if r["dimension"] == dimension]
        page.blocks.append(_key_stage_map(dimension, rows))
    weekly = reader.query("weekday_hour")
    if weekly:
        page.blocks.append(_weekday_hour(weekly))
    elif scope.cases:
        page.blocks.append(note("Arrivals against resolutions by weekday and hour need case "
                                "timestamps (opened_at) in marts.case_kpis."))
    if not (transitions or matrix or ranked):
        page.blocks.insert(0, note("No bottlenecks mined yet (marts.transitions and "
                                   "marts.bottlenecks are empty)."))
        page.summary = "No bottlenecks mined yet."
    return page


def _transition_map(rows: list[dict[str, Any]]) -> Chart:
    worst = max(rows, key=lambda r: (r["total_delay_h"] or 0, r["count"]))
    order = sorted({(r["from_order"], r["from_activity"]) for r in rows}
                   | {(r["to_order"], r["to_activity"]) for r in rows})
    activities = [a for _, a in order]
    counts = sorted(r["count"] for r in rows)
    min_count = alt.param(name="min_count", value=1, bind=alt.binding_range(
        min=1, max=max(2, counts[int(len(counts) * 0.9)]), step=1,
        name="Hide pairs seen fewer times than "))
    chart = alt.Chart(named("transitions")).mark_rect().encode(
        x=alt.X("to_activity:N", title="… to activity", sort=activities,
                axis=alt.Axis(labelAngle=-40, labelLimit=180)),
        y=alt.Y("from_activity:N", title="From activity …", sort=activities,
                axis=alt.Axis(labelLimit=200)),
        color=alt.Color("median_wait_h:Q", title="Median wait (hours)",
                        scale=alt.Scale(scheme=WAIT_SCHEME, type="sqrt", zero=True)),
        opacity=conditional_value(alt.OpacityValue, "datum.count >= min_count", 1, 0.08),
        tooltip=[alt.Tooltip("from_activity:N", title="From"),
                 alt.Tooltip("to_activity:N", title="To"),
                 alt.Tooltip("count:Q", title="Times", format=",.0f"),
                 alt.Tooltip("median_wait_h:Q", title="Median wait (h)", format=",.2f"),
                 alt.Tooltip("mean_wait_h:Q", title="Mean wait (h)", format=",.2f"),
                 alt.Tooltip("p90_wait_h:Q", title="90th percentile wait (h)", format=",.2f"),
                 alt.Tooltip("total_delay_h:Q", title="Total delay (h)", format=",.0f")],
    ).add_params(min_count).properties(
        width=min(CHART_WIDTH, 30 * len(activities) + 40),
        height=min(620, 24 * len(activities) + 20),
        title=alt.Title(
            f"Longest total delay between two steps: {worst['from_activity']} → "
            f"{worst['to_activity']} ({fmt.duration(worst['median_wait_s'])} median × "
            f"{fmt.number(worst['count'])} times)",
            subtitle=[f"Median wait in hours from one activity to the next (directly-follows), "
                      f"top {MAX_ACTIVITIES} activities; darker = longer.",
                      "Use the slider below the map to fade rare pairs."]))
    return Chart("bottlenecks-transitions", chart, {"transitions": rows},
                 caption="From marts.transitions")


def _key_stage_map(dimension: str, rows: list[dict[str, Any]]) -> Chart:
    label = dimension_label(dimension)
    for row in rows:
        row["stage"] = row["d2c_stage"].capitalize()
    stages = fmt.ordered([r["stage"] for r in rows],
                         [s.capitalize() for s in [*fmt.D2C_STAGES, "(all stages)"]])
    keys = [r["key"] for r in sorted(rows, key=lambda r: (r["key_rank"], r["key"]))]
    keys = list(dict.fromkeys(keys))
    worst = max(rows, key=lambda r: (r["total_delay_h"] or 0, r["key"]))
    safe = re.sub(r"[^a-z0-9]+", "_", dimension.lower()).strip("_") or "dimension"
    slug, name = f"bottlenecks-{safe.replace('_', '-')}", f"bottleneck_{safe}"
    base = alt.Chart(named(name)).transform_joinaggregate(
        max_wait="max(median_wait_h)").encode(
        x=alt.X("stage:N", title="Detect-to-Correct stage", sort=stages,
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("key:N", title=label, sort=keys, axis=alt.Axis(labelLimit=220)),
    )
    tooltip = [alt.Tooltip("key:N", title=label), alt.Tooltip("stage:N", title="Stage"),
               alt.Tooltip("median_wait_h:Q", title="Median wait (h)", format=",.2f"),
               alt.Tooltip("cases:Q", title="Cases", format=",.0f"),
               alt.Tooltip("total_delay_h:Q", title="Total delay (h)", format=",.0f"),
               alt.Tooltip("rank:Q", title="Rank")]
    rects = base.mark_rect().encode(
        color=alt.Color("median_wait_h:Q", title="Median wait (hours)",
                        scale=alt.Scale(scheme=WAIT_SCHEME, type="sqrt", zero=True)),
        tooltip=tooltip)
    text = base.transform_filter("datum.median_wait_h >= 0.5").mark_text(fontSize=10).encode(
        text=alt.Text("median_wait_h:Q", format=",.0f"),
        color=conditional_value(alt.ColorValue, "datum.median_wait_h > 0.3 * datum.max_wait",
                                "#ffffff", "#1f2933"),
        tooltip=tooltip)
    chart = (rects + text).properties(
        width=min(CHART_WIDTH, 80 * len(stages)), height={"step": 22},
        title=alt.Title(
            f"{label}: {worst['key']} in {worst['d2c_stage']} holds tickets longest "
            f"({fmt.duration(worst['median_wait_s'])} median × {fmt.number(worst['cases'])} cases)",
            subtitle=f"Median wait in hours by {label.lower()} and stage; the "
                     f"{MAX_KEYS} with the most total delay, largest first"))
    return Chart(slug, chart, {name: rows},
                 caption=f"From marts.bottlenecks (dimension {dimension})")


def _table(ranked: list[dict[str, Any]]) -> Html:
    rows = [{"n": i + 1, "what": f"{dimension_label(r['dimension'])}: {r['key']}",
             "stage": r.get("d2c_stage") or "–", "wait": fmt.duration(r["median_wait_s"]),
             "cases": fmt.number(r["cases"]), "delay": fmt.number(r["total_delay_h"]),
             "rank": r.get("rank") if r.get("rank") is not None else "–"}
            for i, r in enumerate(ranked)]
    return card(f"The {len(rows)} bottlenecks (internal delay) with the most total delay", table(
        [("n", "#", True), ("what", "Where", False), ("stage", "Stage", False),
         ("wait", "Median wait", True), ("cases", "Cases", True),
         ("delay", "Total delay (hours)", True), ("rank", "Mined rank", True)], rows))


def _stopped_table(rows: list[dict[str, Any]]) -> Html:
    shown = [{"what": f"{dimension_label(r['dimension'])}: {r['key']}",
              "stage": r.get("d2c_stage") or "–",
              "clock": CLOCK_LABELS.get(r["clock"], r["clock"]),
              "wait": fmt.duration(r["median_wait_s"]), "cases": fmt.number(r["cases"]),
              "delay": fmt.number(r["total_delay_h"])} for r in rows]
    return card(
        f"Clock-stopped waits: the {len(shown)} longest, not ranked as bottlenecks",
        "<p class=\"note\">The service clock stops here (configured per source in "
        "[sources.&lt;name&gt;.clock]): waiting for the user or customer, resolved until "
        "closed, planned waits. Working faster does not shorten them; waste hours exclude "
        "them.</p>" + table(
            [("what", "Where", False), ("stage", "Stage", False), ("clock", "Clock", False),
             ("wait", "Median wait", True), ("cases", "Cases", True),
             ("delay", "Total wait (hours)", True)], shown))


def _weekday_hour(rows: list[dict[str, Any]]) -> Chart:
    for row in rows:
        row["weekday"] = WEEKDAYS[int(row["dow"]) - 1]
    arrivals = sum(r["cases"] for r in rows if r["flow"] == "Arrivals")
    peak = max((r for r in rows if r["flow"] == "Arrivals"), key=lambda r: r["cases"],
               default=None)
    base = alt.Chart(named("weekday_hour"))
    y = alt.Y("weekday:N", title="Weekday", sort=WEEKDAYS)
    x = alt.X("hour:O", title="Hour of day (UTC)", axis=alt.Axis(labelAngle=0))
    tip = [alt.Tooltip("flow:N", title="Flow"), alt.Tooltip("weekday:N", title="Weekday"),
           alt.Tooltip("hour:O", title="Hour (UTC)"),
           alt.Tooltip("cases:Q", title="Cases", format=",.0f")]
    maps = base.mark_rect().encode(
        x=x, y=y, color=alt.Color("cases:Q", title="Cases", scale=alt.Scale(
            scheme=VOLUME_SCHEME, zero=True)), tooltip=tip,
    ).properties(width=CHART_WIDTH, height=150).facet(
        row=alt.Row("flow:N", title=None, header=alt.Header(labelFontSize=13,
                                                             labelFontWeight=600)))
    net = base.transform_pivot("flow", value="cases", groupby=["weekday", "hour"]).transform_calculate(
        net="(datum.Arrivals || 0) - (datum.Resolutions || 0)").mark_rect().encode(
        x=x, y=y, color=alt.Color("net:Q", title="Opened − resolved",
                                  scale=alt.Scale(scheme=DIVERGING_SCHEME, domainMid=0)),
        tooltip=[alt.Tooltip("weekday:N", title="Weekday"), alt.Tooltip("hour:O", title="Hour"),
                 alt.Tooltip("net:Q", title="Opened − resolved", format="+,.0f")],
    ).properties(width=CHART_WIDTH, height=150, title="Opened minus resolved (orange = "
                                                      "queue builds up, blue = queue drains)")
    peak_text = (f"; most arrive on {peak['weekday']} at {peak['hour']:02d}:00 UTC"
                 if peak else "")
    chart = alt.vconcat(maps, net, spacing=16).resolve_scale(color="independent").properties(
        title=alt.Title(f"When work arrives and when it is finished ({fmt.number(arrivals)} "
                        f"cases{peak_text})",
                        subtitle="Cases opened and resolved per weekday and hour, whole log"))
    return Chart("bottlenecks-weekday-hour", chart, {"weekday_hour": rows},
                 caption="From marts.case_kpis (opened_at, resolved_at)")
