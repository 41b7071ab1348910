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
import pyarrow as pa

from procmine.config import Config
from procmine.mine import conformance as conformance_mod
from procmine.mine.events import EventArrays, load_events
from procmine.mine.kpis import backlog_tables, case_table
from procmine.mine.model import ModelResult, discover_model
from procmine.mine.settings import DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.variants import (
    case_durations_s,
    compute_variants,
    step_table,
    variant_table,
)
from procmine.mine.waste import Instances, detect
from procmine.sql import load_sql, run_sql

MARTS = ("variants", "transitions", "activities", "conformance", "case_kpis", "waste",
         "backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "handoff_matrix",
         "waste_drivers", "kpis")
Progress = Callable[[str], None]


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
        """Variants + transitions + waste (the figure compared with pm4py in benchmarks)."""
        keys = ("load", "variants", "waste", "conformance", "write_variants",
                "write_transitions", "write_waste")
        return sum(self.timings.get(k, 0.0) for k in keys)


@contextmanager
def _timed(report: MineReport, name: str, progress: Progress | None) -> Iterator[None]:
    if progress is not None:
        progress(name)
    started = time.perf_counter()
    yield
    report.timings[name] = report.timings.get(name, 0.0) + time.perf_counter() - started


def mine(conn: duckdb.DuckDBPyConnection, config: Config, progress: Progress | None = None,
         *, model_dir: Path | None = None, discover: bool = True) -> MineReport:
    """Recompute every mart from core.events / core.cases (replacing their contents).

    `model_dir` receives the discovered model (default: <dashboards>/model); `discover=False`
    skips it (pm4py's import alone takes seconds).
    """
    settings = MiningSettings.from_config(config)
    report = MineReport(currency=settings.currency)
    with _timed(report, "load", progress):
        events, ids = load_events(conn)
    report.events, report.cases = events.n, events.cases
    if events.n == 0:
        for mart in MARTS:
            conn.execute(f"DELETE FROM marts.{mart}")
        return report
    with _timed(report, "variants", progress):
        variants = compute_variants(events)
        durations = case_durations_s(events)
        steps = step_table(events)
    with _timed(report, "waste", progress):
        found = detect(events, settings)
    with _timed(report, "conformance", progress):
        checked = conformance_mod.check(events, variants, settings)
        deviations = conformance_mod.deviation_instances(events, variants, checked)
        instances = Instances.concat([found.instances, deviations])
        cost = _costs(events, instances, settings)
    report.variants, report.conformance_checked = variants.size, checked.checked
    report.reference_model = checked.model_path
    registered = {
        "_mine_variant": variant_table(variants, durations),
        "_mine_steps": steps,
        "_mine_activity": _names(events.vocab.activities),
        "_mine_stage": _names(events.vocab.stages),
        "_mine_waste": _waste_table(events, instances, cost),
        "_mine_pp_path": pa.table({"iid": pa.array(found.path_instance),
                                   "step": pa.array(found.path_step),
                                   "holder": pa.array(found.path_holder)}),
        "_mine_conformance": pa.table({
            "vi": pa.array(np.arange(variants.size, dtype=np.int32)),
            "fitness": pa.array(checked.fitness, pa.float64()),
            "deviations": pa.array(checked.deviations, pa.list_(pa.string())),
            "log_moves": pa.array([len(m) for m in checked.log_moves], pa.int32()),
            "model_moves": pa.array(checked.model_moves, pa.int32()),
        }),
    }
    registered["_mine_case"] = case_table(events, ids, variants, found.runs, found.resolution,
                                          instances, cost, settings)
    backlog, stage_hours = backlog_tables(events, found.resolution)
    registered["_mine_backlog"] = backlog
    registered["_mine_stage_hours"] = stage_hours
    registered["_mine_touch"] = _touch_table(found.runs)
    registered["_mine_holder_rate"] = pa.table({
        "code": pa.array(np.arange(len(events.vocab.holder_group), dtype=np.int32)),
        "rate": pa.array(_holder_rates(events, settings))})
    registered["_mine_sla"] = pa.table({
        "priority": pa.array(list(settings.sla_resolution_h), pa.string()),
        "hours": pa.array(list(settings.sla_resolution_h.values()), pa.float64())})
    categories = [r[0] for r in conn.execute(
        "SELECT DISTINCT category FROM core.cases WHERE category IS NOT NULL").fetchall()]
    registered["_mine_security"] = pa.table({"category": pa.array(
        [c for c in categories if settings.is_security(c)], pa.string())})
    params: dict[str, Any] = {
        "waste_types": list(WASTE_TYPES), "details": list(DETAILS),
        "reopen_code": WASTE_TYPES.index("reopen"), "handoff_code": WASTE_TYPES.index("handoff"),
        "min_cases": settings.driver_min_cases, "ticket_effort_h": settings.ticket_effort_h,
        "default_rate": settings.default_rate,
        "reference_model": str(checked.model_path),
    }
    for name, table in registered.items():
        conn.register(name, table)
    try:
        for model in ("variants", "transitions", "waste"):
            with _timed(report, f"write_{model}", progress):
                run_sql(conn, load_sql(f"mine/{model}.sql"), params)
        with _timed(report, "write_other_marts", progress):
            for model in ("activities", "conformance", "case_kpis", "backlog", "waste_heatmap",
                          "kpi_daily", "bottlenecks", "handoff_matrix", "waste_drivers",
                          "kpis"):
                run_sql(conn, load_sql(f"mine/{model}.sql"), params)
        report.transitions = conn.execute("SELECT count(*) FROM marts.transitions").fetchall()[0][0]
    finally:
        for name in registered:
            conn.unregister(name)
        for temp in ("_mine_scan", "_mine_step_key", "_mine_holder_key", "_mine_file_key",
                     "_mine_pp_evidence"):
            conn.execute(f"DROP TABLE IF EXISTS {temp}")
    counts = np.bincount(instances.wtype, minlength=len(WASTE_TYPES))
    report.waste_instances = {w: int(c) for w, c in zip(WASTE_TYPES, counts, strict=True)}
    report.waste_hours = float(instances.hours.sum())
    report.waste_cost = float(cost.sum())
    if discover:
        with _timed(report, "model", progress):
            report.model = discover_model(variants, settings,
                                          model_dir or config.dashboards_dir / "model")
    return report


