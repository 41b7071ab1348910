"""The `procmine` command line: a shell over the Python API (procmine.api). Each command is
one call on a `Database` plus formatting; usage mistakes are Click's usage errors (exit 2)."""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from procmine.config import Config, load_config
from procmine.errors import ProcmineError
from procmine.runtime import exit_without_teardown, tune_process

if TYPE_CHECKING:
    from procmine.api import Database

app = typer.Typer(
    name="procmine",
    help="Process mining for IT service management: where Detect-to-Correct loses time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
quarantine_app = typer.Typer(help="Inspect and release quarantined rows.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")

# messages and errors: redirected to a file or a CI log, a line is never wrapped (a file's path
# broken over two lines cannot be copied); on a terminal rich wraps to its width
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
out = Console(width=None if sys.stdout.isatty() else 240)
_state: dict[str, object] = {"debug": False, "config": None}

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $PROCMINE_DB, then config, then "
                              "data/procmine.duckdb)."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="procmine.toml to use (default: ./procmine.toml).")
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(StrEnum):
    xes = "xes"
    csv = "csv"
    ocel2 = "ocel2"


def _config(path: Path | None = None) -> Config:
    return load_config(path or _state["config"])  # type: ignore[arg-type]


def _db(db: Path | None = None, config_path: Path | None = None) -> Database:
    """The API's Database for --db and --config (the global one unless a command has its own)."""
    from procmine.api import Database

    return Database(db, _config(config_path))


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: ConfigOption = None,
) -> None:
    _state["debug"] = debug
    _state["config"] = config


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the export into.")] =
    Path("data/landing"),
    cases: Annotated[int, typer.Option("--cases", min=1, help="Number of incidents.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 7,
    weeks: Annotated[int | None, typer.Option("--weeks", min=1, help=(
        "Arrival period in weeks (default: from --cases, 4 to 52)."))] = None,
    drift_at: Annotated[datetime | None, typer.Option("--drift-at", formats=["%Y-%m-%d"], help=(
        "Inject a process change from this date: a hand-off loop service desk → "
        "--drift-group → desk (recorded in manifest.json)."))] = None,
    drift_group: Annotated[str, typer.Option("--drift-group", help=(
        "The L2/L3 group of the injected loop (its name or the end of it)."))] = "Network L2",
    drift_share: Annotated[float, typer.Option("--drift-share", help=(
        "Share of the incidents from --drift-at that make the loop."))] = 0.5,
) -> None:
    """Generate a realistic ServiceNow-style incident export with injected waste."""
    from rich.progress import Progress

    from procmine.sample import Drift, generate_sample

    drift = (Drift(drift_at.date(), drift_group, drift_share) if drift_at is not None
             else None)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generating incidents", total=cases)
        try:
            summary = generate_sample(out_dir, cases=cases, seed=seed,
                                      progress=lambda done: bar.update(task, completed=done),
                                      weeks=weeks, drift=drift)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"wrote {summary.cases:,} incidents ({summary.snapshot_rows:,} snapshot rows) "
                  f"to {out_dir}; ground truth in {summary.manifest}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to load.")],
    source: Annotated[str, typer.Option("--source", help=(
        "A source of the configuration: servicenow, bpic2013, csv, xes, ocel2, or any "
        "[sources.NAME] of procmine.toml (docs/sources.md)."))],
    db: DbOption = None,
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="strptime format of the timestamps, e.g. '%d/%m/%Y %H:%M'.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Time zone of naive timestamps.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Column holding the case id.")] = None,
    activity: Annotated[str | None, typer.Option("--activity", help="Activity column.")] = None,
    timestamp: Annotated[str | None, typer.Option("--timestamp", help="Timestamp column.")] = None,
    resource: Annotated[str | None, typer.Option("--resource", help="Resource column.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Assignment group column.")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="Field separator.")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="File encoding.")] = None,
    engine: EngineOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Load files through raw → staging → validation → core.events / quarantine.events."""
    from procmine.cli_format import partitions_touched

    database = _db(db)
    with console.status("loading files") as status:
        result = database.ingest(
            paths, source, progress=lambda f: status.update(f"{f.status} {f.path.name}"),
            engine=engine.value if engine else None, dask_address=dask_address,
            date_format=date_format, timezone=tz, case=case, activity=activity,
            timestamp=timestamp, resource=resource, group=group, delimiter=delimiter,
            encoding=encoding)
    for failed in result.failed_files:
        console.print(f"[red]failed[/red] {failed.message}")
    skipped = sum(1 for f in result.files if f.status == "skipped")
    console.print(
        f"{result.files_loaded} file(s) loaded, {skipped} skipped (already loaded), "
        f"{len(result.failed_files)} failed: +{result.events_loaded:,} events in core, "
        f"{result.events_quarantined:,} quarantined; {partitions_touched(result)} → "
        f"{database.path}"
    )
    if result.unmapped is not None and result.unmapped.events:
        console.print(f"unmapped activities: {result.unmapped.describe()}", markup=False,
                      highlight=False)
    if result.failed_files:
        raise typer.Exit(1)


@app.command()
def validate(
    db: DbOption = None,
    publish: Annotated[bool, typer.Option(
        "--publish", help="Move the staged rows that pass into core.")] = False,
) -> None:
    """Validate what is staged (Great Expectations suites in expectations/)."""
    database = _db(db)
    report = database.validate(publish=publish)
    if not report.run_id:
        console.print("nothing staged: `ingest` and `run` validate as they load")
        return
    rules = ", ".join(f"{rule} {count:,}" for rule, count in report.quarantined_by_rule.items())
    console.print(f"validated {report.staged:,} staged rows: {report.quarantined:,} quarantined"
                  + (f" ({rules})" if rules else "")
                  + f"; data docs in {database.config.dashboards_dir / 'validation'}")


@app.command()
def mine(
    db: DbOption = None,
    all_cases: Annotated[bool, typer.Option(
        "--all-cases", help="Rewrite the per-case marts (case_kpis, waste) for every case, "
                            "not only the cases that changed since the last run.")] = False,
    engine: EngineOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Recompute the marts (variants, transitions, waste, bottlenecks, KPIs) from core."""
    import time

    database = _db(db)
    with console.status("mining") as status:
        started = time.perf_counter()
        report = database.mine(all_cases, progress=lambda step: status.update(f"mining: {step}"),
                               engine=engine.value if engine else None,
                               dask_address=dask_address)
        seconds = time.perf_counter() - started
    waste = ", ".join(f"{k} {v:,}" for k, v in report.waste_instances.items() if v)
    console.print(
        f"mined {report.events:,} events of {report.cases:,} cases: {report.variants:,} "
        f"variants, {report.transitions:,} transitions; waste: {waste or 'none'} "
        f"({report.waste_hours:,.0f} h, {report.waste_cost:,.0f} {report.currency}; "
        f"{report.stopped_hours:,.0f} h clock-stopped left out); "
        f"per-case rows written for {report.cases_rewritten:,} cases"
        + (f" ({report.rewrite_reason})" if report.rewrite_reason else " (the changed ones)")
        + f"; {seconds:.1f} s → {database.path}")
    if report.model is not None:
        drawn = report.model.svg or report.model.note
        console.print(f"discovered model ({report.model.variants} variants, "
                      f"{report.model.coverage:.0%} of cases): {report.model.bpmn}; {drawn}")


