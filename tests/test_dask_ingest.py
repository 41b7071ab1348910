"""Per-file ingest on Dask (`--engine dask`, orchestration/dask_ingest.py) on a real
LocalCluster of two worker processes gives the store the local engine gives: the four BPIC
2014 tables (extended), a landing folder with bad rows, an unreadable file and a copy (also
through `procmine ingest`'s API), overlapping ServiceNow exports (deduplicated on the
coordinator), pseudonymised rows; the closed-problems log loaded and mined on Dask equals the
local engine's marts; workers killed during ingest. (The file tasks as Prefect task runs:
tests/test_dask_engine.py's flow run and tests/test_schedule.py's served deployment.)"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench.compare_marts import compare
from procmine import store
from procmine.config import Config, RunSettings, load_config
from procmine.errors import ProcmineError
from procmine.faults import CRASH_ENV
from procmine.load import RunResult, landing_batches, load_and_publish_core, record_run
from procmine.orchestration.dask_ingest import KILL_ALWAYS, KILL_ONCE, ingest_stager
from tests.landing_data import HEADER, write_daily_exports, write_project

# columns that record when or in which run, not what was loaded
VOLATILE = {"_loaded_at", "loaded_at", "run_id", "quarantined_at", "validated_at"}
TABLES = ("core.events", "core.cases", "quarantine.events", "core.load_registry",
          "marts.validation_results")


def _load(config: Config, db: Path, address: str | None) -> RunResult:
    """What `procmine run`'s load step does (tests.real_stores.load_landing), on Dask when
    `address` is given."""
    settings = RunSettings.resolve(config, engine="dask" if address else "local",
                                   dask_address=address)
    result = RunResult(run_id=store.new_run_id(), command="run")
    with ingest_stager(settings, db) as stager, store.writing(db) as conn:
        load_and_publish_core(conn, config, result, landing_batches(config), stager=stager)
        result.status = "success" if not result.failed_files else "partial"
        record_run(conn, result)
    if address:
        assert stager is not None and len(stager.task_seconds) == result.files_loaded + len(
            result.failed_files)   # every file read was a task
    return result


def _differences(local: Path, dask: Path, tables: tuple[str, ...]) -> dict[str, tuple]:
    """Tables whose rows differ between the stores, as multisets (count and the sum of the
    rows' hashes; volatile columns left out), the raw tables of both included. Empty: equal."""
    conn = duckdb.connect()
    conn.execute("ATTACH ? AS a (READ_ONLY)", [str(local)])
    conn.execute("ATTACH ? AS b (READ_ONLY)", [str(dask)])
    raw = [f"raw.{name}" for (name,) in conn.execute(
        "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_catalog IN "
        "('a', 'b') AND table_schema = 'raw' ORDER BY 1").fetchall()]
    found = {}
    for table in (*tables, *raw):
        schema, name = table.split(".")
        columns = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' "
            "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name]).fetchall() if c not in VOLATILE]
        row = "hash(" + ", ".join(f'"{c}"' for c in columns) + ")::HUGEINT"
        sides = [conn.execute(f"SELECT count(*), sum({row}) FROM {db}.{table}").fetchone()
                 for db in ("a", "b")]
        if sides[0] != sides[1]:
            found[table] = tuple(sides)
    return found


def _mart_differences(local: Path, dask: Path) -> dict[str, str]:
    """Marts that differ (bench.compare_marts; run ids and times of runs left out, and the
    run log, whose rows are the runs)."""
    results = compare(local, dask, ignore={"marts.run_log"}, ignore_columns={
        "marts.validation_results.run_id", "marts.validation_results.validated_at",
        "marts.waste_heatmap_history.run_id", "marts.waste_heatmap_history.mined_at"})
    assert len(results) >= 15
    return {name: outcome for name, outcome in results.items()
            if not (outcome.startswith("equal") or outcome == "ignored")}


def _counts(result: RunResult) -> tuple[Any, ...]:
    return (result.status, result.files_loaded, result.events_loaded,
            result.events_quarantined, result.quarantined_by_rule,
            sorted((str(f.path), f.status, f.rows, f.message) for f in result.files))


@pytest.mark.extended   # the Dask load of 866k events: ~30 s on a busy 2-core machine
def test_bpic14_tables_loaded_on_dask_equal_the_local_load(bpic14_d2c_store, dask_cluster,
                                                          tmp_path):
    real = bpic14_d2c_store
    db = tmp_path / "dask.duckdb"
    result = _load(real.config, db, dask_cluster.scheduler_address)
    assert _counts(result) == _counts(real.result)
    assert (result.files_loaded, result.events_loaded) == (4, 866_034)
    assert _differences(real.db, db, TABLES) == {}
    with store.reading(db) as conn:
        raw = conn.execute("SELECT count(*) FROM raw.bpic14_interactions").fetchone()[0]
    assert raw == 147_004


def _bad_landing(root: Path) -> Path:
    """Three daily exports, a copy of one, a file with bad rows, one that cannot be read."""
    config = write_project(root)
    landing = root / "data" / "landing" / "csv"
    write_daily_exports(landing, days=3, cases_per_day=15)
    shutil.copy(landing / "day_00.csv", landing / "day_00_again.csv")
    header = ",".join(HEADER)
    (landing / "day_05_bad_rows.csv").write_text(
        f"{header}\n"
        "INC9001,Open,2024-03-09 08:00:00,agent 1,Hub Service Desk L1\n"
        ",Assign,2024-03-09 09:00:00,agent 2,Hub Network L2\n"          # no case id
        "INC9001,,2024-03-09 10:00:00,agent 2,Hub Network L2\n"         # no activity
        "INC9001,Work,not a time,agent 3,Hub Network L2\n"              # no timestamp
        "INC9001,Resolved,2024-03-09 12:00:00,agent 3,Hub Network L2\n", encoding="utf-8")
    (landing / "day_06_broken.csv").write_text(
        f"{header}\nINC9002,Open,2024-03-10 08:00:00,agent 1,Hub Service Desk L1,extra\n",
        encoding="utf-8")
    _settle(landing)
    return config


def _settle(landing: Path) -> None:
    """Files modified long ago: both loads record their mtime (ingest.RACY_MTIME_NS)."""
    for path in landing.iterdir():
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))


