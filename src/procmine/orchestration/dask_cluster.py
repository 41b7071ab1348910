"""One LocalCluster per `--engine dask` run without --dask-address, shared by its steps.

The load step's file tasks and the mine step's partition tasks both need a cluster; starting a
LocalCluster costs 5-15 s on a busy machine, so a run starts one at the first step that needs
it (none when nothing is read or mined) and closes it when the run ends (execute_run). The
steps reach it through a context variable: Prefect runs a flow's tasks in copies of the flow's
context, so the flow's steps see it too. Outside a run (`procmine mine`) there is none and the
engine starts its own, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from procmine.config import RunSettings

log = logging.getLogger("procmine.run")


class RunCluster:
    """A LocalCluster of [run] dask_workers processes, started on first use."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._cluster: Any = None
        self._lock = threading.Lock()

    def address(self) -> str:
        with self._lock:
            if self._cluster is None:
                from distributed import LocalCluster

                self._cluster = LocalCluster(
                    n_workers=self.settings.dask_workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR)
                log.info("dask: LocalCluster of %d worker(s) at %s for this run",
                         self.settings.dask_workers, self._cluster.scheduler_address)
            return self._cluster.scheduler_address

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


_RUN_CLUSTER: ContextVar[RunCluster | None] = ContextVar("procmine_run_cluster", default=None)


@contextmanager
def run_cluster(settings: RunSettings) -> Iterator[None]:
    """The run's shared LocalCluster (if its engine is dask without an address)."""
    if settings.engine != "dask" or settings.dask_address:
        yield
        return
    cluster = RunCluster(settings)
    token = _RUN_CLUSTER.set(cluster)
    try:
        yield
    finally:
        _RUN_CLUSTER.reset(token)
        cluster.close()


def scheduler_address(settings: RunSettings) -> str | None:
    """--dask-address / [run] dask_address, else the run's LocalCluster (started now), else
    None (the caller starts a cluster of its own)."""
    if settings.dask_address:
        return settings.dask_address
    cluster = _RUN_CLUSTER.get()
    return cluster.address() if cluster is not None else None
