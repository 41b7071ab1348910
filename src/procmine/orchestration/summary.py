"""The run summary in Markdown: the Prefect artefact of a run, kept in marts.run_log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from procmine.sql import load_sql, run_sql, table_exists
from procmine.unmapped import unmapped_report

if TYPE_CHECKING:
    from procmine.orchestration.steps import RunState

MAX_FILES_LISTED = 40
MAX_DRIFT_LISTED = 10


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _signed(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:+,.{digits}f}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def run_summary_markdown(state: RunState, conn: duckdb.DuckDBPyConnection) -> str:
    """Files, events, quarantine, unmapped activities (no D2C stage), pulls, marts and the
    biggest waste changes of one run."""
    result = state.result
    events, cases = conn.execute(load_sql("runs/core_size.sql")).fetchone()
    per_file = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT path, events, quarantined FROM core.load_registry WHERE run_id = ?",
        [result.run_id]).fetchall()}
    failed = result.failed_files
    lines = [
        f"# procmine run `{result.run_id}`: **{result.status}**",
        "",
        "| | |",
        "|---|---|",
        f"| command | `procmine {result.command}` |",
        f"| files | {result.files_loaded} loaded, {state.files_skipped} already loaded "
        f"(skipped), {len(failed)} failed |",
        f"| events | +{_num(result.events_loaded)} → {_num(events)} events, {_num(cases)} "
        "cases in core |",
        f"| partitions | {result.partitions_touched} of {result.partitions} touched "
        "(case-open months, docs/partitions.md) |",
        f"| quarantined | {_num(result.events_quarantined)}"
        + (" (" + ", ".join(f"{rule}: {n:,}" for rule, n in
                            sorted(result.quarantined_by_rule.items())) + ")"
           if result.quarantined_by_rule else "") + " |",
    ]
    unmapped = unmapped_report(conn, (events, cases))
    lines.append(f"| unmapped activities | {_cell(unmapped.describe())} |")
    for report in state.pulls:
        lines.append(f"| {report.source} pull | {_cell(report.describe())} |")
    if state.mined:
        lines.append(f"| marts | recomputed in {state.timings.get('build_marts_s', 0):.1f} s |")
    elif state.skip_reason:
        lines.append(f"| marts | unchanged: {state.skip_reason} |")
    if result.message:
        lines.append(f"| message | {_cell(result.message[:500])} |")

    listed = [f for f in result.files if f.status != "skipped"][:MAX_FILES_LISTED]
    if listed:
        lines += ["", "## Files read", "",
                  "| file | source | status | rows | events | quarantined | note |",
                  "|---|---|---|--:|--:|--:|---|"]
        for f in listed:
            file_events, quarantined = per_file.get(str(f.path), (None, None))
            lines.append(
                f"| {_cell(f.path.name)} | {f.source} | {f.status} | {_num(f.rows)} | "
                f"{_num(file_events)} | {_num(quarantined)} | {_cell(f.message[:200])} |")

    if state.mined:
        lines += ["", "## Top waste changes against the previous run", ""]
        if not state.has_previous_heatmap:
            lines.append("First heat map: nothing to compare with yet.")
        elif not state.heatmap_changes:
            lines.append("The waste heat map did not change.")
        else:
            lines += ["| D2C stage | waste | hours before | hours now | Δ hours | Δ cost | Δ cases |",
                      "|---|---|--:|--:|--:|--:|--:|"]
            for change in state.heatmap_changes:
                lines.append(
                    f"| {change['d2c_stage'] or '–'} | {change['waste_type'] or '–'} | "
                    f"{_num(change['hours_before'], 1)} | {_num(change['hours_now'], 1)} | "
                    f"{_signed(change['delta_hours'])} | {_signed(change['delta_cost'], 0)} | "
                    f"{_signed(change['delta_cases'], 0)} |")
        lines += _drift_lines(conn)
    return "\n".join(lines) + "\n"


def _drift_lines(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The changes drift detection found (marts.drift), strongest of the latest weeks first."""
    if not table_exists(conn, "marts", "drift"):
        return []
    rows = run_sql(conn, load_sql("runs/drift_findings.sql"),
                   {"limit": MAX_DRIFT_LISTED}).fetchall()
    lines = ["", "## Drift: changes in the weekly KPIs, edges and variants", ""]
    if not rows:
        return [*lines, "No change found in the latest complete weeks."]
    lines += ["| from week | what | before | after | strength | top contributors |",
              "|---|---|--:|--:|--:|---|"]
    for week, kind, series, before, after, score, contributors in rows:
        what = f"KPI {series}" if kind == "kpi" else series
        digits = 3 if kind != "kpi" or series == "reopen_rate" else 1
        lines.append(f"| {week} | {_cell(what)} | {_num(before, digits)} | "
                     f"{_num(after, digits)} | {score:.1f} | {_cell(contributors or '–')} |")
    return lines
