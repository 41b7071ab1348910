"""The partition tasks of `--engine dask` inside a Prefect flow run: Prefect tasks on
prefect-dask's DaskTaskRunner, so each partition is a task run of the flow (UI and API)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect_dask import DaskTaskRunner

from procmine.config import RunSettings
from procmine.orchestration.dask_tasks import (
    Submit,
    connect,
    mine_partition,
    mine_partition_marts,
)

PARTITION_TASK = task(mine_partition, name="mine-partition", cache_policy=NO_CACHE,
                      persist_result=False,
                      task_run_name="mine-partition-{part}")
MARTS_TASK = task(mine_partition_marts, name="mine-partition-marts", cache_policy=NO_CACHE,
                  persist_result=False, task_run_name="mine-partition-marts-{part}")
TASKS = {mine_partition: PARTITION_TASK, mine_partition_marts: MARTS_TASK}


def task_runner(settings: RunSettings) -> DaskTaskRunner:
    from procmine.orchestration.dask_cluster import scheduler_address

    address = scheduler_address(settings)   # or the run's shared LocalCluster
    if address:
        connect(address).close()   # unreachable: the one-line error, up front
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
        "n_workers": settings.dask_workers, "threads_per_worker": 1, "processes": True,
        "dashboard_address": None, "silence_logs": logging.ERROR})


@contextmanager
def prefect_submitter(settings: RunSettings) -> Iterator[Submit]:
    """Submit partition tasks to a DaskTaskRunner started for this mining run."""
    flow_context = contextvars.copy_context()   # mining submits from its waste thread

    with task_runner(settings) as runner:
        def submit_all(work: str, parts: list[int], fn: Callable[..., Any]) -> list[Any]:
            # children of the flow run, not of the mine step: its task context (with the
            # run's state and database connection as its parameter) cannot travel
            TaskRunContext.__var__.set(None)
            futures = [runner.submit(TASKS[fn], parameters={"work": work, "part": part})
                       for part in parts]
            return [future.result() for future in futures]

        def submit(work: str, parts: list[int], fn: Callable[..., Any] = mine_partition
                   ) -> list[Any]:
            return flow_context.copy().run(submit_all, work, parts, fn)

        yield submit
