"""`procmine schedule` against a real Prefect server: the deployment exists with its cron
schedule, a triggered run is executed by the serving process with the configuration's
[run] engine (dask: its file and partition tasks are task runs of the flow run) and writes
marts.run_log, and stopping the process pauses the schedule."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ConfigError
from procmine.orchestration.schedule import schedule_settings
from tests.conftest import PROCMINE, run_cli
from tests.landing_data import write_daily_exports, write_project

DEPLOYMENT = "procmine-nightly/nightly-test"


def test_schedule_settings_come_from_config_and_are_checked(tmp_path):
    config = load_config(write_project(tmp_path, extra_toml="""
        [schedule]
        cron = "30 1 * * 1-5"
        timezone = "Europe/Berlin"
        sources = ["csv"]
        """))
    settings = schedule_settings(config, Path("data/x.duckdb"))
    assert (settings.cron, settings.timezone, settings.name) == (
        "30 1 * * 1-5", "Europe/Berlin", "nightly")
    assert settings.parameters == {
        "config_path": str((tmp_path / "procmine.toml").resolve()),
        "project_dir": str(tmp_path.resolve()),
        "db": str(Path("data/x.duckdb").resolve()), "sources": ["csv"], "full": False}
    with pytest.raises(ConfigError, match="not a valid cron"):
        schedule_settings(config, Path("x.duckdb"), cron="every night")
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        schedule_settings(config, Path("x.duckdb"), timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="unknown source"):
        schedule_settings(config, Path("x.duckdb"), sources=["nope"])


def test_schedule_without_a_prefect_api_says_how_to_get_one(tmp_path):
    proc = run_cli("schedule", cwd=tmp_path, check=False,
                   env={"PREFECT_API_URL": "", "PREFECT_HOME": str(tmp_path / "ph")})
    assert proc.returncode == 1
    assert "prefect server start" in proc.stderr and "PREFECT_API_URL" in proc.stderr


async def _deployment(name: str):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            return await client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None


def test_served_deployment_has_its_cron_and_a_triggered_run_writes_the_run_log(
        tmp_path, prefect_settings, dask_cluster):
    from prefect.deployments import run_deployment

    from tests.test_flow import flow_run_details

    config = write_project(tmp_path)
    config.write_text(config.read_text().replace("[run]\n", "[run]\nengine = \"dask\"\n"
                      f"dask_address = \"{dask_cluster.scheduler_address}\"\n"))
    written = write_daily_exports(tmp_path / "data" / "landing" / "csv", days=2, only=[0])
    db = tmp_path / "data" / "procmine.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")}
    env |= prefect_settings.env | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    serving = subprocess.Popen(
        [str(PROCMINE), "schedule", "--config", str(config), "--db", str(db),
         "--name", "nightly-test", "--cron", "15 2 * * *", "--timezone", "Europe/Berlin"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        deployment = None
        while deployment is None:
            assert serving.poll() is None, serving.communicate()[0]
            assert time.monotonic() < deadline, "the deployment never appeared"
            time.sleep(1)
            deployment = asyncio.run(_deployment(DEPLOYMENT))
        (schedule,) = deployment.schedules
        assert schedule.schedule.cron == "15 2 * * *"
        assert schedule.schedule.timezone == "Europe/Berlin" and schedule.active
        assert deployment.parameters["db"] == str(db.resolve())
        assert deployment.global_concurrency_limit.limit == 1  # one run at a time

        flow_run = run_deployment(DEPLOYMENT, timeout=300)
        assert flow_run.state.is_completed(), flow_run.state
    finally:
        os.killpg(serving.pid, signal.SIGINT)  # Ctrl-C
        try:
            output = serving.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            output = serving.communicate()[0]

    with store.reading(db) as conn:
        rows = conn.execute("SELECT status, events_loaded, prefect_flow_run_id "
                            "FROM marts.run_log").fetchall()
    assert rows == [("success", written[0], str(flow_run.id))], output
    _, tasks, _ = flow_run_details(str(flow_run.id))   # [run] engine = "dask" was used
    assert tasks["ingest-file"] == [1] and tasks["mine-partition"], tasks
    paused = asyncio.run(_deployment(DEPLOYMENT))
    assert paused.paused is True   # stopped with Ctrl-C: the deployment is paused
