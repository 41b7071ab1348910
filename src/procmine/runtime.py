"""Process-wide tuning, in one place, switched on only by entry points.

An entry point is code that owns its process: the `procmine` command (cli.main), a flow run
Prefect started in a process of its own (orchestration.flow), the benchmark's stage
children. It calls `tune_process()` first. Library code (a notebook, the long-running
`procmine schedule`, a test) never does, and then every hook below is a no-op: importing
procmine or calling mining leaves the allocator, numpy, the garbage collector, Great
Expectations and the interpreter's exit as they were.

What the tuning buys (bench/analysis.md, 10M events): ~1.1 s of mining (glibc reuses freed
heap memory for numpy temporaries instead of mapping and page-faulting fresh memory), ~0.7 s
of garbage collection over GX's and pm4py's imported objects (frozen), ~0.9 s of interpreter
teardown at exit (skipped), and faster validation (GX's batch fingerprint skipped).

Mechanisms: `NUMPY_MADVISE_HUGEPAGE=0` (numpy's documented variable; set before numpy is
imported), glibc's documented `mallopt`/`malloc_trim` through ctypes (the same settings as
the `MALLOC_MMAP_MAX_` / `MALLOC_TRIM_THRESHOLD_` variables, which glibc reads only at process
start: the bench sets those for its children), `gc.freeze`, GX's module constant
`HASH_THRESHOLD`. One private API remains: `exit_without_teardown` runs what a normal exit runs
(`threading._shutdown`, `atexit._run_exitfuncs`) before `os._exit`; Python has no public way
to run the exit hooks without the teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULT_MMAP_MAX = 65536
DEFAULT_TRIM_THRESHOLD = 128 * 1024
KEEP_FREED = 2**31 - 1           # the largest M_TRIM_THRESHOLD mallopt accepts (a C int)
# while the heavy imports run, full collections would traverse their growing object graphs
# again and again (five of them, ~0.5 s, during a nightly's imports): none until frozen
NO_FULL_COLLECTIONS = 1_000_000
# glibc's variables for the same settings, for child processes an entry point starts
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(KEEP_FREED)}

_tuned = False
_lock = threading.Lock()
_depth = 0


def tune_process() -> None:
    """Switch the tuning on for this process: only an entry point that owns its process calls
    this, first (before numpy is imported, so that numpy reads NUMPY_MADVISE_HUGEPAGE; child
    processes inherit the variable, e.g. the flow runs `procmine schedule` starts, whose own
    numpy is imported before the flow can tune; a Prefect worker's runs get it from the work
    pool's environment)."""
    global _tuned
    # numpy's transparent-huge-page hint made the first touch of every large array wait for
    # memory compaction where THP defrag is "madvise" (fresh-process mining core at 10M
    # events 4.5-5.7 s with it, 3.0-3.1 s without)
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    _tuned = True


def tuned() -> bool:
    """Has an entry point switched the tuning on?"""
    return _tuned


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


@contextmanager
def reused_memory() -> Iterator[None]:
    """Within (when tuned): large numpy arrays reuse freed heap memory instead of fresh
    mappings (mallopt M_MMAP_MAX = 0, M_TRIM_THRESHOLD at its maximum); the last to leave
    restores glibc's defaults and gives the memory back (malloc_trim).

    Mining makes hundreds of short-lived arrays of one element per event (40-80 MB each at
    10M events); with glibc's defaults each is a fresh mmap, faulted in 4 KiB at a time and
    unmapped on free: three 10M-element temporaries cost 0.19 s fresh, 0.024 s reused."""
    global _depth
    if not _tuned or _LIBC is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _LIBC.mallopt(M_MMAP_MAX, 0)
            _LIBC.mallopt(M_TRIM_THRESHOLD, KEEP_FREED)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                _LIBC.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)


def give_back_freed() -> None:
    """Within `reused_memory` (when tuned): hand the heap's freed blocks back to the system
    now (malloc_trim), so that the resident set is the arrays still alive. Mining calls it
    between its phases: the temporaries one phase freed would otherwise stay resident beside
    the next phase's arrays and DuckDB's buffers (at 10M events, 0.65 GB of freed blocks in
    the heap at mining's peak before it was used). The price is what `reused_memory` saves:
    arrays allocated later fault their pages in again, so mining calls it a few times per
    run, at phase boundaries, not per array."""
    if _tuned and _LIBC is not None and _depth > 0:
        _LIBC.malloc_trim(0)


def hold_full_collections() -> tuple[int, int, int] | None:
    """When tuned: no full garbage collection until `freeze_imports` (called after GX's and
    pm4py's imports); returns the thresholds to restore then (None: untuned, nothing held)."""
    if not _tuned:
        return None
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_COLLECTIONS)
    return thresholds


def freeze_imports(thresholds: tuple[int, int, int] | None) -> None:
    """After the heavy imports (when `hold_full_collections` held): move every object so far
    to the collector's permanent generation, which full collections skip (handed back at
    exit, `gc.unfreeze`), and restore the thresholds."""
    if thresholds is None:
        return
    atexit.register(gc.unfreeze)
    gc.freeze()
    gc.set_threshold(*thresholds)


def gx_imported() -> None:
    """When tuned, once GX is imported: skip the pandas frame fingerprint GX's pandas engine
    computes for every frame under 1 GB (a batch marker no expectation, result or Data Docs
    page reads: about half of GX's time on a 1M-row frame); a threshold of 0 skips it."""
    if not _tuned:
        return
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


def exit_without_teardown(code: int) -> NoReturn:
    """End the process with `code` as `sys.exit` would; when tuned, minus the interpreter's
    teardown (freeing ~4,000 modules with full collections over GX's and pm4py's objects:
    ~0.9 s after a run that imported them).

    Like a normal exit it waits for non-daemon threads (and the thread and process pools'
    exit hooks), runs every `atexit` callback (Prefect, logging, temporary folders, the
    collector's unfreeze) and flushes stdout and stderr; then `os._exit`. Untuned: sys.exit.
    """
    if not _tuned:
        sys.exit(code)
    threading._shutdown()   # type: ignore[attr-defined]  # what the interpreter calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):   # closed: nothing left to write
            stream.flush()
    os._exit(code)
