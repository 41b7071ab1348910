"""Overview: KPI tiles against the previous period, the trend explorer, flow and backlog."""

from __future__ import annotations

from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import note, tiles
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, named
from procmine.render.pages.drift_section import drift_blocks
from procmine.render.scope import Scope, with_period_labels
from procmine.render.theme import BAD, CATEGORICAL, CHART_WIDTH, GOOD

ALL = "All"
TREND_WORDS = {"cases": "volume", "sla_rate": "SLA", "reopen_rate": "reopens",
               "reassignment_rate": "reassignments", "waste_hours": "waste"}


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("overview", "Overview", "Detect-to-Correct at a glance")
    if not scope.cases and not scope.has_dates:
        page.blocks.append(note("No mined cases yet: run `procmine run` (or `procmine mine`)."))
        page.summary = "No mined cases yet."
        return page
    windows = _windows(reader, scope)
    cur, prev, total = (fmt.first(windows, "name", n) for n in ("current", "previous", "all"))
    page.heading = _heading(scope, cur, total, ctx)
    page.lede = (
        "Cases, reopens, reassignments and waste count by the day a case opened; resolution "
        "time and SLA by the day it was resolved. Blue = better than the period before, "
        "orange = worse."
        if scope.has_dates else "The log has no dates, so there is no trend; all-time values.")
    page.blocks.append(_tiles(cur, prev, total, scope, ctx))
    page.summary = " · ".join(
        [f"{fmt.number(total.get('cases'))} cases"]
        + ([f"SLA met {fmt.percent(total['sla_rate'])}"] if total.get("sla_rate") is not None
           else [])
        + [f"waste {fmt.hours(total.get('waste_hours'))}"])
    if scope.case_dates:
        cube = with_period_labels(reader.query("kpi_cube", scope.params()), scope)
        if cube:
            page.blocks.append(_explorer(cube, scope, ctx))
    else:
        page.blocks.append(note(
            "Trends by priority, source and sourcing need case dates in marts.case_kpis "
            "(opened_at); this database's mining step does not provide them."))
    flow = with_period_labels(reader.query("flow", scope.params()), scope)
    if flow:
        page.blocks.append(_flow(flow, scope))
    page.blocks.extend(drift_blocks(reader))
    return page


def _windows(reader: MartReader, scope: Scope) -> list[dict[str, Any]]:
    params = scope.params()
    if scope.case_dates:
        return reader.query("kpi_windows", params)
    rows = reader.query("kpi_windows_daily", params) if scope.has_dates else []
    case_rows = {r["name"]: r for r in reader.query("kpi_windows", params)}
    for row in rows:  # rates and waste without case dates: all time only
        if row["name"] == "all":
            for key in ("reopen_rate", "reassignment_rate", "waste_hours", "waste_cost"):
                row[key] = case_rows.get("all", {}).get(key)
    return rows or list(case_rows.values())


def _heading(scope: Scope, cur: dict[str, Any], total: dict[str, Any], ctx: Context) -> str:
    row = cur if scope.case_dates and cur.get("cases") else total
    when = f"in the {scope.window_label}" if row is cur else "in the whole log"
    parts = [f"{fmt.number(row.get('cases'))} cases {when}"]
    if row.get("sla_rate") is not None:
        parts.append(f"{fmt.percent(row['sla_rate'], 0)} resolved within SLA")
    if row.get("waste_hours"):
        parts.append(f"{fmt.hours(row['waste_hours'])} of waste costing "
                     f"{fmt.money(row.get('waste_cost'), ctx.currency)}")
    return "; ".join(parts)


