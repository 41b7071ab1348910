"""Crash safety: a run killed (SIGKILL) at any step leaves the last published database and
dashboards; the next run ends with the same marts as a run that was never interrupted."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import pytest

import procmine
from procmine.config import load_config
from procmine.faults import CRASH_ENV
from tests.conftest import run_cli
from tests.landing_data import write_daily_exports, write_project
from tests.test_incremental import PER_RUN_TABLES, marts_snapshot

# after each step of the run (procmine.orchestration.run.DATABASE_STEPS), "publish" inside
# the atomic rename (store.writing), "publish-dashboards" between the database and the pages
CRASH_POINTS = ["extract", "load", "mine", "render", "finish", "publish"]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _project(root: Path) -> tuple[Path, Path]:
    config = write_project(root)
    return config, root / "data" / "landing" / "csv"


def _run(config: Path, crash_at: str | None = None):
    env = {CRASH_ENV: crash_at} if crash_at else None
    return run_cli("--config", config, "run", env=env, check=crash_at is None)


def _comparable_marts(db: Path) -> dict[str, list[tuple]]:
    return {t: rows for t, rows in marts_snapshot(db).items() if t not in PER_RUN_TABLES}


@pytest.mark.slow
def test_killed_runs_leave_published_state_and_the_next_run_recovers(tmp_path: Path) -> None:
    # the reference: the same two nights never interrupted (run in this process: the same
    # pipeline as `procmine run`, without starting one more procmine process per night)
    reference_config, reference_landing = _project(tmp_path / "reference")
    reference = load_config(reference_config)
    write_daily_exports(reference_landing, days=3, only=[0])
    assert procmine.open(reference.db_path(), reference).run().status == "success"
    write_daily_exports(reference_landing, days=3, only=[1, 2])
    assert procmine.open(reference.db_path(), reference).run().status == "success"

    config, landing = _project(tmp_path / "crashed")
    db, pages = tmp_path / "crashed" / "data" / "procmine.duckdb", tmp_path / "crashed" / "dashboards"
    write_daily_exports(landing, days=3, only=[0])
    _run(config)
    published_db, published_pages = db.read_bytes(), _digest(pages)
    assert "waste.html" in published_pages
    write_daily_exports(landing, days=3, only=[1, 2])

    for point in CRASH_POINTS:
        proc = _run(config, crash_at=point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-2000:])
        assert db.read_bytes() == published_db, f"database changed by a run killed at {point}"
        assert _digest(pages) == published_pages, f"dashboards changed by a kill at {point}"

    # the runs killed after render (render, finish, publish) each left their staged pages
    # (.dashboards.<run id>); each next run removed the one before it (found by the soak,
    # bench/soak.py: one folder of pages per killed run piled up beside the dashboards)
    assert len(list(pages.parent.glob(".dashboards.*"))) == 1

    # killed after the database was published, while the pages were being moved into place
    proc = _run(config, crash_at="publish-dashboards")
    assert proc.returncode == -signal.SIGKILL
    assert db.read_bytes() != published_db

    _run(config)  # nothing new to load: it must still re-render the pages the kill left stale
    assert not list(pages.parent.glob(".dashboards.*"))
    assert not list(db.parent.glob(".procmine.duckdb.work*"))
    assert _comparable_marts(db) == _comparable_marts(
        tmp_path / "reference" / "data" / "procmine.duckdb")
    reference_pages = tmp_path / "reference" / "dashboards"
    for page in ("waste.html", "variants.html", "bottlenecks.html", "operating_model.html"):
        assert (pages / page).read_bytes() == (reference_pages / page).read_bytes(), page
