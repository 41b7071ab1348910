"""The steps of one pipeline run as plain functions over a shared `RunState`.

The Prefect flow (flows/nightly.py, procmine.orchestration.flow) wraps each of them in a task;
`procmine run` without a Prefect API calls them directly (procmine.orchestration.run). Each
step returns a small JSON-able summary, which becomes the task's result in Prefect.

The work itself lives below: procmine.load (load_and_publish_core), procmine.orchestration.outputs
(build_marts, render_dashboards), procmine.render.publish; these steps only sequence it, decide what to skip
and record what happened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import duckdb
import httpx

from procmine import load as loading
from procmine import store
from procmine.config import Config, RunSettings
from procmine.errors import ConfigError, InputError, ProcmineError
from procmine.faults import crash_point
from procmine.ingest import (
    FileIdentifier,
    FileIdentity,
    FileResult,
    expand_paths,
    file_stamp,
    registry_stamps,
)
from procmine.load import RunResult
from procmine.orchestration import outputs
from procmine.orchestration.imports import start_heavy_imports
from procmine.render.publish import clear_stale_staging
from procmine.render.publish import publish_dashboards as publish_pages
from procmine.sql import load_sql, run_sql
from procmine.validate import ValidationReport

log = logging.getLogger("procmine.run")

# Config sections that do not change what a run computes (so not part of its fingerprint).
NOT_FINGERPRINTED = ("run", "schedule")


@dataclass
class LandingFile:
    """A data file found in a landing folder."""

    source: str
    identity: FileIdentity
    status: str  # new | changed (path loaded before, other content) | known (already loaded)

    @property
    def path(self) -> Path:
        return self.identity.path

    @property
    def file_id(self) -> str:
        return self.identity.file_id

    @property
    def size_bytes(self) -> int:
        return self.identity.size_bytes


@dataclass
class ExtractPlan:
    """What the extract step found: only `new` and `changed` files are read."""

    files: list[LandingFile] = field(default_factory=list)

    @property
    def to_read(self) -> list[LandingFile]:
        return [f for f in self.files if f.status != "known"]

    @property
    def hashed(self) -> int:
        """How many files were read to checksum them (the others recognised by their stamp)."""
        return sum(1 for f in self.files if f.identity.hashed)

    def batches(self) -> list[tuple[str, list[Path], dict[str, Any]]]:
        by_source: dict[str, list[Path]] = {}
        for landing_file in self.to_read:
            by_source.setdefault(landing_file.source, []).append(landing_file.path)
        return [(source, paths, {}) for source, paths in by_source.items()]

    def identities(self) -> dict[Path, FileIdentity]:
        """The checksums of the files to read (the load step does not hash them again)."""
        return {f.path: f.identity for f in self.to_read}

    def status_of(self, identity: FileIdentity, identifier: FileIdentifier,
                  loaded_paths: set[str]) -> str:
        """known (loaded before, or the same content as a file already planned), changed
        (its path was loaded before with other content) or new."""
        if identifier.already_loaded(identity) or any(
                f.file_id == identity.file_id for f in self.to_read):
            return "known"
        return "changed" if str(identity.path) in loaded_paths else "new"


@dataclass
class RunState:
    """Everything the steps of one run share: the private copy's connection, the result."""

    config: Config
    db_path: Path
    result: RunResult
    settings: RunSettings = field(default_factory=RunSettings)   # the run's resolved options
    conn: duckdb.DuckDBPyConnection | None = None
    writer: AbstractContextManager[duckdb.DuckDBPyConnection] | None = None
    plan: ExtractPlan = field(default_factory=ExtractPlan)
    pulls: list[Any] = field(default_factory=list)
    validation: ValidationReport | None = None
    mined: bool = False
    rendered: bool = False
    skip_reason: str = ""
    fingerprint: str = ""
    heatmap_changes: list[dict[str, Any]] = field(default_factory=list)
    has_previous_heatmap: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    mine_timings: dict[str, float] = field(default_factory=dict)   # MineReport.timings
    flow_run_id: str | None = None
    summary_md: str = ""

    @property
    def full(self) -> bool:
        """Rebuild from every landing file (settings.full)."""
        return self.settings.full

    @property
    def sources(self) -> list[str]:
        """The sources the run reads: settings.sources (checked), else every configured one."""
        return select_sources(self.config, self.settings.sources)

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        if self.conn is None:
            raise ProcmineError("the run has no open database (internal error)")
        return self.conn

    @property
    def staged_pages(self) -> Path:
        pages = self.config.dashboards_dir
        return pages.with_name(f".{pages.name}.{self.result.run_id}")

    @property
    def records_pulled(self) -> int:
        return sum(getattr(p, "records_total", 0) for p in self.pulls)

    @property
    def files_skipped(self) -> int:
        return sum(1 for f in self.result.files if f.status == "skipped")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: file system and network hiccups, not bad data or config."""
    if isinstance(exc, ConfigError | InputError):
        return False
    from procmine.sources.servicenow_pull import PullError

    if isinstance(exc, PullError):
        return exc.transient
    return isinstance(exc, OSError | httpx.TransportError)


def select_sources(config: Config, sources: Sequence[str] | None) -> list[str]:
    """The sources a run reads: all configured ones, or the named ones (checked)."""
    if not sources:
        return config.source_names
    unknown = [s for s in sources if s not in config.source_names]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; configured sources: "
                          f"{', '.join(config.source_names)}")
    return list(dict.fromkeys(sources))


def check_inputs(state: RunState) -> None:
    """Before anything is opened: is there a landing folder (or a pull) to read from?"""
    from procmine.sources.servicenow_pull import pull_enabled

    selected = set(state.sources)
    if any(b[0] in selected for b in loading.landing_batches(state.config)):
        return
    if any(pull_enabled(state.config, source) for source in state.sources):
        return
    raise _no_landing(state)


def _no_landing(state: RunState) -> ProcmineError:
    return ProcmineError(
        f"no landing folders under {state.config.landing_dir} for "
        f"{', '.join(sorted(state.sources))} (expected e.g. "
        f"{state.config.landing_dir / 'servicenow'}); generate one with `procmine sample` "
        "or set [paths] landing in procmine.toml")


# ---------------------------------------------------------------- steps


def open_store(state: RunState) -> dict[str, Any]:
    """Take the run lock, copy the published database privately and migrate the copy.

    When data will be loaded (--full, or a landing file the published registry does not know
    by its stamp), GX's and pm4py's imports start first, so that their ~4 s of CPU use the
    core the copy leaves idle (extract starts them otherwise, if it finds new data)."""
    if state.full or _unknown_landing_file(state):
        start_heavy_imports()
    writer = store.writing(state.db_path, lock_wait_s=state.settings.lock_wait_s)
    state.conn = writer.__enter__()
    state.writer = writer
    # a killed run's staged pages (the lock is ours now: no other run renders into them)
    for stale in clear_stale_staging(state.config.dashboards_dir, state.staged_pages):
        log.info("open: removed %s, left by a killed run", stale)
    if state.full:
        loading.reset_loaded_data(state.conn)
        log.info("full rebuild: forgot every loaded file; all landing files are read again")
    return {"db": str(state.db_path), "full": state.full}


def _unknown_landing_file(state: RunState) -> bool:
    """Does a landing folder hold a file whose (path, size, mtime) the published database's
    registry does not record? A hint only: extract decides what is read."""
    if not state.db_path.exists():
        return True
    try:
        conn = store.reading(state.db_path)
        try:
            stamps = registry_stamps(conn)
        finally:
            conn.close()
    except duckdb.Error:   # e.g. a store from before the registry kept mtimes
        return True
    selected = set(state.sources)
    return any(
        (str(path), *file_stamp(path)) not in stamps
        for source, folders, _ in loading.landing_batches(state.config) if source in selected
        for path in expand_paths(folders))


def pull(state: RunState) -> dict[str, Any]:
    """Pull from source APIs (ServiceNow Table API) into landing files, where configured."""
    from procmine.orchestration.secrets import prefect_secret
    from procmine.sources.servicenow_pull import pull_enabled, pull_source

    state.pulls = []
    for source in state.sources:
        if pull_enabled(state.config, source):
            report = pull_source(state.db, state.config, source, run_id=state.result.run_id,
                                 secret_loader=prefect_secret)
            state.pulls.append(report)
            log.info("%s pull: %s", source, report.describe())
    return {"records": state.records_pulled,
            "files": [str(p.landing_file) for p in state.pulls if p.landing_file]}


def extract(state: RunState) -> dict[str, Any]:
    """List the landing folders and identify each file against core.load_registry: a file
    whose path, size and mtime were recorded is not read; any other is checksummed."""
    selected = set(state.sources)
    batches = [b for b in loading.landing_batches(state.config) if b[0] in selected]
    if not batches:
        raise _no_landing(state)
    loaded_paths = {row[0] for row in state.db.execute(
        "SELECT DISTINCT path FROM core.load_registry").fetchall()}
    identifier = FileIdentifier(state.db)
    plan = ExtractPlan()
    for source, folders, _ in batches:
        for path in expand_paths(folders):
            identity = identifier.identify(path)
            status = plan.status_of(identity, identifier, loaded_paths)
            plan.files.append(LandingFile(source, identity, status))
    state.plan = plan
    if plan.to_read:   # new data: validation needs GX, then mining pm4py
        start_heavy_imports()
    for landing_file in plan.to_read:
        log.info("extract: %s %s (%s)", landing_file.status, landing_file.path,
                 landing_file.source)
    known = len(plan.files) - len(plan.to_read)
    log.info("extract: %d file(s) to read, %d already loaded; %d file(s) checksummed",
             len(plan.to_read), known, plan.hashed)
    return {"to_read": len(plan.to_read), "already_loaded": known, "hashed": plan.hashed}


def load(state: RunState) -> dict[str, Any]:
    """Load → normalise → validate → core (loading.load_and_publish_core) for new files."""
    def progress(file_result: FileResult) -> None:
        level = logging.WARNING if file_result.status == "failed" else logging.INFO
        log.log(level, "load: %s %s %s", file_result.status, file_result.path,
                file_result.message)

    batches = state.plan.batches()
    if batches:
        from procmine.orchestration.dask_ingest import ingest_stager

        with ingest_stager(state.settings, state.db_path) as stager:   # None: local engine
            state.validation = loading.load_and_publish_core(
                state.db, state.config, state.result, batches, progress,
                identities=state.plan.identities(), stager=stager)
    for landing_file in state.plan.files:
        if landing_file.status == "known":
            state.result.files.append(FileResult(
                path=landing_file.path, source=landing_file.source, status="skipped",
                file_id=landing_file.file_id, size_bytes=landing_file.size_bytes,
                message="already loaded (same checksum)"))
    state.fingerprint = inputs_fingerprint(state.db, state.config)
    loading.count_partitions(state.db, state.result)
    log.info("load: %d file(s), +%d events in core, %d quarantined",
             state.result.files_loaded, state.result.events_loaded,
             state.result.events_quarantined)
    return {"files_loaded": state.result.files_loaded, "events": state.result.events_loaded,
            "quarantined": state.result.events_quarantined}


def mine(state: RunState) -> dict[str, Any]:
    """Recompute the marts (outputs.build_marts) unless nothing they depend on changed."""
    previous = last_mined_fingerprint(state.db)
    if not state.full and previous == state.fingerprint:
        state.skip_reason = ("no new events, cases or configuration since the last mining run: "
                             "marts and dashboards left as they are")
        log.info("mine: skipped (%s)", state.skip_reason)
        return {"mined": False, "reason": state.skip_reason}
    state.db.execute("CREATE OR REPLACE TEMP TABLE _heatmap_before AS "
                     "SELECT * FROM marts.waste_heatmap")
    started = time.perf_counter()
    state.mine_timings = outputs.build_marts(state.db, state.config, state.result,
                                             state.settings, state.db_path).timings
    state.timings["build_marts_s"] = time.perf_counter() - started
    state.mined = True
    changes = run_sql(state.db, load_sql("runs/heatmap_changes.sql"), {"limit": 5})
    columns = [d[0] for d in changes.description]
    state.heatmap_changes = [dict(zip(columns, row, strict=True)) for row in changes.fetchall()]
    state.has_previous_heatmap = state.db.execute(
        "SELECT count(*) > 0 FROM _heatmap_before").fetchone()[0]
    run_sql(state.db, load_sql("runs/snapshot_heatmap.sql"),
            {"run_id": state.result.run_id})
    log.info("mine: marts recomputed in %.1f s", state.timings["build_marts_s"])
    return {"mined": True, "seconds": round(state.timings["build_marts_s"], 3)}


def render(state: RunState) -> dict[str, Any]:
    """Render the dashboards into a staging folder (moved into place after publishing)."""
    if not state.mined and rendered_fingerprint(state.config.dashboards_dir) == state.fingerprint:
        log.info("render: skipped (marts unchanged, dashboards rendered from them)")
        return {"rendered": False}
    outputs.render_dashboards(state.db, state.config, state.result, state.staged_pages)
    state.rendered = True
    return {"rendered": True, "staged": str(state.staged_pages)}


def finish(state: RunState) -> dict[str, Any]:
    """Set the run's status and record it (with its summary) in marts.run_log."""
    from procmine.orchestration.summary import run_summary_markdown

    result = state.result
    result.status = "success" if not result.failed_files else "partial"
    messages = [f.message for f in result.failed_files]
    result.message = "; ".join(messages)[:2000]
    loading.record_run(state.db, result)
    state.summary_md = run_summary_markdown(state, state.db)
    record_details(state.db, state)
    return {"status": result.status}