@app.command()
def dashboards(
    db: DbOption = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the pages (default: [paths] dashboards).")] = None,
) -> None:
    """Rebuild every dashboard page (HTML + PNG per chart) from the database alone."""
    with console.status("rendering dashboards"):
        written = _db(db).dashboards(out_dir)
    index = next(p for p in written if p.name == "index.html")
    console.print(f"{sum(p.suffix == '.html' for p in written)} pages, "
                  f"{sum(p.suffix == '.png' for p in written)} PNGs → {index.resolve()}",
                  soft_wrap=True, highlight=False)


class Engine(StrEnum):
    local = "local"
    dask = "dask"


EngineOption = Annotated[Engine | None, typer.Option(
    "--engine", help="Engine: local (in process) or dask (each file read and each case "
                     "partition mined as a task on a Dask cluster; default [run] engine).")]
DaskAddressOption = Annotated[str | None, typer.Option(
    "--dask-address", help="The Dask scheduler, tcp://HOST:8786 (default [run] dask_address; "
                           "none: a LocalCluster).")]


class PrefectMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


@app.command()
def run(
    config_path: ConfigOption = None,
    db: DbOption = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild from every landing file.")] = False,
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Only this source (repeatable; default: every configured one).")] = None,
    prefect: Annotated[PrefectMode | None, typer.Option(
        "--prefect", help="Run as the Prefect flow: auto = when PREFECT_API_URL is configured "
                          "(default, [run] prefect), always, never.")] = None,
    wait: Annotated[float | None, typer.Option(
        "--wait", min=0, help="Seconds to wait for another run's lock (default [run] "
                              "lock_wait_s).")] = None,
    engine: EngineOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the whole pipeline over the landing folders (data/landing/<source>/)."""
    from procmine.cli_format import partitions_touched
    from procmine.config import RunSettings

    database = _db(db, config_path)
    settings = RunSettings.resolve(database.config, full=full, sources=source or None,
                                   prefect=prefect.value if prefect else None, lock_wait_s=wait,
                                   engine=engine.value if engine else None,
                                   dask_address=dask_address)
    result = database.run(settings=settings, console=console)
    for failed in result.failed_files:
        console.print(f"[red]failed[/red] {failed.message}", highlight=False)
    skipped = sum(1 for f in result.files if f.status == "skipped")
    console.print(
        f"run {result.run_id}: {result.status}; {result.files_loaded} file(s) loaded, "
        f"{skipped} already loaded, +{result.events_loaded:,} events, "
        f"{result.events_quarantined:,} quarantined; {partitions_touched(result)}"
    )
    if result.status not in ("success",):
        raise typer.Exit(1)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SELECT over the published database.")],
    db: DbOption = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] =
    OutputFormat.table,
) -> None:
    """Run read-only SQL on the last published state."""
    from procmine.cli_format import print_rows

    print_rows(_db(db).rows(query), output.value, out)


@app.command()
def compare(
    before: Annotated[str, typer.Option(
        "--before", help="The earlier period, START..END (ISO dates, END exclusive), e.g. "
                         "2016-03-01..2016-06-01.")],
    after: Annotated[str, typer.Option(
        "--after", help="The later period, START..END (ISO dates, END exclusive).")],
    db: DbOption = None,
    limit: Annotated[int, typer.Option(
        "--limit", min=1, help="Rows per section in the table, largest effect first.")] = 10,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table (top --limit per section), or every row as csv or json.")] =
    OutputFormat.table,
) -> None:
    """Compare two periods: KPIs, variants, directly-follows edges, their waits and waste
    cells side by side, with the difference, a significance test (chi-square or Fisher's
    exact on counts, Mann-Whitney U on waits and durations) and an effect size per item,
    largest effect first. A case belongs to the period its open time falls in."""
    from procmine.cli_format import print_comparison
    from procmine.compare import period

    chosen = period(before, "--before"), period(after, "--after")
    print_comparison(_db(db).compare(*chosen), output.value, limit, out)


@app.command()
def status(db: DbOption = None, limit: Annotated[int, typer.Option(help="Runs to show.")] = 10) -> None:
    """Show the last runs, their counts and failures."""
    from procmine.cli_format import print_status

    print_status(_db(db).status(limit), out)


@app.command()
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="xes, csv or ocel2 (SQLite).")],
    out_file: Annotated[Path, typer.Option("--out", help="File to write.")],
    db: DbOption = None,
) -> None:
    """Export core.events as XES (ProM, Disco, pm4py), CSV, or OCEL 2.0 SQLite (objects =
    cases, with their problem/change links)."""
    if fmt is ExportFormat.ocel2:
        counts = _db(db).export_ocel(out_file)
        console.print(
            f"wrote {counts.events:,} events, {counts.objects:,} objects, "
            f"{counts.event_objects:,} event-object and {counts.object_objects:,} "
            f"object-object relations to {out_file}"
            + (f" ({counts.object_objects_left_out:,} relations to objects without events "
               "left out)" if counts.object_objects_left_out else ""), highlight=False)
        return
    count = _db(db).export(out_file, fmt.value)
    console.print(f"wrote {count:,} events to {out_file}")


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="A CSV (any delimiter, encoding; gzip) or XES.")],
    write_config: Annotated[bool, typer.Option(
        "--write-config", help="Append the proposed source to procmine.toml.")] = False,
    name: Annotated[str | None, typer.Option(
        "--name", help="Name of the proposed source (default: from the file name).")] = None,
) -> None:
    """Show an export's dialect, columns and a proposed mapping, and how to load it."""
    from procmine.sources.inspect import append_config, inspect_file

    inspection = inspect_file(path, name=name)
    out.print(inspection.render(), markup=False, highlight=False, soft_wrap=True)
    if write_config:
        target = Path(_state["config"] or "procmine.toml")  # type: ignore[arg-type]
        append_config(inspection, target)
        console.print(f"appended [sources.{inspection.source_name}] to {target}",
                      markup=False, highlight=False)


@app.command()
def schedule(
    config_path: ConfigOption = None,
    db: DbOption = None,
    cron: Annotated[str | None, typer.Option(
        "--cron", help='Cron expression (default [schedule] cron, "0 2 * * *").')] = None,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="IANA time zone of the cron (default [schedule] timezone).")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Deployment name (default [schedule] deployment, nightly).")] = None,
    full: Annotated[bool | None, typer.Option(
        "--full/--incremental", help="Every scheduled run rebuilds from all files.")] = None,
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Only this source (repeatable).")] = None,
) -> None:
    """Create the nightly Prefect deployment (cron schedule) and serve its runs until stopped."""
    from procmine.orchestration.schedule import require_api, schedule_settings, serve

    config = _config(config_path)
    api = require_api()
    settings = schedule_settings(config, config.db_path(db), cron=cron, timezone=timezone,
                                 name=name, full=full, sources=source or None)
    console.print(
        f"deployment procmine-nightly/{settings.name}: cron \"{settings.cron}\" "
        f"({settings.timezone}) on {api}; database {settings.parameters['db']}. "
        "Serving its runs until stopped (Ctrl-C pauses the schedule).", highlight=False)
    serve(settings)


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8765,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Folder to serve (default: [paths] dashboards).")] = None,
) -> None:
    """Serve the dashboards on http://127.0.0.1:PORT/ (Ctrl-C to stop)."""
    from procmine.render.serve import serve_forever

    serve_forever(directory or _config().dashboards_dir, port,
                  announce=lambda line: console.print(line, soft_wrap=True, highlight=False))


