"""The overview's drift section: the changes marts.drift found (mine/drift.py), as a chart of
when and how strong, and a table of what changed and the edges or variants behind it."""

from __future__ import annotations

from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Html, named
from procmine.render.theme import CATEGORICAL, CHART_WIDTH

KINDS = {"kpi": "KPI", "edge": "directly-follows edges", "handoff": "hand-off edges",
         "variant": "variants"}
KPI_UNITS = {"cases_opened": "cases", "median_resolution_h": "h", "handoffs_per_case": "",
             "reopen_rate": "%"}


def drift_blocks(reader: MartReader) -> list[Chart | Html]:
    """A chart and a table of the changes, a note when none was found, nothing without
    marts.drift (a database mined before drift detection)."""
    if not reader.has_table("marts", "drift"):
        return []
    rows = reader.query("drift")
    if not rows:
        return [note("Drift detection found no change in the weekly KPIs, edges or variants "
                     "of the latest complete weeks (marts.drift is empty; it needs at least "
                     "twice [drift] min_size complete weeks, docs/drift.md).")]
    for row in rows:
        row["kind_label"] = KINDS.get(row["kind"], row["kind"])
        row["before"], row["after"] = (_value(row, row["before_value"]),
                                       _value(row, row["after_value"]))
    return [_chart(rows), _table(rows)]


def _value(row: dict[str, Any], value: float | None) -> str:
    if value is None:
        return "–"
    if row["kind"] != "kpi" or row["series"] == "reopen_rate":
        return fmt.percent(value)
    return f"{value:,.1f}{(' ' + KPI_UNITS[row['series']]) if KPI_UNITS.get(row['series']) else ''}"


def _chart(rows: list[dict[str, Any]]) -> Chart:
    first = rows[0]
    domain = list(KINDS.values())
    chart = alt.Chart(named("drift")).mark_circle(opacity=0.85).encode(
        x=alt.X("week:T", title="First week of the new regime",
                scale=alt.Scale(domain=[first["window_start"], first["window_end"]])),
        y=alt.Y("what:N", title=None, axis=alt.Axis(labelLimit=220)),
        size=alt.Size("score:Q", title="Strength (× penalty)", scale=alt.Scale(range=[60, 600]),
                      legend=alt.Legend(orient="bottom")),
        color=alt.Color("kind_label:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=domain, range=CATEGORICAL[:len(domain)])),
        tooltip=[alt.Tooltip("week:T", title="From week"), alt.Tooltip("what:N", title="What"),
                 alt.Tooltip("before:N", title="Before"), alt.Tooltip("after:N", title="After"),
                 alt.Tooltip("score:Q", title="Strength", format=".1f"),
                 alt.Tooltip("contributors:N", title="Contributors")],
    ).properties(width=CHART_WIDTH - 240, height=30 * len({r["what"] for r in rows}) + 20,
                 title=alt.Title(
                     f"Drift: {len(rows)} change{'s' if len(rows) != 1 else ''} in the weeks "
                     f"from {first['window_start']} to {first['window_end']}",
                     subtitle="ruptures' PELT over weekly KPIs and edge, hand-off and variant "
                              "shares; hover a point for the items behind it"))
    return Chart("overview-drift", chart, {"drift": rows}, caption="From marts.drift")


def _table(rows: list[dict[str, Any]]) -> Html:
    shown = [{"week": r["week"], "what": r["what"], "before": r["before"],
              "after": r["after"], "score": f"{r['score']:.1f}",
              "contributors": r["contributors"] or "–"} for r in rows]
    return card("What changed, and the items that changed most", table(
        [("week", "from week", False), ("what", "what", False), ("before", "before", True),
         ("after", "after", True), ("score", "strength", True),
         ("contributors", "top contributors (share of cases before → after)", False)], shown))
