"""One real Prefect server per test run (`prefect server start` on a free 127.0.0.1 port,
temporary PREFECT_HOME), shared by the orchestration tests. Imported by conftest.py.

Under pytest-xdist the workers share it: the first worker that needs it starts it, each worker
using it is counted in a file beside the workers' temporary folders (under a lock), and the
last one to finish stops it. Tests tell their own flow runs apart by id (or parameters).
The server's URL is handed to subprocesses explicitly (`prefect_env`) and to in-process flow
runs through `prefect_settings`; the session's environment stays untouched, so other tests'
`procmine run` calls do not go through Prefect.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
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


def _start(shared: Path) -> dict:
    """A new server (its own process group, PREFECT_HOME under `shared`), once it answers."""
    home = Path(tempfile.mkdtemp(prefix="prefect-home-", dir=shared))
    port = _free_port()
    server = PrefectServer(url=f"http://127.0.0.1:{port}/api", home=home)
    env = {**os.environ, **server.env, "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL")
    with (home / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
    except BaseException:
        _stop(proc.pid)
        raise
    return {"url": server.url, "home": str(home), "pid": proc.pid, "users": 0}


def _running(pid: int) -> bool:
    """Is the process alive (not gone, not a zombie its parent has yet to reap)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _stop(pid: int) -> None:
    """SIGTERM to the server's process group; SIGKILL if it is still there after 20 s."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _running(pid):
            return


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent   # the folder of every worker's temporary folder
    lock, state_file = shared / "prefect-server.lock", shared / "prefect-server.json"
    with _locked(lock):
        state = json.loads(state_file.read_text()) if state_file.exists() else _start(shared)
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    try:
        yield PrefectServer(url=state["url"], home=Path(state["home"]))
    finally:
        with _locked(lock):
            state = json.loads(state_file.read_text())
            state["users"] -= 1
            if state["users"]:
                state_file.write_text(json.dumps(state))
            else:
                state_file.unlink()
                _stop(state["pid"])


@pytest.fixture
def prefect_settings(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    """In-process Prefect settings pointing at the session's server (for flow runs here)."""
    from procmine.orchestration import prepare_environment

    prepare_environment()
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url,
                                     PREFECT_HOME: prefect_server.home}):
        yield prefect_server
