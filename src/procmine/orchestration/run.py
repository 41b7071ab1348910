"""One pipeline run: the step sequence shared by the Prefect flow and `procmine run`.

    open → pull → extract → load (normalise, validate, core) → mine → render → finish
         → publish (atomic rename of the private copy) → publish dashboards

With a Prefect API configured (or ``--prefect always``) the run is the `procmine-nightly` flow
and every step a task (procmine.orchestration.flow). Otherwise the same steps run in-process,
with the same retry policy on I/O steps, and no Prefect import at all (`procmine run` stays
fast). Either way the whole run works on one private copy of the database and publishes once.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from procmine import store
from procmine.config import Config, RunSettings
from procmine.errors import ProcmineError
from procmine.faults import crash_point
from procmine.load import RunResult
from procmine.orchestration import steps
from procmine.orchestration.dask_cluster import run_cluster
from procmine.orchestration.steps import RunState

log = logging.getLogger("procmine.run")

STEPS: dict[str, Callable[[RunState], dict[str, Any]]] = {
    "open": steps.open_store,
    "pull": steps.pull,
    "extract": steps.extract,
    "load": steps.load,
    "mine": steps.mine,
    "render": steps.render,
    "finish": steps.finish,
    "publish": steps.publish,
    "publish-dashboards": steps.publish_dashboards,
}
IO_STEPS = frozenset({"pull", "extract"})  # retried on transient errors
DATABASE_STEPS = ("open", "pull", "extract", "load", "mine", "render", "finish", "publish")


class StepCaller(Protocol):
    def __call__(self, name: str, state: RunState) -> dict[str, Any]: ...


class PartialRunError(ProcmineError):
    """The run published what it could, but some files failed (the flow run is failed)."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"run {result.run_id} published with failed input: {result.message}")
        self.result = result


def retry_policy(config: Config) -> tuple[int, float]:
    """(retries, delay in seconds) of the I/O steps, from [run] io_retries / io_retry_delay_s."""
    run = config.section("run")
    return int(run.get("io_retries", 2)), float(run.get("io_retry_delay_s", 10))


class LocalSteps:
    """Calls the steps in-process; I/O steps retry transient errors like the Prefect tasks."""

    def __init__(self, config: Config) -> None:
        self.retries, self.delay_s = retry_policy(config)

    def __call__(self, name: str, state: RunState) -> dict[str, Any]:
        started = time.perf_counter()
        attempts = 1 + (self.retries if name in IO_STEPS else 0)
        for attempt in range(1, attempts + 1):
            try:
                outcome = STEPS[name](state)
                break
            except Exception as exc:
                if attempt == attempts or not steps.is_transient(exc):
                    raise
                log.warning("%s failed (%s); retry %d of %d in %.0f s", name, exc, attempt,
                            self.retries, self.delay_s)
                time.sleep(self.delay_s)
        state.timings[name] = time.perf_counter() - started
        return outcome


def new_state(config: Config, db_path: Path, settings: RunSettings | None = None) -> RunState:
    """A run's shared state; `settings` default to the config's [run]."""
    settings = settings or RunSettings.resolve(config)
    selected = steps.select_sources(config, settings.sources)   # (unknown names fail here)
    command = "run" + (" --full" if settings.full else "") + (
        " --source " + ",".join(selected) if settings.sources else "")
    return RunState(config=config, db_path=Path(db_path), settings=settings,
                    result=RunResult(run_id=store.new_run_id(), command=command))


def execute_run(state: RunState, call: StepCaller) -> RunResult:
    """Every step in order; on failure the private copy is discarded and the failure logged."""
    steps.check_inputs(state)
    try:
        with run_cluster(state.settings):   # --engine dask: one LocalCluster for the steps
            for name in DATABASE_STEPS:
                call(name, state)
                crash_point(name)  # tests: a SIGKILL right after this step's work
    except BaseException as exc:
        steps.abandon(state, exc)
        if isinstance(exc, Exception):
            steps.record_failure(state, exc)
        shutil.rmtree(state.staged_pages, ignore_errors=True)
        raise
    try:
        call("publish-dashboards", state)
    finally:
        shutil.rmtree(state.staged_pages, ignore_errors=True)
    return state.result


def run_local(config: Config, db_path: Path, settings: RunSettings | None = None
              ) -> tuple[RunResult, RunState]:
    """The run without Prefect (no API configured): same steps, same order."""
    state = new_state(config, db_path, settings)
    return execute_run(state, LocalSteps(config)), state


@contextlib.contextmanager
def console_logging(console: Any) -> Iterator[None]:
    """Step log lines on the CLI's console while a local run lasts (Prefect has its own)."""
    if console is None:
        yield
        return
    from rich.logging import RichHandler

    logger = logging.getLogger("procmine")
    handler = RichHandler(console=console, show_path=False, markup=False)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