QuarantineSource = Annotated[str | None, typer.Option("--source", help="Only this source.")]


@quarantine_app.command("list")
def quarantine_list(db: DbOption = None, source: QuarantineSource = None,
                    failed_run: Annotated[bool, typer.Option(
                        "--failed-run", help="What the last run stopped by validation would "
                        "have quarantined, and why (it published nothing).")] = False) -> None:
    """Quarantined rows by rule and source."""
    from rich.table import Table

    from procmine.failed_run import failed_run_lines

    database = _db(db)
    if failed_run:
        for line in failed_run_lines(database.failed_run()):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    rows = database.quarantine_list(source)
    table = Table("rule", "source", "rows", "runs", "last quarantined")
    for rule, name, count, runs, last in rows:
        table.add_row(rule, name or "", f"{count:,}", str(runs), f"{last:%Y-%m-%d %H:%M:%S}")
    out.print(table)
    out.print(f"{sum(r[2] for r in rows):,} quarantined row(s) by {len(rows)} rule/source pair(s)")


@quarantine_app.command("show")
def quarantine_show(
    rule: Annotated[str, typer.Argument(help="Rule (expectation name), see `quarantine list`.")],
    db: DbOption = None, source: QuarantineSource = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 50,
) -> None:
    """Rows quarantined by one rule: file, row, offending value, reason."""
    from rich.markup import escape
    from rich.table import Table

    shown = _db(db).quarantine_show(rule, source, limit)
    table = Table(*shown.columns)
    for row in shown.rows:
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    out.print(table)
    out.print(f"{len(shown)} row(s) shown")


