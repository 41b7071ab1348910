"""Process-wide tuning only where an entry point asks for it (procmine.runtime, issue #17).

A fresh interpreter imports procmine, loads a small sample, starts the run's heavy imports
and mines in-process, as a notebook would; the allocator's behaviour (is a 64 MiB malloc
served by mmap? glibc's mallinfo2 counts mmapped blocks), numpy's huge-page variable and the
garbage collector's freeze count and thresholds are read before and after. The same script
with `runtime.tune_process()` first (what `procmine` does) shows each of them changed, so the
probes can tell.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import ctypes, ctypes.util, gc, json, os, sys
from pathlib import Path

TUNED = sys.argv[2] == "tuned"
import procmine
from procmine import runtime
if TUNED:
    runtime.tune_process()

libc = ctypes.CDLL(ctypes.util.find_library("c"))

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def big_block_mmapped():
    before = libc.mallinfo2().hblks
    block = libc.malloc(64 << 20)
    mapped = libc.mallinfo2().hblks - before
    libc.free(block)
    return mapped == 1

def state(mapped_inside=None):
    return {"mmapped": big_block_mmapped(), "freeze": gc.get_freeze_count(),
            "threshold": list(gc.get_threshold()),
            "hugepage_env": os.environ.get("NUMPY_MADVISE_HUGEPAGE"),
            "mmapped_while_mining": mapped_inside}

before = state()
from procmine.orchestration.imports import start_heavy_imports
from procmine.sample import generate_sample

work = Path(sys.argv[1])
generate_sample(work / "landing", cases=200, seed=3)
db = procmine.open(work / "procmine.duckdb")           # the Python API, as a notebook uses it
db.ingest(work / "landing" / "servicenow", source="servicenow")
start_heavy_imports().join()                            # what a run does before validating
report = db.mine(discover=False)
with runtime.reused_memory():
    inside = big_block_mmapped()
after = state(inside)
print(json.dumps({"before": before, "after": after, "mined": sorted(report.timings)[:1]}))
"""


def _mallinfo2_available() -> bool:
    name = ctypes.util.find_library("c")
    return bool(name) and hasattr(ctypes.CDLL(name), "mallinfo2")


pytestmark = pytest.mark.skipif(not _mallinfo2_available(), reason="needs glibc's mallinfo2")


def _probe(tmp_path: Path, mode: str) -> dict[str, dict]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}   # no MALLOC_*/NUMPY_* inherited
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), mode], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_library_use_leaves_the_process_alone(tmp_path: Path) -> None:
    result = _probe(tmp_path, "library")
    before, after = result["before"], result["after"]
    assert before["mmapped"] is True and before["freeze"] == 0
    assert after["mmapped"] is True                     # allocator settings unchanged
    assert after["mmapped_while_mining"] is True        # mining's hook did nothing
    assert after["freeze"] == 0                         # nothing frozen by the imports
    assert after["threshold"] == before["threshold"]
    assert after["hugepage_env"] is None


def test_an_entry_point_tunes_the_process(tmp_path: Path) -> None:
    result = _probe(tmp_path, "tuned")
    after = result["after"]
    assert after["mmapped_while_mining"] is False       # heap reused while mining
    assert after["mmapped"] is True                     # and glibc's defaults back after
    assert after["freeze"] > 100_000                    # GX's and pm4py's objects frozen
    assert after["threshold"] == result["before"]["threshold"]
    assert after["hugepage_env"] == "0"
