"""Where a stage spends its time: `python -m bench.profile STAGE WORKDIR RUN_ID [--cprofile]`.

Runs one stage of bench.stages with every DuckDB `execute` timed (statement text, seconds)
and optionally under cProfile, then prints the slowest statements and functions. It changes
the workdir's database like the stage does: point it at a copy (e.g. of a
bench/cache/work/<scale>/stages folder kept with --keep-stage-db).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from bench import stages
from procmine import store
from procmine.config import load_config
from procmine.runtime import tune_process

TIMINGS: list[tuple[float, str]] = []


class TimedConnection:
    """A DuckDB connection whose execute / executemany are timed; everything else forwards."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self._conn.execute(query, *args, **kwargs)
        TIMINGS.append((time.perf_counter() - started, query))
        return result

    def executemany(self, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self._conn.executemany(query, *args, **kwargs)
        TIMINGS.append((time.perf_counter() - started, query))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _install() -> None:
    original = store.connect

    def connect(path: Path | str, *, read_only: bool = False) -> Any:
        return TimedConnection(original(path, read_only=read_only))

    store.connect = connect  # type: ignore[assignment]


def _summary(query: str, width: int = 110) -> str:
    return re.sub(r"\s+", " ", query).strip()[:width]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("stage", choices=sorted(stages.STAGES))
    parser.add_argument("workdir", type=Path)
    parser.add_argument("run_id")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    tune_process()   # as bench.stages' children
    _install()
    config = load_config(args.workdir / "procmine.toml")
    profiler = cProfile.Profile() if args.cprofile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    out = stages.STAGES[args.stage](config, args.run_id)
    if profiler:
        profiler.disable()
    total = time.perf_counter() - started
    print(f"{args.stage}: {total:.2f} s; {out}")
    grouped: dict[str, list[float]] = defaultdict(list)
    for seconds, query in TIMINGS:
        grouped[_summary(query)].append(seconds)
    print(f"\nslowest statements ({sum(s for s, _ in TIMINGS):.2f} s in {len(TIMINGS)} "
          "execute calls):")
    ranked = sorted(grouped.items(), key=lambda item: -sum(item[1]))[:args.top]
    for text, times in ranked:
        print(f"{sum(times):8.2f} s {len(times):4d}×  {text}")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
