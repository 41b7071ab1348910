"""`procmine run`'s choice of engine: the Prefect flow or the same steps in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from procmine.config import Config, RunSettings
from procmine.load import RunResult
from procmine.orchestration.prefect_env import use_prefect
from procmine.orchestration.run import console_logging, run_local


def run(config: Config, db_path: Path, settings: RunSettings, *,
        console: Any = None) -> RunResult:
    """`procmine run`: pull → extract → load → validate → mine → render → publish, once.

    Through the `procmine-nightly` Prefect flow when a Prefect API is configured (or
    settings.prefect == "always"), in-process otherwise ([run] prefect = auto | always |
    never); the steps and the settings are the same (procmine.orchestration.run). The whole
    run works on one private copy of the database, published atomically at the end;
    dashboards rendered into a staging folder are moved into place only after that, so a
    failed run changes neither.
    """
    if use_prefect(settings.prefect):
        from procmine.orchestration.flow import run_flow  # imports Prefect: only when used

        return run_flow(config, db_path, settings)
    with console_logging(console):
        result, _ = run_local(config, db_path, settings)
    return result
