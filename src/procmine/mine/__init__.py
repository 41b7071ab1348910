"""Detect-to-Correct mining: core.events → the marts of DESIGN.md.

`mine(conn, config)` reads core.events once into sorted, dictionary-encoded numpy arrays
(events.py), finds variants (variants.py), waste instances (waste.py; deviations against the
reference model in conformance.py) and per-case figures (kpis.py) with vectorised code, then
builds every mart with the SQL models in sql/mine/ over those arrays (registered as Arrow
tables, no copies), and writes the discovered model (model.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procmine.config import Config
from procmine.mine import conformance as conformance_mod
from procmine.mine.background import in_thread
from procmine.mine.events import EventArrays, case_index, load_events, resolve_case_ids
from procmine.mine.kpis import backlog_tables, case_table
from procmine.mine.model import ModelResult, discover_model
from procmine.mine.settings import DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.variants import (
    Table,
    compute_variants,
    object_array,
    step_flags,
    step_table,
    variant_table,
)
from procmine.mine.waste import Instances, detect
from procmine.sql import load_sql, run_sql

MARTS = ("variants", "transitions", "activities", "conformance", "case_kpis", "waste",
         "backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "handoff_matrix",
         "waste_drivers", "kpis")
Progress = Callable[[str], None]
CASE_VENDORS_SQL = ("SELECT k.case_key, c.vendor FROM core.cases AS c "
                    "JOIN core.case_keys AS k USING (case_id) WHERE c.vendor IS NOT NULL")


@dataclass
class MineReport:
    """What a mining run computed, with the time each phase took (seconds)."""

    events: int = 0
    cases: int = 0
    variants: int = 0
    transitions: int = 0
    waste_instances: dict[str, int] = field(default_factory=dict)
    waste_hours: float = 0.0
    waste_cost: float = 0.0
    currency: str = "EUR"
    conformance_checked: int = 0
    reference_model: Path | None = None
    model: ModelResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def core_seconds(self) -> float:
        """Wall time from reading the store to marts.variants and marts.transitions written
        and every waste instance computed (variants + transitions + waste, the figure
        compared with pm4py in benchmarks; writing marts.waste is `write_waste`)."""
        return self.timings.get("core", 0.0)


@contextmanager
def _timed(report: MineReport, name: str, progress: Progress | None) -> Iterator[None]:
    if progress is not None:
        progress(name)
    started = time.perf_counter()
    yield
    report.timings[name] = report.timings.get(name, 0.0) + time.perf_counter() - started


class _Writer:
    """Runs SQL models in a background thread while numpy works in the caller's: DuckDB
    releases the GIL, so the two overlap on two cores. The connection is used by one thread
    at a time: the caller registers tables only between `wait()` and the next `run()`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, params: dict[str, Any],
                 report: MineReport) -> None:
        self.conn, self.params, self.report = conn, params, report
        self._join: Callable[[], None] | None = None

    def run(self, *models: str) -> None:
        def work() -> None:
            for model in models:
                started = time.perf_counter()
                run_sql(self.conn, load_sql(f"mine/{model}.sql"), self.params)
                self.report.timings[f"sql_{model}"] = time.perf_counter() - started

        self.wait()
        self._join = in_thread(work, "procmine-mine-sql")

    def wait(self) -> None:
        join, self._join = self._join, None
        if join is not None:
            join()


