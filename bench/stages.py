"""One pipeline stage in this (fresh) process: `python -m bench.stages STAGE WORKDIR RUN_ID`.

The parent (bench.run) measures the process; this module does the stage's work through
procmine's own functions on the workdir's database (WORKDIR/procmine.toml names it) and
reports counts and inner timings as one JSON line (bench.measure.report).

Stages, in order: ingest (files → raw → staging.events), validate (GX suites; quarantine),
publish (staging → core.events / core.cases), mine (every mart), render (every dashboard);
then `full` (the whole `procmine run --full`) and `nightly` (`procmine run` on new files).
Each writing stage goes through store.writing, so it pays the copy-and-publish of the
database file like a real run does (reported as `store_s`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import report
from procmine import store
from procmine.config import Config, RunSettings, load_config
from procmine.runtime import exit_without_teardown, tune_process


def _timed_writing(config: Config, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """`work(conn)` inside store.writing; reports work_s and the store's own overhead."""
    started = time.perf_counter()
    with store.writing(config.db_path()) as conn:
        opened = time.perf_counter()
        out = work(conn)
        done = time.perf_counter()
    finished = time.perf_counter()
    return {**out, "work_s": round(done - opened, 3),
            "store_s": round((opened - started) + (finished - done), 3)}


def _landing_source(config: Config) -> str:
    """The source whose landing folder the workdir has (servicenow, or the real-shaped log's
    bpic2013 or csv: bench.realshaped)."""
    folders = sorted(p.name for p in config.landing_dir.iterdir() if p.is_dir())
    if len(folders) != 1:
        raise RuntimeError(f"{config.landing_dir}: expected one source folder, found {folders}")
    return folders[0]


def ingest(config: Config, run_id: str) -> dict[str, Any]:
    from procmine.ingest import stage_files

    source = _landing_source(config)

    def work(conn: Any) -> dict[str, Any]:
        staged = stage_files(conn, config, source, [config.landing_dir / source], run_id)
        failed = [f.message for f in staged.failed]
        if failed:
            raise RuntimeError("; ".join(failed))
        rows = conn.execute("SELECT count(*) FROM staging.events WHERE run_id = ?",
                            [run_id]).fetchone()[0]
        return {"files": len(staged.loaded), "raw_rows": sum(f.rows for f in staged.loaded),
                "staged_events": rows}

    return _timed_writing(config, work)


def validate(config: Config, run_id: str) -> dict[str, Any]:
    from procmine.load import RunResult, write_validation_docs
    from procmine.validate import validate_staged

    def work(conn: Any) -> dict[str, Any]:
        started = time.perf_counter()
        checked = validate_staged(conn, config, run_id)
        validated = time.perf_counter()
        write_validation_docs(RunResult(run_id, "bench", validation=checked),
                              config.dashboards_dir)
        return {"staged": checked.staged, "quarantined": checked.quarantined,
                "quarantined_by_rule": checked.quarantined_by_rule,
                "validate_s": round(validated - started, 3),
                "data_docs_s": round(time.perf_counter() - validated, 3)}

    return _timed_writing(config, work)


def publish(config: Config, run_id: str) -> dict[str, Any]:
    from procmine.load import publish_core

    def work(conn: Any) -> dict[str, Any]:
        publish_core(conn, run_id)
        events, cases = conn.execute(
            "SELECT count(*), count(DISTINCT case_id) FROM core.events").fetchone()
        return {"core_events": events, "core_cases": cases}

    return _timed_writing(config, work)


def mine(config: Config, run_id: str, *, incremental: bool = True) -> dict[str, Any]:
    from procmine.mine import mine as mine_marts

    def work(conn: Any) -> dict[str, Any]:
        mined = mine_marts(conn, config, incremental=incremental)
        return {"events": mined.events, "cases": mined.cases, "variants": mined.variants,
                "transitions": mined.transitions, "core_s": round(mined.core_seconds, 3),
                "model_variants": mined.model.variants if mined.model else 0,
                "cases_rewritten": mined.cases_rewritten,
                "waste_rows": sum(mined.waste_instances.values()),
                "timings": {k: round(v, 3) for k, v in mined.timings.items()}}

    return _timed_writing(config, work)


def mine_all(config: Config, run_id: str) -> dict[str, Any]:
    """The whole mine stage with every case's rows rewritten (`incremental=False`), as on a
    store mined for the first time: repeats of it do the same work each time."""
    return mine(config, run_id, incremental=False)


def render(config: Config, run_id: str) -> dict[str, Any]:
    from procmine.render import render_all

    conn = store.reading(config.db_path())
    try:
        written = render_all(conn, config, config.dashboards_dir)
    finally:
        conn.close()
    return {"pages": sum(p.suffix == ".html" for p in written),
            "pngs": sum(p.suffix == ".png" for p in written)}


def _pipeline_run(config: Config, full: bool) -> dict[str, Any]:
    """The whole run, exactly as `procmine run [--full]` does it without a Prefect API
    (procmine.orchestration.run.run_local: the same steps the Prefect flow runs as tasks)."""
    from procmine.orchestration.run import run_local

    result, state = run_local(config, config.db_path(), RunSettings.resolve(config, full=full))
    conn = store.reading(config.db_path())
    try:
        events, variants = conn.execute(
            "SELECT (SELECT count(*) FROM core.events), (SELECT count(*) FROM marts.variants)"
        ).fetchone()
    finally:
        conn.close()
    return {"status": result.status, "files_loaded": result.files_loaded,
            "files_skipped": sum(f.status == "skipped" for f in result.files),
            "events_loaded": result.events_loaded, "quarantined": result.events_quarantined,
            "core_events": events, "mined": state.mined, "rendered": state.rendered,
            "marts_variants": variants,
            "steps": {k: round(v, 3) for k, v in state.timings.items()},
            "mine_timings": {k: round(v, 3) for k, v in state.mine_timings.items()}}


def full_run(config: Config, run_id: str) -> dict[str, Any]:
    return _pipeline_run(config, full=True)


def nightly(config: Config, run_id: str) -> dict[str, Any]:
    return _pipeline_run(config, full=False)


STAGES: dict[str, Callable[[Config, str], dict[str, Any]]] = {
    "ingest": ingest, "validate": validate, "publish": publish, "mine": mine, "mine_all": mine_all,
    "render": render,
    "full": full_run, "nightly": nightly,
}


def main(argv: list[str]) -> None:
    tune_process()   # a stage child is an entry point, like the `procmine` command
    name, workdir, run_id = argv
    config = load_config(Path(workdir) / "procmine.toml")
    report(STAGES[name](config, run_id))
    exit_without_teardown(0)   # as the `procmine` command ends


if __name__ == "__main__":
    main(sys.argv[1:])
