"""Validation of staged events with the Great Expectations suites in expectations/.

``validate_staged`` is the pipeline step between staging and core:

1. row level (``staging_events``): GX's pandas data source checks staging.events of the run,
   source by source, in frames of [validation].batch_rows rows streamed from DuckDB in scan
   order, so memory stays flat as the load grows; ``event_id_unique`` needs the whole load and
   runs in DuckDB;
2. case level (``staging_cases``): DuckDB derives one row per case, GX checks them;
3. the unexpected rows (every event of an unexpected case) move to quarantine.events with the
   rule, column, offending value and run id; the other rows stay staged for core;
4. batch level (``load_sources``, ``load_files``): DuckDB summarises the load, GX checks it; a
   failure raises :class:`ValidationFailed` before anything is published.

Every expectation's outcome is kept in marts.validation_results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import pyarrow as pa

from procmine.config import Config
from procmine.errors import ConfigError, ValidationFailed
from procmine.sources.base import STAGING_EVENT_COLUMNS
from procmine.sql import load_sql, quote_ident, run_sql
from procmine.validation.gx_engine import GxEngine, Outcome, import_in_background
from procmine.validation.repeats import (
    STAGED_CASE_HASHES_SQL,
    keep_run_repeats,
    repeated_hashes,
    run_repeats,
    store_hashes,
)
from procmine.validation.suites import Parameters, Rule, Suite, load_suites

if TYPE_CHECKING:   # pandas is imported with GX, in the background (gx_engine)
    import pandas as pd

CASE_FACT_COLUMNS = ("case_id", "source", "opened_at", "resolved_at", "closed_at",
                     "has_opening_event")
INDEX = "_row"
FAILED_RUN_HINT = ("what was quarantined and why: procmine quarantine list --failed-run, "
                   "procmine status")


class LoadedFile(NamedTuple):
    """A file loaded in the run, for the batch-level checks of files (load_files)."""

    source: str
    path: str
    snapshot_rows: int | None = None   # its rows that are record snapshots (ingest.FileResult)


@dataclass
class ValidationReport:
    """What validation found in one run: per-rule quarantine counts and every outcome."""

    run_id: str
    staged: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    quarantined_rows: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # when a batch-level expectation failed: what would have been quarantined, per rule,
    # source and column (rows and examples), kept although the run publishes nothing
    failed_quarantine: list[tuple[Any, ...]] = field(default_factory=list)
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def quarantined(self) -> int:
        """Distinct rows quarantined (a row failing two rules counts once)."""
        return self.quarantined_rows

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def summary(self) -> str:
        return (f"validation failed ({len(self.failures)} batch-level expectation(s)): "
                + "; ".join(self.failures))


def _frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    return pa.Table.from_batches(batches).to_pandas().set_index(INDEX)


def _batches(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any],
             rows: int) -> Iterator[pd.DataFrame]:
    """Frames of `rows` rows (the last one shorter), streamed in scan order, indexed by the
    row key. DuckDB's reader yields record batches of ~120k rows whatever the size asked for;
    they are gathered into frames of `rows`, since GX costs a fixed ~0.05-0.2 s per frame."""
    conn.complete()  # a relation needs the connection free of unfinished execute() results
    reader = conn.sql(sql, params=params).to_arrow_reader(rows)
    pending: list[pa.RecordBatch] = []
    count = 0
    try:
        for record_batch in reader:
            while record_batch.num_rows:
                take = min(rows - count, record_batch.num_rows)
                pending.append(record_batch.slice(0, take))
                record_batch = record_batch.slice(take)
                count += take
                if count == rows:
                    yield _frame(pending)
                    pending, count = [], 0
        if count:
            yield _frame(pending)
    finally:
        reader.close()


def _checked_columns(columns: Iterable[str], allowed: Iterable[str], suite: Suite) -> list[str]:
    allowed = set(allowed)
    for column in columns:
        if column not in allowed:
            raise ConfigError(f"{suite.path}: unknown column {column!r} "
                              f"(available: {', '.join(sorted(allowed))})")
    return list(dict.fromkeys(columns))


def _new_outcomes(rules: list[Rule], source: str | None) -> dict[str, Outcome]:
    return {rule.name: Outcome(rule, source) for rule in rules}


def _insert_gx_failures(conn: duckdb.DuckDBPyConnection, outcomes: dict[str, Outcome],
                        script: str, allowed: Iterable[str], suite: Suite,
                        params: dict[str, Any]) -> None:
    """The unexpected row keys GX reported → _failed, with each rule's offending value."""
    failing = [o for o in outcomes.values() if o.unexpected_count]
    if not failing:
        return
    table = pa.table({
        "row_key": pa.concat_arrays([pa.array(o.indices, pa.int64()) for o in failing]),
        "rule": pa.concat_arrays([pa.array([o.rule.name] * len(o.indices), pa.string())
                                  for o in failing]),
    })
    conn.register("_gx_rows_view", table)
    try:
        conn.execute("CREATE OR REPLACE TEMP TABLE _gx_rows AS SELECT * FROM _gx_rows_view")
    finally:
        conn.unregister("_gx_rows_view")
    for outcome in failing:
        value = _checked_columns([outcome.rule.value_column or ""], allowed, suite)[0]
        run_sql(conn, script.format(value=quote_ident(value)), {
            **params, "rule": outcome.rule.name, "column": outcome.rule.column,
            "reason": outcome.rule.reason,
        })


