"""Incremental, idempotent runs: only new or changed landing files are read; a run with
nothing new changes no mart; a new daily export adds exactly its events."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import procmine
from procmine import store
from procmine.config import RunSettings, load_config
from procmine.errors import ConfigError
from procmine.load import RunResult
from procmine.orchestration.run import run_local
from tests.conftest import run_cli
from tests.landing_data import keep, put_back, write_daily_exports, write_project

# Marts that log each run (they grow with runs that load or mine, by design).
PER_RUN_TABLES = ("waste_heatmap_history", "validation_results")


def _comparable(value: object) -> object:
    """Floats to 9 significant digits: sums in another order differ in the last bit."""
    return float(f"{value:.9g}") if isinstance(value, float) else value


def marts_snapshot(db_path: Path) -> dict[str, list[tuple]]:
    """Every mart's full, sorted content (marts.run_log excluded: it records each run)."""
    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
            "AND table_name <> 'run_log' ORDER BY 1").fetchall()]
        return {t: sorted((tuple(_comparable(v) for v in row) for row in conn.execute(
                    f'SELECT * FROM marts."{t}"').fetchall()), key=repr)
                for t in tables}
    finally:
        conn.close()


def scalar(db_path: Path, sql: str, params: list | None = None):
    conn = store.reading(db_path)
    try:
        return conn.execute(sql, params or []).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    config = write_project(tmp_path)
    return config, tmp_path / "data" / "landing" / "csv"


@dataclass(frozen=True)
class FirstRun:
    """A project's first run over the daily exports `written` (the project folder `root` as
    the run left it is kept at `saved`)."""

    root: Path
    saved: Path
    written: dict[int, int]
    first: RunResult

    def project(self) -> tuple[Path, Path]:
        """The project as the first run left it, put back in its folder for this test:
        (config, landing folder)."""
        put_back(self.saved, self.root)
        return self.root / "procmine.toml", self.root / "data" / "landing" / "csv"


def _first_run(folder: Path, days: list[int]) -> FirstRun:
    root = folder / "project"
    config = load_config(write_project(root))
    written = write_daily_exports(root / "data" / "landing" / "csv", days=3, only=days)
    first = procmine.open(config.db_path(), config).run()
    return FirstRun(root, keep(root), written, first)


@pytest.fixture(scope="module")
def day0_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """Day 0's export run once for the module (the same file whatever the number of days)."""
    return _first_run(tmp_path_factory.mktemp("day0"), [0])


@pytest.fixture(scope="module")
def days01_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """Days 0 and 1's exports run once for the module."""
    return _first_run(tmp_path_factory.mktemp("days01"), [0, 1])


def test_second_run_without_new_files_loads_nothing_and_changes_no_mart(days01_run):
    config_path, _ = days01_run.project()
    written = days01_run.written
    config = load_config(config_path)
    db = config.db_path()

    first = days01_run.first
    assert first.status == "success"
    assert first.files_loaded == 2
    assert first.events_loaded == written[0] + written[1]
    before = marts_snapshot(db)
    core_before = scalar(db, "SELECT count(*) FROM core.events")
    heatmap, history = before["waste_heatmap"], before["waste_heatmap_history"]
    assert len(heatmap) == 6   # the exports' waste: 6 cells (their activities have no stage:
                               # no deviation cell, issue #16)
    # the history holds this run's snapshot of exactly those cells
    assert {row[0] for row in history} == {first.run_id}
    assert sorted((row[2:] for row in history), key=repr) == sorted(
        (row[:5] for row in heatmap), key=repr)

    second, state = run_local(config, db)
    assert second.status == "success"
    assert second.events_loaded == 0 and second.files_loaded == 0
    assert [f.status for f in second.files] == ["skipped", "skipped"]
    assert not state.mined and "no new events" in state.skip_reason
    assert marts_snapshot(db) == before
    assert scalar(db, "SELECT count(*) FROM core.events") == core_before
    log = store.reading(db).execute(
        "SELECT run_id, events_loaded, files_skipped, mined FROM marts.run_log "
        "ORDER BY started_at").fetchall()
    assert [(r[1], r[2], r[3]) for r in log] == [(core_before, 0, True), (0, 2, False)]


