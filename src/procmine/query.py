"""Ad-hoc SQL and run history over the last published state (read-only), as data.

Printing them is the CLI's concern (cli_format.py); the API hands them to analysts as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procmine import store
from procmine.failed_run import FailedRun, failed_run
from procmine.readonly import Params, arrow_readonly, connect_readonly, execute_readonly
from procmine.sql import load_sql, table_exists

if TYPE_CHECKING:
    import polars as pl

@dataclass(frozen=True)
class Rows:
    """A query's column names and rows (tuples)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Status:
    """The published database's counts, its last runs (newest first) and pull watermarks."""

    db_path: Path
    events: int
    cases: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    watermarks: list[tuple[str, str, str, Any]] = field(default_factory=list)
    stopped: FailedRun | None = None  # the newest shown run the validation gate stopped

    @property
    def last_problem(self) -> dict[str, Any] | None:
        """The newest shown run that did not succeed, if any."""
        return next((r for r in self.runs if r["status"] not in ("success",)), None)


def fetch(db_path: Path, query: str, params: Params = None) -> Rows:
    """Execute `query` read-only (procmine sql's guard) and return its rows."""
    conn = connect_readonly(db_path)
    try:
        cursor = execute_readonly(conn, query, params)
        if cursor.description is None:
            return Rows([], [])
        return Rows([d[0] for d in cursor.description], cursor.fetchall())
    finally:
        conn.close()


def frame(db_path: Path, query: str, params: Params = None) -> pl.DataFrame:
    """Execute `query` read-only (procmine sql's guard) and return a polars DataFrame."""
    import polars as pl

    conn = connect_readonly(db_path)
    try:
        table = arrow_readonly(conn, query, params)
        return pl.DataFrame() if table is None else pl.from_arrow(table)  # type: ignore[return-value]
    finally:
        conn.close()


def status(db_path: Path, limit: int = 10) -> Status:
    """The last `limit` runs (files, events, quarantine, marts, failures), the core counts and
    the pull watermarks."""
    conn = store.reading(db_path)
    try:
        cursor = conn.execute(load_sql("runs/last_runs.sql"), {"limit": limit})
        columns = [d[0] for d in cursor.description]
        runs = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        events, cases = conn.execute(load_sql("runs/core_size.sql")).fetchone()
        stopped_id = next((r["run_id"] for r in runs if r["status"] == "failed_validation"),
                          None)
        stopped = failed_run(conn, stopped_id) if stopped_id else None
        marks = (conn.execute(load_sql("runs/pull_watermarks.sql")).fetchall()
                 if table_exists(conn, "core", "pull_watermarks") else [])
    finally:
        conn.close()
    return Status(Path(db_path), events, cases, runs, [tuple(m) for m in marks], stopped)
