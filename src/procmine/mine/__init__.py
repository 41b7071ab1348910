"""Detect-to-Correct mining: core.events → the marts of DESIGN.md.

`mine(conn, config)` reads core.events once into sorted, dictionary-encoded numpy arrays
(events.py), finds variants (variants.py), waste instances (waste.py; deviations against the
reference model in conformance.py) and per-case figures (kpis.py) with vectorised code, then
builds every mart with the SQL models in sql/marts/ (and sql/intermediate/) over those arrays (registered as Arrow
tables, no copies; each model one SELECT that procmine.sql.models.materialise writes into its
table: writer.py, in a thread beside the numpy work), and writes the discovered model
(model.py). One function per phase below; each array lives in the function of the phases that
read it, so that it is freed when they end (mining's peak memory: bench/analysis.md).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procmine import store
from procmine.config import Config
from procmine.errors import ProcmineError
from procmine.mine import changes as changes_mod
from procmine.mine import conformance as conformance_mod
from procmine.mine import d2c as d2c_mod
from procmine.mine import drift as drift_mod
from procmine.mine.background import in_thread
from procmine.mine.clock import Clock
from procmine.mine.conformance import Conformance
from procmine.mine.events import EventArrays, case_key_table, check_case_ids, load_events
from procmine.mine.groupings import first_of_kind, handoff_table
from procmine.mine.kpis import backlog_tables, case_spans, case_table, clock_columns
from procmine.mine.mart_inputs import (
    case_rows,
    case_vendors,
    conformance_table,
    costs,
    driver_tables,
    event_columns,
    names,
    neutral_only,
    setting_tables,
    stage_names,
    waste_table,
    with_times,
)
from procmine.mine.model import ModelResult, discover_model
from procmine.mine.partition_marts import CaseMartWriter
from procmine.mine.settings import CLOCK_CLASSES, DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.steps import pair_waits, step_waits
from procmine.mine.variants import (
    Table,
    Variants,
    compute_variants,
    mix64,
    scannable,
    variant_table,
)
from procmine.mine.waste import GroupRuns, Instances, Resolution, WasteResult, detect
from procmine.mine.writer import Writer, append_case_marts, models, per_case, temp_table
from procmine.runtime import give_back_freed, reused_memory
from procmine.sql import quote_ident, run_sql
from procmine.sql.models import qualified

MARTS = ("variants", "transitions", "activities", "conformance", "case_kpis", "waste",
         "backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "handoff_matrix",
         "waste_drivers", "kpis", "drift", "ocdfg")
# the columns of _mine_waste that waste_heatmap.sql reads (with first_of_kind)
HEATMAP_WASTE_COLUMNS = ("wtype", "stage", "hours", "cost", "stopped_hours")
Progress = Callable[[str], None]
Detector = Callable[[EventArrays, MiningSettings], WasteResult]   # waste.detect or equal
CATEGORIES_SQL = "SELECT DISTINCT category FROM core.cases WHERE category IS NOT NULL"
REWRITE_IDS_SQL = ("CREATE OR REPLACE TEMP TABLE _mine_rewrite_id AS SELECT i.case_id "
                   "FROM _mine_case_id AS i SEMI JOIN _mine_rewrite AS r USING (ci)")
# _mine_case_id replaced by its columns read after marts.case_kpis (case_ids_late.sql)
NARROW_CASE_IDS_SQL = ("DROP TABLE _mine_case_id; "
                       "ALTER TABLE _mine_case_late RENAME TO _mine_case_id")


@dataclass
class MineReport:
    """What a mining run computed, with the time each phase took (seconds)."""

    events: int = 0
    cases: int = 0
    variants: int = 0
    transitions: int = 0
    waste_instances: dict[str, int] = field(default_factory=dict)
    waste_hours: float = 0.0          # internal time only (clock.py)
    stopped_hours: float = 0.0        # clock-stopped time left out of the waste hours
    waste_cost: float = 0.0
    currency: str = "EUR"
    conformance_checked: int = 0
    cases_rewritten: int = 0          # cases whose marts.case_kpis / marts.waste rows were written
    rewrite_reason: str = ""          # why every case was (empty: only the changed ones)
    reference_model: Path | None = None
    model: ModelResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def core_seconds(self) -> float:
        """Wall time from reading the store to marts.variants and marts.transitions written
        and every waste instance computed (variants + transitions + waste, the figure
        compared with pm4py in benchmarks; writing marts.waste is `write_waste`)."""
        return self.timings.get("core", 0.0)


def _phase_timer(report: MineReport, name: str, progress: Progress | None
                 ) -> Callable[[], None]:
    """Start timing phase `name` (reported to `progress` now); the returned function adds
    its time to report.timings[name]."""
    if progress is not None:
        progress(name)
    started = time.perf_counter()

    def stop() -> None:
        report.timings[name] = report.timings.get(name, 0.0) + time.perf_counter() - started

    return stop


@contextmanager
def _timed(report: MineReport, name: str, progress: Progress | None) -> Iterator[None]:
    stop = _phase_timer(report, name, progress)
    yield
    stop()


class _Run:
    """What the phases of one mining run share: the connection and the numpy tables
    registered on it, the SQL writer and its parameters, the threads working beside the
    phases and the cleanups to run at the end (`fail`, `close`)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, settings: MiningSettings,
                 report: MineReport, progress: Progress | None, detector: Detector) -> None:
        self.conn, self.settings, self.report, self.progress = conn, settings, report, progress
        self.detector = detector
        self.remote = detector if isinstance(detector, CaseMartWriter) else None
        self.params: dict[str, Any] = {
            "waste_types": list(WASTE_TYPES), "details": list(DETAILS),
            "reopen_code": WASTE_TYPES.index("reopen"),
            "handoff_code": WASTE_TYPES.index("handoff"),
            "min_cases": settings.driver_min_cases, "ticket_effort_h": settings.ticket_effort_h,
            "default_rate": settings.default_rate,
        }
        self.writer = Writer(conn, self.params, report.timings)
        self.registered: dict[str, Table] = {}
        self.model_job: Callable[[], ModelResult | None] | None = None
        self.preload: Callable[[], None] | None = None
        self.cleanups: list[Callable[[], None]] = []

    def timed(self, name: str, *, shown: bool = True) -> contextlib.AbstractContextManager[None]:
        """Time a phase into report.timings[name] (added up); `shown`: reported to progress."""
        return _timed(self.report, name, self.progress if shown else None)

    def start(self, name: str) -> Callable[[], None]:
        """Start timing a phase that ends in another function (`timed`'s timer)."""
        return _phase_timer(self.report, name, self.progress)

    def register(self, **tables: Table) -> None:
        for name, table in tables.items():
            self.conn.register(name, scannable(table))
            self.registered[name] = table

    def release(self, *names: str) -> None:
        """Unregister tables whose statements have run, so that their arrays (and Arrow
        copies) are freed before the next phase's arrays and DuckDB buffers."""
        for name in names:
            if self.registered.pop(name, None) is not None:
                self.conn.unregister(name)

    def fail(self) -> None:
        """After a failure: wait for the threads still using the connection (their own
        failures ignored: the first failure is the one reported)."""
        with contextlib.suppress(BaseException):
            self.writer.wait()
            if self.model_job is not None:
                self.model_job()
            if self.preload is not None:
                self.preload()

    def close(self) -> None:
        """Unregister the tables, drop the temp tables, run the cleanups."""
        for name in self.registered:
            self.conn.unregister(name)
        _drop_temps(self.conn)
        for cleanup in self.cleanups:
            cleanup()


