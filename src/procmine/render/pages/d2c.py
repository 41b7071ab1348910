"""Detect to Correct end to end: calls, incidents, problems and changes followed through
their links (core.links; the marts of docs/d2c.md)."""

from __future__ import annotations

from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, named
from procmine.render.scope import Scope
from procmine.render.theme import CATEGORICAL, CHART_WIDTH, INK, WASTE_SCHEME

TYPES = ["interaction", "incident", "problem", "change"]
STAGE_LABELS = {
    "call_to_incident": "First call → incident logged",
    "incident_to_problem": "Incident → problem",
    "problem_to_change": "Problem → change",
    "incident_to_change": "Incident → change",
    "change_to_close": "Change implemented → last incident closed",
    "detect_to_fix": "Detection → fix (whole chain)",
}
TOP = 15


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("d2c", "Detect to Correct", "Calls, incidents, problems and changes as one flow")
    if not reader.has_table("marts", "d2c_volumes"):
        page.blocks.append(note("No Detect-to-Correct marts in this store yet (procmine mine "
                                "builds them)."))
        page.summary = "No Detect-to-Correct marts yet."
        return page
    volumes = reader.query("d2c_volumes")
    stages = reader.query("d2c_stages")
    if not volumes:
        page.blocks.append(note("No records mined yet (marts.d2c_volumes is empty)."))
        page.summary = "No records mined yet."
        return page
    count = {v["case_type"]: v["records"] for v in volumes}
    first_call = next((s for s in stages if s["stage"] == "call_to_incident"), None)
    page.heading = ", ".join(f"{fmt.number(count[t])} {t}s" for t in TYPES if t in count)
    if first_call:
        page.heading += (f"; median first call → incident "
                         f"{fmt.duration(first_call['median_h'] * 3600)}")
    page.lede = ("One fault reaches the service desk as calls, is logged as incidents, may be "
                 "escalated to a problem and fixed by a change; a change can also cause new "
                 "incidents. Links come from the records' own fields (given) or from the "
                 "configured rules (inferred, [links.rules] in procmine.toml; docs/d2c.md). "
                 "Each chart says which links it follows.")
    page.summary = page.heading
    page.blocks.append(_flow(volumes, stages))
    cells = reader.query("d2c_heatmap")
    if cells:
        page.blocks.append(_heatmap(cells, ctx))
    recurrence = reader.query("d2c_recurrence", {"limit": TOP})
    if recurrence:
        page.blocks.append(_recurrence(recurrence))
    changes = reader.query("d2c_change_types", {"limit": TOP})
    if changes:
        page.blocks.append(_change_types(changes))
    if not (recurrence and changes):
        page.blocks.append(note("Recurrence and change-induced incidents need change records "
                                "with links (given, or inferred from their CIs and times): "
                                "none in this store."))
    page.blocks.append(_tables(recurrence, changes))
    return page


