"""The run's Dask work folder, shared by the loading (dask_ingest.py) and mining
(dask_engine.py, dask_tasks.py) tasks: names in it, DuckDB's access to it when it is an fsspec
URL, and the crash points of the worker-kill tests. Light on purpose (no mining imports): a
local run's load step and `procmine ingest` import it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import duckdb

from procmine.faults import CRASH_ENV


def url(work: str, name: str) -> str:
    """`name` inside the work folder `work` (a path or an fsspec URL)."""
    return f"{work.rstrip('/')}/{name}"


def reach(conn: duckdb.DuckDBPyConnection, work: str) -> None:
    """Let DuckDB read and write the work folder when it is an fsspec URL (s3://...): its
    filesystem registered on `conn` once."""
    if "://" not in work or work.startswith("file://"):
        return
    import fsspec

    fs, _ = fsspec.core.url_to_fs(work)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if not conn.filesystem_is_registered(protocol):
        conn.register_filesystem(fs)


def maybe_kill(work: str, once: str, always: str) -> None:
    """Kill this worker process at crash point `always`, or at `once` for the first task
    of the work folder (a marker file in it; local folders only)."""
    point = os.environ.get(CRASH_ENV)
    if point == always:
        os.kill(os.getpid(), signal.SIGKILL)
    if point != once or "://" in work:
        return
    try:
        os.close(os.open(Path(work) / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
