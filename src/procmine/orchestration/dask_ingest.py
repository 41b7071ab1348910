"""`--engine dask` for loading: each landing file to read is one Dask task.

The task reads its file from the path the coordinator found it at (a path every worker can
reach: a shared file system mounted at the same path) with the source's adapter
(`load_raw`), in a scratch DuckDB of its own (the store's schema, migrated there), and,
where the adapter's `normalise` reads only that file's rows (`Adapter.file_local`: the
generic CSV adapter), derives its staging.events rows there too. It writes what it produced
(the file's raw rows with their lineage, its staged events) as Parquet into the run's work
folder ([run] dask_work_dir, as the mining partitions) and returns the file's status.

The coordinator (procmine.ingest.stage_files with this stager) appends each file's rows into
its private copy of the store in the local engine's order (sources as configured, files by
name), each file in one transaction with procmine.ingest.load_file, so file ids, lineage
(`_loaded_at` is the time of the append, as when the file is read locally) and failures are
the local engine's. What cannot move stays on the coordinator:

- `normalise` of adapters whose events or cases depend on earlier files (ServiceNow's
  snapshots are deduplicated against raw; bpic2013, records, xes and ocel2 derive a case's
  staging.cases row from all its raw rows, in earlier files too) runs there, after the append;
- validation (Great Expectations): its rules span files (repeated event ids, case-level
  facts of cases spread over several files, the batch-level checks of the whole load), so it
  runs once over the run's staged rows, as in the local engine; then publishing as always.

Inside a Prefect flow run the tasks are Prefect tasks on prefect-dask's DaskTaskRunner (task
runs `ingest-file-<name>`), else they go to dask.distributed directly (the scheduler at
--dask-address, else a LocalCluster for the load step).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from procmine import store
from procmine.config import RunSettings
from procmine.errors import ConfigError, InputError, ProcmineError
from procmine.ingest import FileResult, install_macros, load_file
from procmine.orchestration.dask_work import maybe_kill, reach, url
from procmine.sources import Adapter, LoadContext, RawFile
from procmine.sources.base import LINEAGE_COLUMNS, ensure_raw_columns, quote_ident
from procmine.sql import load_sql

log = logging.getLogger("procmine.run")

JOBS_FILE = "ingest-jobs.pkl"
# crash points ($PROCMINE_CRASH_AT on the workers) for the worker-kill tests: the first file
# task of a load kills its worker process once per work folder, or every file task does
KILL_ONCE = "dask_ingest_once"
KILL_ALWAYS = "dask_ingest"


@dataclass
class FileJob:
    """One file for a worker to read (pickled into the work folder with the others)."""

    adapter: Adapter
    ctx: LoadContext
    path: Path
    file_id: str
    source: str
    key_check: str = ""   # digest of the coordinator's pseudonymisation key ("" : none)


@dataclass
class StagedFile:
    """What a file task produced: its status, and the Parquet files it wrote (names)."""

    index: int
    status: str                 # loaded | failed | fatal (an InputError that stops the run)
    message: str = ""
    rows: int = 0
    raw_tables: list[str] = field(default_factory=list)   # raw.<table>: _raw_file(index, n)
    events: bool = False        # staging.events rows: _events_file(index)
    seconds: float = 0.0


def _key_check(ctx: LoadContext) -> str:
    """A digest of the pseudonymisation key in this process's environment ("" : disabled)."""
    masker = ctx.pseudonymiser
    return hashlib.sha256(b"procmine-key-check" + masker.key).hexdigest()[:16] if masker else ""


def _skip_normalise(conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                    ctx: LoadContext) -> None:
    """normalise of a file whose events depend on earlier files: the coordinator's."""


def stage_file(work: str, index: int, name: str = "") -> StagedFile:
    """The task: read file `index` of the work folder's jobs into a scratch store and write
    its raw rows (and, for a file-local adapter, its staged events) as Parquet. `name` only
    names the task run (Prefect)."""
    import fsspec

    maybe_kill(work, KILL_ONCE, KILL_ALWAYS)
    started = time.perf_counter()
    with fsspec.open(url(work, JOBS_FILE), "rb") as handle:
        job: FileJob = pickle.load(handle)[index]
    if _key_check(job.ctx) != job.key_check:
        raise ConfigError("[privacy]: this Dask worker's pseudonymisation key (its "
                          "environment's [privacy] secret_env) differs from the one of the "
                          "machine running procmine; give every worker the same key")
    result = FileResult(path=job.path, source=job.source, status="loaded", file_id=job.file_id)
    with tempfile.TemporaryDirectory(prefix="procmine-ingest-") as folder:
        scratch = Path(folder) / "scratch.duckdb"
        shutil.copyfile(_empty_store(), scratch)
        conn = store.connect(scratch)
        try:
            conn.execute("SET enable_progress_bar = false")   # (a worker's log, not a tty)
            install_macros(conn)
            try:
                load_file(conn, job.adapter, job.ctx, result,
                          normalise=None if job.adapter.file_local else _skip_normalise)
            except InputError as exc:   # fatal (e.g. an ambiguous date format): stop the run
                return StagedFile(index, "fatal", str(exc))
            staged = StagedFile(index, result.status, result.message, result.rows)
            if result.status == "loaded":
                _write_outputs(conn, work, job, staged)
        finally:
            conn.close()
    staged.seconds = time.perf_counter() - started
    return staged


