"""The heavy imports of a run that loads new data, started early in one background thread.

Validation needs Great Expectations (~3 s of CPU to import), mining needs pm4py (~1.3 s):
both are imported while the run reads its files (DuckDB releases the interpreter lock), GX
first because it is needed first (two imports at once share the lock and both finish late).

Together they leave millions of long-lived objects that every full garbage collection of the
run would traverse again (six of them, ~0.5 s, in a 10M-event nightly, most while importing).
Full collections wait until both are imported; then their objects are moved to the
collector's permanent generation (`gc.freeze`), and handed back at exit (`gc.unfreeze`), so
that the interpreter's final collection frees them as usual.

That teardown (freeing ~4,000 modules, with full collections over their objects) still takes
~0.9 s: the `procmine` command ends with `exit_without_teardown`, which runs every clean-up a
normal exit runs and skips only the interpreter freeing its own memory.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import sys
import threading
from typing import NoReturn

_started: threading.Thread | None = None
# while the imports run, full collections would traverse their growing object graphs again
# and again (five of them, ~0.5 s, during a nightly's imports): none until they are frozen
NO_FULL_COLLECTIONS = 1_000_000


def start_heavy_imports() -> threading.Thread:
    """Start (once) importing GX, then pm4py, then freezing what they built."""
    global _started
    if _started is None:
        from procmine.validation.gx_engine import import_in_background as import_gx

        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_COLLECTIONS)
        gx_import = import_gx()   # validation waits for this thread

        def then_pm4py_and_freeze() -> None:
            try:
                gx_import.join()
                importlib.import_module("pm4py")   # mine/model.py finds it imported
            finally:   # a failed import is reported where it is needed; collect as usual
                atexit.register(gc.unfreeze)
                gc.freeze()
                gc.set_threshold(*thresholds)

        _started = threading.Thread(target=then_pm4py_and_freeze,
                                    name="procmine-import-pm4py", daemon=True)
        _started.start()
    return _started


def exit_without_teardown(code: int) -> NoReturn:
    """End the process with `code` as `sys.exit` would, minus the interpreter's teardown.

    Like a normal exit, it waits for non-daemon threads (and the thread and process pools'
    exit hooks), runs every `atexit` callback (Prefect, logging, temporary folders, the
    collector's unfreeze) and flushes stdout and stderr; then `os._exit` skips freeing the
    modules, which costs ~0.9 s of garbage collection after a run that imported GX and pm4py.
    Only for the command line's entry points, never for code called in-process.
    """
    threading._shutdown()   # type: ignore[attr-defined]  # what the interpreter calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):   # closed: nothing left to write
            stream.flush()
    os._exit(code)
