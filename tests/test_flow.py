"""The procmine-nightly Prefect flow against a real Prefect server (one per test session):
tasks, retries of I/O tasks, the run's Markdown artefact and marts.run_log."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from procmine import store
from procmine.config import load_config
from tests.landing_data import write_daily_exports, write_project
from tests.servicenow_replay import ReplayServer, day1_instance

STEP_TASKS = {"open", "pull", "extract", "load", "mine", "render", "finish", "publish",
              "publish-dashboards"}


def flow_run_details(flow_run_id: str) -> tuple[str, dict[str, list[int]], str]:
    """(state type, {task name: [run counts]}, artefact markdown) from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    async def fetch():
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            task_runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
                    any_=[flow_run.id])))
            return flow_run, task_runs, artifacts

    flow_run, task_runs, artifacts = asyncio.run(fetch())
    tasks: dict[str, list[int]] = {}
    for task_run in task_runs:
        tasks.setdefault(task_run.name.rsplit("-", 1)[0], []).append(task_run.run_count)
    markdown = next((a.data for a in artifacts if a.key == "procmine-run-summary"), "")
    return flow_run.state.type.value, tasks, markdown


def run_log(db: Path) -> list[dict]:
    with store.reading(db) as conn:
        cursor = conn.execute("SELECT * FROM marts.run_log ORDER BY started_at")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def test_flow_run_has_every_step_as_a_task_an_artefact_and_a_run_log_row(tmp_path,
                                                                         prefect_settings):
    from procmine.orchestration.flow import nightly

    config = write_project(tmp_path)
    written = write_daily_exports(tmp_path / "data" / "landing" / "csv", days=2, only=[0])
    db = tmp_path / "data" / "procmine.duckdb"

    result = nightly(config_path=str(config), db=str(db))

    assert result.status == "success" and result.events_loaded == written[0]
    (row,) = run_log(db)
    assert row["run_id"] == result.run_id and row["status"] == "success"
    assert row["mined"] and row["files_loaded"] == 1 and row["prefect_flow_run_id"]
    state, tasks, markdown = flow_run_details(row["prefect_flow_run_id"])
    assert state == "COMPLETED"
    assert set(tasks) == STEP_TASKS
    assert f"procmine run `{result.run_id}`: **success**" in markdown
    assert f"+{written[0]:,} →" in markdown and "day_00.csv" in markdown
    assert markdown == row["summary_md"]
    with store.reading(db) as conn:
        touched, months = conn.execute(
            "SELECT (SELECT count(*) FROM core.run_partitions WHERE run_id = ?), "
            "(SELECT count(DISTINCT open_month) FROM core.case_keys)", [result.run_id]).fetchone()
    assert touched == months > 0
    assert f"| partitions | {touched} of {months} touched " in markdown

    second = nightly(config_path=str(config), db=str(db))  # nothing new
    assert second.events_loaded == 0
    _, _, markdown = flow_run_details(run_log(db)[-1]["prefect_flow_run_id"])
    assert "unchanged: no new events" in markdown
    assert f"| partitions | 0 of {months} touched " in markdown


def test_failed_file_fails_the_flow_run_but_publishes_the_rest(tmp_path, prefect_settings):
    from procmine.orchestration.flow import run_flow

    config_path = write_project(tmp_path)
    landing = tmp_path / "data" / "landing" / "csv"
    written = write_daily_exports(landing, days=2, only=[0])
    (landing / "broken.csv").write_text("case_id,activity\nX1,Open\n", encoding="utf-8")
    config = load_config(config_path)
    db = config.db_path()

    result = run_flow(config, db)

    assert result.status == "partial" and result.events_loaded == written[0]
    (row,) = run_log(db)
    assert row["status"] == "partial" and row["files_failed"] == 1
    state, _, markdown = flow_run_details(row["prefect_flow_run_id"])
    assert state == "FAILED"  # the operator is alerted; the good file is published
    assert "| broken.csv | csv | failed |" in markdown


