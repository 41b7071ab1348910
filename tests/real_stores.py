"""The real logs of ../shared/data/itsm/, each loaded (and mined) once per test run.

Fixtures (session scope, imported by conftest): ``servicenow_store``, ``volvo_store``,
``bpic14_store``, ``bpic13_problems_store``, ``bpic14_d2c_store`` (the four BPIC 2014 tables
as interaction, incident and change objects, loaded from a landing folder in one run). Each
is a RealStore: the database file, the configuration it was loaded with, the ingest's
RunResult and (but for bpic14_d2c_store, loaded only) the first mining's MineReport. Tests
open it read-only (``RealStore.reading``, or copy the file) and must not write to it; a test
that needs to change a store makes its own. Under pytest-xdist the workers share one build of
each (`_built_once`). The BPIC 2014 and closed-problems sources are defined by the example
configurations of docs/sources.md ("Sources named in configuration"), read from that page.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import duckdb
import pytest

from procmine import store
from procmine.config import Config, load_config
from procmine.load import RunResult, ingest

if TYPE_CHECKING:
    from procmine.mine import MineReport

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DOC = ROOT / "docs" / "sources.md"


@dataclass(frozen=True)
class RealStore:
    db: Path
    config: Config
    result: RunResult
    mined: MineReport | None = None   # the first mining run's report (None: not mined)

    def reading(self) -> duckdb.DuckDBPyConnection:
        return store.reading(self.db)


def example_config(name: str) -> str:
    """The TOML block of docs/sources.md that follows `<!-- example: NAME -->`."""
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```toml\n(.*?)```",
                      SOURCES_DOC.read_text(encoding="utf-8"), re.DOTALL)
    if not found:
        raise AssertionError(f"docs/sources.md has no example configuration {name!r}")
    return found.group(1)


def config_from_docs(folder: Path, *names: str) -> Config:
    """procmine.toml in `folder` made of the named examples of docs/sources.md, in order."""
    path = folder / "procmine.toml"
    path.write_text("\n".join(example_config(name) for name in names), encoding="utf-8")
    return load_config(path)


def _load(folder: Path, config: Config, source: str, log: Path) -> RealStore:
    from procmine.mine import mine

    db = folder / "procmine.duckdb"
    result = ingest(config, db, source, [log])
    with store.writing(db) as conn:
        mined = mine(conn, config, discover=False)
    return RealStore(db, config, result, mined)


def _built_once(factory: pytest.TempPathFactory, name: str,
                build: Callable[[Path], RealStore]) -> RealStore:
    """`build(folder)` once per test run. Under pytest-xdist each worker is a process with
    its own session fixtures, so the store is built in the folder the workers share (their
    own temporary folders are inside it): the first worker to ask builds it under a lock,
    the others wait and take the pickled RealStore it left."""
    shared = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder, done = shared / f"real-{name}", shared / f"real-{name}.pickle"
    with (shared / f"real-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)   # what a failed build left
            folder.mkdir()
            done.write_bytes(pickle.dumps(build(folder)))
    return pickle.loads(done.read_bytes())


def _logs() -> ModuleType:
    """tests.conftest, where the paths live (imported late: conftest imports this module)."""
    from tests import conftest

    return conftest


@pytest.fixture(scope="session")
def servicenow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _built_once(tmp_path_factory, "servicenow", lambda folder: _load(
        folder, load_config(), "servicenow", _logs().SERVICENOW_LOG))


@pytest.fixture(scope="session")
def volvo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _built_once(tmp_path_factory, "volvo", lambda folder: _load(
        folder, load_config(), "bpic2013", _logs().VOLVO_LOG))


@pytest.fixture(scope="session")
def bpic14_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _built_once(tmp_path_factory, "bpic14", lambda folder: _load(
        folder, config_from_docs(folder, "bpic14"), "bpic14", _logs().BPIC14_LOG))


@pytest.fixture(scope="session")
def bpic13_problems_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _built_once(tmp_path_factory, "bpic13-problems", lambda folder: _load(
        folder, config_from_docs(folder, "bpic13_problems"), "bpic13_problems",
        _logs().BPIC13_PROBLEMS_LOG))


BPIC14_LANDING = {  # landing folder (the sources' `landing`) -> file of ../shared/data/itsm
    "bpic14": "bpic14_incident_activity_eventlog_pmdemo.csv.gz",
    "bpic14_interactions": "bpic14_detail_interaction.csv.gz",
    "bpic14_incidents": "bpic14_detail_incident.csv.gz",
    "bpic14_changes": "bpic14_detail_change.csv.gz",
}


def load_landing(config: Config, db: Path) -> RunResult:
    """What `procmine run`'s load step does: every configured landing folder, in one run
    (store.writing's private copy, published at the end)."""
    from procmine.load import landing_batches, load_and_publish_core, record_run

    result = RunResult(run_id=store.new_run_id(), command="run")
    with store.writing(db) as conn:
        load_and_publish_core(conn, config, result, landing_batches(config))
        result.status = "success" if not result.failed_files else "partial"
        record_run(conn, result)
    return result


def _load_bpic14_landing(folder: Path) -> RealStore:
    config = config_from_docs(folder, "bpic14", "bpic14_objects")
    for landing, name in BPIC14_LANDING.items():
        (folder / "data" / "landing" / landing).mkdir(parents=True)
        (folder / "data" / "landing" / landing / name).symlink_to(_logs().REAL_DATA / name)
    db = folder / "procmine.duckdb"
    return RealStore(db, config, load_landing(config, db))


@pytest.fixture(scope="session")
def bpic14_d2c_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _built_once(tmp_path_factory, "bpic14-d2c", _load_bpic14_landing)
