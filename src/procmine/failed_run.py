"""A run the batch-level gate stopped, explained: what it would have quarantined and why.

Such a run is rolled back whole (nothing is published, so quarantine.events does not have its
rows), but record_run keeps, per rule, source and column, the rows and the first examples in
marts.failed_quarantine (validate.store_failed_quarantine). `procmine quarantine list
--failed-run` and `procmine status` show them. Light on imports: `status` reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procmine import store
from procmine.sql import load_sql, run_sql, table_exists


@dataclass
class FailedRuleRows:
    """What one rule would have quarantined in a run the batch gate stopped."""

    rule: str
    source: str | None
    column: str | None
    rows: int
    examples: list[dict[str, Any]]

    def describe(self, limit: int = 3) -> str:
        """One line: rule, source, column, rows and the first example values with their
        file row and reason."""
        shown = "; ".join(
            f"{e.get('value')!r} ({Path(str(e.get('file'))).name} row {e.get('row')}: "
            f"{e.get('reason')})" for e in self.examples[:limit])
        return (f"{self.rule} (source {self.source or '-'}, column {self.column or '-'}): "
                f"{self.rows:,} row(s)" + (f", e.g. {shown}" if shown else ""))


@dataclass
class FailedRun:
    """The last run stopped by a batch-level expectation, and what it would have
    quarantined (its rows were not published: quarantine.events does not have them)."""

    run_id: str
    started_at: Any
    command: str | None
    message: str | None
    rules: list[FailedRuleRows] = field(default_factory=list)


def failed_run(conn: Any, run_id: str | None = None) -> FailedRun | None:
    """The last failed_validation run of marts.run_log (or `run_id`), None if there is none."""
    found = run_sql(conn, load_sql("runs/failed_run.sql"), {"run_id": run_id}).fetchall()
    if not found:
        return None
    run = FailedRun(*found[0])
    if table_exists(conn, "marts", "failed_quarantine"):
        for rule, source, column, rows, examples in run_sql(
                conn, load_sql("runs/failed_run_rules.sql"), {"run_id": run.run_id}).fetchall():
            run.rules.append(FailedRuleRows(rule, source, column, int(rows),
                                            json.loads(examples) if examples else []))
    return run


def failed_run_quarantine(db_path: Path, run_id: str | None = None) -> FailedRun | None:
    """`procmine quarantine list --failed-run`: see failed_run."""
    conn = store.reading(db_path)
    try:
        return failed_run(conn, run_id)
    finally:
        conn.close()


def failed_run_lines(run: FailedRun | None, limit: int = 3) -> list[str]:
    """The run and one line per rule, for the CLI (plain text)."""
    if run is None:
        return ["no run was stopped by validation"]
    lines = [f"run {run.run_id} ({run.command or ''}, {run.started_at:%Y-%m-%d %H:%M:%S}) "
             f"was stopped by validation and published nothing: {run.message or ''}"]
    if not run.rules:
        lines.append("no row was quarantined by a row or case rule (only the batch-level "
                     "expectations above failed)")
    lines += [f"  {rule.describe(limit)}" for rule in run.rules]
    return lines
