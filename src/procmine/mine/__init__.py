"""Detect-to-Correct mining: core.events → the marts of DESIGN.md.

`mine(conn, config)` reads core.events once into sorted, dictionary-encoded numpy arrays
(events.py), finds variants (variants.py), waste instances (waste.py; deviations against the
reference model in conformance.py) and per-case figures (kpis.py) with vectorised code, then
builds every mart with the SQL models in sql/marts/ (and sql/intermediate/) over those arrays (registered as Arrow
tables, no copies; each model one SELECT that procmine.sql.models.materialise writes into its
table), and writes the discovered model (model.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from procmine.mine.events import EventArrays, case_key_table, check_case_ids, load_events
from procmine.mine.groupings import (
    case_waste_masks,
    distinct_in_case,
    driver_counts,
    first_of_kind,
    handoff_table,
)
from procmine.mine.kpis import backlog_tables, case_table, clock_columns
from procmine.mine.model import ModelResult, discover_model
from procmine.mine.partition_marts import (
    CASE_MARTS,
    DELETE_REWRITTEN_SQL,
    CaseMartWriter,
    append_statements,
    files_param,
)
from procmine.mine.settings import CLOCK_CLASSES, DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.steps import step_flags
from procmine.mine.variants import (
    Table,
    Variants,
    compute_variants,
    mix64,
    object_array,
    scannable,
    step_table,
    utc,
    variant_table,
)
from procmine.mine.waste import GroupRuns, Instances, Resolution, WasteResult, detect
from procmine.runtime import give_back_freed, reused_memory
from procmine.sql import quote_ident, run_sql
from procmine.sql.models import materialise_sql, model_query, qualified

MARTS = ("variants", "transitions", "activities", "conformance", "case_kpis", "waste",
         "backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "handoff_matrix",
         "waste_drivers", "kpis", "drift", "ocdfg")
# the columns of _mine_waste that waste_heatmap.sql reads (with first_of_kind)
HEATMAP_WASTE_COLUMNS = ("wtype", "stage", "hours", "cost", "stopped_hours")
Progress = Callable[[str], None]
# a statement of the SQL writer: a script, or a function of the connection and parameters
Statement = str | Callable[[duckdb.DuckDBPyConnection, dict[str, Any]], None]
# rows of a per-case mart's input written per statement (_per_case): DuckDB holds one part's
# new rows and join state at a time (at 10M events, writing marts.case_kpis in one statement
# held ~0.7 GB of them beside mining's arrays)
PART_ROWS = 1 << 19
Detector = Callable[[EventArrays, MiningSettings], WasteResult]   # waste.detect or equal
CATEGORIES_SQL = "SELECT DISTINCT category FROM core.cases WHERE category IS NOT NULL"
REWRITE_IDS_SQL = ("CREATE OR REPLACE TEMP TABLE _mine_rewrite_id AS SELECT i.case_id "
                   "FROM _mine_case_id AS i SEMI JOIN _mine_rewrite AS r USING (ci)")
# _mine_case_id replaced by its columns read after marts.case_kpis (case_ids_late.sql)
NARROW_CASE_IDS_SQL = ("DROP TABLE _mine_case_id; "
                       "ALTER TABLE _mine_case_late RENAME TO _mine_case_id")
CASE_VENDORS_SQL = "SELECT ci, vendor FROM _mine_case_id WHERE vendor IS NOT NULL"
# the value id (driver_values.sql) of each group and sourcing code
DRIVER_CODES_SQL = """
SELECT v.attribute, c.code, v.vid
FROM (SELECT 'group' AS attribute, code, name FROM _mine_group
      UNION ALL SELECT 'sourcing', code, name FROM _mine_sourcing) AS c
