"""Names kept for code written against the old procmine.pipeline (issue #17 split it by layer).

The load work is procmine.load; the mine and render steps' work procmine.orchestration.outputs;
moving rendered pages procmine.render.publish; `procmine run` procmine.orchestration.launch.
Nothing in procmine imports this module (the import contract keeps it above orchestration).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from procmine.config import Config
from procmine.load import (
    RunResult,
    core_event_count,
    ingest,
    landing_batches,
    load_and_publish_core,
    publish_core,
    record_failed_run,
    record_run,
    reset_loaded_data,
    write_validation_docs,
)
from procmine.orchestration.launch import run
from procmine.orchestration.outputs import build_marts, render_dashboards
from procmine.render.publish import publish_dashboards

__all__ = [
    "RunResult", "build_marts", "core_event_count", "ingest", "landing_batches",
    "load_and_publish_core", "publish_core", "publish_dashboards", "record_failed_run",
    "record_run", "render_dashboards", "reset_loaded_data", "run_pipeline",
    "write_validation_docs",
]


def run_pipeline(config: Config, db_path: Path, *, full: bool = False, console: Any = None,
                 sources: list[str] | None = None, prefect: str | None = None) -> RunResult:
    """`procmine run` (procmine.orchestration.launch.run)."""
    return run(config, db_path, full=full, sources=sources, mode=prefect, console=console)
