"""Detect to Correct across records: core.links and the chain marts (docs/d2c.md).

Links are rebuilt by every mining run, from core.cases alone (read as core.d2c_records: the
records' attributes as publishing parsed them, once per changed row): the given ones from the
records' reference fields, then each configured inference rule ([links.rules.<name>]) in
name order, each its own SQL model run with the rule's parameters (sql/links/). They are
built in the mine stage, not at publish, because the rules are settings like the mining
ones: `procmine mine` applies a changed window without reloading anything, and publishing
stays proportional to the night's files. The chain marts (sql/marts/d2c_*.sql,
link_summary.sql) follow. They read core only (no mart), so mining builds them on a second
connection to the same database in a thread (`start`) while its numpy and SQL work goes on;
the cross-record waste heat map reads marts.waste and is written after it (`build_heatmap`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from procmine.config import Config
from procmine.errors import ConfigError
from procmine.mine.background import in_thread
from procmine.mine.settings import config_number
from procmine.sql import load_sql, quote_ident, run_sql
from procmine.sql.models import materialise_sql

RULE_MODELS = {"induced": "links/induced", "same_ci": "links/same_ci"}
CI_ROLES = ("caused_by", "affected")
RULE_KEYS = {"kind", "window_days", "window_hours", "ci", "only_unlinked", "enabled"}
MACROS = "intermediate/d2c_macros.sql"
TEMPS = (("intermediate/d2c_cis", "_d2c_ci"), ("intermediate/d2c_references", "_d2c_ref"))
LINK_MARTS = ("link_summary", "d2c_volumes", "d2c_incidents", "d2c_chains", "d2c_stage_times",
              "d2c_calls_per_incident", "d2c_recurrence", "d2c_changes", "d2c_change_failure")
HEATMAP = "d2c_waste_heatmap"   # reads marts.waste
MARTS = (*LINK_MARTS, HEATMAP)


@dataclass(frozen=True)
class LinkRule:
    """One [links.rules.<name>] table: what the rule links and within which window."""

    name: str
    kind: str                  # a key of RULE_MODELS
    window_s: float
    ci_role: str = "caused_by"   # induced: which CI of the incident the change must have touched
    only_unlinked: bool = True   # same_ci: only interactions without a given incident link

    def params(self) -> dict[str, Any]:
        return {"rule": self.name, "window_s": self.window_s, "ci_role": self.ci_role,
                "only_unlinked": self.only_unlinked}


@dataclass(frozen=True)
class LinkSettings:
    """[links]: reference values that name no record, the recurrence window, the rules."""

    placeholders: tuple[str, ...] = ("#MULTIVALUE",)
    recurrence_s: float = 30 * 86400.0
    evidence_ids: int = 5
    rules: tuple[LinkRule, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> LinkSettings:
        section = config.section("links")
        placeholders = section.get("placeholders", list(cls.placeholders))
        if not isinstance(placeholders, list) or not all(isinstance(p, str)
                                                        for p in placeholders):
            raise ConfigError(f"[links] placeholders must be a list of strings, "
                              f"got {placeholders!r}")
        rules = section.get("rules", {})
        if not isinstance(rules, dict):
            raise ConfigError(f"[links] rules must be a table of [links.rules.<name>] tables, "
                              f"got {rules!r}")
        return cls(placeholders=tuple(placeholders),
                   recurrence_s=config_number(section, "recurrence_days", 30, "links") * 86400,
                   evidence_ids=int(config_number(section, "evidence_ids", 5, "links")),
                   rules=tuple(rule for name in sorted(rules)
                               if (rule := _rule(str(name), rules[name])) is not None))

    def params(self) -> dict[str, Any]:
        return {"placeholders": list(self.placeholders), "recurrence_s": self.recurrence_s,
                "evidence_ids": self.evidence_ids}


def _rule(name: str, table: Any) -> LinkRule | None:
    where = f"links.rules.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table, got {table!r}")
    unknown = sorted(set(table) - RULE_KEYS)
    if unknown:
        raise ConfigError(f"[{where}] unknown key {unknown[0]!r}; known: "
                          f"{', '.join(sorted(RULE_KEYS))}")
    if table.get("enabled", True) is False:
        return None
    kind = table.get("kind", name)
    if kind not in RULE_MODELS:
        raise ConfigError(f"[{where}] kind must be one of {', '.join(RULE_MODELS)}, "
                          f"got {kind!r}")
    if "window_days" in table and "window_hours" in table:
        raise ConfigError(f"[{where}] give window_days or window_hours, not both")
    if "window_hours" in table:
        window = config_number(table, "window_hours", 0, where) * 3600
    else:
        window = config_number(table, "window_days", 7 if kind == "induced" else 0, where) * 86400
    ci = table.get("ci", "caused_by")
    if ci not in CI_ROLES:
        raise ConfigError(f"[{where}] ci must be one of {', '.join(CI_ROLES)}, got {ci!r}")
    only_unlinked = table.get("only_unlinked", True)
    if not isinstance(only_unlinked, bool):
        raise ConfigError(f"[{where}] only_unlinked must be true or false, "
                          f"got {only_unlinked!r}")
    return LinkRule(name, kind, window, ci, only_unlinked)


def build(conn: duckdb.DuckDBPyConnection, settings: LinkSettings, *,
          heatmap: bool = True) -> dict[str, float]:
    """Rebuild core.links and the D2C marts from core.d2c_records (the heat map, from
    marts.waste, unless `heatmap` is false); returns the seconds each step took (links,
    marts)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    params = settings.params()
    try:
        run_sql(conn, load_sql(MACROS))
        for model, table in TEMPS:
            run_sql(conn, materialise_sql(model, table, temp=True), params)
        run_sql(conn, "DELETE FROM core.links")
        run_sql(conn, materialise_sql("links/given", "core.links", append=True), params)
        for rule in settings.rules:
            run_sql(conn, materialise_sql(RULE_MODELS[rule.kind], "core.links", append=True),
                    {**params, **rule.params()})
        timings["links"] = time.perf_counter() - started
        started = time.perf_counter()
        for mart in LINK_MARTS:
            run_sql(conn, materialise_sql(f"marts/{mart}", f"marts.{mart}"), params)
        timings["marts"] = time.perf_counter() - started
    finally:
        for _, table in TEMPS:
            conn.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        conn.execute("DROP MACRO IF EXISTS pm_seconds")
    if heatmap:
        build_heatmap(conn)
    return timings


def build_heatmap(conn: duckdb.DuckDBPyConnection) -> None:
    """marts.d2c_waste_heatmap, from marts.waste, core.cases and core.links."""
    run_sql(conn, materialise_sql(f"marts/{HEATMAP}", f"marts.{HEATMAP}"))


def start(conn: duckdb.DuckDBPyConnection,
          settings: LinkSettings) -> Callable[[], dict[str, float]]:
    """`build` without the heat map on a second connection to `conn`'s database, in a
    thread; the returned function joins it (its timings, or its exception)."""
    second = conn.cursor()

    def work() -> dict[str, float]:
        try:
            return build(second, settings, heatmap=False)
        finally:
            second.close()

    return in_thread(work, "procmine-mine-d2c")


__all__ = ["MARTS", "LinkRule", "LinkSettings", "build", "build_heatmap", "start"]