def _empty_store() -> Path:
    """An empty store with the current schema, made once per host and schema (the 18+
    migrations cost ~0.3-1 s a task) in the temp folder; written aside, renamed into place."""
    digest = hashlib.sha256("".join(m.sql for m in store.available_migrations()).encode())
    path = Path(tempfile.gettempdir()) / f"procmine-empty-store-{digest.hexdigest()[:16]}.duckdb"
    if not path.exists():
        aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        conn = store.connect(aside)
        try:
            store.migrate(conn)
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        os.replace(aside, path)
    return path


def _write_outputs(conn: duckdb.DuckDBPyConnection, work: str, job: FileJob,
                   staged: StagedFile) -> None:
    """The scratch store's raw tables and staged events (in insertion order) as Parquet."""
    reach(conn, work)
    tables = [row[0] for row in conn.execute(load_sql("catalog/raw_tables.sql")).fetchall()]
    for number, table in enumerate(tables):
        conn.table(f"raw.{quote_ident(table)}").write_parquet(
            url(work, _raw_file(staged.index, number)))
    staged.raw_tables = tables
    if job.adapter.file_local:
        conn.table("staging.events").write_parquet(url(work, _events_file(staged.index)))
        staged.events = True


def _raw_file(index: int, number: int) -> str:
    return f"file-{index:05d}-raw-{number}.parquet"


def _events_file(index: int) -> str:
    return f"file-{index:05d}-events.parquet"


# What submits the file tasks: (work folder, [(index, name)]) → one result getter per file.
SubmitFiles = Callable[[str, list[tuple[int, str]]], list[Callable[[], StagedFile]]]