@quarantine_app.command("release")
def quarantine_release(
    db: DbOption = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only rows of this rule.")] = None,
    source: QuarantineSource = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Only rows of this run.")] = None,
) -> None:
    """Re-validate quarantined rows with the current config (e.g. after adding an activity to
    the vocabulary): those that pass go to core, the others stay quarantined."""
    from procmine.cli_format import partitions_touched

    result = _db(db).release(rule=rule, source=source, run=run_id)
    still = ", ".join(f"{k} {v:,}" for k, v in result.by_rule.items())
    console.print(f"released {result.released:,} row(s): {result.admitted:,} into core, "
                  f"{result.requarantined:,} still quarantined" + (f" ({still})" if still else "")
                  + f"; {partitions_touched(result)}")


def main() -> None:
    """Entry point: one-line errors, tracebacks only under --debug; usage mistakes get Click's
    usage message and exit 2; "internal error" is kept for defects. The process is tuned
    (procmine.runtime) as only an entry point may."""
    tune_process()
    try:
        code = app(standalone_mode=False)  # click returns an Exit's code in this mode
    except ProcmineError as exc:
        _fail(exc, code=1)
    except (typer.Exit, SystemExit) as exc:
        raise SystemExit(getattr(exc, "exit_code", getattr(exc, "code", 1))) from None
    except typer.Abort:
        console.print("aborted")
        raise SystemExit(130) from None
    except typer.TyperException as exc:  # Click's (typer's vendored click) usage errors
        _usage_error(exc)
    except Exception as exc:  # unexpected failures
        _fail(exc, code=1, unexpected=True)
    else:
        exit_without_teardown(code if isinstance(code, int) else 0)


def _usage_error(exc: typer.TyperException) -> None:
    """What Click's standalone mode does: the usage, a hint and the error; exit 2."""
    if type(exc).__name__ != "NoArgsIsHelpError":  # (its help is printed already)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            console.print(f"Error: {exc.format_message()}", highlight=False, markup=False)
    raise SystemExit(getattr(exc, "exit_code", 2))


def _fail(exc: BaseException, *, code: int, unexpected: bool = False) -> None:
    if _state["debug"]:
        traceback.print_exc()
    label = "internal error" if unexpected else "error"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    hint = "" if _state["debug"] or not unexpected else " (run with --debug for the traceback)"
    from rich.markup import escape  # messages name config tables like [paths]

    console.print(f"[red]{label}:[/red] {escape(message)}{hint}", highlight=False,
                  soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