JOIN _mine_driver_value AS v ON v.attribute = c.attribute AND v.value = c.name
"""


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
        self.done: dict[str, float] = {}   # when each statement's name last finished

    def run(self, *statements: tuple[str, Statement]) -> None:
        """Run (name, SQL script) pairs in order, timed as sql_<name>; a script may also be a
        function of the connection and parameters (`_with_input`)."""
        def work() -> None:
            for name, script in statements:
                started = time.perf_counter()
                if callable(script):
                    script(self.conn, self.params)
                else:
                    run_sql(self.conn, script, self.params)
                key = f"sql_{name}"
                self.done[name] = time.perf_counter()
                self.report.timings[key] = (self.report.timings.get(key, 0.0)
                                            + self.done[name] - started)

        self.wait()
        self._join = in_thread(work, "procmine-mine-sql")

    def wait(self) -> None:
        join, self._join = self._join, None
        if join is not None:
            join()


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
    with reused_memory(), store.beside_arrays(conn):   # (DuckDB's limit beside the arrays)
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
        _waste_as_table(conn)
        for mart in MARTS:
            conn.execute(f"DELETE FROM {qualified(f'marts.{mart}')}")
        run_sql(conn, changes_mod.CLEAR_STATE_SQL)
        _drop_temps(conn)
        d2c_mod.build(conn, link_settings)
        return report
    d2c_job = d2c_mod.start(conn, link_settings)   # links and chain marts: core.cases only
    registered: dict[str, Table] = {}

    def register(**tables: Table) -> None:
        for name, table in tables.items():
            conn.register(name, scannable(table))
            registered[name] = table

    def release(*names: str) -> None:
        """Unregister tables whose statements have run, so that their arrays (and Arrow
        copies) are freed before the next phase's arrays and DuckDB buffers."""
        for name in names:
            if registered.pop(name, None) is not None:
                conn.unregister(name)

    params: dict[str, Any] = {
        "waste_types": list(WASTE_TYPES), "details": list(DETAILS),
        "reopen_code": WASTE_TYPES.index("reopen"), "handoff_code": WASTE_TYPES.index("handoff"),
        "min_cases": settings.driver_min_cases, "ticket_effort_h": settings.ticket_effort_h,
        "default_rate": settings.default_rate,
    }
    writer = _Writer(conn, params, report)
    model_job: Callable[[], ModelResult | None] | None = None
    preload: Callable[[], None] | None = None
    remote = detector if isinstance(detector, CaseMartWriter) else None
    cleanups: list[Callable[[], None]] = []
    try:
        with _timed(report, "variants", progress):
            waste_job = in_thread(lambda: detector(events, settings), "procmine-mine-waste")
            variants = compute_variants(events)   # meanwhile: waste
            steps = step_table(events)
            durations = (events.t[events.ends - 1] - events.t[events.starts]) / 1e6
            stages = _stage_names(events)
            register(_mine_variant=variant_table(variants), _mine_steps=steps,
                     _mine_variant_case={"ci": np.arange(events.cases, dtype=np.int32),
                                         "vi": variants.case_variant, "duration_s": durations},
                     _mine_activity=_names(events.vocab.activities),
                     _mine_stage=_names(stages), _mine_case_key=case_key_table(events))
            # meanwhile: waste; then each case's id and core.cases row (_plan_rewrite's)
            writer.run(*_models("variants", "transitions"),
                       ("case_ids", _temp_table("intermediate/case_ids", "_mine_case_id")))
        with _timed(report, "waste", progress):
            found = waste_job()
            del waste_job   # (its join holds the result)
        with _timed(report, "conformance", progress):
            give_back_freed()   # (the variants' and waste detection's temporaries)
            checked = conformance_mod.check(events, variants, settings)
            deviations = conformance_mod.deviation_instances(events, variants, checked)
            instances = Instances.concat([found.instances, deviations])
            runs, resolution = found.runs, found.resolution
            paths = {"pid": found.path_instance, "step": found.path_step,
                     "holder": found.path_holder}
            del found, deviations   # (the batches concatenated into `instances`)
            clock = Clock.of(events, settings, resolution.resolved_state(events))
            instances.apply_clock(clock)   # waste hours: internal time only
            clocked, wait_class = clock_columns(events, resolution, clock), clock.wait_class
            del clock   # (its running sums: 24 bytes per event)
            cost = _costs(events, instances, settings)
        computed = time.perf_counter()
        writer.wait()
        release("_mine_steps", "_mine_case_key")   # (step_flags rebuilds the steps)
        del steps
        give_back_freed()   # (the core's temporaries)
        # core: from reading the store until variants, transitions (marts written) and every
        # waste instance with its hours and cost are computed (the figure compared with pm4py;
        # not the wait for _mine_case_id, which the writer builds after marts.transitions)
        report.timings["core"] = max(computed, writer.done["transitions"]) - started
        params["reference_model"] = str(checked.model_path)
        if discover:   # pm4py (mostly Python) beside the marts' SQL (DuckDB frees the GIL)
            model_job = in_thread(
                lambda: _discover(report, variants, settings,
                                  model_dir or config.dashboards_dir / "model"),
                "procmine-mine-model")
        preload = in_thread(drift_mod.preload, "procmine-mine-preload")
        with _timed(report, "plan_rewrite", progress):
            changes = _plan_rewrite(conn, events, variants, settings, checked.model_path,
                                    incremental)
            rewrite = changes.rewrite
            report.cases_rewritten = changes.count(events.cases)
            report.rewrite_reason = changes.reason
            events.forget("pos", "case_start", "g", "new_case")   # (drift: again if needed)
            give_back_freed()
        with _timed(report, "write_waste", progress):
            vendors = _case_vendors(conn, events, instances)
            waste = _waste_table(events, instances, cost, stages.index("reopen"))
            # the last uses of the per-event dwell, case index and successor flags until the
            # step table: freed while marts.waste is written (step_table derives them again)
            handoffs = handoff_table(events, instances, params["handoff_code"])
            events.forget("dwell_us", "ci", "has_next")
            waste_rows = _case_rows(waste, rewrite, events)
            if remote is not None:   # (the partitions' tasks read every column)
                waste_rows = _event_columns(events)(waste_rows)
            register(_mine_waste_rows=waste_rows,
                     _mine_pp_path=paths,
                     _mine_vendor=_names(vendors),
                     _mine_waste_type=_names(list(WASTE_TYPES)),
                     _mine_clock=_names(list(CLOCK_CLASSES)),
                     _mine_detail=_names([None, *DETAILS[1:]]))
            if rewrite is not None:
                register(_mine_rewrite={"ci": rewrite.astype(np.int32)})
                conn.execute(REWRITE_IDS_SQL)
            if remote is None:
                writer.run(("waste_evidence",
                            _temp_table("intermediate/ping_pong_paths", "_mine_pp_evidence")),
                           ("waste_evidence",
                            _temp_table("intermediate/waste_evidence", "_mine_evidence")),
                           *_per_case("waste", rewrite, "_mine_waste_rows", waste_rows,
                                      _event_columns(events)))
            cases = case_table(events, variants, runs, resolution, instances, cost,
                               settings, clocked)   # meanwhile: marts.waste
            del clocked
            resolution = _neutral_only(resolution)   # (what backlog_tables reads)
            first = first_of_kind(instances.ci, waste["stage"], instances.wtype,
                                  len(WASTE_TYPES))   # (waste_heatmap.sql only)
            give_back_freed()   # (the case table's temporaries) while marts.waste is written
            writer.wait()
            del waste_rows
            if remote is None:   # (the remote engine writes from them later)
                release("_mine_waste_rows", "_mine_pp_path")
                for temp in ("_mine_pp_evidence", "_mine_evidence"):   # (waste.sql's only)
                    conn.execute(f"DROP TABLE IF EXISTS {quote_ident(temp)}")
            del paths
            register(_mine_waste={name: waste[name] for name in HEATMAP_WASTE_COLUMNS}
                     | {"first_of_kind": first})
            del waste, first
            _summarise(report, instances, cost)
        with _timed(report, "write_other_marts", progress):
            categories = [r[0] for r in conn.execute(CATEGORIES_SQL).fetchall()]
            vocab = events.vocab
            case_rows = _with_times(_case_rows(cases, rewrite, events),
                                    first_ts="first_us", last_ts="last_us",
                                    response_us_ts="response_us", resolved_us_ts="resolved_us")
            register(
                _mine_case=cases,
                _mine_case_rows=case_rows,
                _mine_group=_names(vocab.groups), _mine_sourcing=_names(vocab.sourcings),
                _mine_handoff=handoffs,
                _mine_conformance={
                    "vi": np.arange(variants.size, dtype=np.int32),
                    "fitness": np.array([np.nan if f is None else f for f in checked.fitness]),
                    "deviations": object_array(checked.deviations),
                    "log_moves": np.array([len(m) for m in checked.log_moves], dtype=np.int32),
                    "model_moves": np.array(checked.model_moves, dtype=np.int32),
                    "unjudged_events": np.array(checked.unjudged, dtype=np.int64)},
                _mine_holder_rate={
                    "code": np.arange(len(events.vocab.holder_group), dtype=np.int32),
                    "rate": _holder_rates(events, settings)},
                _mine_sla={
                    "priority": object_array(list(settings.sla_resolution_h)),
                    "hours": np.array(list(settings.sla_resolution_h.values()), np.float64)},
                _mine_security={"category": object_array(
                    [c for c in categories if settings.is_security(c)])})
            if remote is not None:   # the partitions' marts.waste / case_kpis rows, as tasks
                join_marts, cleanup = remote.start_case_marts(conn, registered, params, rewrite)
                cleanups.extend((_quietly(join_marts), cleanup))   # tasks done, then rm
                release("_mine_waste_rows", "_mine_pp_path")   # (written for the tasks)
            with _timed(report, "driver_tables", None):   # (before the writer starts)
                register(**_driver_tables(conn, events, runs, instances))
                give_back_freed()
            if remote is None:
                writer.run(*_per_case("case_kpis", rewrite, "_mine_case_rows", case_rows),
                           ("case_ids_late", _temp_table("intermediate/case_ids_late",
                                                         "_mine_case_late")),
                           ("case_ids_late", NARROW_CASE_IDS_SQL),
                           *_models("activities", "conformance", "handoff_matrix"))
            else:
                writer.run(*_models("activities", "conformance", "handoff_matrix"))
            del instances, cost, runs, case_rows, handoffs   # (report taken; tables built)
            give_back_freed()
            backlog, stage_hours = backlog_tables(events, resolution)   # meanwhile: SQL
            del resolution
            writer.wait()
            # marts.case_kpis written: of the case table, the statements to come read only
            # waste_drivers.sql's count and waste_heatmap.sql's cycle (freed before marts.kpis
            # and the step flags, 20 bytes per event)
            release("_mine_case_rows", "_mine_handoff", "_mine_conformance", "_mine_case")
            register(_mine_case={name: cases[name] for name in ("ci", "first_us", "last_us")})
            del cases
            give_back_freed()
            writer.run(*_models("waste_drivers", *(("kpis",) if remote is None else ())))
            flags = step_flags(events, step_table(events), wait_class)   # meanwhile: SQL
            # the step table's per-event dwell, case index and successor flags: not read again
            # until drift (which derives them again), freed while marts.kpis is written
            events.forget("dwell_us", "ci", "has_next")
            give_back_freed()   # (the flags' sorts) while the writer still runs
            writer.wait()
            release("_mine_driver_base", "_mine_driver_type", "_mine_driver_hits")
            if remote is not None:
                with _timed(report, "wait_case_marts", None):   # (the tasks' critical path)
                    files = join_marts()
                writer.run(*_append_case_marts(params, files, rewrite), *_models("kpis"))
                writer.wait()
            if rewrite is not None and _mart_rows(conn, "case_kpis") != events.cases:
                raise ProcmineError("marts.case_kpis lost track of its cases after a partial "
                                    "rewrite (internal error)")
            changes_mod.save(conn, events, changes)
            register(_mine_backlog=backlog, _mine_stage_hours=stage_hours,
                     _mine_step_flags=flags)
            writer.run(*_models("backlog", "waste_heatmap", "kpi_daily", "bottlenecks", "ocdfg"))
            writer.wait()
            release("_mine_backlog", "_mine_stage_hours", "_mine_step_flags", "_mine_waste",
                    "_mine_case")
            del flags, backlog, stage_hours
            give_back_freed()
        with _timed(report, "drift", progress):   # weekly series in numpy, PELT on short ones
            join_preload, preload = preload, None
            join_preload()
            conn.register("_mine_drift", drift_mod.compute_drift(
                conn, drift_settings, events, variants))
            registered["_mine_drift"] = {}
            writer.run(*_models("drift"))
            writer.wait()
        with _timed(report, "d2c", progress):   # (waits for d2c_job), the cross-record heat map
            for step, seconds in d2c_job().items():
                report.timings[f"d2c_{step}"] = seconds
            d2c_mod.build_heatmap(conn)
        report.transitions = _mart_rows(conn, "transitions")
    except BaseException:
        with contextlib.suppress(BaseException):   # (joined again: returns or re-raises)
            d2c_job()   # before the connection is closed, whatever else failed
        with contextlib.suppress(BaseException):   # the first failure is the one reported
            writer.wait()
            if model_job is not None:
                model_job()
            if preload is not None:
                preload()
        raise
    finally:
        for name in registered:
            conn.unregister(name)
        _drop_temps(conn)
        for cleanup in cleanups:
            cleanup()
    report.model = model_job() if model_job is not None else None
    report.variants, report.conformance_checked = variants.size, checked.checked
    report.reference_model = checked.model_path
    return report