class DaskStager:
    """procmine.ingest.FileStager on Dask: `start` submits every file's task, `load` appends
    a file's results when stage_files reaches it (waiting for its task)."""

    def __init__(self, submit: SubmitFiles, work_root: str) -> None:
        self.submit, self.work_root = submit, work_root
        self.work = ""
        self.pending: dict[tuple[str, Path], Callable[[], StagedFile]] = {}
        self.task_seconds: dict[str, float] = {}     # per file, on the worker
        self.wait_seconds: dict[str, float] = {}     # per file, the coordinator waiting for it
        self.append_seconds: dict[str, float] = {}   # per file, its append (+ normalise) here

    def start(self, files: list[tuple[Adapter, LoadContext, FileResult]]) -> None:
        import fsspec

        if not files:
            return
        self.work = url(self.work_root, uuid.uuid4().hex)
        fs, root = fsspec.core.url_to_fs(self.work)
        fs.makedirs(root, exist_ok=True)
        jobs = []
        for adapter, ctx, result in files:
            check = _key_check(ctx)   # (a missing key fails here, before any task)
            # the key itself does not travel: workers use their environment's, checked
            jobs.append(FileJob(adapter, replace(ctx), result.path, result.file_id,
                                result.source, check))
        with fsspec.open(url(self.work, JOBS_FILE), "wb") as handle:
            pickle.dump(jobs, handle, protocol=pickle.HIGHEST_PROTOCOL)
        getters = self.submit(self.work, [(index, job.path.name)
                                          for index, job in enumerate(jobs)])
        self.pending = {(job.source, job.path): getter
                        for job, getter in zip(jobs, getters, strict=True)}
        log.info("dask: %d file task(s) submitted", len(jobs))

    def load(self, conn: duckdb.DuckDBPyConnection, adapter: Adapter, ctx: LoadContext,
             result: FileResult) -> None:
        started = time.perf_counter()
        staged = self.pending.pop((result.source, result.path))()
        self.task_seconds[str(result.path)] = staged.seconds
        self.wait_seconds[str(result.path)] = time.perf_counter() - started
        if staged.status == "fatal":
            raise InputError(staged.message, fatal=True)
        if staged.status != "loaded":
            result.status, result.message = staged.status, staged.message
            return

        def read(conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
            self._append_raw(conn, staged, file_id)
            return RawFile(path, file_id, staged.rows)

        def append_events(conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                          ctx: LoadContext) -> None:
            conn.execute("INSERT INTO staging.events BY NAME SELECT * FROM read_parquet($path)",
                         {"path": url(self.work, _events_file(staged.index))})

        started = time.perf_counter()
        try:
            load_file(conn, adapter, ctx, result, read=read,
                      normalise=append_events if staged.events else None)
        finally:   # the work folder holds the files not appended yet, not the whole load
            self._remove(staged)
        self.append_seconds[str(result.path)] = time.perf_counter() - started
        log.info("dask: %s: task %.2f s, waited %.2f s, appended in %.2f s", result.path.name,
                 staged.seconds, self.wait_seconds[str(result.path)],
                 self.append_seconds[str(result.path)])

    def _append_raw(self, conn: duckdb.DuckDBPyConnection, staged: StagedFile,
                    file_id: str) -> None:
        """The file's rows into each raw table it wrote, as the adapter's load_raw would:
        rows an earlier load of the same content left are dropped first, `_loaded_at` is now."""
        reach(conn, self.work)
        for number, table in enumerate(staged.raw_tables):
            source = url(self.work, _raw_file(staged.index, number))
            columns = [row[0] for row in conn.execute(
                "SELECT name FROM parquet_schema($path) WHERE num_children IS NULL",
                {"path": source}).fetchall()]
            ensure_raw_columns(conn, table, [c for c in columns if c not in LINEAGE_COLUMNS])
            target = f"raw.{quote_ident(table)}"
            conn.execute(f"DELETE FROM {target} WHERE _file_id = ?", [file_id])
            conn.execute(f"INSERT INTO {target} BY NAME SELECT * REPLACE ($loaded_at AS "
                         "_loaded_at) FROM read_parquet($path)",
                         {"path": source, "loaded_at": datetime.now(UTC)})

    def _remove(self, staged: StagedFile) -> None:
        import fsspec

        names = [_raw_file(staged.index, n) for n in range(len(staged.raw_tables))]
        names += [_events_file(staged.index)] if staged.events else []
        fs, _ = fsspec.core.url_to_fs(self.work)
        for name in names:
            fs.rm(fsspec.core.url_to_fs(url(self.work, name))[1])

    def close(self) -> None:
        import fsspec

        if self.work:
            fs, root = fsspec.core.url_to_fs(self.work)
            if fs.exists(root):
                fs.rm(root, recursive=True)


@contextmanager
def ingest_stager(settings: RunSettings, db_path: Path) -> Iterator[DaskStager | None]:
    """The file stager of the run's engine: None for the local engine (files read in
    process), else a DaskStager on the run's Dask cluster (DaskTaskRunner in a flow run)."""
    if settings.engine != "dask":
        yield None
        return
    from procmine.orchestration.dask_engine import in_prefect_flow_run, work_root

    root = work_root(settings, db_path)
    with (_prefect_submit(settings) if in_prefect_flow_run() else _dask_submit(settings)
          ) as submit:
        stager = DaskStager(submit, root)
        try:
            yield stager
        finally:
            stager.close()
            if not settings.dask_work_dir:   # the default folder once empty
                with contextlib.suppress(OSError):
                    Path(root).rmdir()


def _killed(exc: BaseException) -> ProcmineError:
    return ProcmineError(f"loading on Dask failed: the workers reading a landing file kept "
                         f"dying ({exc}); nothing was published")


@contextmanager
def _dask_submit(settings: RunSettings) -> Iterator[SubmitFiles]:
    from procmine.orchestration.dask_engine import dask_client

    with dask_client(settings) as client:
        def submit(work: str, files: list[tuple[int, str]]) -> list[Callable[[], StagedFile]]:
            futures = [client.submit(stage_file, work, index, name, pure=False,
                                     key=f"procmine-ingest-{index}-{uuid.uuid4().hex[:8]}")
                       for index, name in files]
            return [_getter(future) for future in futures]

        yield submit


def _getter(future: Any) -> Callable[[], StagedFile]:
    def get() -> StagedFile:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise _killed(exc) from exc

    return get


@contextmanager
def _prefect_submit(settings: RunSettings) -> Iterator[SubmitFiles]:
    from prefect import task
    from prefect.cache_policies import NO_CACHE
    from prefect.context import TaskRunContext

    from procmine.orchestration.dask_prefect import task_runner

    ingest_task = task(stage_file, name="ingest-file", cache_policy=NO_CACHE,
                       persist_result=False, task_run_name="ingest-file-{name}")
    flow_context = contextvars.copy_context()

    with task_runner(settings) as runner:
        def submit_all(work: str, files: list[tuple[int, str]]) -> list[Any]:
            # children of the flow run, not of the load step (its parameters cannot travel)
            TaskRunContext.__var__.set(None)
            return [runner.submit(ingest_task, parameters={"work": work, "index": index,
                                                           "name": name})
                    for index, name in files]

        def submit(work: str, files: list[tuple[int, str]]) -> list[Callable[[], StagedFile]]:
            futures = flow_context.copy().run(submit_all, work, files)
            return [future.result for future in futures]

        yield submit
