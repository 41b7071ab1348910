"""Prefect settings procmine relies on, and whether a Prefect API is configured.

Importing prefect takes seconds and running a flow without a configured API starts a
temporary server (15-30 s here), so `procmine run` only goes through Prefect when an API is
configured (``PREFECT_API_URL`` in the environment or in the active Prefect profile) or when
asked to (``--prefect always``). This module answers that question without importing prefect.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

# Set before prefect is imported (its settings are read at import time).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",   # no network here, and no telemetry anyway
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "procmine",   # procmine's log records go to the run's log
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # in-process runs after a flow run
    # a temporary server (`--prefect always` without an API) needs more than Prefect's 20 s
    # on a busy two-core machine
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
MODES = ("auto", "always", "never")


def prepare_environment() -> None:
    """Defaults for Prefect's settings (an explicit environment variable wins)."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment, else from the active profile in PREFECT_HOME."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    profiles = _prefect_home() / "profiles.toml"
    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active")
    settings = data.get("profiles", {}).get(active or "", {})
    return str(settings.get("PREFECT_API_URL") or "") or None


def use_prefect(mode: str) -> bool:
    """auto: only with a configured API; always: also via a temporary local server; never."""
    if mode not in MODES:
        from procmine.errors import ConfigError

        raise ConfigError(f"[run] prefect = {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "auto":
        return configured_api_url() is not None
    return mode == "always"