@dataclass
class _Core:
    """What the core (variants, waste, conformance) hands to the per-case marts."""

    variants: Variants
    stages: list[str | None]          # the stage code table (stage_names)
    checked: Conformance
    instances: Instances              # every waste instance, deviations included
    cost: np.ndarray                  # per instance
    runs: GroupRuns
    resolution: Resolution
    clocked: Table                    # per case: the clock columns (kpis.clock_columns)
    wait_class: np.ndarray            # per event (Clock.wait_class)

    def case_table_done(self) -> None:
        """Drop what only the case table reads: the clock columns and the resolution's index
        arrays (the backlog reads its neutral events only)."""
        self.clocked = {}
        self.resolution = neutral_only(self.resolution)


@dataclass
class _CaseMarts:
    """What the phases after marts.case_kpis read of the per-case ones."""

    variants: Variants
    checked: Conformance
    changes: changes_mod.CaseChanges
    resolution: Resolution            # its neutral events only (backlog_tables)
    wait_class: np.ndarray
    join_marts: Callable[[], dict[str, list[str]]] | None   # the remote engine's tasks
    end_phase: Callable[[], None]     # ends write_other_marts' timing (_Run.start)


def mine(conn: duckdb.DuckDBPyConnection, config: Config, progress: Progress | None = None,
         *, model_dir: Path | None = None, discover: bool = True,
         incremental: bool = True, detector: Detector | None = None) -> MineReport:
    """Bring every mart up to date with core.events / core.cases.

    The aggregate marts are recomputed from all events; the per-case marts (case_kpis, waste)
    get new rows only for the cases that changed since the last run (changes.py), or for all
    with `incremental=False`. `model_dir` receives the discovered model (default:
    <dashboards>/model); `discover=False` skips it (pm4py's import alone takes seconds).
    `detector` replaces waste.detect (same result), e.g. run per case partition on a Dask
    cluster (mine/partitions.py, procmine.orchestration.dask_engine); when it is also a
    partition_marts.CaseMartWriter, the per-case marts' rows are written per partition by it
    (same SQL models) and appended here.
    """
    with reused_memory(), store.beside_arrays(conn):   # (until the core is done, see _core)
        return _mine(conn, config, progress, model_dir=model_dir, discover=discover,
                     incremental=incremental, detector=detector or detect)