def mine(conn: duckdb.DuckDBPyConnection, config: Config, progress: Progress | None = None,
         *, model_dir: Path | None = None, discover: bool = True) -> MineReport:
    """Recompute every mart from core.events / core.cases (replacing their contents).

    `model_dir` receives the discovered model (default: <dashboards>/model); `discover=False`
    skips it (pm4py's import alone takes seconds).
    """
    settings = MiningSettings.from_config(config)
    report = MineReport(currency=settings.currency)
    started = time.perf_counter()
    with _timed(report, "load", progress):
        events = load_events(conn)
    report.events, report.cases = events.n, events.cases
    if events.n == 0:
        _waste_as_table(conn)
        for mart in MARTS:
            conn.execute(f"DELETE FROM marts.{mart}")
        _drop_temps(conn)
        return report
    registered: dict[str, Table] = {}

    def register(**tables: Table) -> None:
        for name, table in tables.items():
            conn.register(name, table)
            registered[name] = table

    params: dict[str, Any] = {
        "waste_types": list(WASTE_TYPES), "details": list(DETAILS),
        "reopen_code": WASTE_TYPES.index("reopen"), "handoff_code": WASTE_TYPES.index("handoff"),
        "min_cases": settings.driver_min_cases, "ticket_effort_h": settings.ticket_effort_h,
        "default_rate": settings.default_rate,
    }
    writer = _Writer(conn, params, report)
    try:
        with _timed(report, "variants", progress):
            waste_job = in_thread(lambda: detect(events, settings), "procmine-mine-waste")
            variants = compute_variants(events)   # meanwhile: waste
            steps = step_table(events)
            durations = (events.t[events.ends - 1] - events.t[events.starts]) / 1e6
            stages = _stage_names(events)
            register(_mine_variant=variant_table(variants), _mine_steps=steps,
                     _mine_variant_case={"vi": variants.case_variant, "duration_s": durations},
                     _mine_activity=_names(events.vocab.activities),
                     _mine_stage=_names(stages))
            writer.run("variants", "transitions")   # meanwhile: waste
        with _timed(report, "waste", progress):
            found = waste_job()
        with _timed(report, "conformance", progress):
            checked = conformance_mod.check(events, variants, settings)
            deviations = conformance_mod.deviation_instances(events, variants, checked)
            instances = Instances.concat([found.instances, deviations])
            cost = _costs(events, instances, settings)
        writer.wait()
        # core: from reading the store until variants, transitions (marts written) and every
        # waste instance with its hours and cost are computed (the figure compared with pm4py)
        report.timings["core"] = time.perf_counter() - started
        params["reference_model"] = str(checked.model_path)
        with _timed(report, "write_waste", progress):
            resolve_case_ids(conn, events)
            vendors = _case_vendors(conn, events, instances)
            _waste_as_table(conn)
            register(_mine_waste=_waste_table(events, instances, cost, stages.index("reopen")),
                     _mine_pp_path={"pid": found.path_instance, "step": found.path_step,
                                    "holder": found.path_holder},
                     _mine_vendor=_names(vendors),
                     _mine_waste_type=_names(list(WASTE_TYPES)),
                     _mine_detail=_names([None, *DETAILS[1:]]))
            writer.run("waste")
            writer.wait()
        with _timed(report, "write_other_marts", progress):
            cases = case_table(events, variants, found.runs, found.resolution, instances, cost,
                               settings)
            backlog, stage_hours = backlog_tables(events, found.resolution)
            flags = step_flags(events, steps)
            categories = [r[0] for r in conn.execute(
                "SELECT DISTINCT category FROM core.cases WHERE category IS NOT NULL").fetchall()]
            register(
                _mine_case=cases, _mine_backlog=backlog, _mine_stage_hours=stage_hours,
                _mine_step_flags=flags, _mine_touch=_touch_table(found.runs),
                _mine_conformance={
                    "vi": np.arange(variants.size, dtype=np.int32),
                    "fitness": np.array([np.nan if f is None else f for f in checked.fitness]),
                    "deviations": object_array(checked.deviations),
                    "log_moves": np.array([len(m) for m in checked.log_moves], dtype=np.int32),
                    "model_moves": np.array(checked.model_moves, dtype=np.int32)},
                _mine_holder_rate={
                    "code": np.arange(len(events.vocab.holder_group), dtype=np.int32),
                    "rate": _holder_rates(events, settings)},
                _mine_sla={
                    "priority": object_array(list(settings.sla_resolution_h)),
                    "hours": np.array(list(settings.sla_resolution_h.values()), np.float64)},
                _mine_security={"category": object_array(
                    [c for c in categories if settings.is_security(c)])})
            for model in ("activities", "conformance", "case_kpis", "backlog", "waste_heatmap",
                          "kpi_daily", "bottlenecks", "handoff_matrix", "waste_drivers",
                          "kpis"):
                run_sql(conn, load_sql(f"mine/{model}.sql"), params)
        report.transitions = conn.execute("SELECT count(*) FROM marts.transitions").fetchall()[0][0]
    finally:
        writer.wait()
        for name in registered:
            conn.unregister(name)
        _drop_temps(conn)
    report.variants, report.conformance_checked = variants.size, checked.checked
    report.reference_model = checked.model_path
    counts = np.bincount(instances.wtype, minlength=len(WASTE_TYPES))
    report.waste_instances = {w: int(c) for w, c in zip(WASTE_TYPES, counts, strict=True)}
    report.waste_hours = float(instances.hours.sum())
    report.waste_cost = float(cost.sum())
    if discover:
        with _timed(report, "model", progress):
            report.model = discover_model(variants, settings,
                                          model_dir or config.dashboards_dir / "model")
    return report


