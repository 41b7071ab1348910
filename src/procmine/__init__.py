"""procmine: process mining for IT service management, as a library and a command line.

``procmine.open(path)`` returns a :class:`procmine.api.Database`. The names below are loaded
on first use (module ``__getattr__``), so ``import procmine`` imports neither DuckDB nor
pm4py, polars or Prefect.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from procmine.api import Database, QuarantineCount, open
    from procmine.compare import Comparison
    from procmine.config import Config, RunSettings
    from procmine.load import RunResult
    from procmine.load import RunResult as IngestResult
    from procmine.mine import MineReport
    from procmine.query import Rows, Status
    from procmine.validate import ValidationReport

_LAZY = {
    "open": ("procmine.api", "open"),
    "Database": ("procmine.api", "Database"),
    "QuarantineCount": ("procmine.api", "QuarantineCount"),
    "Comparison": ("procmine.compare", "Comparison"),
    "Config": ("procmine.config", "Config"),
    "RunSettings": ("procmine.config", "RunSettings"),
    "RunResult": ("procmine.load", "RunResult"),
    "IngestResult": ("procmine.load", "RunResult"),   # ingest records a run, too
    "MineReport": ("procmine.mine", "MineReport"),
    "Rows": ("procmine.query", "Rows"),
    "Status": ("procmine.query", "Status"),
    "ValidationReport": ("procmine.validate", "ValidationReport"),
}
__all__ = ["Comparison", "Config", "Database", "IngestResult", "MineReport", "QuarantineCount", "Rows",
           "RunResult", "RunSettings", "Status", "ValidationReport", "open"]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'procmine' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
