"""Shared fixtures: paths to the real data sets (tests using them skip, with the reason, when\nthey are absent), a fresh database, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dask_cluster import dask_cluster  # noqa: F401 (session fixture)
from tests.prefect_server import prefect_server, prefect_settings  # noqa: F401 (fixtures)
from tests.real_stores import (  # noqa: F401 (session fixtures: each real log loaded once)
    bpic13_problems_store,
    bpic14_d2c_store,
    bpic14_store,
    servicenow_store,
    volvo_store,
)

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("PROCMINE_REAL_DATA", ROOT.parent / "shared" / "data" / "itsm"))
SERVICENOW_LOG = REAL_DATA / "servicenow_incident_event_log.csv.gz"
VOLVO_LOG = REAL_DATA / "bpic2013_volvo_incidents.csv.gz"
BPIC14_LOG = REAL_DATA / "bpic14_incident_activity_eventlog_pmdemo.csv.gz"
BPIC13_PROBLEMS_LOG = REAL_DATA / "bpic13_closed_problems.csv.gz"
PROCMINE = Path(sys.executable).with_name("procmine")


def _uses_real_data(module: object) -> bool:
    """Does a test module hold a path into the real data (e.g. imports SERVICENOW_LOG)?"""
    return any(isinstance(value, Path) and (value == REAL_DATA or REAL_DATA in value.parents)
               for value in vars(module).values())


# The modules that take the most CPU (a minute or more each on two cores, the shared stores'
# loading included), heaviest first. `make test` hands whole modules to two pytest-xdist
# workers in collection order (--dist loadfile --no-loadscope-reorder): these go first, so
# that the workers end together, rather than one of them running a long module alone at the
# end (xdist's own order, most tests first, left e.g. the single crash-safety test last).
HEAVY_FIRST = ("test_dask_engine.py", "test_crash_safety.py", "test_dialect.py",
               "test_sql_concurrency.py", "test_extract_stamps.py", "test_inspect.py",
               "test_incremental.py", "test_source_servicenow.py", "test_render_png_cache.py",
               "test_flow.py", "test_unmapped.py", "test_d2c.py", "test_drift.py",
               "test_partitions.py", "test_ocel.py", "test_validation.py")


def _heavy_rank(item: pytest.Item) -> int:
    name = item.path.name
    return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heaviest modules first (HEAVY_FIRST; the others keep their order). Without
    ../shared, the tests that read the real logs (their module names a path into it, or they
    are marked `real_data`) are skipped with the reason; the rest run."""
    items.sort(key=_heavy_rank)
    missing = [p for p in (SERVICENOW_LOG, VOLVO_LOG) if not p.is_file()]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"real data not found: {', '.join(map(str, missing))}; "
                            "clone procmine beside ../shared or set PROCMINE_REAL_DATA")
    for item in items:
        module = getattr(item, "module", None)
        if item.get_closest_marker("real_data") or (module and _uses_real_data(module)):
            item.add_marker(skip)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "procmine.duckdb"


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder with no PROCMINE_* variables set."""
    for name in ("PROCMINE_DB", "PROCMINE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real `procmine` executable, as a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")}
    full_env.update(env or {})
    proc = subprocess.run([str(PROCMINE), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"procmine {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc
