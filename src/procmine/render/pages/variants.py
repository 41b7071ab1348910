"""Variants: the Pareto of process paths, with each path's steps readable."""

from __future__ import annotations

from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, esc, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, conditional_value, named
from procmine.render.scope import Scope
from procmine.render.theme import CATEGORICAL, INK

TOP_VARIANTS = 20
MAX_STEPS = 60
LABEL_CHARS = 95


def compress(activities: list[str]) -> list[str]:
    """Repeats of one activity shown once with a count: Active, Active → Active ×2."""
    out: list[list[Any]] = []
    for activity in activities:
        if out and out[-1][0] == activity:
            out[-1][1] += 1
        else:
            out.append([activity, 1])
    return [a if n == 1 else f"{a} ×{n}" for a, n in out]


def sequence_text(row: dict[str, Any], limit: int | None = None) -> str:
    steps = compress(row["activities"] or [])
    text = " → ".join(steps)
    hidden = (row["steps"] or 0) - len(row["activities"] or [])
    if hidden > 0:
        text += f" → … (+{hidden} steps)"
    if limit and len(text) > limit:
        text = text[: limit - 1].rsplit(" → ", 1)[0] + " → …"
    return text


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("variants", "Variants", "Which paths tickets take")
    rows = reader.query("variants", {"limit": TOP_VARIANTS, "max_steps": MAX_STEPS})
    if not rows:
        page.blocks.append(note("No variants mined yet (marts.variants is empty)."))
        page.summary = "No variants mined yet."
        return page
    unit, per = fmt.duration_unit(fmt.typical([r["median_duration_s"] for r in rows]))
    for row in rows:
        row["label"] = f"#{row['rank']}"
        row["sequence"] = sequence_text(row, LABEL_CHARS)
        value = row["median_duration_s"]
        row["median_duration"] = round(value / per, 3) if value is not None else None
    five = rows[min(4, len(rows) - 1)]["cumulative_share"] or 0
    total_variants = rows[0]["variant_count"]
    page.heading = (f"The {min(5, len(rows))} most common paths cover {fmt.percent(five, 0)} of "
                    f"{fmt.number(rows[0]['total_cases'])} cases "
                    f"({fmt.number(total_variants)} distinct paths)")
    page.lede = ("A variant is the exact sequence of activities a ticket went through. Few "
                 "dominant paths = a standard process; a long tail = rework, bounces and "
                 "exceptions worth a look. Repeats of one step are shown as ×n.")
    if ctx.model_files:
        links = " and ".join(f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[-1].upper())}</a>'
                             for f in ctx.model_files)
        page.lede = esc(page.lede) + (" The process model discovered from the most common "
                                      f"variants: {links}.")
    else:
        page.lede = esc(page.lede)
    page.summary = page.heading
    page.blocks.append(_pareto(rows, unit))
    page.blocks.append(_table(rows, unit))
    return page


def _pareto(rows: list[dict[str, Any]], unit: str) -> Chart:
    labels = [r["label"] for r in rows]
    hover = alt.selection_point(name="hover", fields=["label"], on="pointerover", empty=False,
                                clear="pointerout")
    base = alt.Chart(named("variants")).encode(
        y=alt.Y("label:N", title=None, sort=labels, axis=None))
    labelled = alt.Y("label:N", title="Variant (most frequent first)", sort=labels,
                     axis=alt.Axis(labelFontWeight=600))
    tooltip = [alt.Tooltip("label:N", title="Variant"), alt.Tooltip("sequence:N", title="Path"),
               alt.Tooltip("steps:Q", title="Steps"),
               alt.Tooltip("case_count:Q", title="Cases", format=",.0f"),
               alt.Tooltip("case_share:Q", title="Share", format=".1%"),
               alt.Tooltip("cumulative_share:Q", title="Cumulative", format=".1%"),
               alt.Tooltip("median_duration:Q", title=f"Median duration ({unit})",
                           format=",.1f")]
    steps = base.mark_text(align="left", baseline="middle", fontSize=11, color=INK,
                           limit=465).encode(
        x=alt.XValue(0), y=labelled, text=alt.Text("sequence:N"), tooltip=tooltip,
        opacity=conditional_value(alt.OpacityValue, hover, 1, 0.85),
    ).properties(width=470, height={"step": 24}, title="Path (activities in order)")
    bars = base.mark_bar(color=CATEGORICAL[0]).encode(
        x=alt.X("case_count:Q", title="Cases", axis=alt.Axis(orient="bottom")),
        opacity=conditional_value(alt.OpacityValue, hover, 1, 0.8),
        tooltip=tooltip)
    line = base.mark_line(color=CATEGORICAL[1], point=alt.OverlayMarkDef(
        color=CATEGORICAL[1])).encode(
        x=alt.X("cumulative_share:Q", title="Cumulative share of cases (line)",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", orient="top")),
        tooltip=tooltip)
    pareto = alt.layer(bars, line).resolve_scale(x="independent").properties(
        width=210, height={"step": 24}, title="Cases and running share")
    duration = base.mark_bar(color=CATEGORICAL[5]).encode(
        x=alt.X("median_duration:Q", title=f"Median duration ({unit})"),
        opacity=alt.condition(hover, alt.value(1), alt.value(0.8)),   # a dict: page.py
        tooltip=tooltip,
    ).add_params(hover).properties(width=150, height={"step": 24}, title="Median duration")
    first = rows[0]
    chart = alt.hconcat(steps, pareto, duration, spacing=12).resolve_scale(y="shared").properties(
        title=alt.Title(
            f"Most common path (#1, {fmt.percent(first['case_share'], 0)} of cases): "
            f"{sequence_text(first, 80)}",
            subtitle=f"Top {len(rows)} variants: cases, running share and median case "
                     f"duration in {unit}; hover a row for the details"))
    return Chart("variants-pareto", chart, {"variants": rows}, caption="From marts.variants")


def _table(rows: list[dict[str, Any]], unit: str) -> Html:
    has_fitness = any(r.get("fitness") is not None for r in rows)
    cells = [{"label": r["label"], "cases": fmt.number(r["case_count"]),
              "share": fmt.percent(r["case_share"]),
              "cum": fmt.percent(r["cumulative_share"], 0),
              "duration": fmt.number(r["median_duration"], 1),
              "fitness": fmt.number(r.get("fitness"), 2),
              "sequence": sequence_text(r)} for r in rows]
    columns = [("label", "Variant", False), ("cases", "Cases", True), ("share", "Share", True),
               ("cum", "Cumulative", True), ("duration", f"Median duration ({unit})", True)]
    if has_fitness:
        columns.append(("fitness", "Fitness to the reference model", True))
    columns.append(("sequence", "Full path", False))
    return card("The top variants, full paths", table(columns, cells))