@dataclass
class GxInput:
    """What one GX pass reads and where its failures go: rows of `relation` (a fixed SQL
    fragment with $parameters) keyed by `index_expr`, checked columns from `allowed`,
    failing rows written by `failed_sql`."""

    index_expr: str
    relation: str
    params: dict[str, Any]
    allowed: tuple[str, ...]
    failed_sql: str
    failed_params: dict[str, Any]


def _gx_pass(conn: duckdb.DuckDBPyConnection, engine: GxEngine, suite: Suite,
             rules: list[Rule], params: dict[str, Any], outcomes: dict[str, Outcome],
             batch_rows: int, source: GxInput) -> None:
    """Stream the checked columns of `source` through GX in bounded batches and quarantine
    what fails."""
    columns = _checked_columns([c for r in rules for c in r.columns], source.allowed, suite)
    if not rules:
        return
    select = ", ".join(quote_ident(c) for c in columns)
    sql = f"SELECT {source.index_expr} AS {INDEX}, {select} FROM {source.relation}"
    for frame in _batches(conn, sql, source.params, batch_rows):
        engine.validate(suite.name, rules, frame, params, outcomes)
    _insert_gx_failures(conn, outcomes, load_sql(source.failed_sql), source.allowed, suite,
                        source.failed_params)


def _validate_rows(conn: duckdb.DuckDBPyConnection, engine: GxEngine, suite: Suite,
                   source: str, params: dict[str, Any], run_id: str, batch_rows: int,
                   report: ValidationReport) -> None:
    gx_rules = suite.gx_rules(params)
    outcomes = _new_outcomes(gx_rules, source)
    # the DuckDB rules first: they need no GX, which may still be importing
    sql_outcomes = _run_sql_rules(conn, suite.sql_rules(params), source, run_id)
    _gx_pass(conn, engine, suite, gx_rules, params, outcomes, batch_rows, GxInput(
        "rowid", "staging.events WHERE run_id = $run_id AND source = $source",
        {"run_id": run_id, "source": source}, STAGING_EVENT_COLUMNS,
        "validation/insert_failed_rows.sql", {}))
    outcomes.update(sql_outcomes)
    report.outcomes.extend(outcomes.values())


def _run_sql_rules(conn: duckdb.DuckDBPyConnection, rules: list[Rule], source: str,
                   run_id: str) -> dict[str, Outcome]:
    """The source's row-level rules DuckDB evaluates; they may read _repeated_ids (the hashes
    of the run's event ids staged more than once, made by validate_staged)."""
    if not rules:
        return {}
    staged = conn.execute("SELECT count(*) FROM staging.events WHERE run_id = ? AND source = ?",
                          [run_id, source]).fetchall()[0][0]
    return {rule.name: _run_sql_rule(conn, rule, source, run_id, staged) for rule in rules}


