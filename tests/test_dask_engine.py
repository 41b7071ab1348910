"""The Dask mining engine (`--engine dask`, orchestration/dask_engine.py): waste detection per
case partition equal to the local engine's array by array; marts equal to the local engine's
on the real logs, mined on a real LocalCluster of two worker processes (the session's,
tests/dask_cluster.py); `procmine run` against `dask scheduler` + two `dask worker`
processes, one of which is killed mid-mining; a cluster whose workers all die fails the run
with nothing published; an unreachable scheduler; a Prefect flow run whose partition tasks
run on DaskTaskRunner."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import duckdb
import numpy as np
import pytest

from bench.compare_marts import compare
from procmine import store
from procmine.config import RunSettings
from procmine.errors import ProcmineError
from procmine.faults import CRASH_ENV
from procmine.mine import mine
from procmine.mine.events import load_events
from procmine.mine.partitions import case_partitions, detect_partition, merge_waste
from procmine.mine.settings import MiningSettings
from procmine.mine.waste import WasteResult, detect
from procmine.orchestration.dask_engine import engine
from procmine.orchestration.dask_tasks import KILL_ALWAYS, KILL_ONCE
from tests.conftest import run_cli
from tests.landing_data import write_daily_exports, write_project

DASK = Path(sys.executable).with_name("dask")


def _equal_marts(before: Path, after: Path, ignore: set[str] | None = None) -> dict[str, str]:
    results = compare(before, after, ignore=ignore or set())
    assert len(results) >= 15
    return {name: outcome for name, outcome in results.items()
            if not (outcome.startswith("equal") or outcome == "ignored")}


def _assert_same_waste(local: WasteResult, merged: WasteResult) -> None:
    for part in ("instances", "runs", "resolution"):
        a, b = getattr(local, part), getattr(merged, part)
        for f in fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{part}.{f.name} differs"
    for name in ("path_instance", "path_step", "path_holder"):
        x, y = getattr(local, name), getattr(merged, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f"{name} differs"


@pytest.mark.parametrize("fixture", ["servicenow_store", "volvo_store", "bpic14_store"])
def test_dask_engine_equals_local_on_real_logs(fixture, request, tmp_path, dask_cluster):
    real = request.getfixturevalue(fixture)
    copy = tmp_path / "dask.duckdb"
    shutil.copy(real.db, copy)
    settings = MiningSettings.from_config(real.config)
    with duckdb.connect(str(copy)) as conn:   # partitions merged in process: array-exact
        events = load_events(conn)
        local = detect(events, settings)
        for parts in (3,):   # (the engine's 8 below: marts compared)
            indices = case_partitions(conn, events, parts)
            assert sorted(np.concatenate(indices).tolist()) == list(range(events.n))
            pieces = [(index, detect_partition(
                {name: getattr(events, name)[index] for name in ("key", "t", "x", "y")},
                events.vocab, settings)) for index in indices if len(index)]
            _assert_same_waste(local, merge_waste(events, pieces))
    run = RunSettings.resolve(real.config, engine="dask",
                              dask_address=dask_cluster.scheduler_address)
    with store.writing(copy) as conn, engine(conn, run, copy) as detector:
        mine(conn, real.config, discover=False, incremental=False, detector=detector)
    assert len(detector.stats.task_seconds) == 8   # every partition ran as a task
    assert _equal_marts(real.db, copy) == {}


def test_dask_incremental_mine_rewrites_only_changed_cases_per_partition(volvo_store, tmp_path,
                                                                          dask_cluster):
    """The per-case marts written by the partition tasks (mine/partition_marts.py) in an
    incremental run: only the changed cases' rows are replaced, the others stay; equal to
    the local engine mining the same store again."""
    import procmine

    dask_db, local_db = tmp_path / "dask.duckdb", tmp_path / "local.duckdb"
    shutil.copy(volvo_store.db, dask_db)
    with store.writing(dask_db) as conn:   # three cases' core.cases rows change
        conn.execute("UPDATE core.cases SET priority = 'P9' WHERE case_id IN "
                     "(SELECT case_id FROM core.cases ORDER BY case_id LIMIT 3)")
    shutil.copy(dask_db, local_db)
    report = procmine.open(dask_db, volvo_store.config).mine(
        discover=False, engine="dask", dask_address=dask_cluster.scheduler_address)
    assert report.cases_rewritten == 3 and report.rewrite_reason == ""
    with store.reading(dask_db) as conn:
        assert conn.execute("SELECT count(*) FROM marts.case_kpis WHERE priority = 'P9'"
                            ).fetchone()[0] == 3
    local = procmine.open(local_db, volvo_store.config).mine(discover=False, all_cases=True)
    assert local.cases_rewritten == report.cases
    assert _equal_marts(local_db, dask_db) == {}


def test_dask_engine_through_an_fsspec_work_dir(volvo_store, tmp_path):
    """[run] dask_work_dir as an fsspec URL (memory://, shared by an in-process cluster's
    workers): both rounds' files go there, the coordinator reads the per-case marts' Parquet
    through DuckDB's registered fsspec filesystem; marts equal, nothing left behind."""
    import fsspec
    from distributed import LocalCluster

    copy = tmp_path / "volvo.duckdb"
    shutil.copy(volvo_store.db, copy)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        run = RunSettings(engine="dask", dask_address=cluster.scheduler_address,
                          dask_work_dir="memory://procmine-test-work")
        with store.writing(copy) as conn, engine(conn, run, copy) as detector:
            mine(conn, volvo_store.config, discover=False, incremental=False, detector=detector)
    assert len(detector.stats.marts_task_seconds) == len(detector.stats.task_seconds) >= 2
    assert fsspec.filesystem("memory").ls("/procmine-test-work") == []
    assert _equal_marts(volvo_store.db, copy) == {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory) -> Iterator[tuple[str, list[Path]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as on separate hosts;
    the workers' first partition task of every mining run kills its worker process (SIGKILL;
    the worker's nanny starts a new one), so every run here survives a killed worker."""
    folder = tmp_path_factory.mktemp("dask-cluster")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")}
    logs = [folder / name for name in ("scheduler.log", "worker-1.log", "worker-2.log")]
    commands = [[str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"]]
    commands += [[str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard",
                  "--name", f"worker-{n}"] for n in (1, 2)]
    procs = []
    try:
        for command, log, extra in zip(commands, logs, ({}, {CRASH_ENV: KILL_ONCE},
                                                         {CRASH_ENV: KILL_ONCE}), strict=True):
            with log.open("wb") as out:
                procs.append(subprocess.Popen(command, env={**env, **extra}, stdout=out,
                                              stderr=subprocess.STDOUT,
                                              start_new_session=True))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_procmine_run_on_dask_processes_survives_a_killed_worker(tmp_path, dask_processes):
    from procmine.config import load_config

    address, logs = dask_processes
    config = write_project(tmp_path)
    write_daily_exports(tmp_path / "data" / "landing" / "csv", days=2, cases_per_day=30)
    dask_db, local_db = tmp_path / "dask.duckdb", tmp_path / "local.duckdb"
    done = run_cli("run", "--config", config, "--db", dask_db, "--engine", "dask",
                   "--dask-address", address, cwd=tmp_path)
    assert ": success;" in done.stdout + done.stderr
    # one worker process was killed mid-mining and its task ran again on a live worker
    restarts = sum(log.read_text(errors="replace").count("Restarting worker")
                   for log in logs[1:])
    assert restarts >= 1
    shutil.copy(dask_db, local_db)   # the same store mined again by the local engine
    with store.writing(local_db) as conn:
        mine(conn, load_config(config), discover=False, incremental=False)
    assert _equal_marts(local_db, dask_db) == {}


def test_unreachable_scheduler_is_one_line_naming_it(tmp_path):
    port = _free_port()   # nothing listens there
    db = tmp_path / "procmine.duckdb"
    with store.writing(db):
        pass
    before = db.read_bytes()
    failed = run_cli("mine", "--db", db, "--engine", "dask", "--dask-address",
                     f"tcp://127.0.0.1:{port}", cwd=tmp_path, check=False)
    assert failed.returncode == 1
    lines = (failed.stdout + failed.stderr).strip().splitlines()
    assert len(lines) == 1, failed.stdout + failed.stderr
    assert lines[0].startswith(f"error: cannot reach the Dask scheduler at "
                               f"tcp://127.0.0.1:{port} (--dask-address")
    assert db.read_bytes() == before


def test_workers_that_keep_dying_fail_the_run_with_nothing_published(volvo_store, tmp_path,
                                                                     dask_cluster):
    from distributed import Client

    import procmine

    copy = tmp_path / "volvo.duckdb"
    shutil.copy(volvo_store.db, copy)
    database = procmine.open(copy, volvo_store.config)
    stamp = copy.stat().st_mtime_ns
    address, scheduler = dask_cluster.scheduler_address, dask_cluster.scheduler
    with Client(address) as client:   # every partition task kills its worker process
        client.run(lambda: os.environ.__setitem__(CRASH_ENV, KILL_ALWAYS))
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, 0   # default 3
    try:
        with pytest.raises(ProcmineError, match="workers running a partition task kept dying"):
            database.mine(all_cases=True, discover=False, engine="dask", dask_address=address)
    finally:
        scheduler.allowed_failures = allowed
        with Client(address) as client:   # (the nannies' new worker processes lack it)
            client.wait_for_workers(2, timeout=60)
            client.run(lambda: os.environ.pop(CRASH_ENV, None))
    assert copy.stat().st_mtime_ns == stamp   # nothing published
    assert not (tmp_path / ".procmine-dask").exists()   # nor the partitions left behind
    database.mine(all_cases=True, discover=False, engine="dask", dask_address=address)
    assert _equal_marts(volvo_store.db, copy) == {}   # the next run succeeds


def test_prefect_flow_runs_partition_tasks_on_dask_task_runner(tmp_path, prefect_settings):
    from procmine.orchestration.flow import nightly
    from tests.test_flow import flow_run_details, run_log

    config = write_project(tmp_path)
    write_daily_exports(tmp_path / "data" / "landing" / "csv", days=2, only=[0])
    db = tmp_path / "data" / "procmine.duckdb"
    result = nightly(config_path=str(config), db=str(db), engine="dask")
    assert result.status == "success"
    (row,) = run_log(db)
    state, tasks, _ = flow_run_details(row["prefect_flow_run_id"])
    assert state == "COMPLETED"
    assert "mine" in tasks
    with store.reading(db) as conn:   # one task run per partition with cases (of 8)
        (parts,) = conn.execute("SELECT count(DISTINCT md5_number_upper(case_id) % 8) "
                                "FROM core.case_keys").fetchone()
    assert parts >= 2 and tasks["mine-partition"] == [1] * parts, tasks
    assert tasks["mine-partition-marts"] == [1] * parts, tasks   # the per-case marts' rows
    assert tasks["ingest-file"] == [1], tasks   # the landing file: a task too (dask_ingest)


def test_engine_settings_come_from_run_config_and_flags(tmp_path):
    from procmine.config import load_config
    from procmine.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown engine 'spark'.*\[run\] engine"):
        RunSettings.resolve(load_config(), engine="spark")
    default = RunSettings.resolve(load_config())
    assert (default.engine, default.dask_address, default.dask_partitions) == ("local", None, 8)
    path = tmp_path / "procmine.toml"
    path.write_text('[run]\nengine = "dask"\ndask_address = "tcp://10.0.0.5:8786"\n'
                    'dask_partitions = 32\ndask_work_dir = "s3://bucket/work"\n')
    configured = RunSettings.resolve(load_config(path))
    assert (configured.engine, configured.dask_address, configured.dask_partitions,
            configured.dask_work_dir) == ("dask", "tcp://10.0.0.5:8786", 32, "s3://bucket/work")
    flags = RunSettings.resolve(load_config(path), engine="local", dask_address="tcp://h:1")
    assert (flags.engine, flags.dask_address) == ("local", "tcp://h:1")
    assert default.dask_case_marts is True and configured.dask_case_marts is True
    path.write_text('[run]\ndask_case_marts = false\n')
    assert RunSettings.resolve(load_config(path)).dask_case_marts is False
    path.write_text('[run]\ndask_case_marts = "false"\n')
    with pytest.raises(ConfigError, match=r"\[run\] dask_case_marts must be true or false"):
        RunSettings.resolve(load_config(path))


def test_dask_case_marts_false_leaves_the_per_case_marts_to_the_coordinator(tmp_path,
                                                                            dask_cluster):
    from procmine.mine.partition_marts import CaseMartWriter

    for flag in (True, False):
        run = RunSettings(engine="dask", dask_address=dask_cluster.scheduler_address,
                          dask_case_marts=flag, dask_work_dir=str(tmp_path / "work"))
        with duckdb.connect() as conn, engine(conn, run, tmp_path / "x.duckdb") as detector:
            assert isinstance(detector, CaseMartWriter) is flag