def _neutral_only(resolution: Resolution) -> Resolution:
    """The resolution with only its neutral events kept (the backlog's input; the other
    index arrays, one int64 per open event among them, are freed)."""
    none = np.zeros(0, np.int64)
    return dataclasses.replace(resolution, resolved=none, resolved_stage=none, open=none,
                               reopen=none, reopen_after=none)


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


def _models(*names: str) -> list[tuple[str, str]]:
    """The statements materialising the models sql/marts/<name>.sql into marts.<name>, as
    (name, statement) for _Writer.run."""
    return [(name, materialise_sql(f"marts/{name}", f"marts.{name}")) for name in names]


def _append_case_marts(params: dict[str, Any], files: dict[str, list[str]],
                       rewrite: np.ndarray | None) -> list[tuple[str, str]]:
    """The statements putting the partitions' rows of the per-case marts (Parquet files,
    partition_marts.write_partition) into marts.waste and marts.case_kpis."""
    statements = []
    for mart in CASE_MARTS:
        if files[mart]:   # (none: no case rewritten)
            params[files_param(mart)] = files[mart]
            statements += append_statements(mart, rewrite)
    return statements


def _temp_table(model: str, table: str) -> str:
    """The statement materialising an intermediate model into a temp table."""
    return materialise_sql(model, table, temp=True)


