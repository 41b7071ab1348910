"""How mining's numpy temporaries get their memory.

Mining makes hundreds of short-lived arrays of one element per event (40-80 MB each at 10M
events). With glibc's defaults every one of them is a fresh mmap: its first write page-faults
once per 4 KiB page and its free unmaps it again, so the same memory is faulted in over and
over. Measured here: three 10M-element temporaries cost 0.19 s fresh and 0.024 s in memory
already faulted in. `reused_memory()` makes glibc serve large blocks from its heap and keep
freed ones for the next array (mallopt M_MMAP_MAX = 0, M_TRIM_THRESHOLD at its maximum), and
gives the memory back afterwards (malloc_trim). numpy's transparent-huge-page hint is turned
off for the process: where the kernel's THP defrag is "madvise", that hint made the first
touch of a large array wait for memory compaction. Elsewhere than glibc (macOS, musl) only the
hint is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULT_MMAP_MAX = 65536
DEFAULT_TRIM_THRESHOLD = 128 * 1024
KEEP_FREED = 2**31 - 1           # the largest M_TRIM_THRESHOLD mallopt accepts (a C int)
_lock = threading.Lock()
_depth = 0


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


def no_hugepage_hint() -> None:
    """Stop numpy from asking the kernel for transparent huge pages on large arrays (the same
    as `NUMPY_MADVISE_HUGEPAGE=0`): measured on 10M events, the mining core of a fresh process
    4.5-5.7 s with the hint, 3.0-3.1 s without, on a machine whose THP defrag is "madvise"."""
    setter = getattr(np._core.multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


@contextmanager
def reused_memory() -> Iterator[None]:
    """Within: large numpy arrays reuse freed heap memory instead of fresh mappings (nested
    and concurrent uses share one setting; the last to leave restores glibc's defaults)."""
    global _depth
    no_hugepage_hint()
    with _lock:
        _depth += 1
        if _depth == 1 and _LIBC is not None:
            _LIBC.mallopt(M_MMAP_MAX, 0)
            _LIBC.mallopt(M_TRIM_THRESHOLD, KEEP_FREED)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _LIBC is not None:
                _LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                _LIBC.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)