def test_bad_rows_failed_and_copied_files_on_dask_as_local(dask_cluster, tmp_path):
    config = load_config(_bad_landing(tmp_path))
    local, dask = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    expected = _load(config, local, None)
    result = _load(config, dask, dask_cluster.scheduler_address)
    assert _counts(result) == _counts(expected)
    statuses = {f.path.name: f.status for f in result.files}
    assert statuses.pop("day_00_again.csv") == "skipped"   # same content as day_00.csv
    assert statuses.pop("day_06_broken.csv") == "failed"
    assert statuses.pop("day_05_bad_rows.csv") == "loaded"
    assert set(statuses.values()) == {"loaded"} and len(statuses) >= 3
    (failed,) = result.failed_files
    assert "day_06_broken.csv" in failed.message and "number of fields" in failed.message
    assert _differences(local, dask, TABLES) == {}
    with store.reading(dask) as conn:
        quarantined = conn.execute(
            "SELECT source_row, rule, reason FROM quarantine.events "
            "WHERE source_file LIKE '%day_05_bad_rows.csv' ORDER BY source_row, rule").fetchall()
    rules = {(row, rule) for row, rule, _ in quarantined}
    assert {(2, "case_id_not_null"), (3, "activity_not_null"), (4, "ts_not_null")} <= rules
    assert all(reason for _, _, reason in quarantined)
    # `procmine ingest` of the folder on Dask (its API, in process): the same store
    import procmine

    cli = tmp_path / "cli.duckdb"
    done = procmine.open(cli, config).ingest(
        tmp_path / "data" / "landing" / "csv", "csv", engine="dask",
        dask_address=dask_cluster.scheduler_address)
    assert (done.files_loaded, len(done.failed_files)) == (expected.files_loaded, 1)
    assert _differences(local, cli, TABLES) == {}


def test_servicenow_exports_overlapping_on_dask_as_local(dask_cluster, tmp_path):
    """ServiceNow snapshots are deduplicated against the raw rows of earlier files (on the
    coordinator): three exports of the real log, the second overlapping the first."""
    import csv
    import gzip

    from tests.conftest import SERVICENOW_LOG

    config_path = write_project(tmp_path)
    landing = tmp_path / "data" / "landing" / "servicenow"
    landing.mkdir(parents=True)
    with gzip.open(SERVICENOW_LOG, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(3_000), reader, strict=False)]
    for name, part in (("a.csv", rows[:1_200]), ("b.csv", rows[900:2_100]),
                       ("c.csv", rows[2_100:])):
        with (landing / name).open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows([header, *part])
    _settle(landing)
    config = load_config(config_path)
    local, dask = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    expected = _load(config, local, None)
    result = _load(config, dask, dask_cluster.scheduler_address)
    assert _counts(result) == _counts(expected)
    assert expected.files_loaded == 3 and expected.events_loaded > 1_000
    assert _differences(local, dask, TABLES) == {}