def test_pull_task_is_retried_by_prefect_with_credentials_from_a_secret_block(
        tmp_path, prefect_settings, monkeypatch):
    from prefect.blocks.system import Secret

    from procmine.orchestration.flow import nightly

    for name in ("PROCMINE_SNOW_USER", "PROCMINE_SNOW_PASSWORD", "PROCMINE_SNOW_TOKEN",
                 "PROCMINE_SNOW_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    Secret(value={"user": "procmine", "password": "s3cret"}).save("snow-test", overwrite=True)
    instance = day1_instance()
    instance.fail_next("incident", (503, {}), (503, {}))  # the first task attempt gives up
    with ReplayServer(instance) as server:
        config = write_project(tmp_path, extra_toml=f"""
            [sources.servicenow.pull]
            enabled = true
            instance = "{server.url}"
            secret_block = "snow-test"
            max_attempts = 2
            backoff_s = 0.01
            """)
        db = tmp_path / "data" / "procmine.duckdb"
        result = nightly(config_path=str(config), db=str(db))

    assert result.status == "success" and result.files_loaded == 1
    (row,) = run_log(db)
    assert row["records_pulled"] == 22
    state, tasks, markdown = flow_run_details(row["prefect_flow_run_id"])
    assert state == "COMPLETED"
    assert tasks["pull"] == [2]  # failed once (503 twice), retried by Prefect, then pulled
    assert "servicenow pull | 3 incident, 19 sys_audit record(s)" in markdown


# `procmine run` with an API configured running this flow: tests/test_sql_concurrency.py


def _newest_flow_run(db: Path) -> tuple[dict, dict[str, list]]:
    """(parameters, {task name: [task runs]}) of the newest procmine-nightly flow run on `db`
    (the server is shared: other tests' flow runs may be newer)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    async def fetch():
        async with get_client() as client:
            flow_run = next(run for run in await client.read_flow_runs(
                sort=FlowRunSort.START_TIME_DESC, limit=200)
                if run.parameters.get("db") and Path(run.parameters["db"]) == db)
            task_runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            return flow_run, task_runs

    flow_run, task_runs = asyncio.run(fetch())
    tasks: dict[str, list] = {}
    for task_run in task_runs:
        tasks.setdefault(task_run.name.rsplit("-", 1)[0], []).append(task_run)
    return flow_run.parameters, tasks


def test_wait_reaches_the_prefect_flow_run(tmp_path, prefect_settings):
    """`procmine run --wait` under Prefect: the flow gets lock_wait_s as a parameter and its
    open task waits that long for another run's lock (it was silently dropped before)."""
    import subprocess
    import time

    from tests.conftest import PROCMINE

    config = write_project(tmp_path)
    written = write_daily_exports(tmp_path / "data" / "landing" / "csv", days=1)
    db = load_config(config).db_path()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")},
           **prefect_settings.env}
    command = [str(PROCMINE), "--config", str(config), "run", "--prefect", "always"]

    with store.run_lock(db):   # another run holds the database throughout: waits 3 s, fails
        started = time.monotonic()
        refused = subprocess.run([*command, "--wait", "3"], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - started
    assert refused.returncode == 1, refused.stderr
    assert "another procmine run is writing" in refused.stderr
    parameters, tasks = _newest_flow_run(db)
    assert parameters["lock_wait_s"] == 3.0 and parameters["full"] is False
    (open_task,) = tasks["open"]
    assert open_task.total_run_time.total_seconds() >= 2.9 and elapsed >= 3
    assert not db.exists()

    held = store.run_lock(db)   # now released while the run waits: it goes on and publishes
    held.__enter__()
    proc = subprocess.Popen([*command, "--wait", "120"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:   # until the new flow run's open task is running
            parameters, tasks = _newest_flow_run(db)
            if parameters.get("lock_wait_s") == 120.0 and tasks.get("open"):
                break
            time.sleep(0.5)
        time.sleep(1)
        held.__exit__(None, None, None)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = sum(written.values())
    assert ": success; " in err
    (row,) = run_log(db)
    assert row["status"] == "success" and row["events_loaded"] == events
    _, tasks = _newest_flow_run(db)
    assert tasks["open"][0].total_run_time.total_seconds() >= 1