def _flow(volumes: list[dict[str, Any]], stages: list[dict[str, Any]]) -> Chart:
    for v in volumes:
        v["label"] = v["case_type"].capitalize() + "s"
        v["unlinked_records"] = v["records"] - v["linked_records"]
    order = [v["label"] for v in volumes]
    volume = alt.Chart(named("d2c_volumes")).transform_fold(
        ["linked_records", "unlinked_records"], as_=["part", "count"]).transform_calculate(
        part_label="datum.part == 'linked_records' ? 'Linked to another type' : 'Alone'",
    ).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=order),
        x=alt.X("count:Q", title="Records", stack="zero"),
        color=alt.Color("part_label:N", title=None,
                        scale=alt.Scale(domain=["Linked to another type", "Alone"],
                                        range=[CATEGORICAL[0], "#c5d3e0"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("label:N", title="Record type"),
                 alt.Tooltip("records:Q", title="Records", format=",.0f"),
                 alt.Tooltip("linked_records:Q", title="Linked (any link)", format=",.0f"),
                 alt.Tooltip("given_linked_records:Q", title="Linked by given links",
                             format=",.0f")],
    ).properties(width=260, height={"step": 30}, title="Records per type (flow order)")
    if not stages:   # no record is linked to another type: the volumes alone
        chart = volume.properties(title=alt.Title(
            "The Detect-to-Correct flow across record types",
            subtitle=["Records per type: no record is linked to a record of another type, so "
                      "there are no stage times"]))
        return Chart("d2c-flow", chart, {"d2c_volumes": volumes},
                     caption="From marts.d2c_volumes")
    for s in stages:
        s["label"] = STAGE_LABELS.get(s["stage"], s["stage"])
        s["records_text"] = f"{fmt.number(s['records'])} {s['grain']}s"
    labels = [s["label"] for s in stages]
    base = alt.Chart(named("d2c_stages")).encode(y=alt.Y("label:N", title=None, sort=labels))
    tooltip = [alt.Tooltip("label:N", title="Stage"),
               alt.Tooltip("records:Q", title="Reached by", format=",.0f"),
               alt.Tooltip("grain:N", title="Counted per"),
               alt.Tooltip("median_h:Q", title="Median (hours)", format=",.1f"),
               alt.Tooltip("p90_h:Q", title="90th percentile (hours)", format=",.1f"),
               alt.Tooltip("links_used:N", title="Links followed")]
    bars = base.mark_bar(color=CATEGORICAL[1]).encode(
        x=alt.X("median_h:Q", title="Median hours"), tooltip=tooltip)
    text = base.mark_text(align="left", dx=4, fontSize=11, color=INK).encode(
        x=alt.X("median_h:Q"), text=alt.Text("records_text:N"), tooltip=tooltip)
    times = (bars + text).properties(width=300, height={"step": 30},
                                     title="Median time per stage (label: how many reach it)")
    chart = alt.hconcat(volume, times, spacing=24).properties(title=alt.Title(
        "The Detect-to-Correct flow across record types",
        subtitle=["Left: records per type, linked to a record of another type or alone",
                  "Right: median time between stages (given links: reported_as, escalated_to, "
                  "fixed_by)"]))
    return Chart("d2c-flow", chart, {"d2c_volumes": volumes, "d2c_stages": stages},
                 caption="From marts.d2c_volumes and marts.d2c_stage_times")


def _heatmap(cells: list[dict[str, Any]], ctx: Context) -> Chart:
    for c in cells:
        c["row"] = f"{c['case_type']} · {c['d2c_stage']}"
        c["waste"] = fmt.waste_label(c["waste_type"])
    rows = sorted({c["row"] for c in cells}, key=lambda r: (
        TYPES.index(r.split(" · ")[0]) if r.split(" · ")[0] in TYPES else len(TYPES), r))
    types = fmt.ordered(sorted({c["waste_type"] for c in cells}), fmt.WASTE_TYPES)
    base = alt.Chart(named("d2c_heatmap")).encode(
        x=alt.X("waste:N", title="Lean waste type", sort=[fmt.waste_label(t) for t in types],
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("row:N", title="Record type · D2C stage", sort=rows))
    tooltip = [alt.Tooltip("row:N", title="Record type · stage"),
               alt.Tooltip("waste:N", title="Waste"),
               alt.Tooltip("hours:Q", title="Hours", format=",.1f"),
               alt.Tooltip("cost:Q", title=f"Cost ({ctx.currency})", format=",.0f"),
               alt.Tooltip("records:Q", title="Records", format=",.0f"),
               alt.Tooltip("linked_records:Q", title="of them linked", format=",.0f")]
    rects = base.mark_rect(cornerRadius=2).encode(
        color=alt.Color("hours:Q", title="Hours", scale=alt.Scale(scheme=WASTE_SCHEME)),
        tooltip=tooltip)
    width = min(CHART_WIDTH - 200, 100 * len(types))
    chart = rects.properties(width=width, height={"step": 26}, title=alt.Title(
        "Lean waste across record types",
        subtitle=["Waste hours by record type and Detect-to-Correct stage (all records)",
                  "The tooltip says how many are linked to another type, by any link"]))
    return Chart("d2c-heatmap", chart, {"d2c_heatmap": cells},
                 caption="From marts.d2c_waste_heatmap (marts.waste by record type)")


def _recurrence(rows: list[dict[str, Any]]) -> Chart:
    for r in rows:
        r["label"] = f"{r['ci']} ({r['change_id']})"
    labels = [r["label"] for r in rows]
    base = alt.Chart(named("d2c_recurrence")).transform_fold(
        ["incidents_before", "incidents_after"], as_=["when", "incidents"]).transform_calculate(
        when_label="datum.when == 'incidents_before' ? 'Before the change' : 'After'")
    chart = base.mark_bar().encode(
        y=alt.Y("label:N", title="CI (fixing change)", sort=labels),
        x=alt.X("incidents:Q", title="Incidents on the CI"),
        yOffset=alt.YOffset("when_label:N", sort=["Before the change", "After"]),
        color=alt.Color("when_label:N", title=None, sort=["Before the change", "After"],
                        scale=alt.Scale(range=[CATEGORICAL[5], CATEGORICAL[0]]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("ci:N", title="CI"), alt.Tooltip("change_id:N", title="Change"),
                 alt.Tooltip("change_type:N", title="Change type"),
                 alt.Tooltip("incidents_before:Q", title="Incidents before"),
                 alt.Tooltip("incidents_after:Q", title="Incidents after"),
                 alt.Tooltip("known_problem_days:Q", title="Days the fix took",
                             format=",.1f"),
                 alt.Tooltip("before_ids:N", title="Before (ids)"),
                 alt.Tooltip("after_ids:N", title="After (ids)")],
    ).properties(width=CHART_WIDTH - 300, height={"step": 24}, title=alt.Title(
        "CIs with most incidents before the change that fixed them",
        subtitle=[f"Incidents on the CI within {fmt.number(rows[0]['window_days'])} days "
                  "before and after the fixing change took effect",
                  "(given fixed_by and escalated_to links)"]))
    return Chart("d2c-recurrence", chart, {"d2c_recurrence": rows},
                 caption="From marts.d2c_recurrence")


def _change_types(rows: list[dict[str, Any]]) -> Chart:
    labels = [r["change_type"] for r in rows]
    tooltip = [alt.Tooltip("change_type:N", title="Change type"),
               alt.Tooltip("induced_incidents:Q", title="Induced incidents", format=",.0f"),
               alt.Tooltip("changes:Q", title="Changes", format=",.0f"),
               alt.Tooltip("failed_changes:Q", title="Changes that led to an incident",
                           format=",.0f"),
               alt.Tooltip("change_failure_rate:Q", title="Change failure rate", format=".1%"),
               alt.Tooltip("evidence:N", title="Failed changes (ids)")]
    base = alt.Chart(named("d2c_change_types")).encode(
        y=alt.Y("change_type:N", title=None, sort=labels), tooltip=tooltip)
    bars = base.mark_bar(color=CATEGORICAL[5]).encode(
        x=alt.X("induced_incidents:Q", title="Incidents induced"))
    rate = base.mark_bar(color=CATEGORICAL[2]).encode(
        x=alt.X("change_failure_rate:Q", title="Change failure rate",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
    chart = alt.hconcat(
        bars.properties(width=240, height={"step": 24}, title="Incidents induced"),
        rate.properties(width=150, height={"step": 24}, title="Change failure rate (DORA)"),
        spacing=12).resolve_scale(y="shared").properties(title=alt.Title(
            "Change types with most induced incidents",
            subtitle=["Induced: a change on the incident's CI took effect shortly before it "
                      "opened (induced links, given and inferred)",
                      "Failure rate: the share of the type's changes that led to an incident"]))
    return Chart("d2c-change-types", chart, {"d2c_change_types": rows},
                 caption="From marts.d2c_change_failure (dimension change_type)")


def _tables(recurrence: list[dict[str, Any]], changes: list[dict[str, Any]]) -> Html:
    parts = []
    if recurrence:
        parts.append(table(
            [("ci", "CI", False), ("change_id", "Fixing change", False),
             ("before", "Before", True), ("after", "After", True),
             ("before_ids", "Incidents before (ids)", False),
             ("after_ids", "Incidents after (ids)", False)],
            [{"ci": r["ci"], "change_id": r["change_id"],
              "before": fmt.number(r["incidents_before"]),
              "after": fmt.number(r["incidents_after"]),
              "before_ids": r["before_ids"] or "", "after_ids": r["after_ids"] or ""}
             for r in recurrence]))
    if changes:
        parts.append(table(
            [("change_type", "Change type", False), ("induced", "Induced incidents", True),
             ("rate", "Change failure rate", True), ("evidence", "Failed changes (ids)", False)],
            [{"change_type": r["change_type"], "induced": fmt.number(r["induced_incidents"]),
              "rate": fmt.percent(r["change_failure_rate"]), "evidence": r["evidence"] or ""}
             for r in changes]))
    if not parts:
        return note("Evidence ids appear here once changes are linked.")
    return card("Evidence to look up (core.links holds each link's evidence)", "".join(parts))