def _tiles(cur: dict[str, Any], prev: dict[str, Any], total: dict[str, Any], scope: Scope,
           ctx: Context) -> Html:
    specs = [
        ("cases", "Cases opened", fmt.number, None, False),
        ("median_resolution_s", "Median resolution", lambda v: fmt.duration(v, short=True),
         True, False),
        ("sla_rate", "Within SLA", fmt.percent, False, True),
        ("reopen_rate", "Reopened", fmt.percent, True, True),
        ("reassignment_rate", "Reassigned", fmt.percent, True, True),
        ("waste_hours", "Waste hours", fmt.hours, True, False),
        ("waste_cost", "Waste cost", lambda v: fmt.money(v, ctx.currency), True, False),
    ]
    items = []
    for key, label, show, lower_better, rate in specs:
        if total.get(key) is None and cur.get(key) is None:
            continue  # e.g. no SLA targets for these cases: no tile rather than a dash
        if scope.has_dates and cur.get(key) is not None:
            text, tone = fmt.delta(cur.get(key), prev.get(key), lower_is_better=lower_better,
                                   rate=rate)
            items.append({"label": label, "value": show(cur[key]), "delta": text, "tone": tone,
                          "foot": f"whole log: {show(total.get(key))}"})
        else:
            items.append({"label": label, "value": show(total.get(key)),
                          "delta": "no dated trend", "tone": "flat", "foot": "whole log"})
    if scope.has_dates and cur:
        caption = (f"{scope.window_label.capitalize()} ({scope.cur_lo} to {scope.last_day}) "
                   f"against the {scope.window_days} days before")
    else:
        caption = "Whole log"
    return tiles(items, caption)


def _filter_param(name: str, label: str, values: list[str]) -> alt.Parameter:
    options = [ALL, *sorted({v for v in values if v is not None})]
    return alt.param(name=name, value=ALL,
                     bind=alt.binding_select(options=options, name=f"{label} "))


def _explorer(cube: list[dict[str, Any]], scope: Scope, ctx: Context) -> Chart:
    params = [
        _filter_param("f_priority", "Priority", [r["priority"] for r in cube]),
        _filter_param("f_source", "Source", [r["source"] for r in cube]),
        _filter_param("f_sourcing", "Sourcing", [r["sourcing"] for r in cube]),
    ]
    test = " && ".join(f"(f_{d} == '{ALL}' || datum.{d} == f_{d})"
                       for d in ("priority", "source", "sourcing"))
    base = (
        alt.Chart(named("kpi_cube"))
        .transform_filter(test)
        .transform_aggregate(
            cases="sum(cases)", reopened="sum(reopened)", reassigned="sum(reassigned)",
            sla_met="sum(sla_met)", sla_known="sum(sla_known)", waste_hours="sum(waste_hours)",
            waste_cost="sum(waste_cost)", groupby=["period"])
        .transform_calculate(
            reopen_rate="datum.cases ? datum.reopened / datum.cases : null",
            reassignment_rate="datum.cases ? datum.reassigned / datum.cases : null",
            sla_rate="datum.sla_known ? datum.sla_met / datum.sla_known : null")
    )
    x = alt.X("period:O", title=scope.period_title, axis=alt.Axis(labelAngle=-40))
    x_hidden = alt.X("period:O", title=None, axis=alt.Axis(labels=False, ticks=False))
    rows = [
        ("cases", "Cases opened", ",.0f", CATEGORICAL[0], "bar"),
        ("sla_rate", "Within SLA (%)", ".0%", GOOD, "line"),
        ("reopen_rate", "Reopened (%)", ".1%", BAD, "line"),
        ("reassignment_rate", "Reassigned (%)", ".0%", CATEGORICAL[1], "line"),
        ("waste_hours", "Waste (hours)", ",.0f", CATEGORICAL[5], "bar"),
    ]
    if not any(r["sla_known"] for r in cube):
        rows = [r for r in rows if r[0] != "sla_rate"]  # no SLA targets: no empty panel
    charts = []
    for i, (field, title, form, colour, kind) in enumerate(rows):
        mark = (base.mark_bar(color=colour) if kind == "bar"
                else base.mark_line(color=colour, point=True))
        tooltip = [alt.Tooltip("period:O", title=scope.period_title),
                   alt.Tooltip(f"{field}:Q", title=title, format=form),
                   alt.Tooltip("cases:Q", title="Cases", format=",.0f")]
        charts.append(mark.encode(
            x=x if i == len(rows) - 1 else x_hidden,
            y=alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=form, tickCount=3)),
            tooltip=tooltip,
        ).properties(width=CHART_WIDTH, height=80))
    chart = alt.vconcat(*charts, spacing=6).add_params(*params).properties(title=alt.Title(
        f"Per {scope.grain}: " + ", ".join(TREND_WORDS[r[0]] for r in rows[:-1])
        + f" and {TREND_WORDS[rows[-1][0]]}",
        subtitle=["Filter by priority, source or sourcing with the menus below the chart; "
                  "hover a point for its numbers.",
                  f"Cases by the {scope.grain} they opened (from {scope.chart_start}); "
                  f"waste in hours of the cases opened that {scope.grain}."]))
    return Chart("overview-trends", chart, {"kpi_cube": cube},
                 caption="Rates are recomputed from case counts for every filter")