def _run_sql_rule(conn: duckdb.DuckDBPyConnection, rule: Rule, source: str, run_id: str,
                  element_count: int) -> Outcome:
    """A row-level expectation DuckDB evaluates (meta.sql) over the whole load of a source."""
    script = str(rule.meta.get("sql", ""))
    if not script.startswith("validation/") or ".." in script:
        raise ConfigError(f"expectation {rule.name}: meta.sql must name a file under "
                          "procmine/sql/validation/")
    before = conn.execute("SELECT count(*) FROM _failed").fetchall()[0][0]
    run_sql(conn, load_sql(script), {"run_id": run_id, "source": source, "rule": rule.name,
                                     "column": rule.column, "reason": rule.reason})
    outcome = Outcome(rule, source, element_count=element_count)
    outcome.unexpected_count = conn.execute("SELECT count(*) FROM _failed").fetchall()[0][0] - before
    outcome.add_partial([r[0] for r in conn.execute(
        "SELECT bad_value FROM _failed WHERE rule = ? AND source = ? ORDER BY row_key LIMIT 20",
        [rule.name, source]).fetchall()])
    outcome.gx_kwargs = rule.kwargs
    return outcome


def _validate_cases(conn: duckdb.DuckDBPyConnection, engine: GxEngine, suite: Suite,
                    sources: list[str], parameters: Parameters, run_id: str,
                    report: ValidationReport) -> None:
    opening = [(s, a) for s in sources for a in parameters.for_source(s)["opening_activities"]]
    conn.execute("DELETE FROM _opening")
    if opening:
        conn.executemany("INSERT INTO _opening VALUES (?, ?)", opening)
    store_hashes(conn, "_case_repeats", repeated_hashes(conn, STAGED_CASE_HASHES_SQL))
    run_sql(conn, load_sql("validation/case_facts.sql"), {"run_id": run_id})
    for source in sources:
        params = parameters.for_source(source)
        rules = suite.gx_rules(params)
        outcomes = _new_outcomes(rules, source)
        _gx_pass(conn, engine, suite, rules, params, outcomes, parameters.batch_rows, GxInput(
            "case_no", "_case_facts WHERE source = $source", {"source": source},
            CASE_FACT_COLUMNS, "validation/insert_failed_cases.sql", {"run_id": run_id}))
        report.outcomes.extend(outcomes.values())


def _validate_load(conn: duckdb.DuckDBPyConnection, engine: GxEngine, suites: dict[str, Suite],
                   parameters: Parameters, run_id: str, files: list[LoadedFile] | None,
                   report: ValidationReport) -> None:
    """Batch level: summaries of the load by DuckDB, judged by GX; failures become reasons."""
    if files is None:
        files = [LoadedFile(*r) for r in conn.execute(
            "SELECT DISTINCT source, source_file FROM staging.events WHERE run_id = ?",
            [run_id]).fetchall()]
    conn.execute("DELETE FROM _loaded_files")
    if files:
        conn.executemany("INSERT INTO _loaded_files VALUES (?, ?, ?, ?)", [
            (f.source, f.path, parameters.for_source(f.source)["allow_empty_files"],
             f.snapshot_rows) for f in files])
    params = parameters.for_load()
    summaries = {
        "load_sources": ("validation/load_sources.sql", "_load_sources"),
        "load_files": ("validation/load_files.sql", "_load_files"),
    }
    for name, (script, table) in summaries.items():
        suite = suites[name]
        run_sql(conn, load_sql(script), {"run_id": run_id, "min_rows": parameters.batch_min_rows})
        frame = conn.execute(f"SELECT * FROM {table} ORDER BY row_no").df()
        rules = suite.gx_rules(params)
        outcomes = _new_outcomes(rules, None)
        if not frame.empty:
            engine.validate(name, rules, frame.set_index("row_no").rename_axis(INDEX), params,
                            outcomes)
        for outcome in outcomes.values():
            if not outcome.success:
                rows = frame[frame["row_no"].isin(outcome.indices)]
                outcome.details = "; ".join(_describe(outcome.rule, row, params)
                                            for row in rows.to_dict("records"))
                report.failures.append(f"{outcome.rule.name}: {outcome.details}")
        report.outcomes.extend(outcomes.values())


