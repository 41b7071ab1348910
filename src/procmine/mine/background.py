"""Work in a second thread: numpy and DuckDB release the GIL on large arrays and queries, so
the mining step keeps both cores busy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_thread(work: Callable[[], T], name: str) -> Callable[[], T]:
    """Start `work` in a thread; the returned function joins it and returns its result or
    raises its exception (in the caller's thread)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # re-raised by join(), in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()

    def join() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return join
