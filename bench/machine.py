"""The machine and the versions a benchmark ran with."""

from __future__ import annotations

import mmap
import os
import platform
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("duckdb", "polars", "pandas", "pyarrow", "numpy", "pm4py", "great-expectations",
            "prefect", "altair", "vl-convert-python")


def _cpuinfo_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    from procmine import store

    conn = store.connect(":memory:")  # the settings procmine's own connections get
    threads, memory_limit = conn.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()
    conn.close()
    return {
        "nproc": os.cpu_count(),
        "ram_bytes": _mem_total_bytes(),
        "ram_gib": round(_mem_total_bytes() / 2**30, 1),
        "cpu_model": _cpuinfo_model(),
        "kernel": platform.release(),
        "duckdb_threads": threads,
        "duckdb_memory_limit": memory_limit,
        "polars_threads": _polars_threads(),
    }


def speed_probe() -> dict[str, float]:
    """Seconds for three fixed pieces of work, to tell a slow phase of a shared machine from a
    slower procmine: first writes to 1 GiB of fresh memory (page faults), numpy sorting 10M
    integers (one core), 3M steps of a Python loop."""
    import numpy as np

    region = mmap.mmap(-1, 1 << 30)
    pages = np.frombuffer(region, dtype=np.uint8)
    started = time.perf_counter()
    pages[::4096] = 1
    fault = time.perf_counter() - started
    del pages
    region.close()
    values = np.random.default_rng(1).integers(0, 2**62, 10_000_000)
    started = time.perf_counter()
    np.sort(values)
    sort = time.perf_counter() - started
    started = time.perf_counter()
    total = 0
    for step in range(3_000_000):
        total += step
    loop = time.perf_counter() - started
    return {"fault_1gib_s": round(fault, 3), "sort_10m_s": round(sort, 3),
            "python_3m_s": round(loop, 3)}


def _polars_threads() -> int:
    import polars as pl

    return pl.thread_pool_size()


def versions(root: Path) -> dict[str, str]:
    found = {"python": platform.python_version()}
    found.update({name: _version(name) for name in PACKAGES})
    commit = _git(root, "rev-parse", "--short", "HEAD")
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no", "src"))
    found["procmine"] = f"{_version('procmine')} ({commit or 'no git'}"
    found["procmine"] += ", with uncommitted changes in src/)" if dirty else ")"
    return found
