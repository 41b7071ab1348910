"""procmine as a library: one object per database, one method per thing you do with it.

    >>> import procmine
    >>> db = procmine.open("data/procmine.duckdb")
    >>> db.ingest(["incidents.csv.gz"], source="bpic2013")
    >>> db.mine()
    >>> db.table("marts.variants")                       # a polars DataFrame
    >>> pm4py.discover_dfg(db.events())                  # a pandas DataFrame, pm4py's columns

The layer above orchestration and below the CLI: every `procmine` command is one call here
plus formatting. Reads go through the read-only guard of `procmine sql` on the published
file; writes through ``store.writing`` (a private copy, published atomically). Heavy imports
(DuckDB's extensions, pm4py, GX, Prefect, polars) happen inside the methods that need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from procmine.config import Config, RunSettings, load_config
from procmine.errors import ProcmineError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from procmine.compare import Comparison, Period
    from procmine.export_ocel import OcelCounts
    from procmine.failed_run import FailedRun
    from procmine.ingest import FileResult
    from procmine.load import RunResult
    from procmine.mine import MineReport
    from procmine.quarantine import ReleaseResult
    from procmine.query import Rows, Status
    from procmine.validate import ValidationReport

__all__ = ["Database", "QuarantineCount", "open"]

INGEST_OVERRIDES = ("date_format", "timezone", "case", "activity", "timestamp", "resource",
                    "group", "delimiter", "encoding")
_TABLE_NAME = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


class QuarantineCount(NamedTuple):
    """One (rule, source) pair of the published quarantine."""

    rule: str
    source: str | None
    rows: int
    runs: int
    last_quarantined: Any


def open(path: str | Path | None = None,
         config: str | Path | Config | None = None) -> Database:
    """The procmine database at `path`.

    path: default as the CLI's --db: $PROCMINE_DB, then the config's [database] path, then
    data/procmine.duckdb; config: a procmine.toml path or a Config (default: $PROCMINE_CONFIG,
    then ./procmine.toml, then the shipped defaults), loaded now. The database file is
    opened (or created) only by the methods that need it.
    """
    return Database(path, config)


class Database:
    """A procmine database (DuckDB file) and the configuration it is loaded and mined with."""

    def __init__(self, path: str | Path | None = None,
                 config: str | Path | Config | None = None) -> None:
        self.config: Config = config if isinstance(config, Config) else load_config(config)
        self.path: Path = self.config.db_path(path)

    def __repr__(self) -> str:
        return f"<procmine.Database {self.path}>"

    # -- writing ---------------------------------------------------------------------------

    def ingest(self, paths: str | Path | Iterable[str | Path], source: str, *,
               progress: Callable[[FileResult], None] | None = None,
               lock_wait_s: float | None = None, engine: str | None = None,
               dask_address: str | None = None, **overrides: str | None) -> RunResult:
        """Load files (or folders) through raw → staging → validation → core.events, with
        failing rows in quarantine.events; returns the run's result (files, counts).

        source: a configured source (servicenow, bpic2013, csv, xes, ...); overrides: the
        CLI's mapping flags (date_format, timezone, case, activity, timestamp, resource,
        group, delimiter, encoding); lock_wait_s: wait for another run's lock (default
        [run] lock_wait_s); engine: local | dask (each file read as a Dask task, README
        "Running on a cluster"; default [run] engine), dask_address: its scheduler. Files
        already loaded (same content) are skipped.
        """
        from procmine.load import ingest
        from procmine.orchestration.dask_ingest import ingest_stager

        unknown = sorted(set(overrides) - set(INGEST_OVERRIDES))
        if unknown:
            raise ProcmineError(f"unknown ingest option(s) {', '.join(unknown)}; expected "
                                f"{', '.join(INGEST_OVERRIDES)}")
        chosen = {k: v for k, v in overrides.items() if v}
        files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
        settings = RunSettings.resolve(self.config, engine=engine, dask_address=dask_address)
        if settings.engine == "dask":   # workers do not share this process's working folder
            files = [f.absolute() for f in files]
        with ingest_stager(settings, self.path) as stager:
            return ingest(self.config, self.path, source, files, chosen, progress,
                          lock_wait_s=lock_wait_s, stager=stager)

    def run(self, full: bool = False, sources: Sequence[str] | None = None, *,
            prefect: str | None = None, lock_wait_s: float | None = None,
            engine: str | None = None, dask_address: str | None = None,
            settings: RunSettings | None = None, console: Any = None) -> RunResult:
        """One pipeline run over the landing folders (and API pulls): pull → load → validate
        → mine → render → publish, as `procmine run`.

        full: rebuild from every landing file; sources: only these (default all configured);
        prefect: auto | always | never (default [run] prefect); lock_wait_s: wait for another
        run's lock (default [run] lock_wait_s); engine: local | dask (default [run] engine),
        dask_address: its scheduler (default [run] dask_address, else a LocalCluster); or
        pass `settings` whole. The same settings
        reach the in-process run and the Prefect flow. The flow loads the configuration from
        its file (a Prefect worker may run it elsewhere): a Config changed in memory only is
        run as is in-process, not through Prefect.
        """
        from procmine.orchestration.launch import run

        settings = settings or RunSettings.resolve(
            self.config, full=full, sources=sources, prefect=prefect, lock_wait_s=lock_wait_s,
            engine=engine, dask_address=dask_address)
        return run(self.config, self.path, settings, console=console)

    def mine(self, all_cases: bool = False, *, discover: bool = True,
             progress: Callable[[str], None] | None = None,
             lock_wait_s: float | None = None, engine: str | None = None,
             dask_address: str | None = None) -> MineReport:
        """Recompute the marts from core.events (variants, transitions, waste, KPIs, ...).

        all_cases: rewrite the per-case marts for every case, not only the changed ones;
        discover: also discover the process model (into <dashboards>/model; needs pm4py);
        engine: local | dask (default [run] engine; README "Running on a cluster"),
        dask_address: the scheduler (default [run] dask_address, else a LocalCluster).
        """
        from procmine import store
        from procmine.mine import mine
        from procmine.orchestration.dask_engine import engine as mining_engine

        if not self.path.exists():
            raise ProcmineError(f"no database at {self.path} yet; load data first "
                                "(procmine ingest PATH --source ...)")
        settings = RunSettings.resolve(self.config, lock_wait_s=lock_wait_s, engine=engine,
                                       dask_address=dask_address)
        with store.writing(self.path, lock_wait_s=settings.lock_wait_s) as conn, \
                mining_engine(conn, settings, self.path) as detector:
            return mine(conn, self.config, progress=progress, incremental=not all_cases,
                        discover=discover, detector=detector)

    def validate(self, publish: bool = False) -> ValidationReport:
        """Validate what is staged with the GX suites; failing rows go to quarantine, the rest
        stay staged (or move to core with `publish`). An empty report's run_id is ""."""
        from procmine.quarantine import validate_database

        return validate_database(self.config, self.path, publish=publish)

    def release(self, rule: str | None = None, source: str | None = None,
                run: str | None = None) -> ReleaseResult:
        """Re-validate quarantined rows (of one rule / source / run) with the current config:
        those that pass go to core, the others stay quarantined."""
        from procmine.quarantine import release

        return release(self.config, self.path, rule=rule, source=source, run=run)

    def dashboards(self, out_dir: str | Path | None = None) -> list[Path]:
        """Render every dashboard page (HTML + PNG per chart) from the published database into
        `out_dir` (default [paths] dashboards); returns the files written."""
        from procmine.render import rebuild

        return rebuild(self.config, self.path, Path(out_dir) if out_dir else None)

    def export(self, out_file: str | Path, fmt: str | None = None) -> int:
        """Write core.events as XES (.xes, .xes.gz: ProM, Disco, pm4py) or CSV; `fmt` defaults
        to the file's suffix. Returns the number of events written."""
        from procmine.export import export_events

        out = Path(out_file)
        chosen = fmt or ("csv" if out.suffix == ".csv" else "xes")
        if chosen not in ("csv", "xes"):
            raise ProcmineError(f"export format {chosen!r}; expected xes or csv")
        return export_events(self.path, chosen, out)

    def export_ocel(self, out_file: str | Path) -> OcelCounts:
        """Write the store as an OCEL 2.0 SQLite file (objects = cases, their problem and change
        links as object-object relations; docs/ocel.md). Returns what the file holds."""
        from procmine.export_ocel import export_ocel

        return export_ocel(self.path, Path(out_file))

    # -- reading (the published state, read-only) -------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
              ) -> pl.DataFrame:
        """Read-only SQL (SELECT / EXPLAIN, no file access) as a polars DataFrame; `params`
        bind ``?`` (a sequence) or ``$name`` (a mapping) placeholders."""
        from procmine.query import frame

        return frame(self.path, sql, params)

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Rows:
        """Read-only SQL as plain column names and tuples (no polars), as `procmine sql`."""
        from procmine.query import fetch

        return fetch(self.path, sql, params)

    def tables(self) -> list[str]:
        """Every table and view as "schema.name"."""
        from procmine.sql import load_sql

        return [f"{schema}.{name}"
                for schema, name in self.rows(load_sql("catalog/tables.sql")).rows]

    def table(self, name: str) -> pl.DataFrame:
        """A whole table or view, e.g. "marts.waste_heatmap" (schema default: marts)."""
        from procmine.sources.base import quote_ident

        match = _TABLE_NAME.match(name)
        known = self.tables()
        qualified = f"{match.group(1) or 'marts'}.{match.group(2)}" if match else name
        if qualified not in known:
            raise ProcmineError(f"no table {name!r} in {self.path}; tables: "
                                + ", ".join(t for t in known if not t.startswith("raw.")))
        schema, table = qualified.split(".")
        return self.query(f"SELECT * FROM {quote_ident(schema)}.{quote_ident(table)}")

    def events(self, source: str | None = None) -> pd.DataFrame:
        """core.events as a pandas DataFrame with pm4py's column names (case:concept:name,
        concept:name, time:timestamp in UTC, org:resource, org:group, case:case_type, then
        support_level, sourcing, d2c_stage, source, event_id and the provenance columns),
        cases contiguous, events in procmine's order: ``pm4py.discover_dfg(db.events())``."""
        from procmine.readonly import connect_readonly, execute_readonly
        from procmine.sql import load_sql

        conn = connect_readonly(self.path)
        try:
            return execute_readonly(conn, load_sql("api/events.sql"), {"source": source}).df()
        finally:
            conn.close()

    def status(self, limit: int = 10) -> Status:
        """Core's counts, the last `limit` runs (newest first) and the pull watermarks."""
        from procmine.query import status

        return status(self.path, limit)

    def quarantine_list(self, source: str | None = None) -> list[QuarantineCount]:
        """Quarantined rows by rule and source, most rows first."""
        from procmine.quarantine import quarantine_counts

        return [QuarantineCount(*row) for row in quarantine_counts(self.path, source)]

    def failed_run(self, run_id: str | None = None) -> FailedRun | None:
        """The last run the validation gate stopped (or `run_id`): what it would have
        quarantined and why, though it published nothing; None if there is none."""
        from procmine.failed_run import failed_run_quarantine

        return failed_run_quarantine(self.path, run_id)

    def quarantine_show(self, rule: str, source: str | None = None, limit: int = 50) -> Rows:
        """Rows quarantined by `rule`: file, row, offending value, reason, run."""
        from procmine.quarantine import quarantine_rows
        from procmine.query import Rows

        columns, rows = quarantine_rows(self.path, rule, source, limit)
        return Rows(columns, rows)

    def compare(self, before: str | tuple[Any, Any] | Period,
                after: str | tuple[Any, Any] | Period) -> Comparison:
        """The cases opened in `before` against those opened in `after`: KPIs, variants,
        directly-follows edges, their waits and waste heat-map cells side by side, with the
        difference, a significance test and an effect size per item (polars frames per
        section: ``.kpis``, ``.variants``, ``.edges``, ``.waits``, ``.waste``; ``.frame()``
        for all). Periods: (start, end) ISO dates or dates, or "START..END"; end exclusive;
        a case belongs to the period its open time falls in (procmine.compare)."""
        from procmine.compare import compare, period

        return compare(self.path, period(before, "before"), period(after, "after"))
