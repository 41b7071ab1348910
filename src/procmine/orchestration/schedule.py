"""`procmine schedule`: a Prefect deployment of the nightly flow on a cron schedule, served.

`flow.serve` registers the deployment (with its schedule) on the configured Prefect API and
then executes its runs from this process: no work pool or worker is needed. Stopping the
process pauses the schedule (runs do not pile up as "late"); starting it again resumes it.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procmine.config import Config
from procmine.errors import ConfigError, ProcmineError
from procmine.orchestration.prefect_env import configured_api_url
from procmine.orchestration.steps import package_version, select_sources

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_CRON = "0 2 * * *"
DEFAULT_DEPLOYMENT = "nightly"


@dataclass(frozen=True)
class ScheduleSettings:
    """The deployment `procmine schedule` creates."""

    name: str
    cron: str
    timezone: str
    parameters: dict[str, Any] = field(default_factory=dict)


def _check_cron(cron: str) -> str:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise ConfigError(f"[schedule] cron = {cron!r} is not a valid cron expression "
                          "(minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\")"
                          ) from exc
    return cron


def _check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"[schedule] timezone = {name!r} is not an IANA time zone "
                          "(e.g. \"Europe/Berlin\", \"UTC\")") from exc
    return name


def schedule_settings(config: Config, db_path: Path, *, cron: str | None = None,
                      timezone: str | None = None, name: str | None = None,
                      full: bool | None = None,
                      sources: list[str] | None = None) -> ScheduleSettings:
    """[schedule] from the config, overridden by the command line; paths made absolute."""
    section = config.section("schedule")
    chosen_sources = sources or list(section.get("sources", [])) or None
    if chosen_sources:
        select_sources(config, chosen_sources)  # fail now, not at 2 a.m.
    parameters: dict[str, Any] = {
        "config_path": str(config.path.resolve()) if config.path else None,
        "project_dir": str(config.base_dir.resolve()),
        "db": str(Path(db_path).resolve()),
        "sources": chosen_sources,
        "full": bool(section.get("full", False) if full is None else full),
    }
    return ScheduleSettings(
        name=name or str(section.get("deployment", DEFAULT_DEPLOYMENT)),
        cron=_check_cron(cron or str(section.get("cron", DEFAULT_CRON))),
        timezone=_check_timezone(timezone or str(section.get("timezone", "UTC"))),
        parameters=parameters,
    )


def build_deployment(settings: ScheduleSettings) -> RunnerDeployment:
    """The nightly flow's deployment: cron schedule, parameters, at most one run at a time."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from procmine.orchestration.flow import nightly

    return nightly.to_deployment(
        name=settings.name,
        schedules=[Cron(settings.cron, timezone=settings.timezone)],
        parameters=settings.parameters,
        description="procmine nightly run: pull, load, validate, mine, render, publish.",
        tags=["procmine"],
        version=package_version(),
        concurrency_limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def require_api() -> str:
    """The configured Prefect API URL, or a clear message on how to get one."""
    url = configured_api_url()
    if not url:
        raise ProcmineError(
            "no Prefect API configured: start one with `prefect server start` and "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (or use Prefect Cloud: "
            "PREFECT_API_URL and PREFECT_API_KEY); see README \"Scheduling\"")
    return url


def serve(settings: ScheduleSettings) -> None:
    """Register the deployment and execute its scheduled runs until interrupted."""
    from prefect import serve as prefect_serve

    require_api()
    prefect_serve(build_deployment(settings), limit=1)
