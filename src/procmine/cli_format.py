"""How the CLI prints what the API returns: query rows as a table, CSV or JSON; run status."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from procmine.query import Rows, Status

if TYPE_CHECKING:
    from procmine.compare import Comparison
    from procmine.load import RunResult
    from procmine.quarantine import ReleaseResult


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def print_rows(result: Rows, output: str, console: Console) -> None:
    """`procmine sql`'s output: a table (with a row count), CSV or JSON on stdout."""
    if not result.columns:
        return
    columns, rows = result.columns, result.rows
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif output == "json":
        sys.stdout.write(json.dumps(
            [{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows],
            indent=None) + "\n")
    else:
        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
        console.print(f"{len(rows)} row(s)")


def partitions_touched(result: RunResult | ReleaseResult) -> str:
    """The run summary's partitions (case-open months, docs/partitions.md): the run's of the
    store's."""
    return f"{result.partitions_touched} of {result.partitions} partitions touched"


def _marts_cell(run: dict[str, Any]) -> str:
    if run.get("mined") is None or run["status"] not in ("success", "partial"):
        return ""
    return "recomputed" if run["mined"] else "[dim]unchanged[/dim]"


def print_status(status: Status, console: Console) -> None:
    """`procmine status`: core counts, a table of the last runs, the last problem, watermarks."""
    console.print(f"{status.db_path}: {status.events:,} events, {status.cases:,} cases in core")
    table = Table("run", "command", "status", "started", "s", "files", "events", "quarantined",
                  "marts", "message")
    for run in status.runs:
        finished, started = run["finished_at"], run["started_at"]
        seconds = f"{(finished - started).total_seconds():.1f}" if finished else ""
        style = "green" if run["status"] == "success" else "red"
        files = f"{run['files_loaded']} new"
        if run.get("files_skipped"):
            files += f", {run['files_skipped']} known"
        if run.get("files_failed"):
            files += f", [red]{run['files_failed']} failed[/red]"
        table.add_row(run["run_id"], run["command"] or "", f"[{style}]{run['status']}[/{style}]",
                      started.strftime("%Y-%m-%d %H:%M:%S"), seconds, files,
                      f"{run['events_loaded']:,}", f"{run['events_quarantined']:,}",
                      _marts_cell(run), (run["message"] or "")[:80])
    console.print(table)
    failed = status.last_problem
    if failed and failed.get("message"):
        console.print(f"last problem, run {failed['run_id']} ({failed['status']}): "
                      f"{failed['message']}", markup=False, highlight=False)
    stopped = status.stopped
    if failed and failed["status"] == "failed_validation" and stopped and stopped.rules:
        console.print("it would have quarantined (nothing was published):", highlight=False)
        for rule in stopped.rules:
            console.print(f"  {rule.describe()}", markup=False, highlight=False, soft_wrap=True)
    for source, table_name, field, watermark in status.watermarks:
        console.print(f"{source} pull: {table_name} records with {field} > {watermark} "
                      "are fetched next", highlight=False)


_SECTION_TITLES = {
    "kpis": "KPIs", "variants": "variants (cases)", "edges": "directly-follows edges "
    "(transitions)", "waits": "waits on the edges (median hours)", "waste": "waste heat-map "
    "cells (d2c_stage × waste_type, cases affected)",
}


def _value(value: Any, measure: str) -> str:
    if value is None:
        return ""
    if measure == "share":
        return f"{value:.1%}"
    if measure in ("cases", "transitions"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _difference(row: dict[str, Any]) -> str:
    value, measure = row["difference"], row["measure"]
    if value is None:
        return ""
    if measure == "share":
        return f"{value * 100:+.1f} pp"
    if measure in ("cases", "transitions"):
        rates = row["before_share"], row["after_share"]
        share = (f" ({(rates[1] - rates[0]) * 100:+.1f} pp)"
                 if None not in rates and row["section"] != "kpis" else "")
        return f"{value:+,.0f}{share}"
    return f"{value:+,.2f}"


def _p(value: Any) -> str:
    return "" if value is None else (f"{value:.1e}" if value < 1e-3 else f"{value:.3f}")


def print_comparison(result: Comparison, output: str, limit: int, console: Console) -> None:
    """`procmine compare`: per section the top `limit` rows by effect, or all rows as CSV or
    JSON on stdout."""
    if output in ("csv", "json"):
        frame = result.frame()
        print_rows(Rows(frame.columns, frame.rows()), output, console)
        return
    console.print(f"before {result.before}: {result.cases_before:,} cases opened; after "
                  f"{result.after}: {result.cases_after:,} cases opened", highlight=False)
    for name, frame in result.sections.items():
        table = Table("item", "measure", "before", "after", "difference", "test", "p", "q",
                      "effect", title=f"{_SECTION_TITLES[name]}: top {min(limit, frame.height)}"
                      f" of {frame.height} by effect", title_justify="left")
        for row in frame.head(limit).iter_rows(named=True):
            item = row["item"]
            if name == "variants":   # "#rank id" → "#rank path" (the id is in csv/json)
                item = f"{item.split(' ')[0]} {row['detail']}" if item.startswith("#") else (
                    f"{item}: {row['detail']}")
            effect = "" if row["effect"] is None else f"{row['effect']:+.3f} {row['effect_measure']}"
            table.add_row(item, row["measure"], _value(row["before"], row["measure"]),
                          _value(row["after"], row["measure"]), _difference(row),
                          row["test"], _p(row["p_value"]), _p(row["q_value"]), effect)
        console.print(table)
