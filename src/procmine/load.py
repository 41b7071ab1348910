"""Loading: landing files → staging → validation → core, in one writer transaction.

The load layer sits above sources (staging), the store and validation, and below mining: a
run's load step (procmine.orchestration.steps), `procmine ingest` and `procmine quarantine
release` all go through `load_and_publish_core` / `publish_core`. Every write goes through
``store.writing``: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from procmine import event_index, store
from procmine.config import Config
from procmine.errors import ProcmineError, ValidationFailed
from procmine.ingest import (
    FileIdentity,
    FileResult,
    FileStager,
    StageReport,
    load_context,
    plan_files,
    register_files,
    stage_files,
)
from procmine.sql import load_sql, quote_ident, run_sql
from procmine.sql.models import materialise
from procmine.unmapped import UnmappedReport, unmapped_report
from procmine.validate import (
    LoadedFile,
    ValidationReport,
    store_failed_quarantine,
    store_results,
    validate_staged,
)
from procmine.validation.gx_engine import import_in_background
from procmine.validation.repeats import (
    STAGED_CASE_HASHES_SQL,
    repeated_hashes,
    run_repeats,
    store_hashes,
)


@dataclass
class RunResult:
    """The outcome of one run, as recorded in marts.run_log."""

    run_id: str
    command: str
    status: str = "running"
    files: list[FileResult] = field(default_factory=list)
    events_loaded: int = 0
    events_quarantined: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    message: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    validation: ValidationReport | None = None
    unmapped: UnmappedReport | None = None   # core's events without a D2C stage (ingest)
    partitions_touched: int = 0   # partitions (case-open months) the run's cases are in
    partitions: int = 0           # partitions the store holds after the run

    @property
    def files_loaded(self) -> int:
        return sum(1 for f in self.files if f.status == "loaded")

    @property
    def failed_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


def core_event_count(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("SELECT count(*) FROM core.events").fetchone()[0]


EVENT_IDENTITY = 2  # main.event_identity: the version of the keys core.events holds


def check_event_identity(conn: duckdb.DuckDBPyConnection, first: bool) -> None:
    """Events keyed by an older procmine (migration 12) cannot be matched against new keys:
    an overlapping export would be loaded twice. An empty core takes the current keys."""
    if first:
        conn.execute(load_sql("core/event_identity_set.sql"), {"version": EVENT_IDENTITY})
        return
    version = conn.execute(load_sql("core/event_identity_version.sql")).fetchone()[0]
    if version is not None and version < EVENT_IDENTITY:
        raise ProcmineError(
            "this store's events were keyed by an older procmine (README \"Event identity\"): "
            "new loads would not recognise rows already loaded; rebuild it from the landing "
            "files with `procmine run --full` (or load the files into a new --db)")


def publish_core(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Move the run's validated staged events into core (de-duplicated), refresh the cases
    they touch and re-code those cases in the mining index.

    Work is O(the run's events + the core events of the cases it touches): core's events of
    other cases are not read. Into an empty core (a first or --full load) the events are
    written in one pass and the cases and the index read core.events whole.
    """
    params = {"run_id": run_id}
    if not event_index.covers_core(conn):
        event_index.rebuild(conn)  # core.case_keys must name every case of core.events
    first = core_event_count(conn) == 0
    check_event_identity(conn, first)
    cases_before = conn.execute("SELECT count(*) FROM core.cases").fetchone()[0]
    repeated = run_repeats(conn, run_id, "_dup_keys")  # validation's, when it ran here
    run_sql(conn, load_sql("core/publish_scope.sql"), params)
    if not repeated:
        run_sql(conn, load_sql("core/staged_unique.sql"))
    run_sql(conn, load_sql("core/publish_events_first.sql" if first
                           else "core/publish_events.sql"), params)
    store_hashes(conn, "_case_dups", repeated_hashes(conn, STAGED_CASE_HASHES_SQL))
    run_sql(conn, load_sql("core/publish_cases.sql"), params)
    if cases_before:
        run_sql(conn, load_sql("core/publish_cases_sourcing.sql"))
    publish_d2c_records(conn, whole=first or not cases_before)
    event_index.refresh(conn, events_ready=True)
    run_sql(conn, load_sql("core/publish_partitions.sql"), params)
    run_sql(conn, load_sql("core/publish_done.sql"), params)


def publish_d2c_records(conn: duckdb.DuckDBPyConnection, *, whole: bool) -> None:
    """core.d2c_records (the records' attributes parsed for d2c's links: docs/d2c.md) for the
    cases publishing just wrote in core.cases: those it touched, or every row (`whole`: core.cases
    was empty, or was written by hand, as tests do). Parsed here, where a row changes, so that
    mining does not parse every record every run."""
    run_sql(conn, load_sql("core/d2c_records_all.sql" if whole
                           else "core/d2c_records_touched.sql"))
    materialise(conn, "core/d2c_records", "core.d2c_records", append=True)
    conn.execute("DROP VIEW _d2c_parse_cases")


def partition_counts(conn: duckdb.DuckDBPyConnection, run_id: str) -> tuple[int, int]:
    """The partitions run `run_id` touched and those the store holds (core.run_partitions,
    core.case_keys: docs/partitions.md)."""
    touched, partitions = conn.execute(load_sql("core/partition_counts.sql"),
                                       {"run_id": run_id}).fetchone()
    return touched, partitions


def count_partitions(conn: duckdb.DuckDBPyConnection, result: RunResult) -> None:
    """Set the result's partitions_touched and partitions (partition_counts)."""
    result.partitions_touched, result.partitions = partition_counts(conn, result.run_id)


