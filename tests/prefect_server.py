"""One real Prefect server per test session (`prefect server start` on a free 127.0.0.1 port,
temporary PREFECT_HOME), shared by the orchestration tests. Imported by conftest.py.

The server's URL is handed to subprocesses explicitly (`prefect_env`) and to in-process flow
runs through `prefect_settings`; the session's environment stays untouched, so other tests'
`procmine run` calls do not go through Prefect.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PREFECT = Path(sys.executable).with_name("prefect")
STARTUP_TIMEOUT_S = 180


@dataclass(frozen=True)
class PrefectServer:
    url: str  # the API URL, http://127.0.0.1:<port>/api
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess that talks to this server."""
        return {"PREFECT_API_URL": self.url, "PREFECT_HOME": str(self.home),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    server = PrefectServer(url=f"http://127.0.0.1:{port}/api", home=home)
    env = {**os.environ, **server.env, "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL")
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited ({proc.returncode}): "
                                   f"{(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not start in time")
            time.sleep(0.3)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture
def prefect_settings(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    """In-process Prefect settings pointing at the session's server (for flow runs here)."""
    from procmine.orchestration import prepare_environment

    prepare_environment()
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url,
                                     PREFECT_HOME: prefect_server.home}):
        yield prefect_server
