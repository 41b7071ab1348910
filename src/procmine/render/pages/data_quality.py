"""Data quality: what validation kept out (quarantine by rule) and how the last runs went."""

from __future__ import annotations

from typing import Any

import altair as alt

from procmine.render import fmt
from procmine.render.html import card, esc, note, table
from procmine.render.marts import MartReader
from procmine.render.page import Chart, Context, Html, Page, named
from procmine.render.scope import Scope
from procmine.render.theme import BAD, CATEGORICAL, CHART_WIDTH, NEUTRAL

RULES = 25
RUNS_CHART = 30
RUNS_TABLE = 15
STATUS_WORDS = {"success": "succeeded", "partial": "loaded partly (a file failed)",
                "failed": "failed", "failed_validation": "was stopped by validation",
                "running": "is running"}
STATUS_COLOURS = {"success": CATEGORICAL[0], "partial": CATEGORICAL[1],
                  "failed_validation": CATEGORICAL[3], "failed": BAD, "running": NEUTRAL}


def build(reader: MartReader, scope: Scope, ctx: Context) -> Page:
    page = Page("data_quality", "Data quality", "Can these numbers be trusted?")
    page.lede = ("Every loaded row is validated before it reaches the dashboards; rows that "
                 "fail a rule are kept aside in quarantine (see `procmine quarantine list`), "
                 "and a run whose batch checks fail publishes nothing.")
    if ctx.validation_docs:
        page.lede += (f' Details per expectation: <a href="{esc(ctx.validation_docs)}">'
                      "validation data docs</a>.")
    rules = reader.query("quarantine_rules", {"limit": RULES})
    runs = reader.query("runs", {"limit": RUNS_CHART})
    current = ctx.current_run
    if current and all(r["run_id"] != current["run_id"] for r in runs):
        runs = [{**current, "duration_s": None}, *runs][:RUNS_CHART]
    quarantined = sum(r["rows_quarantined"] for r in rules)
    if runs:
        last = runs[0]
        failed = sum(1 for r in runs if r["status"] not in ("success",))
        page.heading = (f"Last run {STATUS_WORDS.get(last['status'], last['status'])} on "
                        f"{_when(last['started_at'])}")
        if len(runs) > 1:
            page.heading += (f"; all {len(runs)} recent runs succeeded" if not failed else
                             f"; {failed} of the last {len(runs)} runs did not fully succeed")
    page.summary = (f"{fmt.number(quarantined)} rows in quarantine · "
                    f"{len(runs)} recent runs" if runs else "No runs recorded yet.")
    if rules:
        page.blocks.append(_rules(rules, quarantined))
    else:
        page.blocks.append(note("No rows in quarantine: every loaded row passed validation."))
    if runs:
        page.blocks.append(_runs(runs))
        page.blocks.append(_runs_table(runs[:RUNS_TABLE]))
    else:
        page.blocks.append(note("No pipeline runs recorded yet (marts.run_log is empty)."))
    return page


def _when(iso: str | None) -> str:
    return f"{iso[:10]} {iso[11:16]} UTC" if iso else "–"


def _rules(rules: list[dict[str, Any]], total: int) -> Chart:
    for row in rules:
        row["rule_label"] = row["rule"] + (f" ({row['column_name']})" if row["column_name"] else "")
    top = rules[0]
    chart = alt.Chart(named("quarantine_rules")).mark_bar(color=CATEGORICAL[5]).encode(
        y=alt.Y("rule_label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=320)),
        x=alt.X("rows_quarantined:Q", title="Rows quarantined"),
        tooltip=[alt.Tooltip("rule:N", title="Rule"), alt.Tooltip("column_name:N", title="Column"),
                 alt.Tooltip("rows_quarantined:Q", title="Rows", format=",.0f"),
                 alt.Tooltip("runs:Q", title="Runs"),
                 alt.Tooltip("example_value:N", title="Example value"),
                 alt.Tooltip("example_reason:N", title="Reason")],
    ).properties(width=CHART_WIDTH - 260, height={"step": 26}, title=alt.Title(
        f"{fmt.number(total)} rows kept out of the analysis; most by {top['rule']} "
        f"({fmt.number(top['rows_quarantined'])})",
        subtitle="Rows in quarantine per failed rule, all runs"))
    return Chart("data-quality-quarantine", chart, {"quarantine_rules": rules},
                 caption="From quarantine.events")


def _runs(runs: list[dict[str, Any]]) -> Chart:
    rows = list(reversed(runs))
    for row in rows:
        row["run"] = _when(row["started_at"])
    order = [r["run"] for r in rows]
    statuses = sorted({r["status"] for r in rows})
    colour = alt.Color("status:N", title="Status", scale=alt.Scale(
        domain=statuses, range=[STATUS_COLOURS.get(s, NEUTRAL) for s in statuses]))
    tooltip = [alt.Tooltip("run:N", title="Started"), alt.Tooltip("status:N", title="Status"),
               alt.Tooltip("command:N", title="Command"),
               alt.Tooltip("files_loaded:Q", title="Files loaded"),
               alt.Tooltip("events_loaded:Q", title="Events loaded", format=",.0f"),
               alt.Tooltip("events_quarantined:Q", title="Quarantined", format=",.0f"),
               alt.Tooltip("duration_s:Q", title="Duration (s)", format=",.1f"),
               alt.Tooltip("message:N", title="Message")]
    base = alt.Chart(named("runs"))
    hidden = alt.X("run:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False))
    status = base.mark_square(size=180, opacity=1).encode(
        x=hidden, y=alt.YValue(10), color=colour, tooltip=tooltip,
    ).properties(width=CHART_WIDTH, height=20, title=alt.Title(
        "Status", fontSize=12, fontWeight=500, anchor="start"))
    loaded = base.mark_bar(color=CATEGORICAL[0]).encode(
        x=hidden, y=alt.Y("events_loaded:Q", title="Events loaded"),
        tooltip=tooltip).properties(width=CHART_WIDTH, height=130)
    held = base.mark_bar(color=CATEGORICAL[5]).encode(
        x=alt.X("run:N", sort=order, title="Run started (UTC)", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("events_quarantined:Q", title="Rows quarantined"),
        tooltip=tooltip).properties(width=CHART_WIDTH, height=90)
    ok = sum(1 for r in rows if r["status"] == "success")
    chart = alt.vconcat(status, loaded, held, spacing=6).properties(title=alt.Title(
        f"{ok} of the last {len(rows)} runs succeeded",
        subtitle="Events loaded and rows quarantined per pipeline run, oldest left"))
    return Chart("data-quality-runs", chart, {"runs": rows}, caption="From marts.run_log")


def _runs_table(runs: list[dict[str, Any]]) -> Html:
    rows = [{"started": _when(r["started_at"]), "command": r["command"] or "",
             "status": r["status"], "files": fmt.number(r["files_loaded"]),
             "events": fmt.number(r["events_loaded"]),
             "quarantined": fmt.number(r["events_quarantined"]),
             "duration": fmt.number(r["duration_s"], 1), "message": r["message"] or ""}
            for r in runs]
    return card("Last runs", table(
        [("started", "Started (UTC)", False), ("command", "Command", False),
         ("status", "Status", False), ("files", "Files", True), ("events", "Events", True),
         ("quarantined", "Quarantined", True), ("duration", "Seconds", True),
         ("message", "Message", False)], rows))
