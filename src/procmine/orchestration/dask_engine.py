"""`--engine dask`: the mine stage's per-case work as Dask tasks, one per case partition.

(The load step's per-file work is dask_ingest.py; within a run both use one cluster,
dask_cluster.py. README "Running on a cluster" says what runs where.)

The coordinator (the process running `procmine mine` / `procmine run`) splits the cases by a
stable hash of their id (mine/partitions.py), writes each partition's events as an Arrow IPC
file (lz4: 5x faster to write than Parquet, as small) and the code tables and settings once
into a work folder the workers can read (a shared path or an fsspec URL, [run]
dask_work_dir), and runs two rounds of tasks, one task per partition:

1. `mine_partition`: read its events, detect the waste instances, group runs and resolutions
   of its cases (waste.detect), return them; merged exactly on the coordinator (indices
   mapped, rows in the local engine's order, path ids renumbered), which computes what is
   global or feeds the aggregate marts (variants, the conformance check per variant, clock,
   costs, the per-case figures);
2. `mine_partition_marts`: its cases' rows of the per-case marts (marts.waste, marts.case_kpis)
   by the same SQL models in an in-memory DuckDB, as Parquet files (mine/partition_marts.py)
   which the coordinator appends to the store (only rewritten cases' rows when incremental)
   while it computes the aggregate marts.

Everything is written into the run's private copy of the database: a failed task fails the
run before anything is published.

Without Prefect the tasks go to dask.distributed directly (a Client of the scheduler at
--dask-address, else of the run's LocalCluster, else of a LocalCluster of [run] dask_workers
processes started for this mining run); inside a Prefect
flow run they are Prefect tasks on prefect-dask's DaskTaskRunner, so each partition shows
as a task run of the flow. A worker that dies is replaced by the scheduler, which runs its
tasks again elsewhere (distributed's allowed-failures); when the workers keep dying the run
fails cleanly (KilledWorker).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procmine.config import RunSettings
from procmine.errors import ProcmineError
from procmine.mine import Detector
from procmine.mine.background import in_thread
from procmine.mine.events import EventArrays
from procmine.mine.partition_marts import CASE_MARTS, output, write_inputs
from procmine.mine.partitions import case_partitions, merge_waste, partition_columns
from procmine.mine.settings import MiningSettings
from procmine.mine.waste import WasteResult
from procmine.orchestration.dask_tasks import (
    CONTEXT_FILE,
    Submit,
    connect,
    mine_partition,
    mine_partition_marts,
    part_file,
)
from procmine.orchestration.dask_work import reach, url

log = logging.getLogger("procmine.run")
@dataclass
class DaskStats:
    """What the engine did in one mining run (seconds), for the bench and the logs."""

    partitions: int = 0
    task_seconds: dict[int, float] = field(default_factory=dict)   # per partition, on workers
    write_s: float = 0.0        # partitions written to the work folder
    tasks_s: float = 0.0        # submit → every result back
    merge_s: float = 0.0
    # the second round: the per-case marts' rows written per partition (partition_marts.py)
    marts_task_seconds: dict[int, float] = field(default_factory=dict)
    marts_task_phases: dict[int, dict[str, float]] = field(default_factory=dict)
    marts_write_s: float = 0.0   # the partitions' inputs written to the work folder
    marts_tasks_s: float = 0.0   # submit → every partition's Parquet files written


class PartitionDetector:
    """A `detector` for procmine.mine.mine: waste.detect per case partition, as tasks."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, submit: Submit, partitions: int,
                 work_root: str) -> None:
        # a cursor of its own: the detector runs in mining's waste thread
        self.cursor, self.submit, self.partitions = conn.cursor(), submit, partitions
        self.work_root = work_root
        self.stats = DaskStats(partitions=partitions)
        self.case_part = np.zeros(0, np.int32)   # each case's partition (set by a call)

    def __call__(self, events: EventArrays, settings: MiningSettings) -> WasteResult:
        import fsspec
        import pyarrow as pa
        import pyarrow.feather as feather

        events.ci   # noqa: B018  (a cached property: computed here, not raced for later)
        started = time.perf_counter()
        indices = case_partitions(self.cursor, events, self.partitions)
        self.case_part = np.zeros(events.cases, np.int32)
        for part, index in enumerate(indices):
            self.case_part[events.ci[index]] = part
        work = url(self.work_root, uuid.uuid4().hex)
        fs, root = fsspec.core.url_to_fs(work)
        fs.makedirs(root, exist_ok=True)
        try:
            with fsspec.open(url(work, CONTEXT_FILE), "wb") as handle:
                pickle.dump((events.vocab, settings), handle, protocol=pickle.HIGHEST_PROTOCOL)
            parts = [part for part, index in enumerate(indices) if len(index)]
            for part in parts:
                with fsspec.open(url(work, part_file(part)), "wb") as handle:
                    feather.write_feather(pa.table(partition_columns(events, indices[part])),
                                          handle, compression="lz4")
            self.stats.write_s = time.perf_counter() - started
            started = time.perf_counter()
            results = self.submit(work, parts)
            self.stats.tasks_s = time.perf_counter() - started
        finally:
            fs.rm(root, recursive=True)
        started = time.perf_counter()
        self.stats.task_seconds = {p: s for p, (_, s) in zip(parts, results, strict=True)}
        merged = merge_waste(events, [(indices[p], found)
                                      for p, (found, _) in zip(parts, results, strict=True)])
        self.stats.merge_s = time.perf_counter() - started
        log.info("dask: %d partition(s): written in %.2f s, tasks %.2f s (longest %.2f s), "
                 "merged in %.2f s", len(parts), self.stats.write_s, self.stats.tasks_s,
                 max(self.stats.task_seconds.values(), default=0.0), self.stats.merge_s)
        return merged


