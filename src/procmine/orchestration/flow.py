"""The `procmine-nightly` Prefect flow: every step of a run is a task.

Entry points: flows/nightly.py (``prefect deploy flows/nightly.py:nightly``), `procmine
schedule` (serves a cron deployment of it) and `procmine run` when a Prefect API is configured.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import FlowRunContext
from prefect.states import State
from prefect.utilities.annotations import quote

from procmine.config import Config, RunSettings, load_config
from procmine.errors import ProcmineError
from procmine.load import RunResult
from procmine.orchestration.run import (
    IO_STEPS,
    STEPS,
    PartialRunError,
    execute_run,
    new_state,
    retry_policy,
)
from procmine.orchestration.steps import RunState, is_transient
from procmine.runtime import tune_process

FLOW_NAME = "procmine-nightly"
# set by Prefect in the process it starts for one flow run (a deployment run, `procmine schedule`)
PREFECT_RUN_PROCESS = "PREFECT__FLOW_RUN_ID"
ARTIFACT_KEY = "procmine-run-summary"


def _retry_transient(_task: Any, _task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect retry condition: retry file-system and network hiccups only."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(exc, BaseException) and is_transient(exc)


TASKS = {
    name: task(fn, name=name, cache_policy=NO_CACHE, persist_result=False,
               retry_condition_fn=_retry_transient if name in IO_STEPS else None)
    for name, fn in STEPS.items()
}


class PrefectSteps:
    """Runs each step as its Prefect task (I/O steps with the configured retries)."""

    def __init__(self, config: Config) -> None:
        self.retries, self.delay_s = retry_policy(config)

    def __call__(self, name: str, state: RunState) -> dict[str, Any]:
        step = TASKS[name]
        if name in IO_STEPS:
            step = step.with_options(retries=self.retries, retry_delay_seconds=self.delay_s)
        started = time.perf_counter()
        outcome = step(quote(state))  # quote: hand the state over as is, never traversed
        state.timings[name] = time.perf_counter() - started
        return outcome


def run_in_flow(config: Config, db_path: Path, settings: RunSettings) -> RunResult:
    """The body of the flow: the shared step sequence, plus the run's Markdown artefact."""
    logging.getLogger("procmine").setLevel(logging.INFO)
    state = new_state(config, db_path, settings)
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        state.flow_run_id = str(context.flow_run.id)
    logging.getLogger("procmine.run").info("procmine run %s → %s", state.result.run_id, db_path)
    try:
        result = execute_run(state, PrefectSteps(config))
    finally:
        if state.summary_md:
            create_markdown_artifact(state.summary_md, key=ARTIFACT_KEY,
                                     description=f"procmine run {state.result.run_id}")
    if result.status != "success":
        raise PartialRunError(result)
    return result


@flow(name=FLOW_NAME, persist_result=False,
      description="procmine: landing files and API pulls → DuckDB core → marts → dashboards, "
                  "published atomically.")
def nightly(config_path: str | None = None, db: str | None = None,
            sources: list[str] | None = None, full: bool = False,
            project_dir: str | None = None, lock_wait_s: float | None = None,
            engine: str | None = None, dask_address: str | None = None) -> RunResult:
    """Pull, extract, load, validate, mine, render and publish once.

    config_path: procmine.toml (default: $PROCMINE_CONFIG, then ./procmine.toml);
    db: the DuckDB file (default: $PROCMINE_DB, then the config's [database] path);
    sources: the sources to read (default: all configured); full: rebuild from every file;
    project_dir: where relative paths of a run without a config file resolve (default: cwd);
    lock_wait_s: how long to wait for another run's lock (default: [run] lock_wait_s);
    engine: local | dask, dask_address: its scheduler (default: [run] engine, dask_address;
    with dask the mining partitions run as tasks on prefect-dask's DaskTaskRunner).
    The parameters are the fields of RunSettings (resolved here over the loaded config).
    """
    if os.environ.get(PREFECT_RUN_PROCESS):   # a process Prefect started for this run alone
        tune_process()
    config = load_config(config_path)
    if project_dir and config.path is None:
        config = dataclasses.replace(config, base_dir=Path(project_dir))
    settings = RunSettings.resolve(config, full=full, sources=sources, prefect="always",
                                   lock_wait_s=lock_wait_s, engine=engine,
                                   dask_address=dask_address)
    return run_in_flow(config, config.db_path(db), settings)


def run_flow(config: Config, db_path: Path, settings: RunSettings | None = None, *,
             full: bool = False, sources: list[str] | None = None) -> RunResult:
    """Run the flow in this process (tracked by the configured Prefect API): every field of
    `settings` (else `full`/`sources` over the config's [run]) goes in as a flow parameter."""
    settings = settings or RunSettings.resolve(config, full=full, sources=sources)
    final = nightly(config_path=str(config.path) if config.path else None, db=str(db_path),
                    sources=list(settings.sources) if settings.sources else None,
                    full=settings.full, lock_wait_s=settings.lock_wait_s,
                    engine=settings.engine, dask_address=settings.dask_address,
                    project_dir=str(config.base_dir) if config.path is None else None,
                    return_state=True)
    if final.is_completed():
        return final.result()
    outcome = final.result(raise_on_failure=False)
    if isinstance(outcome, PartialRunError):
        return outcome.result
    if isinstance(outcome, BaseException):
        raise outcome
    raise ProcmineError(f"the Prefect flow run ended {final.type.value}: {final.message}")