def publish(state: RunState) -> dict[str, Any]:
    """Checkpoint the private copy and rename it over the published database (atomic)."""
    writer, state.writer, state.conn = state.writer, None, None
    if writer is None:
        raise ProcmineError("nothing to publish (internal error)")
    log.info("publish: checkpoint the private copy, rename it over %s", state.db_path)
    writer.__exit__(None, None, None)
    log.info("publish: published %s", state.db_path)
    return {"published": str(state.db_path)}


RENDERED_MARKER = ".procmine-rendered"


def rendered_fingerprint(dashboards_dir: Path) -> str | None:
    """The inputs fingerprint the published dashboards were rendered from (None: unknown)."""
    marker = dashboards_dir / RENDERED_MARKER
    return marker.read_text().strip() if marker.is_file() else None


def publish_dashboards(state: RunState) -> dict[str, Any]:
    """Move freshly rendered pages over the published ones."""
    if not state.rendered:
        return {"published": False}
    publish_pages(state.staged_pages, state.config.dashboards_dir)
    crash_point("publish-dashboards")
    # last: a run killed before this line re-renders next time, even with no new files
    marker = state.config.dashboards_dir / RENDERED_MARKER
    marker.with_suffix(".tmp").write_text(state.fingerprint)
    os.replace(marker.with_suffix(".tmp"), marker)
    return {"published": True, "dashboards": str(state.config.dashboards_dir)}


