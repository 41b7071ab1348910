"""The heavy imports of a run that loads new data, started early in one background thread.

Validation needs Great Expectations (~3 s of CPU to import), mining needs pm4py (~1.3 s):
both are imported while the run reads its files (DuckDB releases the interpreter lock), GX
first because it is needed first (two imports at once share the lock and both finish late).

Together they leave millions of long-lived objects that every full garbage collection of the
run would traverse again (six of them, ~0.5 s, in a 10M-event nightly, most while importing).
Full collections wait until both are imported; then their objects are moved to the
collector's permanent generation (`gc.freeze`), and handed back at exit (`gc.unfreeze`), so
that the interpreter's final collection frees them as usual.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import threading

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
