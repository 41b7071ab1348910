"""The expectation suites in expectations/*.json and the parameters the config gives them.

Suites are Great Expectations 1.x suite files. procmine reads these keys of an
expectation's ``meta``:

- ``rule``: the expectation's name in quarantine.events and marts.validation_results;
- ``reason``: the sentence stored with a quarantined row;
- ``applies_if``: a suite parameter that must be non-empty for the expectation to run
  (e.g. a source without a vocabulary accepts any activity);
- ``engine``: ``gx`` (default: evaluated by GX's pandas data source, batch by batch) or
  ``duckdb`` (needs the whole load; evaluated by the SQL file named in ``sql``);
- ``quarantine_value`` / ``quarantine_column``: the column whose value is stored as the
  offending value (default: the expectation's column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from procmine.config import Config
from procmine.errors import ConfigError

SHIPPED_DIR = Path(__file__).resolve().parents[3] / "expectations"
SUITE_NAMES = ("staging_events", "staging_cases", "load_sources", "load_files")
LEVELS = {"staging_events": "row", "staging_cases": "case", "load_sources": "batch",
          "load_files": "batch"}


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite file."""

    suite: str
    config: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.config.get("meta", {}))

    @property
    def name(self) -> str:
        return str(self.meta["rule"])

    @property
    def type(self) -> str:
        return str(self.config["type"])

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.config.get("kwargs", {}))

    @property
    def engine(self) -> str:
        return str(self.meta.get("engine", "gx"))

    @property
    def level(self) -> str:
        return LEVELS.get(self.suite, "row")

    @property
    def reason(self) -> str:
        return str(self.meta.get("reason", self.name))

    @property
    def column(self) -> str | None:
        kwargs = self.kwargs
        if "column" in kwargs:
            return str(kwargs["column"])
        if "column_A" in kwargs:
            return str(kwargs["column_A"])
        if "column_list" in kwargs:
            return str(kwargs["column_list"][-1])
        return None

    @property
    def value_column(self) -> str | None:
        """The column whose value quarantine.events keeps as the offending value."""
        return self.meta.get("quarantine_value") or self.meta.get("quarantine_column") or self.column

    @property
    def columns(self) -> list[str]:
        """Every column the expectation reads."""
        kwargs = self.kwargs
        found = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        return [str(c) for c in found + list(kwargs.get("column_list", []))]

    def applies(self, params: dict[str, Any]) -> bool:
        key = self.meta.get("applies_if")
        return not key or bool(params.get(key))


@dataclass(frozen=True)
class Suite:
    name: str
    data: dict[str, Any]
    path: Path

    @cached_property
    def rules(self) -> list[Rule]:
        return [Rule(self.name, e) for e in self.data.get("expectations", [])]

    def gx_rules(self, params: dict[str, Any]) -> list[Rule]:
        return [r for r in self.rules if r.engine == "gx" and r.applies(params)]

    def sql_rules(self, params: dict[str, Any]) -> list[Rule]:
        return [r for r in self.rules if r.engine == "duckdb" and r.applies(params)]

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise ConfigError(f"{self.path}: no expectation with meta.rule = {name!r}")


def expectations_dir(config: Config) -> Path:
    """[validation].expectations_dir (relative to the config file), else the shipped suites."""
    configured = config.section("validation").get("expectations_dir")
    return config.resolve(configured) if configured else SHIPPED_DIR


def load_suites(config: Config) -> dict[str, Suite]:
    """Every suite procmine runs, read and checked (a rule name, a type, unique names)."""
    folder = expectations_dir(config)
    suites: dict[str, Suite] = {}
    seen: set[str] = set()
    for name in SUITE_NAMES:
        path = folder / f"{name}.json"
        if not path.is_file():
            raise ConfigError(f"expectation suite {path} is missing")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        suite = Suite(name, data, path)
        for index, expectation in enumerate(data.get("expectations", [])):
            rule = expectation.get("meta", {}).get("rule")
            if not rule or "type" not in expectation:
                raise ConfigError(f"{path}: expectation {index + 1} needs a type and a meta.rule")
            if rule in seen:
                raise ConfigError(f"{path}: rule {rule!r} is named twice")
            seen.add(rule)
        suites[name] = suite
    return suites


@dataclass
class Parameters:
    """Suite parameters: per source (row and case suites) and for the load (batch suites)."""

    config: Config
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def settings(self) -> dict[str, Any]:
        return self.config.section("validation")

    @property
    def batch_rows(self) -> int:
        return max(1000, int(self.settings.get("batch_rows", 1_000_000)))

    @property
    def batch_min_rows(self) -> int:
        return int(self.settings.get("batch_min_rows", 100))

    @property
    def min_ts(self) -> datetime:
        value = str(self.settings.get("min_ts", "1990-01-01"))
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"[validation] min_ts = {value!r} is not an ISO date") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def for_source(self, source: str) -> dict[str, Any]:
        settings = self.config.source(source) if source in self.config.source_names else None
        return {
            "min_ts": self.min_ts,
            "max_ts": self.now + timedelta(days=1),
            "activity_vocabulary": sorted(settings.stages) if settings else [],
            "require_resource": bool(settings and settings.get("require_resource")),
            "opening_activities": list(settings.get("opening_activities", [])) if settings else [],
            "allow_empty_files": bool(settings and settings.get("allow_empty_files")),
        }

    def for_load(self) -> dict[str, Any]:
        tolerance = float(self.settings.get("row_count_tolerance", 0.5))
        return {
            "max_quarantine_share": float(self.settings.get("max_quarantine_share", 0.05)),
            "min_row_count_ratio": max(0.0, 1.0 - tolerance),
            "max_row_count_ratio": 1.0 + tolerance,
        }