def _drop_temps(conn: duckdb.DuckDBPyConnection) -> None:
    for view in ("_mine_step_key", "_mine_holder_key"):
        conn.execute(f"DROP VIEW IF EXISTS {view}")
    for temp in ("_mine_pp_evidence", "_mine_evidence", "_mine_case_id"):
        conn.execute(f"DROP TABLE IF EXISTS {temp}")


def _stage_names(events: EventArrays) -> list[str | None]:
    """The stage code table, with 'reopen' (the stage of reopen waste) if not there yet."""
    stages = list(events.vocab.stages)
    return stages if "reopen" in stages else [*stages, "reopen"]


def _waste_as_table(conn: duckdb.DuckDBPyConnection) -> None:
    """marts.waste is a table (a development build briefly made it a view over schema mine)."""
    kind = conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name = 'waste' AND table_catalog = current_database()").fetchall()
    if kind and kind[0][0] == "VIEW":
        conn.execute("DROP VIEW marts.waste")
        conn.execute("DROP SCHEMA IF EXISTS mine CASCADE")
        conn.execute("CREATE TABLE marts.waste (case_id VARCHAR, d2c_stage VARCHAR, "
                     "waste_type VARCHAR, hours DOUBLE, cost DOUBLE, evidence VARCHAR, "
                     "detail VARCHAR, org_group VARCHAR, sourcing VARCHAR, ts TIMESTAMPTZ)")


def _case_vendors(conn: duckdb.DuckDBPyConnection, events: EventArrays,
                  instances: Instances) -> list[str | None]:
    """Vendor names (code table) and, on waits at a vendor, e3 = the case's vendor code
    (core.cases.vendor, e.g. ServiceNow's vendor column)."""
    found = conn.sql(CASE_VENDORS_SQL).fetchnumpy()
    keys, names = np.asarray(found["case_key"]), np.asarray(found["vendor"], dtype=object)
    if not len(keys):
        return [None]
    vendors, codes = np.unique(names.astype(str), return_inverse=True)
    at = case_index(events, keys.astype(np.int64))
    known = at >= 0
    case_vendor = np.zeros(events.cases, np.int32)
    case_vendor[at[known]] = codes.reshape(-1)[known] + 1
    vendor_wait = (instances.wtype == WASTE_TYPES.index("waiting")) & (
        instances.detail == DETAILS.index("vendor"))
    instances.e3[vendor_wait] = case_vendor[instances.ci[vendor_wait]]
    return [None, *vendors.tolist()]


def _names(names: list[str | None]) -> Table:
    return {"code": np.arange(len(names), dtype=np.int32), "name": object_array(names)}


def _holder_rates(events: EventArrays, settings: MiningSettings) -> np.ndarray:
    vocab = events.vocab
    return np.array([
        settings.rate(vocab.levels[vocab.holder_level[code]],
                      vocab.sourcings[vocab.holder_sourcing[code]])
        for code in range(len(vocab.holder_group))
    ], dtype=np.float64)


def _costs(events: EventArrays, instances: Instances, settings: MiningSettings) -> np.ndarray:
    """hours × hourly rate of the group holding the case there × the waste type's factor."""
    rate = _holder_rates(events, settings)[events.holder[instances.ev]]
    factor = np.array([settings.factor(w) for w in WASTE_TYPES])[instances.wtype]
    return instances.hours * rate * factor


def _waste_table(events: EventArrays, instances: Instances, cost: np.ndarray,
                 reopen_stage: int) -> Table:
    ev = instances.ev
    reopen = instances.wtype == WASTE_TYPES.index("reopen")
    return {
        "ci": instances.ci,
        "wtype": instances.wtype,
        "stage": np.where(reopen, reopen_stage, events.st[ev]).astype(np.int32),
        "detail": instances.detail,
        "hours": instances.hours,
        "cost": cost,
        "dwell_s": events.dwell_us[ev] / 1e6,
        "t_us": events.t[ev],
        "holder": events.holder[ev],
        "e1": instances.e1,
        "e2": instances.e2,
        "e3": instances.e3,
    }


def _touch_table(runs: Any) -> Table:
    """(case, holder) of each group run: the groups each case passed through (SQL dedups)."""
    return {"ci": runs.case, "holder": runs.holder}


__all__ = ["MineReport", "mine"]
