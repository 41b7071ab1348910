"""Import everything the measured stages import, once, so Python's bytecode cache is warm
(`python -m bench.warmup`, run untimed by bench.run before the first measured stage)."""

from __future__ import annotations

import contextlib
import importlib
import io
import time

MODULES = (
    "pandas", "polars", "pyarrow", "numpy", "duckdb", "altair", "vl_convert",
    "great_expectations", "httpx", "rich", "typer",
    "procmine.cli", "procmine.load", "procmine.ingest", "procmine.validate",
    "procmine.validation.gx_engine", "procmine.validation.docs", "procmine.mine",
    "procmine.render", "procmine.orchestration.run", "procmine.orchestration.summary",
    "bench.stages", "bench.pm4py_side",
)
QUIET = ("pm4py",)  # prints a banner on import


def main() -> None:
    started = time.perf_counter()
    for name in MODULES + QUIET:
        with contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module(name)
    print(f"imported {len(MODULES) + len(QUIET)} modules in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
