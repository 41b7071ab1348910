"""Where mining's memory goes: `python -m bench.memtrace WORKDIR [--out FILE] [--incremental]`.

Runs the mine stage as `bench.stages mine_all` does (every case rewritten, in store.writing,
after `tune_process`), while a thread samples this process every 0.2 s: VmRSS and VmHWM
(/proc/self/status), glibc's heap in use and free (mallinfo2: the numpy arrays; freed blocks
stay in the heap while mining runs, runtime.reused_memory) and, every 1 s, DuckDB's own
buffers (duckdb_memory(), from a second connection). Each sample is tagged with what each
mining thread was doing: the stage's progress phase, the SQL statement the writer ran and
the numpy helpers named in HELPERS (wrapped for the run only). Prints, per tag, the samples'
largest RSS and the rise of RSS while it ran; writes the whole timeline as JSON to --out.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procmine.runtime import exit_without_teardown, tune_process

# (module, attribute) pairs wrapped to tag the samples taken while they run
# (mining's phases in procmine.mine call them by these names; the writer's statements and
# mart_inputs.event_columns call scannable and with_times in their own modules)
HELPERS = [
    ("procmine.mine", name) for name in (
        "load_events", "compute_variants", "pair_waits", "variant_table", "case_key_table",
        "_plan_rewrite", "case_vendors", "waste_table", "case_rows", "with_times",
        "case_table", "first_of_kind", "handoff_table", "driver_tables", "backlog_tables",
        "step_waits", "scannable", "detect", "costs")
] + [("procmine.mine.writer", "scannable"), ("procmine.mine.mart_inputs", "with_times"),
     ("procmine.mine.conformance", "check"), ("procmine.mine.conformance",
                                             "deviation_instances"),
     ("procmine.mine.drift", "compute_drift"), ("procmine.mine.changes", "save"),
     ("procmine.mine.changes", "event_signatures"), ("procmine.mine.changes", "plan")]
DUCKDB_MEMORY_SQL = ("SELECT tag, memory_usage_bytes, temporary_storage_bytes "
                     "FROM duckdb_memory() WHERE memory_usage_bytes + temporary_storage_bytes > 0")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo() -> Callable[[], tuple[int, int]]:
    """(heap bytes in use, free bytes kept in the heap), or zeros without glibc's mallinfo2."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
    except (OSError, AttributeError):
        return lambda: (0, 0)

    def read() -> tuple[int, int]:
        info = libc.mallinfo2()
        return info.uordblks + info.hblkhd, info.fordblks

    return read


def _print_snapshot(tag: str, top: int = 25) -> None:
    """The live traced allocations by the line that made them, largest first."""
    stats = tracemalloc.take_snapshot().statistics("lineno")
    total = sum(s.size for s in stats)
    print(f"--- live allocations when {tag} begins: {total / 2**20:,.0f} MiB traced")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(f"{stat.size / 2**20:9,.1f} MiB  n={stat.count:6d}  "
              f"{frame.filename.split('/src/')[-1]}:{frame.lineno}")
    sys.stdout.flush()


