"""Run one child process and measure it: wall time and its own peak RSS (ru_maxrss)."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "


@dataclass
class Measured:
    """Wall seconds and peak RSS (bytes) of one child, with the JSON it reported."""

    name: str
    wall_s: float
    peak_rss_bytes: int
    returncode: int
    data: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def as_dict(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall_s, 3), "peak_rss_bytes": self.peak_rss_bytes,
                "peak_rss_mb": round(self.peak_rss_bytes / 2**20, 1), "ok": self.ok,
                **({"error": self.stderr_tail} if not self.ok else {}), **self.data}


ROOT = Path(__file__).resolve().parents[1]
PYCACHE = ROOT / "bench" / "cache" / "pycache"


def child_env() -> dict[str, str]:
    """The environment of every measured child: no user PROCMINE_* settings, no telemetry,
    and Python's bytecode cache on (in bench/cache/pycache, warmed before measuring), as in
    any installation: with PYTHONDONTWRITEBYTECODE set and a venv installed without
    bytecode, every process would compile pm4py, GX, pandas ... from source (seconds each).
    numpy's huge-page hint is off in every child (NUMPY_MADVISE_HUGEPAGE=0), pm4py's
    included: procmine's entry points turn it off themselves (procmine/runtime.py), and
    both sides of the comparison run with the same memory behaviour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PROCMINE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1",
                "PYTHONPYCACHEPREFIX": str(PYCACHE), "NUMPY_MADVISE_HUGEPAGE": "0"})
    root = str(ROOT)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def reset_peak_rss() -> None:
    """Lower this process's peak RSS to its current RSS (Linux: /proc/self/clear_refs "5").
    A child's ru_maxrss starts from its parent's peak at fork (Linux keeps the forked copy's
    high-water mark across exec), so without this every child measured after the parent
    touched much memory (generating a sample, the speed probe) reports at least that much."""
    with contextlib.suppress(OSError):   # not Linux: children's peaks include the parent's
        Path("/proc/self/clear_refs").write_text("5")


def run_child(name: str, args: list[str], *, cwd: Path, log: Path,
              timeout_s: float = 3600, env: dict[str, str] | None = None) -> Measured:
    """Start `python args...` in `cwd` (child_env() plus `env`), wait for it with wait4 (its
    rusage alone; this process's peak is reset first), and parse the last line starting with
    RESULT_PREFIX from its stdout. Output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    reset_peak_rss()
    with log.open("w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env={**child_env(), **(env or {})},
                                stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    text = log.read_text(encoding="utf-8", errors="replace")
    data: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
    tail = "\n".join(text.splitlines()[-15:]) if proc.returncode else ""
    # ru_maxrss is in kilobytes on Linux
    return Measured(name, wall, int(usage.ru_maxrss) * 1024, proc.returncode, data, tail)


def timed(timings: dict[str, float], name: str, call: Callable[[], Any]) -> Any:
    """Called in a child: `call()`, its wall seconds stored as timings[name]."""
    started = time.perf_counter()
    out = call()
    timings[name] = round(time.perf_counter() - started, 3)
    return out


def medians(timings: dict[str, float], samples: dict[str, list[float]]) -> dict[str, Any]:
    """Called in a child after R repeats of the timed steps `samples` (name -> R seconds):
    each step's median into `timings`; core_samples, each repeat's total over the steps,
    and core_s, their median."""
    for name, values in samples.items():
        timings[name] = round(statistics.median(values), 3)
    totals = [round(sum(run), 3) for run in zip(*samples.values(), strict=True)]
    return {"core_s": round(statistics.median(totals), 3), "core_samples": totals}


def report(data: dict[str, Any]) -> None:
    """Called in a child: hand `data` to the parent (one line on stdout)."""
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(data, default=str), flush=True)
