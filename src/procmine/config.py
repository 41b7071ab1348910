"""Configuration: shipped defaults (defaults.toml) merged with a project's procmine.toml."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from procmine.errors import ConfigError

CONFIG_ENV = "PROCMINE_CONFIG"
DB_ENV = "PROCMINE_DB"
DEFAULT_CONFIG_NAME = "procmine.toml"
ENGINES = ("local", "dask")   # [run] engine / --engine


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


@dataclass(frozen=True)
class SourceConfig:
    """How one source's files are read and mapped."""

    name: str
    settings: dict[str, Any]

    @property
    def adapter(self) -> str:
        return str(self.settings.get("adapter", self.name))

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    @property
    def stages(self) -> dict[str, str]:
        """Activity -> d2c_stage; its keys are the source's activity vocabulary."""
        return dict(self.settings.get("stages", {}))

    @property
    def null_tokens(self) -> list[str]:
        return list(self.settings.get("null_tokens", [""]))


@dataclass(frozen=True)
class Config:
    """The merged configuration; `path` is the project file it came from, if any."""

    data: dict[str, Any]
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.data.get(name, {}))

    def source(self, name: str) -> SourceConfig:
        sources = self.data.get("sources", {})
        if name not in sources:
            known = ", ".join(sorted(sources))
            raise ConfigError(f"unknown source {name!r}; configured sources: {known} (a new "
                              f"one is a [sources.{name}] table with adapter = \"csv\", "
                              "\"servicenow\", \"bpic2013\", \"xes\", \"ocel2\" or \"records\" "
                              "and its columns in procmine.toml: docs/sources.md)")
        return SourceConfig(name, dict(sources[name]))

    @property
    def source_names(self) -> list[str]:
        return list(self.data.get("sources", {}))

    def resolve(self, relative: str | Path) -> Path:
        """A path from the config, relative to the config file's folder (or the cwd)."""
        path = Path(relative)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def landing_dir(self) -> Path:
        return self.resolve(self.data.get("paths", {}).get("landing", "data/landing"))

    @property
    def dashboards_dir(self) -> Path:
        return self.resolve(self.data.get("paths", {}).get("dashboards", "dashboards"))

    def db_path(self, cli_db: str | Path | None = None) -> Path:
        """--db wins, then $PROCMINE_DB, then [database] path."""
        if cli_db:
            return Path(cli_db)
        if os.environ.get(DB_ENV):
            return Path(os.environ[DB_ENV])
        return self.resolve(self.data.get("database", {}).get("path", "data/procmine.duckdb"))

    @property
    def lock_wait_s(self) -> float:
        """[run] lock_wait_s: how long a writer waits for another run's lock."""
        return float(self.section("run").get("lock_wait_s", 0))

    def stage_of(self, source: str, activity: str) -> str | None:
        stages = self.source(source).stages if source in self.source_names else {}
        return stages.get(activity) or self.data.get("stages", {}).get(activity)

    @cached_property
    def sourcing_rules(self) -> list[tuple[str, str]]:
        return [(rule["match"], rule["sourcing"]) for rule in self.data.get("sourcing", [])]

    def sourcing_of(self, group: str | None) -> str:
        """hub, spoke:<unit>, vendor:<name> or unmapped, by the first matching rule."""
        if not group:
            return "unmapped"
        for pattern, sourcing in self.sourcing_rules:
            if fnmatch.fnmatchcase(group, pattern):
                return sourcing
        return "unmapped"


@dataclass(frozen=True)
class RunSettings:
    """The options of one run, resolved once over the configuration's [run] defaults.

    The CLI's flags and the API's arguments become one of these; the in-process run and the
    Prefect flow both take it as is (the flow gets its fields as parameters), so an option
    such as ``--wait`` means the same with and without Prefect.
    """

    full: bool = False
    sources: tuple[str, ...] | None = None   # None: every configured source
    prefect: str = "auto"                    # auto | always | never
    lock_wait_s: float = 0.0
    engine: str = "local"                    # local | dask (orchestration/dask_engine.py)
    dask_address: str | None = None          # tcp://HOST:8786; None: a LocalCluster
    dask_workers: int = 2                    # worker processes of that LocalCluster
    dask_partitions: int = 8                 # case partitions = Dask tasks per mining run
    dask_work_dir: str | None = None         # shared path / fsspec URL; None: beside the db
    dask_case_marts: bool = True             # per-case marts' rows written by the tasks too

    @classmethod
    def resolve(cls, config: Config, *, full: bool = False,
                sources: list[str] | tuple[str, ...] | None = None,
                prefect: str | None = None, lock_wait_s: float | None = None,
                engine: str | None = None, dask_address: str | None = None) -> RunSettings:
        """Explicit values win; None falls back to the config ([run] prefect, lock_wait_s,
        engine, dask_*)."""
        if lock_wait_s is not None and lock_wait_s < 0:
            raise ConfigError(f"lock wait must be >= 0 seconds, got {lock_wait_s}")
        run = config.section("run")
        chosen = engine or str(run.get("engine", "local"))
        if chosen not in ENGINES:
            raise ConfigError(f"unknown engine {chosen!r} (--engine / [run] engine: "
                              f"{' or '.join(ENGINES)})")
        workers, parts = int(run.get("dask_workers", 2)), int(run.get("dask_partitions", 8))
        if workers < 1 or parts < 1:
            raise ConfigError("[run] dask_workers and dask_partitions must be >= 1, got "
                              f"{workers} and {parts}")
        return cls(
            full=bool(full),
            sources=tuple(sources) if sources else None,
            prefect=prefect or str(run.get("prefect", "auto")),
            lock_wait_s=config.lock_wait_s if lock_wait_s is None else float(lock_wait_s),
            engine=chosen,
            dask_address=dask_address or str(run.get("dask_address", "")) or None,
            dask_workers=workers, dask_partitions=parts,
            dask_work_dir=str(run.get("dask_work_dir", "")) or None,
            dask_case_marts=_flag(run, "dask_case_marts", True),
        )


def _flag(section: dict[str, Any], key: str, default: bool) -> bool:
    """A true/false key of a config section (TOML booleans only: "false" is not false)."""
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"[run] {key} must be true or false, got {value!r}")
    return value


def default_config_data() -> dict[str, Any]:
    with resources.files("procmine").joinpath("defaults.toml").open("rb") as handle:
        return tomllib.load(handle)


def load_config(path: str | Path | None = None) -> Config:
    """Defaults merged with `path`, else $PROCMINE_CONFIG, else ./procmine.toml if present."""
    data = default_config_data()
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen:
        config_path = Path(chosen)
        if not config_path.is_file():
            raise ConfigError(f"config file {config_path} does not exist")
    else:
        config_path = Path(DEFAULT_CONFIG_NAME)
        if not config_path.is_file():
            return Config(data)
    merged = _deep_merge(data, _read_toml(config_path))
    return Config(merged, path=config_path, base_dir=config_path.resolve().parent)