def _mine(conn: duckdb.DuckDBPyConnection, config: Config, progress: Progress | None,
          *, model_dir: Path | None, discover: bool, incremental: bool,
          detector: Detector) -> MineReport:
    settings = MiningSettings.from_config(config)
    drift_settings = drift_mod.DriftSettings.from_config(config)
    link_settings = d2c_mod.LinkSettings.from_config(config)
    report = MineReport(currency=settings.currency)
    started = time.perf_counter()
    with _timed(report, "load", progress):
        events = load_events(conn)
    report.events, report.cases = events.n, events.cases
    if events.n == 0:
        _clear_marts(conn, link_settings)
        return report
    model_out = (model_dir or config.dashboards_dir / "model") if discover else None
    d2c_job = d2c_mod.start(conn, link_settings)   # links and chain marts: core.cases only
    run = _Run(conn, settings, report, progress, detector)
    try:
        variants, checked = _aggregate_marts(
            run, events, _per_case_marts(run, events, started, incremental, model_out))
        _drift(run, events, variants, drift_settings)
        _d2c(run, d2c_job)
        report.transitions = _mart_rows(conn, "transitions")
    except BaseException:
        with contextlib.suppress(BaseException):   # (joined again: returns or re-raises)
            d2c_job()   # before the connection is closed, whatever else failed
        run.fail()
        raise
    finally:
        run.close()
    report.model = run.model_job() if run.model_job is not None else None
    report.variants, report.conformance_checked = variants.size, checked.checked
    report.reference_model = checked.model_path
    return report


def _clear_marts(conn: duckdb.DuckDBPyConnection, link_settings: d2c_mod.LinkSettings) -> None:
    """No events: every mart and the per-case state emptied."""
    _waste_as_table(conn)
    for mart in MARTS:
        conn.execute(f"DELETE FROM {qualified(f'marts.{mart}')}")
    run_sql(conn, changes_mod.CLEAR_STATE_SQL)
    _drop_temps(conn)
    d2c_mod.build(conn, link_settings)