def _per_case(mart: str, rewrite: np.ndarray | None, inputs: str, rows: Table,
              derive: Callable[[Table], Table] | None = None) -> list[tuple[str, Statement]]:
    """The statements that write a per-case mart from its model (sql/marts/<mart>.sql): the
    whole table, or the rewritten cases' rows deleted and appended (REWRITE_IDS_SQL). The
    model's input table `inputs` (`rows`, one row per case or waste instance, each written on
    its own) is handed to it PART_ROWS rows at a time: the first part creates the table, the
    others append. `derive` adds columns to each part when its statement runs (columns taken
    from the event arrays exist for one part at a time)."""
    model, table = f"marts/{mart}", f"marts.{mart}"
    size = len(next(iter(rows.values())))
    statements: list[tuple[str, Statement]] = []
    if rewrite is not None:
        statements.append((mart, DELETE_REWRITTEN_SQL.format(table=qualified(table))))
    for start in range(0, max(size, 1), PART_ROWS):
        part = {name: column[start:start + PART_ROWS] for name, column in rows.items()}
        sql = materialise_sql(model, table, append=rewrite is not None or start > 0)
        statements.append((mart, _with_input(inputs, part, sql, derive)))
    return statements


def _with_input(name: str, table: Table, sql: str,
                derive: Callable[[Table], Table] | None = None) -> Statement:
    """A writer statement that registers `table` (with `derive`'s columns, made now) as
    `name` (replacing what had that name), then runs `sql`."""
    def run(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
        conn.register(name, scannable(table if derive is None else derive(table)))
        run_sql(conn, sql, params)

    return run


def _case_rows(table: Table, rewrite: np.ndarray | None, events: EventArrays) -> Table:
    """The rows of a table with a case index column `ci` that belong to the rewritten cases."""
    if rewrite is None:
        return table
    chosen = np.zeros(events.cases, dtype=bool)
    chosen[rewrite] = True
    keep = chosen[table["ci"]]
    return {name: column[keep] for name, column in table.items()}


def _with_times(table: Table, **columns: str) -> Table:
    """The table with TIMESTAMPTZ columns (variants.utc) beside the epoch-microsecond columns
    they view, e.g. ts="t_us" (the SQL models read them as they are: no cast per row)."""
    return {**table, **{name: utc(table[source]) for name, source in columns.items()}}


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
    signature = changes_mod.event_signatures(events) ^ mix64(case_rows_job())
    _waste_as_table(conn)
    reason = ""
    if not incremental:
        reason = "asked to rewrite every case"
    elif variants.size > settings.conformance_max_variants:
        reason = "more variants than [mining] conformance_max_variants"
    return changes_mod.plan(conn, events, signature,
                            changes_mod.settings_fingerprint(settings, reference_model),
                            rewrite_all=reason, mart_rows=_mart_rows(conn, "case_kpis"))


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


def _driver_tables(conn: duckdb.DuckDBPyConnection, events: EventArrays, runs: GroupRuns,
                   instances: Instances) -> dict[str, Table]:
    """The case counts of waste_drivers.sql (groupings.driver_counts) over the values
    driver_values.sql numbers: each case's priority, category and source, and the groups and
    sourcings of its group runs. Needs _mine_case_id, _mine_group and _mine_sourcing."""
    vocab = events.vocab
    run_sql(conn, _temp_table("intermediate/driver_values", "_mine_driver_value"))
    case_values = conn.execute(model_query("intermediate/case_driver_values")).fetchnumpy()
    values = conn.execute("SELECT count(*) FROM _mine_driver_value").fetchall()[0][0]
    vid_of = {"group": np.zeros(len(vocab.groups), np.int64),
              "sourcing": np.zeros(len(vocab.sourcings), np.int64)}
    for attribute, code, vid in conn.execute(DRIVER_CODES_SQL).fetchall():
        vid_of[attribute][code] = vid
    pairs = [(np.asarray(case_values["ci"]), np.asarray(case_values["vid"]))]
    del case_values   # (driver_counts frees each entry of `pairs` once counted)
    for attribute, of_holder in (("group", vocab.holder_group),
                                 ("sourcing", vocab.holder_sourcing)):
        passed = distinct_in_case(runs.case, of_holder[runs.holder])
        pairs.append((passed["ci"], vid_of[attribute][passed["code"]]))
    return driver_counts(pairs, case_waste_masks(instances, events.cases), values)


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
    at, names = np.asarray(found["ci"]), np.asarray(found["vendor"], dtype=object)
    if not len(at):
        return [None]
    vendors, codes = np.unique(names.astype(str), return_inverse=True)
    case_vendor = np.zeros(events.cases, np.int32)
    case_vendor[at] = codes.reshape(-1) + 1
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
    stage = np.where(reopen, reopen_stage, events.st[ev]).astype(np.int32)
    return {
        "ci": instances.ci,
        "wtype": instances.wtype,
        "stage": stage,
        "detail": instances.detail,
        "hours": instances.hours,
        "cost": cost,
        "e1": instances.e1,
        "e2": instances.e2,
        "e3": instances.e3,
        "stopped_hours": instances.stopped,
        "clock": instances.clock,
        # the instances' event indices (not copies): `_event_columns` takes each part's
        # times and holder from them when it is written
        "ev": ev,
        "since": instances.since,
        "until": instances.until,
    }


def _event_columns(events: EventArrays) -> Callable[[Table], Table]:
    """Rows of the waste table (`_waste_table`) with what waste.sql reads of their events:
    the holder and the times (epoch microseconds and TIMESTAMPTZ ts, since_ts, until_ts).
    Made part by part as marts.waste is written (in the writer's thread, from the arrays
    taken here): 28 bytes per instance for one part only."""
    t, holder = events.t, events.holder

    def add(rows: Table) -> Table:
        return _with_times({**rows, "holder": holder[rows["ev"]].astype(np.int32),
                            "t_us": t[rows["ev"]],
                            "since_us": t[rows["since"]], "until_us": t[rows["until"]]},
                           ts="t_us", since_ts="since_us", until_ts="until_us")

    return add


__all__ = ["MineReport", "mine"]