def test_new_daily_export_is_the_only_file_read(days01_run):
    config_path, landing = days01_run.project()
    written = dict(days01_run.written)
    config = load_config(config_path)
    db = config.db_path()
    events_before = scalar(db, "SELECT count(*) FROM core.events")
    raw_before = scalar(db, "SELECT count(*) FROM raw.csv")
    registry_before = scalar(db, "SELECT count(*) FROM core.load_registry")

    written |= write_daily_exports(landing, days=4, only=[2])  # tonight's export lands
    result, state = run_local(config, db)

    assert [f.path.name for f in result.files if f.status == "loaded"] == ["day_02.csv"]
    assert [f.path.name for f in state.plan.to_read] == ["day_02.csv"]
    assert result.events_loaded == written[2]
    assert scalar(db, "SELECT count(*) FROM core.events") == events_before + written[2]
    assert scalar(db, "SELECT count(*) FROM raw.csv") == raw_before + written[2]  # only it read
    assert scalar(db, "SELECT count(*) FROM core.load_registry") == registry_before + 1
    assert scalar(db, "SELECT count(DISTINCT source_file) FROM core.events "
                      "WHERE source_file LIKE '%day_02.csv'") == 1
    assert state.mined  # new events: marts recomputed


def test_changed_file_is_read_again_and_only_its_new_events_count(day0_run):
    config_path, landing = day0_run.project()
    config = load_config(config_path)
    db = config.db_path()
    events_before = scalar(db, "SELECT count(*) FROM core.events")

    day0 = landing / "day_00.csv"
    day0.write_text(day0.read_text() + "LATE0001,Open,2024-03-04 23:00:00,agent 1,"
                    "Hub Service Desk L1\n", encoding="utf-8")
    result, state = run_local(config, db)

    assert [f.status for f in state.plan.files] == ["changed"]
    assert result.events_loaded == 1  # the file's other events are already in core
    assert scalar(db, "SELECT count(*) FROM core.events") == events_before + 1


def test_full_rebuild_reproduces_the_incremental_marts(day0_run):
    config_path, landing = day0_run.project()
    config = load_config(config_path)
    db = config.db_path()
    write_daily_exports(landing, days=3, only=[1, 2])
    procmine.open(db, config).run()
    incremental = marts_snapshot(db)
    events = scalar(db, "SELECT count(*) FROM core.events")

    full, state = run_local(config, db, RunSettings.resolve(config, full=True))
    assert full.files_loaded == 3 and full.events_loaded == events
    assert state.mined
    rebuilt = marts_snapshot(db)
    for per_run in PER_RUN_TABLES:  # logs of each run, not results of the data
        rebuilt.pop(per_run, None), incremental.pop(per_run, None)
    assert rebuilt == incremental


def test_sources_parameter_limits_what_is_read(project, tmp_path):
    config_path, landing = project
    write_daily_exports(landing, days=2, only=[0])
    config = load_config(config_path)
    db = config.db_path()
    with pytest.raises(ConfigError, match="unknown source"):
        procmine.open(db, config).run(sources=["nope"])
    (tmp_path / "data" / "landing" / "bpic2013").mkdir()
    result = procmine.open(db, config).run(sources=["csv"])
    assert result.files_loaded == 1
    assert result.command == "run --source csv"


def test_cli_second_run_reports_nothing_new(day0_run):
    config_path, _ = day0_run.project()
    root = day0_run.root
    second = run_cli("run", "--config", config_path, cwd=root)
    assert "0 file(s) loaded, 1 already loaded, +0 events" in " ".join(second.stderr.split())
    status = run_cli("status", "--db", root / "data" / "procmine.duckdb", cwd=root)
    second_row = next(line for line in status.stdout.splitlines() if "0 new, 1 known" in line)
    assert "success" in second_row and "unchanged" in second_row
