"""Ad-hoc SQL and run history over the last published state (read-only)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from procmine import store
from procmine.readonly import connect_readonly, execute_readonly
from procmine.validation.failed_run import failed_run

STATUS_SQL = "SELECT * FROM marts.run_log ORDER BY started_at DESC, run_id DESC LIMIT ?"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def run_query(db_path: Path, query: str, output: str, console: Console) -> int:
    """Execute `query` read-only and print it as a table, CSV or JSON; returns the row count."""
    conn = connect_readonly(db_path)
    try:
        cursor = execute_readonly(conn, query)
        if cursor.description is None:
            return 0
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        conn.close()
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
    return len(rows)


def _table_exists(conn: Any, schema: str, name: str) -> bool:
    return conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = ?", [schema, name]).fetchone()[0] > 0


def _marts_cell(run: dict[str, Any]) -> str:
    if run.get("mined") is None or run["status"] not in ("success", "partial"):
        return ""
    return "recomputed" if run["mined"] else "[dim]unchanged[/dim]"


def show_status(db_path: Path, limit: int, console: Console) -> None:
    """The last runs (files, events, quarantine, marts, failures) and the pull watermarks."""
    conn = store.reading(db_path)
    try:
        cursor = conn.execute(STATUS_SQL, [limit])
        columns = [d[0] for d in cursor.description]
        runs = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        events = conn.execute("SELECT count(*), count(DISTINCT case_id) FROM core.events").fetchone()
        stopped_id = next((r["run_id"] for r in runs if r["status"] == "failed_validation"),
                          None)
        stopped = failed_run(conn, stopped_id) if stopped_id else None
        marks = conn.execute(
            "SELECT source, table_name, field, watermark FROM core.pull_watermarks ORDER BY 1, 2"
        ).fetchall() if _table_exists(conn, "core", "pull_watermarks") else []
    finally:
        conn.close()
    console.print(f"{db_path}: {events[0]:,} events, {events[1]:,} cases in core")
    table = Table("run", "command", "status", "started", "s", "files", "events", "quarantined",
                  "marts", "message")
    for run in runs:
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
    failed = next((r for r in runs if r["status"] not in ("success",)), None)
    if failed and failed.get("message"):
        console.print(f"last problem, run {failed['run_id']} ({failed['status']}): "
                      f"{failed['message']}", markup=False, highlight=False)
    if failed and failed["status"] == "failed_validation" and stopped and stopped.rules:
        console.print("it would have quarantined (nothing was published):", highlight=False)
        for rule in stopped.rules:
            console.print(f"  {rule.describe()}", markup=False, highlight=False,
                          soft_wrap=True)
    for source, table_name, field, watermark in marks:
        console.print(f"{source} pull: {table_name} records with {field} > {watermark} "
                      "are fetched next", highlight=False)