def _per_case_marts(run: _Run, events: EventArrays, started: float, incremental: bool,
                    model_out: Path | None) -> _CaseMarts:
    """The phases from the core to marts.case_kpis (being written when this returns): the
    core's per-instance arrays, the case table and the hand-offs are freed on return."""
    core = _core(run, events, started)
    run.params["reference_model"] = str(core.checked.model_path)
    if model_out is not None:   # pm4py (mostly Python) beside the marts' SQL (DuckDB frees the GIL)
        run.model_job = _start_discovery(run, core.variants, model_out)
    run.preload = in_thread(drift_mod.preload, "procmine-mine-preload")
    with run.timed("plan_rewrite"):
        changes = _plan_rewrite(run.conn, events, core.variants, run.settings,
                                core.checked.model_path, incremental)
        run.report.cases_rewritten = changes.count(events.cases)
        run.report.rewrite_reason = changes.reason
        events.forget("pos", "case_start", "g", "new_case")   # (drift: again if needed)
        give_back_freed()
    with run.timed("write_waste"):
        cases, handoffs = _write_waste(run, events, core, changes.rewrite)
        _summarise(run.report, core.instances, core.cost)
    end_phase = run.start("write_other_marts")   # (ended by _aggregate_marts)
    join_marts = _write_case_kpis(run, events, core, cases, handoffs, changes.rewrite)
    return _CaseMarts(core.variants, core.checked, changes, core.resolution, core.wait_class,
                      join_marts, end_phase)


def _core(run: _Run, events: EventArrays, started: float) -> _Core:
    """Phases variants, waste and conformance: marts.variants and marts.transitions written
    (and _mine_case_id, intermediate/case_ids.sql), every waste instance with its hours and
    cost computed; report.timings["core"] from `started` (reading the store) until then."""
    with run.timed("variants"):
        waste_job = in_thread(lambda: run.detector(events, run.settings),
                              "procmine-mine-waste")
        variants, stages = _variants(run, events)   # meanwhile: waste
    with run.timed("waste"):
        waste_job()
    with run.timed("conformance"):
        give_back_freed()   # (the variants' and waste detection's temporaries)
        checked = conformance_mod.check(events, variants, run.settings)
        instances, runs, resolution, paths = _with_deviations(events, variants, checked,
                                                              waste_job())
        del waste_job   # (its join holds the detection's instances, concatenated above)
        clocked, wait_class = _clock(events, run.settings, instances, resolution)
        cost = costs(events, instances, run.settings)
    computed = time.perf_counter()
    run.writer.wait()
    # the event arrays and the core's results at their largest until here (store.beside_arrays);
    # the later SQL needs the store's limit (at 40M events marts.kpis' medians exceed 2 GB)
    store.set_memory_limit(run.conn)
    run.release("_mine_pair_waits", "_mine_case_key")
    give_back_freed()   # (the core's temporaries)
    run.register(_mine_pp_path=paths)   # (waste.sql's, through ping_pong_paths.sql)
    # core: from reading the store until variants, transitions (marts written) and every
    # waste instance with its hours and cost are computed (the figure compared with pm4py;
    # not the wait for _mine_case_id, which the writer builds after marts.transitions)
    run.report.timings["core"] = max(computed, run.writer.done["transitions"]) - started
    return _Core(variants, stages, checked, instances, cost, runs, resolution, clocked,
                 wait_class)


def _variants(run: _Run, events: EventArrays) -> tuple[Variants, list[str | None]]:
    """The variants and the stage code table; the writer starts marts.variants,
    marts.transitions and _mine_case_id (_plan_rewrite's) from the tables registered here."""
    variants = compute_variants(events)
    pairs = pair_waits(events)
    durations = (events.t[events.ends - 1] - events.t[events.starts]) / 1e6
    stages = stage_names(events)
    run.register(_mine_variant=variant_table(variants), _mine_pair_waits=pairs,
                 _mine_variant_case={"ci": np.arange(events.cases, dtype=np.int32),
                                     "vi": variants.case_variant, "duration_s": durations},
                 _mine_activity=names(events.vocab.activities),
                 _mine_stage=names(stages),
                 _mine_case_key=case_key_table(events, variants.case_variant))
    run.writer.run(*models("variants", "transitions"),
                   ("case_ids", temp_table("intermediate/case_ids", "_mine_case_id")))
    return variants, stages


def _with_deviations(events: EventArrays, variants: Variants, checked: Conformance,
                     found: WasteResult) -> tuple[Instances, GroupRuns, Resolution, Table]:
    """The detected waste instances and the deviations (conformance) as one Instances, the
    group runs, the resolution and the ping-pong paths."""
    deviations = conformance_mod.deviation_instances(events, variants, checked)
    return (Instances.concat([found.instances, deviations]), found.runs, found.resolution,
            {"pid": found.path_instance, "step": found.path_step, "holder": found.path_holder})