def load_and_publish_core(
    conn: duckdb.DuckDBPyConnection, config: Config, result: RunResult,
    batches: list[tuple[str, list[Path], dict[str, Any]]],
    progress: Callable[[FileResult], None] | None = None,
    *, identities: Mapping[Path, FileIdentity] | None = None,
    stager: FileStager | None = None,
) -> ValidationReport:
    """Stage every (source, paths, overrides) batch, validate, and move valid events to core.

    `identities`: checksums the extract step already took (not hashed again). `stager`: the
    files are read by it (the Dask engine's file tasks), all started before the first is
    appended; staging, validation and publishing stay here, in the local engine's order.
    """
    import_in_background()   # validation needs GX: import it while the files load
    plans = [plan_files(conn, source, paths, identities=identities)
             for source, paths, _ in batches]
    if stager is not None:
        stager.start([(*load_context(config, source, result.run_id, overrides), planned)
                      for (source, _, overrides), files in zip(batches, plans, strict=True)
                      for planned in files if planned.status == "loaded"])
    reports: list[StageReport] = []
    for (source, paths, overrides), planned in zip(batches, plans, strict=True):
        report = stage_files(conn, config, source, paths, result.run_id, overrides, progress,
                             planned=planned, stager=stager)
        reports.append(report)
        result.files.extend(report.files)
    loaded = [LoadedFile(f.source, str(f.path), f.snapshot_rows)
              for report in reports for f in report.loaded]
    try:
        validation = validate_staged(conn, config, result.run_id, files=loaded)
    except ValidationFailed as exc:  # the caller rolls back; record_run keeps the results
        result.validation = getattr(exc, "report", None)
        result.events_quarantined = result.validation.quarantined if result.validation else 0
        raise
    result.validation = validation
    counts = {
        row[0]: (row[1], row[2]) for row in conn.execute(
            load_sql("staging/counts_by_file.sql"), {"run_id": result.run_id}).fetchall()
    }
    before = core_event_count(conn)
    publish_core(conn, result.run_id)
    for report in reports:
        register_files(conn, report, counts)
    result.events_loaded = core_event_count(conn) - before
    result.events_quarantined = validation.quarantined
    result.quarantined_by_rule = validation.quarantined_by_rule
    return validation


def record_run(conn: duckdb.DuckDBPyConnection, result: RunResult) -> None:
    run_sql(conn, load_sql("runs/record_run.sql"), {
        "run_id": result.run_id, "started_at": result.started_at,
        "finished_at": datetime.now(UTC), "status": result.status,
        "files_loaded": result.files_loaded, "events_loaded": result.events_loaded,
        "events_quarantined": result.events_quarantined, "command": result.command,
        "message": result.message})
    if result.status == "failed_validation" and result.validation is not None:
        store_results(conn, result.validation)  # (a successful run stored them as it validated)
        store_failed_quarantine(conn, result.validation)


def record_failed_run(db_path: Path, result: RunResult) -> None:
    """After a run was rolled back, record only its failure (the data stay as published)."""
    with store.writing(db_path) as conn:
        record_run(conn, result)


def ingest(
    config: Config, db_path: Path, source: str, paths: list[Path],
    overrides: dict[str, Any] | None = None,
    progress: Callable[[FileResult], None] | None = None, *, lock_wait_s: float | None = None,
    stager: FileStager | None = None,
) -> RunResult:
    """`procmine ingest`: files all the way to core.events / quarantine.events (read by
    `stager` when given: the Dask engine's file tasks)."""
    config.source(source)  # an unknown source stops here, before the store is copied
    result = RunResult(run_id=store.new_run_id(), command=f"ingest --source {source}")
    wait = config.lock_wait_s if lock_wait_s is None else lock_wait_s
    try:
        with store.writing(db_path, lock_wait_s=wait) as conn:
            load_and_publish_core(conn, config, result, [(source, paths, overrides or {})],
                                  progress, stager=stager)
            result.unmapped = unmapped_report(conn)
            count_partitions(conn, result)
            result.status = "success" if not result.failed_files else "partial"
            result.message = "; ".join(f.message for f in result.failed_files)[:2000]
            record_run(conn, result)
    except ValidationFailed as exc:
        result.status, result.message = "failed_validation", str(exc)[:2000]
        record_failed_run(db_path, result)
        raise
    write_validation_docs(result, config.dashboards_dir)  # after publishing: the run's docs
    return result


def write_validation_docs(result: RunResult, out_dir: Path, history: Path | None = None) -> None:
    """GX Data Docs of the run's validation into out_dir/validation/ (`history`: the published
    dashboards folder when out_dir is a staging copy, for the index of earlier runs)."""
    if result.validation is not None and result.validation.outcomes:
        from procmine.validation.docs import write_data_docs

        write_data_docs(result.validation, out_dir / "validation",
                        history_dir=history / "validation" if history else None)


def landing_batches(config: Config) -> list[tuple[str, list[Path], dict[str, Any]]]:
    """(source, [landing folder], {}) for every configured source whose folder exists."""
    batches = []
    for name in config.source_names:
        folder = config.landing_dir / str(config.source(name).get("landing", name))
        if folder.is_dir():
            batches.append((name, [folder], {}))
    return batches


def reset_loaded_data(conn: duckdb.DuckDBPyConnection) -> None:
    """--full: forget every loaded file, its raw rows and its events, so all landing files are
    read again (and each row is in raw once)."""
    event_index.clear(conn)
    run_sql(conn, load_sql("core/reset.sql"))
    for (table,) in conn.execute(load_sql("catalog/raw_tables.sql")).fetchall():
        conn.execute(f"DELETE FROM raw.{quote_ident(table)}")