def _flow(flow: list[dict[str, Any]], scope: Scope) -> Chart:
    unit, per = fmt.duration_unit(fmt.typical([r.get("median_resolution_s") for r in flow]))
    for row in flow:
        value = row.get("median_resolution_s")
        row["median_resolution"] = round(value / per, 3) if value is not None else None
    first, last = flow[0], flow[-1]
    trend = ("growing" if (last.get("backlog") or 0) > (first.get("backlog") or 0) * 1.05 else
             "shrinking" if (last.get("backlog") or 0) < (first.get("backlog") or 0) * 0.95
             else "stable")
    base = alt.Chart(named("flow"))
    x = alt.X("period:O", title=scope.period_title, axis=alt.Axis(labelAngle=-40))
    hidden = alt.X("period:O", title=None, axis=alt.Axis(labels=False, ticks=False))
    folded = base.transform_fold(["opened", "resolved"], as_=["flow", "cases"])
    flows = folded.mark_line(point=True).encode(
        x=hidden, y=alt.Y("cases:Q", title="Cases per " + scope.grain),
        color=alt.Color("flow:N", title=None, scale=alt.Scale(
            domain=["opened", "resolved"], range=[CATEGORICAL[1], CATEGORICAL[0]])),
        tooltip=[alt.Tooltip("period:O", title=scope.period_title),
                 alt.Tooltip("flow:N", title="Flow"), alt.Tooltip("cases:Q", format=",.0f")],
    ).properties(width=CHART_WIDTH, height=120)
    backlog = base.mark_area(opacity=0.6, color=CATEGORICAL[4], line=True).encode(
        x=hidden, y=alt.Y("backlog:Q", title="Open cases (end of period)"),
        tooltip=[alt.Tooltip("period:O", title=scope.period_title),
                 alt.Tooltip("backlog:Q", title="Open cases", format=",.0f")],
    ).properties(width=CHART_WIDTH, height=90)
    resolution = base.mark_line(point=True, color=CATEGORICAL[5]).encode(
        x=x, y=alt.Y("median_resolution:Q", title=f"Median resolution ({unit})"),
        tooltip=[alt.Tooltip("period:O", title=scope.period_title),
                 alt.Tooltip("median_resolution:Q", title=f"Median resolution ({unit})",
                             format=",.1f"),
                 alt.Tooltip("resolved:Q", title="Resolved", format=",.0f")],
    ).properties(width=CHART_WIDTH, height=90)
    chart = alt.vconcat(flows, backlog, resolution, spacing=6).resolve_scale(
        color="independent").properties(title=alt.Title(
            f"Opened against resolved: the backlog is {trend} "
            f"({fmt.number(first.get('backlog'))} → {fmt.number(last.get('backlog'))} open cases)",
            subtitle=f"Per {scope.grain} from {scope.chart_start}; median resolution of the "
                     f"cases resolved in the {scope.grain}"))
    return Chart("overview-flow", chart, {"flow": flow}, caption="From marts.kpi_daily")