class CaseMartDetector(PartitionDetector):
    """A PartitionDetector that also writes the per-case marts' rows per partition, as tasks
    (partition_marts.CaseMartWriter: mine() hands them over; [run] dask_case_marts)."""

    def start_case_marts(self, conn: duckdb.DuckDBPyConnection, tables: dict[str, Any],
                         params: dict[str, Any], rewrite: np.ndarray | None
                         ) -> tuple[Callable[[], dict[str, list[str]]], Callable[[], None]]:
        """Write each partition's inputs of the per-case marts, submit one task per
        partition (in a thread: mining goes on meanwhile); returns (join → the Parquet files
        per mart, cleanup of the work folder)."""
        import fsspec

        started = time.perf_counter()
        work = url(self.work_root, uuid.uuid4().hex)
        fs, root = fsspec.core.url_to_fs(work)
        fs.makedirs(root, exist_ok=True)

        def cleanup() -> None:
            with contextlib.suppress(OSError):
                fs.rm(root, recursive=True)

        local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
        read_at = root if local else work   # what the coordinator's read_parquet opens
        try:
            reach(conn, work)
            parts = write_inputs(conn, fsspec.open, work, self.case_part, tables, params,
                                 rewrite)
        except BaseException:
            cleanup()
            raise
        self.stats.marts_write_s = time.perf_counter() - started

        def run() -> dict[str, list[str]]:
            begun = time.perf_counter()
            results = self.submit(work, parts, mine_partition_marts) if parts else []
            self.stats.marts_tasks_s = time.perf_counter() - begun
            self.stats.marts_task_seconds = {p: s for p, (_, s) in zip(parts, results,
                                                                       strict=True)}
            self.stats.marts_task_phases = {p: phases for p, (phases, _) in zip(
                parts, results, strict=True)}
            log.info("dask: per-case marts of %d partition(s): inputs written in %.2f s, "
                     "tasks %.2f s", len(parts), self.stats.marts_write_s,
                     self.stats.marts_tasks_s)
            return {mart: [output(read_at, p, mart) for p in parts] for mart in CASE_MARTS}

        return in_thread(run, "procmine-dask-marts"), cleanup


def work_root(settings: RunSettings, db_path: Path) -> str:
    """Where the partitions go: [run] dask_work_dir (a path all workers see, or an fsspec
    URL), else a folder beside the database (enough for a LocalCluster or a shared disk)."""
    if settings.dask_work_dir:
        return settings.dask_work_dir
    return str(db_path.resolve().parent / ".procmine-dask")


@contextmanager
def engine(conn: duckdb.DuckDBPyConnection, settings: RunSettings, db_path: Path
           ) -> Iterator[Detector | None]:
    """The mining detector of the run's engine: None for the local engine (waste.detect in
    process), else a PartitionDetector whose tasks run on Dask (on prefect-dask's
    DaskTaskRunner inside a Prefect flow run)."""
    if settings.engine == "local":
        yield None
        return
    if settings.engine != "dask":
        raise ProcmineError(f"unknown engine {settings.engine!r} (--engine / [run] engine: "
                            "local or dask)")
    root = work_root(settings, db_path)
    try:
        with _submitter(settings) as submit:
            kind = CaseMartDetector if settings.dask_case_marts else PartitionDetector
            detector = kind(conn, submit, settings.dask_partitions, root)
            try:
                yield detector
            finally:
                detector.cursor.close()
    finally:
        if not settings.dask_work_dir:   # the default folder once empty (runs remove their own)
            with contextlib.suppress(OSError):
                Path(root).rmdir()


@contextmanager
def _submitter(settings: RunSettings) -> Iterator[Submit]:
    if in_prefect_flow_run():
        from procmine.orchestration.dask_prefect import prefect_submitter

        with prefect_submitter(settings) as submit:
            yield submit
        return
    with dask_client(settings) as client:
        def submit(work: str, parts: list[int], fn: Callable[..., Any] = mine_partition
                   ) -> list[Any]:
            from distributed import KilledWorker

            name = fn.__name__.replace("mine_", "").replace("_", "-")
            futures = [client.submit(fn, work, part, pure=False,
                                     key=f"procmine-{name}-{part}-{uuid.uuid4().hex[:8]}")
                       for part in parts]
            try:
                return client.gather(futures)
            except KilledWorker as exc:
                raise ProcmineError(f"mining on Dask failed: the workers running a partition "
                                    f"task kept dying ({exc}); nothing was published") from exc

        yield submit


def in_prefect_flow_run() -> bool:
    import sys

    if "prefect" not in sys.modules:   # never imported: not in a flow run
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


@contextmanager
def dask_client(settings: RunSettings) -> Iterator[Any]:
    """A dask.distributed Client of the scheduler at settings.dask_address, else of a new
    LocalCluster (closed on exit)."""
    from distributed import Client, LocalCluster

    from procmine.orchestration.dask_cluster import scheduler_address

    address = scheduler_address(settings)   # or the run's shared LocalCluster
    if address:
        client = connect(address)
        try:
            yield client
        finally:
            client.close()
        return
    with LocalCluster(n_workers=settings.dask_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client
