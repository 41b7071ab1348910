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

STATUS_SQL = """
SELECT run_id, command, status, started_at, finished_at, files_loaded, events_loaded,
       events_quarantined, message
FROM marts.run_log ORDER BY started_at DESC LIMIT ?
"""


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


def show_status(db_path: Path, limit: int, console: Console) -> None:
    conn = store.reading(db_path)
    try:
        rows = conn.execute(STATUS_SQL, [limit]).fetchall()
        events = conn.execute("SELECT count(*), count(DISTINCT case_id) FROM core.events").fetchone()
    finally:
        conn.close()
    console.print(f"{db_path}: {events[0]:,} events, {events[1]:,} cases in core")
    table = Table("run", "command", "status", "started", "s", "files", "events", "quarantined",
                  "message")
    for run_id, command, status, started, finished, files, loaded, quarantined, message in rows:
        seconds = f"{(finished - started).total_seconds():.1f}" if finished else ""
        style = "green" if status == "success" else "red"
        table.add_row(run_id, command or "", f"[{style}]{status}[/{style}]",
                      started.strftime("%Y-%m-%d %H:%M:%S"), seconds, str(files), f"{loaded:,}",
                      f"{quarantined:,}", (message or "")[:80])
    console.print(table)