def _names(names: list[str | None]) -> pa.Table:
    return pa.table({"code": pa.array(np.arange(len(names), dtype=np.int32)),
                     "name": pa.array(names, pa.string())})


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


def _waste_table(events: EventArrays, instances: Instances, cost: np.ndarray) -> pa.Table:
    ev = instances.ev
    return pa.table({
        "iid": pa.array(np.arange(len(ev), dtype=np.int64)),
        "ci": pa.array(instances.ci),
        "wtype": pa.array(instances.wtype),
        "detail": pa.array(instances.detail),
        "hours": pa.array(instances.hours),
        "cost": pa.array(cost),
        "dwell_s": pa.array(events.dwell_us[ev] / 1e6),
        "t_us": pa.array(events.t[ev]),
        "x": pa.array(events.x[ev]),
        "holder": pa.array(events.holder[ev]),
        "e1": pa.array(instances.e1),
        "e2": pa.array(instances.e2),
        "e3": pa.array(instances.e3),
    })


def _touch_table(runs: Any) -> pa.Table:
    """Distinct (case, holder) pairs of the group runs: the groups each case passed through."""
    if not len(runs.case):
        return pa.table({"ci": pa.array([], pa.int32()), "holder": pa.array([], pa.int32())})
    width = int(runs.holder.max()) + 1
    keys = np.unique(runs.case.astype(np.int64) * width + runs.holder)
    return pa.table({"ci": pa.array((keys // width).astype(np.int32)),
                     "holder": pa.array((keys % width).astype(np.int32))})


__all__ = ["MineReport", "mine"]
