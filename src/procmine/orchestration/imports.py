"""The heavy imports of a run that loads new data, started early in one background thread.

Validation needs Great Expectations (~3 s of CPU to import), mining needs pm4py (~1.3 s) and
ruptures (drift detection, ~1-2 s): they are imported while the run reads its files (DuckDB releases the interpreter lock), GX
first because it is needed first (two imports at once share the lock and both finish late).

Together they leave millions of long-lived objects that every full garbage collection of the
run would traverse again (six of them, ~0.5 s, in a 10M-event nightly, most while importing).
In a process an entry point tuned (procmine.runtime), full collections wait until both are
imported and their objects are then frozen; elsewhere the collector is left alone.
"""

from __future__ import annotations

import importlib
import threading

from procmine import runtime

_started: threading.Thread | None = None


def start_heavy_imports() -> threading.Thread:
    """Start (once) importing GX, then pm4py and ruptures (then, when tuned, freezing what
    they built)."""
    global _started
    if _started is None:
        from procmine.validation.gx_engine import import_in_background as import_gx

        held = runtime.hold_full_collections()
        gx_import = import_gx()   # validation waits for this thread

        def then_pm4py_and_freeze() -> None:
            try:
                gx_import.join()
                importlib.import_module("pm4py")   # mine/model.py finds it imported
                # mine/drift.py's PELT: ~1-2 s of import (scipy's modules) that otherwise ran
                # inside the nightly's mine step (1M nightly: drift 3.3 s, 2.3 s of it this)
                importlib.import_module("ruptures")
            finally:   # a failed import is reported where it is needed; collect as usual
                runtime.freeze_imports(held)

        _started = threading.Thread(target=then_pm4py_and_freeze,
                                    name="procmine-import-pm4py", daemon=True)
        _started.start()
    return _started
