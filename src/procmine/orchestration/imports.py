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
import threading

_started: threading.Thread | None = None
# while the imports run, full collections would traverse their growing object graphs again
# and again (five of them, ~0.5 s, during a nightly's imports): none until they are frozen
NO_FULL_COLLECTIONS = 1_000_000


def start_heavy_imports() -> threading.Thread:
    """Start (once) importing GX, then pm4py, then freezing what they built."""
    global _started
    if _started is None:
        from procmine.mine.model import import_in_background as import_pm4py
        from procmine.validation.gx_engine import import_in_background as import_gx

        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_COLLECTIONS)
        pm4py_import = import_pm4py(after=import_gx())

        def freeze_when_imported() -> None:
            pm4py_import.join()
            atexit.register(gc.unfreeze)
            gc.freeze()
            gc.set_threshold(*thresholds)

        _started = threading.Thread(target=freeze_when_imported, name="procmine-gc-freeze",
                                    daemon=True)
        _started.start()
    return _started