def _set_worker_env(address: str, value: str | None, name: str = CRASH_ENV) -> None:
    from distributed import Client

    def setter() -> None:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    with Client(address) as client:
        client.wait_for_workers(2, timeout=60)
        client.run(setter)


def test_pseudonymised_on_the_workers_with_the_same_key_only(dask_cluster, tmp_path,
                                                            monkeypatch):
    from procmine.errors import ConfigError

    address = dask_cluster.scheduler_address
    config_path = write_project(tmp_path, extra_toml="[privacy]\nenabled = true\n")
    write_daily_exports(tmp_path / "data" / "landing" / "csv", days=1, cases_per_day=10)
    _settle(tmp_path / "data" / "landing" / "csv")
    config = load_config(config_path)
    monkeypatch.setenv("PROCMINE_PSEUDONYM_KEY", "k" * 32)
    local, dask = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    _load(config, local, None)
    _set_worker_env(address, "w" * 32, "PROCMINE_PSEUDONYM_KEY")
    try:
        with pytest.raises(ConfigError, match=r"pseudonymisation key .* differs"):
            _load(config, dask, address)
        _set_worker_env(address, "k" * 32, "PROCMINE_PSEUDONYM_KEY")
        _load(config, dask, address)
    finally:
        _set_worker_env(address, None, "PROCMINE_PSEUDONYM_KEY")
    assert _differences(local, dask, TABLES) == {}
    with store.reading(dask) as conn:
        resources = {r for (r,) in conn.execute(
            "SELECT DISTINCT resource FROM raw.csv").fetchall()}
    assert resources and not any(r.startswith("agent") for r in resources), resources


def test_worker_killed_during_ingest_retried_or_clean_failure(dask_cluster, tmp_path):
    address, scheduler = dask_cluster.scheduler_address, dask_cluster.scheduler
    config = load_config(_bad_landing(tmp_path))
    local, dask = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    expected = _load(config, local, None)

    # every file task kills its worker, and the scheduler gives up at once: a clean failure
    _set_worker_env(address, KILL_ALWAYS)
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, 0
    try:
        with pytest.raises(ProcmineError, match="reading a landing file kept dying"):
            _load(config, dask, address)
    finally:
        scheduler.allowed_failures = allowed
        _set_worker_env(address, None)
    assert not dask.exists()   # nothing published
    assert not (tmp_path / ".procmine-dask").exists()   # nor the work folder left behind

    # the first file task kills its worker once: retried on a live worker, the load succeeds
    _set_worker_env(address, KILL_ONCE)
    workers = set(scheduler.workers)
    try:
        result = _load(config, dask, address)
    finally:
        _set_worker_env(address, None)
    assert set(scheduler.workers) != workers   # one was killed (its nanny started another)
    assert _counts(result) == _counts(expected)
    assert _differences(local, dask, TABLES) == {}


def test_closed_problems_loaded_and_mined_on_dask_equal_local(bpic13_problems_store,
                                                            dask_cluster, tmp_path):
    from procmine.ingest import expand_paths
    from procmine.mine import mine
    from procmine.orchestration.dask_engine import engine

    real = bpic13_problems_store
    (loaded,) = real.result.files
    db = tmp_path / "dask.duckdb"
    settings = RunSettings.resolve(real.config, engine="dask",
                                   dask_address=dask_cluster.scheduler_address)
    result = RunResult(run_id=store.new_run_id(), command="ingest")
    with ingest_stager(settings, db) as stager, store.writing(db) as conn:
        load_and_publish_core(conn, real.config, result, [
            ("bpic13_problems", expand_paths([loaded.path]), {})], stager=stager)
    assert (result.files_loaded, result.events_loaded) == (1, real.result.events_loaded)
    assert result.events_loaded > 6_000
    with store.writing(db) as conn, engine(conn, settings, db) as detector:
        mine(conn, real.config, discover=False, detector=detector)
    assert len(detector.stats.task_seconds) == 8
    assert _mart_differences(real.db, db) == {}
