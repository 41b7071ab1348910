"""Source adapters, selected by name (``--source`` or a source's ``adapter`` in config)."""

from __future__ import annotations

from procmine.errors import ConfigError
from procmine.sources.base import Adapter, LoadContext, RawFile
from procmine.sources.csv import CsvAdapter

ADAPTERS: dict[str, type[Adapter]] = {CsvAdapter.name: CsvAdapter}


def register(adapter: type[Adapter]) -> type[Adapter]:
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> Adapter:
    _load_builtin_adapters()
    if name not in ADAPTERS:
        raise ConfigError(f"unknown adapter {name!r}; available: {', '.join(sorted(ADAPTERS))}")
    return ADAPTERS[name]()


def _load_builtin_adapters() -> None:
    """Import the optional built-in adapters (each module registers itself)."""
    import importlib

    for module in ("servicenow", "bpic2013", "xes", "ocel2", "records"):
        try:
            importlib.import_module(f"procmine.sources.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"procmine.sources.{module}":
                raise


__all__ = ["ADAPTERS", "Adapter", "LoadContext", "RawFile", "get_adapter", "register"]