def abandon(state: RunState, exc: BaseException) -> None:
    """Discard the private copy after a failure (the published state stays as it was)."""
    writer, state.writer, state.conn = state.writer, None, None
    if writer is not None:
        writer.__exit__(type(exc), exc, exc.__traceback__)


def record_failure(state: RunState, exc: BaseException) -> None:
    """Record a failed run in marts.run_log (its data were rolled back)."""
    from procmine.errors import RunLockedError, ValidationFailed

    if isinstance(exc, RunLockedError):
        return  # another run holds the database; it is not ours to write
    result = state.result
    result.status = "failed_validation" if isinstance(exc, ValidationFailed) else "failed"
    result.message = (str(exc) or type(exc).__name__)[:2000]
    result.events_loaded = 0
    state.mined, state.fingerprint = False, ""  # rolled back with everything else
    try:
        with store.writing(state.db_path) as conn:
            from procmine.orchestration.summary import run_summary_markdown

            loading.record_run(conn, result)
            state.summary_md = run_summary_markdown(state, conn)
            record_details(conn, state)
    except Exception as record_exc:  # keep the original error
        log.warning("could not record the failed run in marts.run_log: %s", record_exc)


# ---------------------------------------------------------------- bookkeeping


def package_version() -> str:
    try:
        return version("procmine")
    except PackageNotFoundError:
        return "unknown"


def inputs_fingerprint(conn: duckdb.DuckDBPyConnection, config: Config) -> str:
    """What the marts depend on: core's content, the configuration, procmine's version."""
    core = conn.execute(load_sql("runs/fingerprint.sql")).fetchone()
    settings = {k: v for k, v in config.data.items() if k not in NOT_FINGERPRINTED}
    payload = json.dumps([list(core), settings, package_version(), store.schema_version(conn)],
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def last_mined_fingerprint(conn: duckdb.DuckDBPyConnection) -> str | None:
    row = conn.execute(load_sql("runs/last_fingerprint.sql")).fetchone()
    return row[0] if row else None


def record_details(conn: duckdb.DuckDBPyConnection, state: RunState) -> None:
    """The run_log columns of migration 005 (record_run writes the original ones)."""
    conn.execute(
        load_sql("runs/record_details.sql"),
        {"run_id": state.result.run_id, "files_skipped": state.files_skipped,
         "files_failed": len(state.result.failed_files), "mined": state.mined,
         "fingerprint": state.fingerprint or None, "records_pulled": state.records_pulled,
         "flow_run_id": state.flow_run_id, "summary_md": state.summary_md or None},
    )
