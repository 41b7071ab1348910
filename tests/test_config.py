"""Configuration: defaults merged with procmine.toml, the database path's precedence, and
RunSettings, the one typed object a run's options reach it through."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from procmine.config import Config, RunSettings, load_config
from procmine.errors import ConfigError


def _project(root: Path, toml: str) -> Path:
    path = root / "procmine.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_project_file_is_merged_over_the_defaults(isolated_env: Path) -> None:
    defaults = load_config()
    assert defaults.path is None and defaults.lock_wait_s == 0.0
    _project(isolated_env, '[run]\nlock_wait_s = 7.5\n[paths]\ndashboards = "out"\n')
    config = load_config()   # ./procmine.toml
    assert config.path == Path("procmine.toml") and config.lock_wait_s == 7.5
    assert config.section("run")["prefect"] == defaults.section("run")["prefect"]  # merged
    assert config.dashboards_dir == isolated_env / "out"
    assert config.source_names == defaults.source_names


def test_config_errors_name_the_file(isolated_env: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file nope\.toml does not exist"):
        load_config("nope.toml")
    with pytest.raises(ConfigError, match="unknown source 'nope'; configured sources: "):
        load_config().source("nope")
    bad = _project(isolated_env, "[run\n")
    with pytest.raises(ConfigError, match=r"procmine\.toml: not valid TOML"):
        load_config(bad)


def test_db_path_precedence(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = isolated_env / "project"
    sub.mkdir()
    config = load_config(_project(sub, '[database]\npath = "db/p.duckdb"\n'))
    assert config.db_path() == sub / "db" / "p.duckdb"   # relative to the config file
    monkeypatch.setenv("PROCMINE_DB", "/env/p.duckdb")
    assert config.db_path() == Path("/env/p.duckdb")
    assert config.db_path("cli.duckdb") == Path("cli.duckdb")
    monkeypatch.delenv("PROCMINE_DB")
    assert load_config().db_path() == isolated_env / "data" / "procmine.duckdb"


def test_run_settings_resolve_over_the_config(isolated_env: Path) -> None:
    config = load_config(_project(isolated_env, '[run]\nlock_wait_s = 4\nprefect = "never"\n'))
    assert RunSettings.resolve(config) == RunSettings(
        full=False, sources=None, prefect="never", lock_wait_s=4.0)
    explicit = RunSettings.resolve(config, full=True, sources=["csv", "xes"],
                                   prefect="always", lock_wait_s=0)
    assert explicit == RunSettings(True, ("csv", "xes"), "always", 0.0)   # 0 is explicit
    assert RunSettings.resolve(config, sources=[]).sources is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        explicit.lock_wait_s = 1   # type: ignore[misc]
    with pytest.raises(ConfigError, match="lock wait must be >= 0"):
        RunSettings.resolve(config, lock_wait_s=-1)


def test_a_local_run_gets_the_settings_lock_wait(isolated_env: Path) -> None:
    """The in-process run's state carries the settings the open step takes the lock with."""
    from procmine.orchestration.run import new_state

    (isolated_env / "data" / "landing" / "csv").mkdir(parents=True)
    config = dataclasses.replace(load_config(), base_dir=isolated_env)
    assert isinstance(config, Config)
    state = new_state(config, config.db_path(), RunSettings.resolve(
        config, sources=["csv"], lock_wait_s=12))
    assert state.settings.lock_wait_s == 12.0 and state.sources == ["csv"]
    assert state.result.command == "run --source csv"
    default = new_state(config, config.db_path(), RunSettings.resolve(config, full=True))
    assert default.settings == RunSettings(full=True, prefect="auto", lock_wait_s=0.0)
    assert default.full and default.result.command == "run --full"
