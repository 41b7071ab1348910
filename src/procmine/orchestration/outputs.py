"""The mine and render steps' work for a run: the marts recomputed in the run's private copy,
the pages rendered into the run's staging folder (published after the database)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from procmine.config import Config, RunSettings
from procmine.load import RunResult, write_validation_docs

if TYPE_CHECKING:
    from procmine.mine import MineReport


def build_marts(conn: duckdb.DuckDBPyConnection, config: Config, result: RunResult,
                settings: RunSettings | None = None, db_path: Path | None = None
                ) -> MineReport:
    """Mine step: recompute the marts from core (procmine.mine) with the run's engine
    (settings.engine: local, or dask via orchestration/dask_engine.py); the discovered model
    goes into the run's staged dashboards folder, published with the pages."""
    from procmine.mine import mine

    staged = config.dashboards_dir.with_name(f".{config.dashboards_dir.name}.{result.run_id}")
    if settings is None or settings.engine == "local":
        return mine(conn, config, model_dir=staged / "model")
    from procmine.orchestration.dask_engine import engine

    with engine(conn, settings, db_path or config.db_path()) as detector:
        return mine(conn, config, model_dir=staged / "model", detector=detector)


def render_dashboards(conn: duckdb.DuckDBPyConnection, config: Config, result: RunResult,
                      out_dir: Path) -> None:
    """Render step: write every dashboard page (HTML + PNG per chart) into `out_dir`.

    The run itself is not in marts.run_log yet; the data-quality page shows it from `result`.
    """
    from procmine.render import render_all

    write_validation_docs(result, out_dir, config.dashboards_dir)  # first: the index links it
    current = {
        "run_id": result.run_id, "started_at": result.started_at, "finished_at": None,
        "status": "success" if not result.failed_files else "partial",
        "files_loaded": result.files_loaded, "events_loaded": result.events_loaded,
        "events_quarantined": result.events_quarantined, "command": result.command,
        "message": "this run",
    }
    render_all(conn, config, out_dir, current_run=current)