def _describe(rule: Rule, row: dict[str, Any], params: dict[str, Any]) -> str:
    """One line on why a batch-level expectation failed for one source or file."""
    if rule.column == "quarantined_share":
        return (f"{row['source']}: {row['quarantined_rows']:,} of {row['staged_rows']:,} rows "
                f"quarantined ({row['quarantined_share']:.1%} > "
                f"{params['max_quarantine_share']:.1%})")
    if rule.column == "row_count_ratio":
        return (f"{row['source']}: {row['staged_rows']:,} rows vs {int(row['previous_rows']):,} "
                f"in run {row['previous_run']} (allowed {params['min_row_count_ratio']:.0%}–"
                f"{params['max_row_count_ratio']:.0%})")
    if rule.column == "passed_rows":
        return (f"{row['source_file']} contributed {row['passed_rows']} valid rows "
                f"({row['staged_rows']} staged); if files of source {row['source']!r} may "
                f"hold no events, set allow_empty_files = true in [sources.{row['source']}]")
    return f"{rule.reason}: {row}"


def validate_staged(conn: duckdb.DuckDBPyConnection, config: Config, run_id: str, *,
                    files: list[LoadedFile] | None = None,
                    batch_checks: bool = True) -> ValidationReport:
    """Quarantine this run's staged rows that break a row or case expectation; the rest stay
    staged for core. `files` are the files loaded in the run (default: those with staged
    rows). Raises ValidationFailed (carrying the report as ``.report``) when a
    batch-level expectation fails; results are then not stored (the caller records them)."""
    import_in_background()  # GX (if not imported yet) while DuckDB does the first checks
    suites = load_suites(config)
    parameters = Parameters(config)
    report = ValidationReport(run_id)
    run_sql(conn, load_sql("validation/setup.sql"))
    sources = [r[0] for r in conn.execute(
        "SELECT DISTINCT source FROM staging.events WHERE run_id = ? ORDER BY 1",
        [run_id]).fetchall()]
    report.staged = conn.execute("SELECT count(*) FROM staging.events WHERE run_id = ?",
                                 [run_id]).fetchall()[0][0]
    engine = GxEngine()
    if run_repeats(conn, run_id, "_repeated_ids"):  # identical rows: numbered (identity)
        run_sql(conn, load_sql("validation/occurrences.sql"), {"run_id": run_id})
    for source in sources:
        _validate_rows(conn, engine, suites["staging_events"], source,
                       parameters.for_source(source), run_id, parameters.batch_rows, report)
    _validate_cases(conn, engine, suites["staging_cases"], sources, parameters, run_id, report)
    report.quarantined_by_rule = dict(conn.execute(
        "SELECT rule, count(*) FROM _failed GROUP BY rule ORDER BY rule").fetchall())
    report.quarantined_rows = conn.execute(
        "SELECT count(DISTINCT row_key) FROM _failed").fetchall()[0][0]
    if batch_checks:
        _validate_load(conn, engine, suites, parameters, run_id, files, report)
    if report.failed:
        report.failed_quarantine = conn.execute(
            load_sql("validation/failed_quarantine.sql")).fetchall()
        error = ValidationFailed(report.summary() + f" (nothing published; {FAILED_RUN_HINT})")
        error.report = report  # type: ignore[attr-defined]
        raise error
    run_sql(conn, load_sql("validation/quarantine_rows.sql"), {"run_id": run_id})
    keep_run_repeats(conn, run_id)  # publishing on this connection needs not find them again
    store_results(conn, report)
    return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def store_failed_quarantine(conn: duckdb.DuckDBPyConnection, report: ValidationReport) -> None:
    """marts.failed_quarantine rows of a run stopped by a batch-level expectation."""
    rows = [{"run_id": report.run_id, "rule": rule, "source": source, "column_name": column,
             "rows": count, "examples": examples, "recorded_at": report.validated_at}
            for rule, source, column, count, examples in report.failed_quarantine]
    if rows:
        conn.executemany(load_sql("validation/store_failed_quarantine.sql"), rows)


def store_results(conn: duckdb.DuckDBPyConnection, report: ValidationReport) -> None:
    """One marts.validation_results row per outcome."""
    rows = [(
        report.run_id, o.rule.suite, o.rule.name, o.rule.type, o.rule.level, o.source,
        o.rule.column, o.rule.engine, o.success, o.element_count, o.unexpected_count,
        o.unexpected_percent, json.dumps(_jsonable(o.partial_unexpected)), o.details or None,
        report.validated_at,
    ) for o in report.outcomes]
    if rows:
        conn.executemany(
            "INSERT INTO marts.validation_results VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