def _status() -> dict[str, int]:
    """VmRSS and VmHWM in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


class Tags:
    """What each thread is doing now: a stack of tags per thread name."""

    def __init__(self, snapshot_at: set[str] | None = None) -> None:
        self.stacks: dict[str, list[str]] = {}
        self.snapshot_at = snapshot_at or set()
        self.scopes, self.peaks, self.lock = {}, [], threading.Lock()

    def push(self, tag: str) -> None:
        if tag in self.snapshot_at:
            _print_snapshot(tag)
        stack = self.stacks.setdefault(threading.current_thread().name, [])
        stack.append(tag)
        self._open("/".join(stack))

    def phase(self, tag: str) -> None:
        """The main thread's progress phase (replaces its stack)."""
        for depth in range(len(self.stacks.get("MainThread", [])), 0, -1):
            self._close("/".join(self.stacks["MainThread"][:depth]))
        self.stacks["MainThread"] = []
        self.push(tag)

    # traced (numpy and Python) memory per open scope: at its start and its peak while open
    scopes: dict[str, list[int]]
    peaks: list[tuple[str, int, int]]

    def _fold(self) -> None:
        _current, peak = tracemalloc.get_traced_memory()
        for scope in self.scopes.values():
            scope[1] = max(scope[1], peak)
        tracemalloc.reset_peak()

    def _open(self, scope: str) -> None:
        if not tracemalloc.is_tracing():
            return
        with self.lock:
            self._fold()
            self.scopes[scope] = [tracemalloc.get_traced_memory()[0], 0]

    def _close(self, scope: str) -> None:
        if not tracemalloc.is_tracing() or scope not in self.scopes:
            return
        with self.lock:
            self._fold()
            start, peak = self.scopes.pop(scope)
            self.peaks.append((scope, start, peak))

    def pop(self) -> None:
        stack = self.stacks.get(threading.current_thread().name)
        if stack:
            if f"{stack[-1]}:end" in self.snapshot_at:
                _print_snapshot(f"{stack[-1]}:end")
            self._close("/".join(stack))
            stack.pop()

    def now(self) -> dict[str, str]:
        return {thread: "/".join(stack) for thread, stack in list(self.stacks.items())
                if stack}

    def wrap(self, tag: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.push(tag)
            try:
                return function(*args, **kwargs)
            finally:
                self.pop()

        return wrapped


def _instrument(tags: Tags) -> None:
    """Wrap HELPERS and the SQL writer's statements so that samples carry their names."""
    import importlib

    import procmine.mine as mine_mod
    from procmine.mine import mart_inputs, writer

    for module_name, attribute in HELPERS:
        module = importlib.import_module(module_name)
        setattr(module, attribute, tags.wrap(attribute, getattr(module, attribute)))
    names: dict[int, str] = {}
    original_run = writer.Writer.run

    def run(self: Any, *statements: tuple[str, Any]) -> None:
        tagged = []
        for name, script in statements:
            if callable(script):   # (a function of the connection: tagged as it runs)
                script = tags.wrap("sql_" + name, script)
            else:
                names[id(script)] = name
            tagged.append((name, script))
        original_run(self, *tagged)

    original_sql = mine_mod.run_sql

    def run_sql(conn: Any, script: str, params: Any = None) -> Any:
        tags.push("sql_" + names.get(id(script), "other"))
        try:
            return original_sql(conn, script, params)
        finally:
            tags.pop()

    writer.Writer.run = run
    for module in (mine_mod, writer, mart_inputs):   # (each calls run_sql by its own name)
        module.run_sql = run_sql


def _sampler(tags: Tags, samples: list[dict[str, Any]], stop: threading.Event,
             duckdb_bytes: Callable[[], int | None],
             duckdb_tags: dict[str, tuple[int, int]]) -> None:
    heap = _mallinfo()
    import pyarrow as pa

    started = time.perf_counter()
    next_duckdb = 0.0
    last_duckdb: int | None = None
    while not stop.is_set():
        now = time.perf_counter() - started
        if now >= next_duckdb:
            last_duckdb = duckdb_bytes()
            next_duckdb = now + 1.0
        used, free = heap()
        samples.append({"t": round(now, 2), **_status(), "duckdb_tags": dict(duckdb_tags), "heap_used": used, "heap_free": free,
                        "arrow": pa.total_allocated_bytes(), "duckdb": last_duckdb, "tags": tags.now()})
        stop.wait(0.2)


def _summary(samples: list[dict[str, Any]]) -> list[tuple[str, int, int, int]]:
    """Per tag: (tag, samples, largest RSS, RSS rise from its first to its largest sample)."""
    by_tag: dict[str, list[int]] = {}
    for sample in samples:
        for thread, tag in sample["tags"].items():
            by_tag.setdefault(f"{thread}: {tag}", []).append(sample["VmRSS"])
    return sorted(((tag, len(v), max(v), max(v) - v[0]) for tag, v in by_tag.items()),
                  key=lambda row: -row[2])


def main(argv: list[str]) -> None:
    tune_process()
    parser = argparse.ArgumentParser(prog="python -m bench.memtrace")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--snapshot", action="append", default=[],
                        help="tracemalloc: list the live allocations (numpy's included) by "
                             "line when this tag (a phase or a helper) begins, or ends: TAG:end; "
                             "repeatable")
    parser.add_argument("--traced", action="store_true",
                        help="tracemalloc: the traced memory (numpy's arrays) at the start of "
                             "each phase and helper and its peak while it ran")
    parser.add_argument("--timeline", type=float, default=0.0,
                        help="also print a sample every this many seconds")
    args = parser.parse_args(argv)

    from procmine import store
    from procmine.config import load_config
    from procmine.mine import mine

    config = load_config(args.workdir / "procmine.toml")
    tags = Tags(set(args.snapshot))
    if args.snapshot or args.traced:
        tracemalloc.start(1)
    _instrument(tags)
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    started = time.perf_counter()
    duckdb_tags: dict[str, tuple[int, int]] = {}
    with store.writing(config.db_path()) as conn:
        probe = conn.cursor()

        def duckdb_bytes() -> int | None:
            try:
                rows = probe.execute(DUCKDB_MEMORY_SQL).fetchall()
                duckdb_tags.clear()
                duckdb_tags.update({tag: (used, spilled) for tag, used, spilled in rows})
                return sum(used for _, used, _ in rows)
            except Exception:   # (a probe must never fail the run)
                return None

        sampler = threading.Thread(target=_sampler, args=(tags, samples, stop, duckdb_bytes,
                                                           duckdb_tags),
                                   name="memtrace", daemon=True)
        sampler.start()
        mined = mine(conn, config, progress=tags.phase, incremental=args.incremental)
        stop.set()
        sampler.join()
        probe.close()
    status = _status()
    print(f"events {mined.events:,}  cases {mined.cases:,}  wall {time.perf_counter() - started:.1f} s"
          f"  VmHWM {status['VmHWM'] / 2**20:,.0f} MiB"
          f"  ({status['VmHWM'] / max(mined.events, 1):.0f} B/event)")
    peak = max(samples, key=lambda s: s["VmRSS"])
    for label, sample in (("first", samples[0]), ("largest", peak)):
        print(f"{label} sample: t={sample['t']} s RSS {sample['VmRSS'] / 2**20:,.0f} MiB, heap "
              f"used {sample['heap_used'] / 2**20:,.0f} free {sample['heap_free'] / 2**20:,.0f}"
              f", arrow {sample['arrow'] / 2**20:,.0f}, duckdb "
              f"{(sample['duckdb'] or 0) / 2**20:,.0f} MiB; tags {sample['tags']}")
    print("duckdb by tag at the largest sample (MiB in memory, spilled):",
          {tag: (round(used / 2**20), round(spilled / 2**20))
           for tag, (used, spilled) in peak["duckdb_tags"].items()})
    for tag, count, top, rise in _summary(samples)[:40]:
        print(f"{top / 2**20:9,.0f} MiB  rise {rise / 2**20:8,.0f}  n={count:4d}  {tag}")
    shown = -1e9
    for sample in samples if args.timeline else []:
        if sample["t"] - shown >= args.timeline:
            shown = sample["t"]
            print(f"{sample['t']:7.1f} s RSS {sample['VmRSS'] / 2**20:7,.0f} heap "
                  f"{sample['heap_used'] / 2**20:6,.0f}+{sample['heap_free'] / 2**20:5,.0f} "
                  f"arrow {sample['arrow'] / 2**20:5,.0f} duckdb "
                  f"{(sample['duckdb'] or 0) / 2**20:6,.0f}  {sample['tags']}")
    for scope, start, peak in tags.peaks:
        print(f"traced {start / 2**20:8,.0f} MiB at start, peak {peak / 2**20:8,.0f} MiB  "
              f"{scope}")
    print("timings", {k: round(v, 2) for k, v in mined.timings.items()})
    if args.out:
        args.out.write_text(json.dumps({"events": mined.events, "cases": mined.cases,
                                        "vmhwm": status["VmHWM"], "samples": samples,
                                        "timings": mined.timings}), encoding="utf-8")
    sys.stdout.flush()
    exit_without_teardown(0)


if __name__ == "__main__":
    main(sys.argv[1:])
