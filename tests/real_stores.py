"""The real logs of ../shared/data/itsm/, each loaded (and mined) once per test session.

Fixtures (session scope, imported by conftest): ``servicenow_store``, ``volvo_store``,
``bpic14_store``, ``bpic13_problems_store``, ``bpic14_d2c_store`` (the four BPIC 2014 tables
as interaction, incident and change objects, loaded from a landing folder in one run). Each is a RealStore: the database file, the
configuration it was loaded with and the ingest's RunResult. Tests open it read-only
(``RealStore.reading``) and must not write to it; a test that needs to change a store makes
its own. The BPIC 2014 and closed-problems sources are defined by the example configurations
of docs/sources.md ("Sources named in configuration"), read from that page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from procmine import store
from procmine.config import Config, load_config
from procmine.load import RunResult, ingest

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DOC = ROOT / "docs" / "sources.md"


@dataclass(frozen=True)
class RealStore:
    db: Path
    config: Config
    result: RunResult

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
        mine(conn, config, discover=False)
    return RealStore(db, config, result)


def _logs() -> ModuleType:
    """tests.conftest, where the paths live (imported late: conftest imports this module)."""
    from tests import conftest

    return conftest


@pytest.fixture(scope="session")
def servicenow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _load(tmp_path_factory.mktemp("real-servicenow"), load_config(), "servicenow",
                _logs().SERVICENOW_LOG)


@pytest.fixture(scope="session")
def volvo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    yield _load(tmp_path_factory.mktemp("real-volvo"), load_config(), "bpic2013",
                _logs().VOLVO_LOG)


@pytest.fixture(scope="session")
def bpic14_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    folder = tmp_path_factory.mktemp("real-bpic14")
    yield _load(folder, config_from_docs(folder, "bpic14"), "bpic14", _logs().BPIC14_LOG)


@pytest.fixture(scope="session")
def bpic13_problems_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    folder = tmp_path_factory.mktemp("real-bpic13-problems")
    yield _load(folder, config_from_docs(folder, "bpic13_problems"), "bpic13_problems",
                _logs().BPIC13_PROBLEMS_LOG)


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


@pytest.fixture(scope="session")
def bpic14_d2c_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    folder = tmp_path_factory.mktemp("real-bpic14-d2c")
    config = config_from_docs(folder, "bpic14", "bpic14_objects")
    for landing, name in BPIC14_LANDING.items():
        (folder / "data" / "landing" / landing).mkdir(parents=True)
        (folder / "data" / "landing" / landing / name).symlink_to(_logs().REAL_DATA / name)
    db = folder / "procmine.duckdb"
    yield RealStore(db, config, load_landing(config, db))