def _clock(events: EventArrays, settings: MiningSettings, instances: Instances,
           resolution: Resolution) -> tuple[Table, np.ndarray]:
    """The instances' hours cut to internal time (clock.py); returns the case table's clock
    columns and each event's wait class (the clock's running sums, 16 bytes per event, are
    freed on return)."""
    clock = Clock.of(events, settings, resolution.resolved_state(events))
    instances.apply_clock(clock)   # waste hours: internal time only
    return clock_columns(events, resolution, clock), clock.wait_class


def _write_waste(run: _Run, events: EventArrays, core: _Core,
                 rewrite: np.ndarray | None) -> tuple[Table, Table]:
    """marts.waste written (rows of the rewritten cases), the case table computed meanwhile;
    returns it and the hand-off table. The waste table is freed on return, but the columns
    waste_heatmap.sql reads (_mine_waste)."""
    instances = core.instances
    vendors = case_vendors(run.conn, events, instances)
    waste = waste_table(events, instances, core.cost, core.stages.index("reopen"))
    # the last uses of the per-event dwell, case index and successor flags until the
    # step waits: freed while marts.waste is written (derived again then)
    handoffs = handoff_table(events, instances, run.params["handoff_code"])
    events.forget("dwell_us", "ci", "has_next")
    waste_rows = case_rows(waste, rewrite, events)
    if run.remote is not None:   # (the partitions' tasks read every column)
        waste_rows = event_columns(events)(waste_rows)
    run.register(_mine_waste_rows=waste_rows,
                 _mine_vendor=names(vendors),
                 _mine_waste_type=names(list(WASTE_TYPES)),
                 _mine_clock=names(list(CLOCK_CLASSES)),
                 _mine_detail=names([None, *DETAILS[1:]]))
    if rewrite is not None:
        run.register(_mine_rewrite={"ci": rewrite.astype(np.int32)})
        run.conn.execute(REWRITE_IDS_SQL)
    if run.remote is None:
        run.writer.run(("waste_evidence",
                        temp_table("intermediate/ping_pong_paths", "_mine_pp_evidence")),
                       ("waste_evidence",
                        temp_table("intermediate/waste_evidence", "_mine_evidence")),
                       *per_case("waste", rewrite, "_mine_waste_rows", waste_rows,
                                 event_columns(events)))
    cases = case_table(events, core.variants, core.runs, instances, core.cost, run.settings,
                       core.clocked, rewrite)   # meanwhile: marts.waste
    core.case_table_done()
    first = first_of_kind(instances.ci, waste["stage"], instances.wtype,
                          len(WASTE_TYPES))   # (waste_heatmap.sql only)
    give_back_freed()   # (the case table's temporaries) while marts.waste is written
    run.writer.wait()
    if run.remote is None:   # (the remote engine writes from them later)
        run.release("_mine_waste_rows", "_mine_pp_path")
        for temp in ("_mine_pp_evidence", "_mine_evidence"):   # (waste.sql's only)
            run.conn.execute(f"DROP TABLE IF EXISTS {quote_ident(temp)}")
    run.register(_mine_waste={name: waste[name] for name in HEATMAP_WASTE_COLUMNS}
                 | {"first_of_kind": first})
    return cases, handoffs


