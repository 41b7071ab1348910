"""The extract step recognises an unchanged landing file by the (path, size, mtime) that
core.load_registry recorded when it was read, without reading it; anything else is hashed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from procmine import ingest, store
from procmine.config import Config, RunSettings, load_config
from procmine.load import RunResult
from procmine.load import ingest as ingest_files
from procmine.orchestration import steps
from procmine.orchestration.run import new_state, run_local
from tests.landing_data import keep, put_back, write_daily_exports, write_project

HOUR_NS = 3600 * 10**9


def _count_checksums(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the run reads to checksum it, in order, from now on."""
    read: list[Path] = []
    real: Callable[[Path], str] = ingest.file_checksum

    def counting(path: Path) -> str:
        read.append(path)
        return real(path)

    monkeypatch.setattr(ingest, "file_checksum", counting)
    return read


@pytest.fixture
def checksums(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the run reads to checksum it, in order."""
    return _count_checksums(monkeypatch)


def _write_project(root: Path) -> tuple[Config, Path]:
    """Two daily exports written "yesterday" (mtimes an hour old, past the racy window)."""
    config_path = write_project(root)
    landing = root / "data" / "landing" / "csv"
    write_daily_exports(landing, days=2, only=[0, 1])
    for n, path in enumerate(sorted(landing.iterdir())):
        set_mtime(path, time.time_ns() - 2 * HOUR_NS + n)
    return load_config(config_path), landing


@pytest.fixture
def project(tmp_path: Path) -> tuple[Config, Path]:
    return _write_project(tmp_path)


@dataclass(frozen=True)
class FirstRun:
    """`project`'s first run, once for the module: its result, plan and checksummed files,
    and the project folder as the run left it (`root`, kept at `saved`)."""

    root: Path
    saved: Path
    result: RunResult
    state: steps.RunState
    checksummed: list[Path]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    folder = tmp_path_factory.mktemp("first-run")
    root = folder / "project"
    config, _ = _write_project(root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        read = _count_checksums(monkeypatch)
        result, state = run_local(config, config.db_path())
    return FirstRun(root, keep(root), result, state, read)


@pytest.fixture
def after_first_run(first_run: FirstRun) -> tuple[Config, Path]:
    """The project as its first run left it, put back in the same folder for each test:
    config and landing folder."""
    put_back(first_run.saved, first_run.root)
    landing = first_run.root / "data" / "landing" / "csv"
    return load_config(first_run.root / "procmine.toml"), landing


def set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def registry(db: Path) -> dict[str, tuple[str, int, int | None]]:
    """File name → (file_id, size, mtime_ns) of core.load_registry's latest row per path."""
    conn = store.reading(db)
    try:
        rows = conn.execute("SELECT path, file_id, size_bytes, mtime_ns FROM core.load_registry "
                            "ORDER BY loaded_at").fetchall()
    finally:
        conn.close()
    return {Path(path).name: (file_id, size, mtime) for path, file_id, size, mtime in rows}


def test_unchanged_files_are_not_read_again(first_run, after_first_run, checksums) -> None:
    config, landing = after_first_run
    first, state = first_run.result, first_run.state
    assert first.files_loaded == 2 and state.plan.hashed == 2
    assert sorted(p.name for p in first_run.checksummed) == ["day_00.csv", "day_01.csv"]  # once each
    recorded = registry(config.db_path())
    for path in landing.iterdir():
        assert recorded[path.name][1:] == (path.stat().st_size, path.stat().st_mtime_ns)

    second, state = run_local(config, config.db_path())
    assert checksums == []
    assert state.plan.hashed == 0
    assert [f.status for f in second.files] == ["skipped", "skipped"]
    assert [f.file_id for f in state.plan.files] == [recorded["day_00.csv"][0],
                                                     recorded["day_01.csv"][0]]
    assert second.events_loaded == 0 and not state.mined


def test_same_size_new_content_and_new_mtime_is_hashed_and_loaded(after_first_run,
                                                                 checksums) -> None:
    config, landing = after_first_run
    day0 = landing / "day_00.csv"
    before = registry(config.db_path())["day_00.csv"]
    text = day0.read_text(encoding="utf-8")
    edited = text.replace("Open,", "Opnn,", 1)  # one activity renamed: same size
    assert len(edited) == len(text) and edited != text
    day0.write_text(edited, encoding="utf-8")
    set_mtime(day0, before[2] + 10**9)

    checksums.clear()
    result, state = run_local(config, config.db_path())
    assert [p.name for p in checksums] == ["day_00.csv"]  # day_01 recognised by its stamp
    assert [(f.path.name, f.status) for f in state.plan.files] == [
        ("day_00.csv", "changed"), ("day_01.csv", "known")]
    assert [f.path.name for f in result.files if f.status == "loaded"] == ["day_00.csv"]
    after = registry(config.db_path())["day_00.csv"]
    assert after[0] != before[0] and after[1:] == (before[1], before[2] + 10**9)


def test_touched_identical_file_is_hashed_once_recognised_and_not_loaded(after_first_run,
                                                                        checksums) -> None:
    config, landing = after_first_run
    day1 = landing / "day_01.csv"
    file_id, size, mtime = registry(config.db_path())["day_01.csv"]
    set_mtime(day1, mtime + 5 * 10**9)  # touched, content as loaded

    checksums.clear()
    result, state = run_local(config, config.db_path())
    assert [p.name for p in checksums] == ["day_01.csv"]
    assert [f.status for f in state.plan.files] == ["known", "known"]
    assert result.files_loaded == 0 and result.events_loaded == 0
    assert registry(config.db_path())["day_01.csv"] == (file_id, size, mtime + 5 * 10**9)

    checksums.clear()
    run_local(config, config.db_path())
    assert checksums == []  # its new mtime was remembered


def test_a_file_modified_moments_before_the_run_is_hashed_next_time(project, checksums) -> None:
    config, landing = project
    set_mtime(landing / "day_01.csv", time.time_ns())  # still being written, maybe
    run_local(config, config.db_path())
    assert registry(config.db_path())["day_01.csv"][2] is None

    checksums.clear()
    run_local(config, config.db_path())
    assert [p.name for p in checksums] == ["day_01.csv"]


def test_full_run_forgets_the_stamps_and_hashes_each_file_once(after_first_run,
                                                               checksums) -> None:
    config, _ = after_first_run
    full, _ = run_local(config, config.db_path(), RunSettings.resolve(config, full=True))
    assert full.files_loaded == 2
    assert sorted(p.name for p in checksums) == ["day_00.csv", "day_01.csv"]  # not again in load


def test_two_copies_of_one_content_load_once(project, checksums) -> None:
    config, landing = project
    copy = landing / "day_00_again.csv"
    copy.write_bytes((landing / "day_00.csv").read_bytes())
    result, state = run_local(config, config.db_path())
    assert result.status == "success"
    assert [(f.path.name, f.status) for f in state.plan.files] == [
        ("day_00.csv", "new"), ("day_00_again.csv", "known"), ("day_01.csv", "new")]
    assert result.files_loaded == 2


def test_ingest_command_recognises_a_loaded_file_without_reading_it(project, checksums) -> None:
    config, landing = project
    paths = [landing / "day_00.csv", landing / "day_01.csv"]
    first = ingest_files(config, config.db_path(), "csv", paths)
    assert first.files_loaded == 2 and len(checksums) == 2

    checksums.clear()
    again = ingest_files(config, config.db_path(), "csv", [*paths, paths[0]])
    assert checksums == []
    assert [f.status for f in again.files] == ["skipped"] * 3


def test_ingest_command_loads_one_of_two_identical_files(tmp_path: Path, project) -> None:
    config, landing = project
    copy = tmp_path / "copy.csv"
    copy.write_bytes((landing / "day_00.csv").read_bytes())
    result = ingest_files(config, config.db_path(), "csv", [landing / "day_00.csv", copy])
    assert [(f.status, f.message) for f in result.files] == [
        ("loaded", ""), ("skipped", "same content as a file of this run")]


def test_open_expects_new_data_only_for_files_the_registry_does_not_know(project) -> None:
    """The open step starts GX's and pm4py's imports early when a landing file is not in the
    published registry by its stamp (steps._unknown_landing_file); a run with nothing new
    does not import them."""
    config, landing = project
    assert steps._unknown_landing_file(new_state(config, config.db_path()))   # no store yet
    run_local(config, config.db_path())
    assert not steps._unknown_landing_file(new_state(config, config.db_path()))
    write_daily_exports(landing, days=3, only=[2])
    set_mtime(landing / "day_02.csv", time.time_ns() - HOUR_NS)
    assert steps._unknown_landing_file(new_state(config, config.db_path()))
