"""`procmine validate` and `procmine quarantine list|show|release`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procmine import store
from procmine.config import Config
from procmine.errors import ProcmineError, ValidationFailed
from procmine.ingest import apply_mappings, install_macros
from procmine.load import (
    RunResult,
    core_event_count,
    partition_counts,
    publish_core,
    record_failed_run,
    record_run,
    write_validation_docs,
)
from procmine.sql import load_sql, run_sql
from procmine.validate import ValidationReport, validate_staged


@dataclass
class ReleaseResult:
    run_id: str
    released: int = 0
    admitted: int = 0
    requarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    partitions_touched: int = 0   # case-open months the admitted rows fell in (docs/partitions.md)
    partitions: int = 0           # of the store's


def quarantine_counts(db_path: Path, source: str | None = None) -> list[tuple[Any, ...]]:
    """(rule, source, rows, runs, last quarantined) of the published quarantine."""
    conn = store.reading(db_path)
    try:
        return run_sql(conn, load_sql("validation/quarantine_list.sql"), {"source": source}).fetchall()
    finally:
        conn.close()


def quarantine_rows(db_path: Path, rule: str, source: str | None = None,
                    limit: int = 50) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows quarantined by `rule` (file, row, value, reason, run)."""
    conn = store.reading(db_path)
    try:
        cursor = run_sql(conn, load_sql("validation/quarantine_show.sql"),
                         {"rule": rule, "source": source, "limit": limit})
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    finally:
        conn.close()


def _record(conn: Any, run_id: str, command: str, status: str, loaded: int,
            quarantined: int, message: str = "") -> None:
    result = RunResult(run_id=run_id, command=command, status=status,
                       events_loaded=loaded, events_quarantined=quarantined, message=message)
    record_run(conn, result)


def release(config: Config, db_path: Path, *, rule: str | None = None,
            source: str | None = None, run: str | None = None) -> ReleaseResult:
    """Re-stage quarantined rows (all, or those of a rule / source / run), re-validate them with
    the current configuration, publish those that pass to core; the others stay quarantined."""
    result = ReleaseResult(run_id=store.new_run_id())
    command = "quarantine release" + "".join(
        f" --{k} {v}" for k, v in (("rule", rule), ("source", source), ("run", run)) if v)
    with store.writing(db_path) as conn:
        install_macros(conn)
        run_sql(conn, load_sql("validation/release.sql"),
                {"rule": rule, "source": source, "run": run, "run_id": result.run_id})
        result.released = conn.execute(
            "SELECT count(*) FROM staging.events WHERE run_id = ?", [result.run_id]).fetchall()[0][0]
        if not result.released:
            raise ProcmineError("no quarantined rows match; see `procmine quarantine list`")
        apply_mappings(conn, config, result.run_id)
        report = validate_staged(conn, config, result.run_id, batch_checks=False)
        before = core_event_count(conn)
        publish_core(conn, result.run_id)
        result.admitted = core_event_count(conn) - before
        result.requarantined = report.quarantined
        result.partitions_touched, result.partitions = partition_counts(conn, result.run_id)
        result.by_rule = report.quarantined_by_rule
        _record(conn, result.run_id, command, "success", result.admitted, result.requarantined,
                f"released {result.released} row(s): {result.admitted} into core, "
                f"{result.requarantined} still quarantined")
    return result


def validate_database(config: Config, db_path: Path, *,
                      publish: bool = False) -> ValidationReport:
    """`procmine validate`: the suites over every row in staging.events (whatever run staged
    it); failing rows go to quarantine, the rest stay staged (or go to core with `publish`)."""
    reader = store.reading(db_path)
    try:
        staged = reader.execute("SELECT count(*) FROM staging.events").fetchall()[0][0]
    finally:
        reader.close()
    if not staged:
        return ValidationReport(run_id="")
    run_id = store.new_run_id()
    command = "validate --publish" if publish else "validate"
    try:
        with store.writing(db_path) as conn:
            conn.execute("UPDATE staging.events SET run_id = ?", [run_id])
            report = validate_staged(conn, config, run_id)
            loaded = 0
            if publish and report.staged:
                before = core_event_count(conn)
                publish_core(conn, run_id)
                loaded = core_event_count(conn) - before
            _record(conn, run_id, command, "success", loaded, report.quarantined)
    except ValidationFailed as exc:
        failed = getattr(exc, "report", None)
        record_failed_run(db_path, RunResult(
            run_id, command, status="failed_validation", message=str(exc)[:2000],
            events_quarantined=failed.quarantined if failed else 0, validation=failed))
        raise
    write_validation_docs(RunResult(run_id, command, validation=report), config.dashboards_dir)
    return report