def _write_case_kpis(run: _Run, events: EventArrays, core: _Core, cases: Table,
                     handoffs: Table, rewrite: np.ndarray | None
                     ) -> Callable[[], dict[str, list[str]]] | None:
    """The first part of write_other_marts: the case table and every table of the per-case
    and waste-driver marts registered, the drivers' counts made, the writer started on
    marts.case_kpis (local engine; the remote engine's tasks started instead: their join is
    returned), activities, conformance and handoff_matrix."""
    categories = [r[0] for r in run.conn.execute(CATEGORIES_SQL).fetchall()]
    vocab = events.vocab
    rows = with_times(cases, first_ts="first_us", last_ts="last_us",
                      response_us_ts="response_us", resolved_us_ts="resolved_us")
    run.register(_mine_case=case_spans(events), _mine_case_rows=rows,
                 _mine_group=names(vocab.groups), _mine_sourcing=names(vocab.sourcings),
                 _mine_handoff=handoffs,
                 _mine_conformance=conformance_table(core.checked, core.variants.size),
                 **setting_tables(events, run.settings, categories))
    join_marts = None
    if run.remote is not None:   # the partitions' marts.waste / case_kpis rows, as tasks
        join_marts, cleanup = run.remote.start_case_marts(run.conn, run.registered,
                                                          run.params, rewrite)
        run.cleanups.extend((_quietly(join_marts), cleanup))   # tasks done, then rm
        run.release("_mine_waste_rows", "_mine_pp_path")   # (written for the tasks)
    with run.timed("driver_tables", shown=False):   # (before the writer starts)
        run.register(**driver_tables(run.conn, events, core.runs, core.instances))
        give_back_freed()
    if run.remote is None:
        run.writer.run(*per_case("case_kpis", rewrite, "_mine_case_rows", rows),
                       ("case_ids_late", temp_table("intermediate/case_ids_late",
                                                    "_mine_case_late")),
                       ("case_ids_late", NARROW_CASE_IDS_SQL),
                       *models("activities", "conformance", "handoff_matrix"))
    else:
        run.writer.run(*models("activities", "conformance", "handoff_matrix"))
    return join_marts


def _aggregate_marts(run: _Run, events: EventArrays, done: _CaseMarts
                     ) -> tuple[Variants, Conformance]:
    """The rest of write_other_marts (its first part: _write_case_kpis), from marts.case_kpis
    being written; returns the variants and the conformance check for the report."""
    give_back_freed()   # (the core's per-instance arrays, freed as _per_case_marts ended)
    _write_step_marts(run, events, done, *_backlog_beside_case_kpis(run, events, done))
    give_back_freed()   # (the backlog and step tables)
    done.end_phase()
    return done.variants, done.checked


def _backlog_beside_case_kpis(run: _Run, events: EventArrays, done: _CaseMarts
                              ) -> tuple[Table, Table]:
    """The backlog tables (numpy) while marts.case_kpis is written; then the writer starts
    marts.waste_drivers (and marts.kpis, local engine)."""
    backlog, stage_hours = backlog_tables(events, done.resolution)   # meanwhile: SQL
    run.writer.wait()
    # marts.case_kpis written: of the case table, the statements to come read only
    # waste_drivers.sql's count and waste_heatmap.sql's cycle (_mine_case; the rest freed
    # before marts.kpis and the step waits)
    run.release("_mine_case_rows", "_mine_handoff", "_mine_conformance")
    give_back_freed()
    run.writer.run(*models("waste_drivers", *(("kpis",) if run.remote is None else ())))
    return backlog, stage_hours


def _write_step_marts(run: _Run, events: EventArrays, done: _CaseMarts, backlog: Table,
                      stage_hours: Table) -> None:
    """The step waits (numpy, beside marts.waste_drivers and marts.kpis), the remote
    engine's per-case rows appended, the per-case state saved, then the marts of the backlog
    and step waits; their arrays are freed on return."""
    waits = step_waits(events, done.wait_class)   # meanwhile: SQL
    # the per-event dwell, case index and successor flags: not read again until drift
    # (which derives them again), freed while marts.kpis is written
    events.forget("dwell_us", "ci", "has_next")
    give_back_freed()   # (the waits' sorts) while the writer still runs
    run.writer.wait()
    run.release("_mine_driver_base", "_mine_driver_type", "_mine_driver_hits")
    rewrite = done.changes.rewrite
    if done.join_marts is not None:
        with run.timed("wait_case_marts", shown=False):   # (the tasks' critical path)
            files = done.join_marts()
        run.writer.run(*append_case_marts(run.params, files, rewrite), *models("kpis"))
        run.writer.wait()
    if rewrite is not None and _mart_rows(run.conn, "case_kpis") != events.cases:
        raise ProcmineError("marts.case_kpis lost track of its cases after a partial "
                            "rewrite (internal error)")
    changes_mod.save(run.conn, events, done.changes)
    run.register(_mine_backlog=backlog, _mine_stage_hours=stage_hours, **waits)
    run.writer.run(*models("backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "ocdfg"))
    run.writer.wait()
    run.release("_mine_backlog", "_mine_stage_hours", *waits, "_mine_waste", "_mine_case")


def _drift(run: _Run, events: EventArrays, variants: Variants,
           settings: drift_mod.DriftSettings) -> None:
    with run.timed("drift"):   # weekly series in numpy, PELT on short ones
        join_preload, run.preload = run.preload, None
        if join_preload is not None:
            join_preload()
        run.conn.register("_mine_drift", drift_mod.compute_drift(
            run.conn, settings, events, variants))
        run.registered["_mine_drift"] = {}
        run.writer.run(*models("drift"))
        run.writer.wait()


def _d2c(run: _Run, d2c_job: Callable[[], dict[str, float]]) -> None:
    with run.timed("d2c"):   # (waits for d2c_job), the cross-record heat map
        for step, seconds in d2c_job().items():
            run.report.timings[f"d2c_{step}"] = seconds
        d2c_mod.build_heatmap(run.conn)


def _summarise(report: MineReport, instances: Instances, cost: np.ndarray) -> None:
    """The waste figures of the report (taken before the instances are freed)."""
    counts = np.bincount(instances.wtype, minlength=len(WASTE_TYPES))
    report.waste_instances = {w: int(c) for w, c in zip(WASTE_TYPES, counts, strict=True)}
    report.waste_hours = float(instances.hours.sum())
    report.stopped_hours = float(instances.stopped.sum())
    report.waste_cost = float(cost.sum())


def _quietly(join: Callable[[], Any]) -> Callable[[], None]:
    """`join` with its outcome ignored (a cleanup after a failure reported elsewhere)."""
    def run() -> None:
        with contextlib.suppress(BaseException):
            join()

    return run


def _mart_rows(conn: duckdb.DuckDBPyConnection, mart: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {qualified(f'marts.{mart}')}").fetchall()[0][0]


def _plan_rewrite(conn: duckdb.DuckDBPyConnection, events: EventArrays, variants: Variants,
                  settings: MiningSettings, reference_model: Path | None,
                  incremental: bool) -> changes_mod.CaseChanges:
    """Which cases' rows of the per-case marts to write (changes.py); _mine_case_id is built
    (intermediate/case_ids.sql, beside the core's numpy work)."""
    def case_rows() -> np.ndarray:
        check_case_ids(conn, events)
        return changes_mod.case_row_signatures(conn, events)

    case_rows_job = in_thread(case_rows, "procmine-mine-case-rows")   # beside numpy hashing
    try:
        hashed = changes_mod.event_signatures(events)
    except BaseException:
        _quietly(case_rows_job)()   # (it uses the connection: joined before the cleanup)
        raise
    signature = hashed ^ mix64(case_rows_job())
    _waste_as_table(conn)
    reason = ""
    if not incremental:
        reason = "asked to rewrite every case"
    elif variants.size > settings.conformance_max_variants:
        reason = "more variants than [mining] conformance_max_variants"
    return changes_mod.plan(conn, events, signature,
                            changes_mod.settings_fingerprint(settings, reference_model),
                            rewrite_all=reason, mart_rows=_mart_rows(conn, "case_kpis"))


def _start_discovery(run: _Run, variants: Variants, out_dir: Path
                     ) -> Callable[[], ModelResult | None]:
    """The model's discovery in a thread (its closure holds the variants only)."""
    return in_thread(lambda: _discover(run.report, variants, run.settings, out_dir),
                     "procmine-mine-model")


def _discover(report: MineReport, variants: Variants, settings: MiningSettings,
              out_dir: Path) -> ModelResult | None:
    started = time.perf_counter()
    try:
        return discover_model(variants, settings, out_dir)
    finally:
        report.timings["model"] = time.perf_counter() - started


def _drop_temps(conn: duckdb.DuckDBPyConnection) -> None:
    for view in ("_mine_step_key", "_mine_holder_key"):
        conn.execute(f"DROP VIEW IF EXISTS {quote_ident(view)}")
    for temp in ("_mine_pp_evidence", "_mine_evidence", "_mine_case_id", "_mine_case_late",
                 "_mine_rewrite_id", "_mine_driver_value"):
        conn.execute(f"DROP TABLE IF EXISTS {quote_ident(temp)}")


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


__all__ = ["MineReport", "mine"]
