"""The mine stage on the local engine beside `--engine dask` on a LocalCluster, with a scaling
model for N workers: `python -m bench.dask_scaling STORE [--workers 2] [--partitions 8]
[--repeat 1] [--out results.json]`.

`make bench BENCH_ARGS=--dask` runs it on each scale's stages database (results.json only).
STORE is a mined procmine database (e.g. a bench workdir's at 1M or 10M events); it is copied
(never changed). Measured on the copy, per engine: the whole mine stage (every case's rows
rewritten, no model discovery) with its phases (MineReport.timings), for dask on warm
workers also with `[run] dask_case_marts = false` (`dask_round1`), and for dask: the
cluster's start and both rounds of partition tasks: (1) waste detection (partitions written,
submit → every result back, each task's seconds on its worker, the merge); (2) the per-case
marts' rows (mine/partition_marts.py: inputs written, submit → every Parquet file written,
each task's seconds with its read/sql phases); the coordinator's waits on each round (the
`waste` and `wait_case_marts` timings). Also in process: waste.detect on the whole log and
on each partition.

Scaling model (printed and written with its inputs): for E events (s = E / measured events)
and N warm workers, P = max(partitions, N) partitions,

    T(N, E) = C·s + max(0, D(N, E) − V·s) + max(0, M(N, E) − O·s)
    D(N, E) = R1(N, E),   M(N, E) = R2(N, E)
    R_k(N, E) = ceil(P / N) × t_k·s·(partitions / P) + dispatch_k

C = the coordinator's own work, estimated as the local engine's mine stage minus what moved
to the tasks (waste.detect in process, and the local SQL of the per-case marts: sql_waste,
sql_waste_evidence, sql_case_kpis) plus what the dask engine adds on the coordinator (the two
rounds' inputs written, the merge, the appends of the partitions' Parquet files: sql_waste
and sql_case_kpis of the dask runs). The moved parts overlapped other work in the local
engine, so C is a lower bound (optimistic for dask). The coordinator's path as measured on
this machine (warm dask mine − its two waits on the tasks) is written beside it as
`coordinator_measured_s`: there the workers share the coordinator's cores, so it is inflated.
V = what the coordinator computes meanwhile round 1 runs (the `variants` phase); O = what it
computes meanwhile round 2 runs (round 2's tasks − the wait on them);
t_k = the median warm task seconds of round k (read + compute + write on the worker),
dispatch_k = round k's submit → results minus its slowest task. Each quantity is reduced over
the repeats by its minimum (`model`; other load on a shared machine only adds time) and, as
`model_median`, by its median. Costs linear in events; it
assumes balanced partitions (md5 of case ids: within a few % at 1M events), workers as fast
as this machine's cores, and a shared file system as fast as the local disk.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procmine import store
from procmine.config import RunSettings, load_config
from procmine.mine import mine
from procmine.mine.events import load_events
from procmine.mine.partitions import case_partitions, detect_partition, partition_columns
from procmine.mine.settings import MiningSettings
from procmine.mine.waste import detect
from procmine.orchestration.dask_engine import engine


def _mine(db: Path, settings: RunSettings) -> tuple[float, Any, float, dict[str, float]]:
    """(mine seconds, the dask engine's stats or None, seconds with the store's copy, the
    mine report's phase timings)."""
    config = load_config()
    started = time.perf_counter()
    with store.writing(db) as conn, engine(conn, settings, db) as detector:
        opened = time.perf_counter()
        report = mine(conn, config, discover=False, incremental=False, detector=detector)
        mined = time.perf_counter() - opened
    return (mined, (detector.stats if detector is not None else None),
            time.perf_counter() - started, dict(report.timings))


def measure(source: Path, workers: int, partitions: int, repeat: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="procmine-dask-bench-"))
    try:
        db = work / "procmine.duckdb"
        shutil.copy(source, db)
        config = load_config()
        settings = MiningSettings.from_config(config)
        with store.writing(db) as conn:   # in process: detect whole and per partition
            events = load_events(conn)
            started = time.perf_counter()
            detect(events, settings)
            detect_s = time.perf_counter() - started
            indices = case_partitions(conn, events, partitions)
            part_s = []
            for index in indices:
                columns = partition_columns(events, index)
                started = time.perf_counter()
                detect_partition(columns, events.vocab, settings)
                part_s.append(time.perf_counter() - started)
            n_events, sizes = events.n, [len(i) for i in indices]
        local = RunSettings.resolve(config, engine="local")
        runs: dict[str, list[dict[str, Any]]] = {"local": [], "dask": [], "dask_warm": [],
                                                 "dask_round1": []}
        for _ in range(repeat):
            mined, _, whole, timings = _mine(db, local)
            runs["local"].append({"mine_s": mined, "with_store_s": whole, "timings": timings})
            started = time.perf_counter()
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                with Client(cluster) as client:
                    client.wait_for_workers(workers)
                start_s = time.perf_counter() - started
                on_cluster = RunSettings(engine="dask", dask_address=cluster.scheduler_address,
                                         dask_partitions=partitions)
                for warm in (False, True):   # new workers (imports on the first task), then warm
                    mined, stats, whole, timings = _mine(db, on_cluster)
                    runs["dask_warm" if warm else "dask"].append({
                        "mine_s": mined, "with_store_s": whole, "cluster_start_s": start_s,
                        "write_s": stats.write_s, "tasks_s": stats.tasks_s,
                        "merge_s": stats.merge_s, "task_seconds": stats.task_seconds,
                        "marts_write_s": stats.marts_write_s,
                        "marts_tasks_s": stats.marts_tasks_s,
                        "marts_task_seconds": stats.marts_task_seconds,
                        "marts_task_phases": stats.marts_task_phases, "timings": timings})
                # warm, waste detection only on the workers ([run] dask_case_marts = false)
                mined, stats, whole, timings = _mine(db, dataclasses.replace(
                    on_cluster, dask_case_marts=False))
                runs["dask_round1"].append({"mine_s": mined, "with_store_s": whole,
                                            "tasks_s": stats.tasks_s, "timings": timings})
        return {"events": n_events, "workers": workers, "partitions": partitions,
                "partition_events": sizes, "detect_in_process_s": detect_s,
                "detect_partition_in_process_s": part_s, "runs": runs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _tasks(rows: list[dict[str, Any]], seconds: str, total: str,
           pick: Callable[[list[float]], float]) -> tuple[float, float]:
    """(typical warm task seconds: `pick` over runs of each run's median task, dispatch:
    submit → results beyond the slowest task) of one round of partition tasks."""
    per_task = pick([statistics.median(r[seconds].values()) for r in rows])
    dispatch = pick([max(0.0, r[total] - max(r[seconds].values(), default=0.0)) for r in rows])
    return per_task, dispatch


def model(found: dict[str, Any], events: int, workers: int,
          pick: Callable[[list[float]], float] = min) -> dict[str, float]:
    """Predicted dask mine seconds for `events` events on `workers` warm workers (module doc)
    from the warm cluster runs; the local engine's linear extrapolation beside it. `pick`
    reduces the repeats of each measured quantity: min (default: on a shared machine other
    load only adds time) or statistics.median."""
    scale = events / found["events"]
    warm, local = found["runs"]["dask_warm"], found["runs"]["local"]

    def of(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
        return pick([value(r) for r in rows])

    def timing(*names: str) -> Callable[[dict[str, Any]], float]:
        return lambda r: sum(r["timings"].get(name, 0.0) for name in names)

    local_s = of(local, lambda r: r["mine_s"])
    measured = of(warm, lambda r: r["mine_s"] - timing("waste", "wait_case_marts")(r))
    moved = found["detect_in_process_s"] + of(
        local, timing("sql_waste", "sql_waste_evidence", "sql_case_kpis"))
    added = of(warm, lambda r: r["write_s"] + r["merge_s"] + r["marts_write_s"]
               + timing("sql_waste", "sql_case_kpis")(r))
    coord = local_s - moved + added
    meanwhile1 = of(warm, timing("variants"))
    meanwhile2 = of(warm, lambda r: max(0.0, r["marts_tasks_s"]
                                        - timing("wait_case_marts")(r)))
    parts = max(found["partitions"], workers)
    waves = math.ceil(parts / workers)
    t1, dispatch1 = _tasks(warm, "task_seconds", "tasks_s", pick)
    t2, dispatch2 = _tasks(warm, "marts_task_seconds", "marts_tasks_s", pick)
    round1 = waves * t1 * scale * found["partitions"] / parts + dispatch1
    round2 = waves * t2 * scale * found["partitions"] / parts + dispatch2
    total = (coord * scale + max(0.0, round1 - meanwhile1 * scale)
             + max(0.0, round2 - meanwhile2 * scale))
    return {"events": events, "workers": workers, "partitions": parts,
            "coordinator_s": coord * scale, "coordinator_measured_s": measured * scale,
            "moved_s": moved * scale, "added_s": added * scale, "detect_round_s": round1,
            "marts_round_s": round2, "tasks_s": round1 + round2, "total_s": total,
            "local_s": local_s * scale, "coordinator_share": coord / local_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--report", action="store_true",
                        help="as a child of bench.run: hand the results over (bench.measure)")
    args = parser.parse_args(argv)
    found = measure(args.store, args.workers, args.partitions, args.repeat)
    found["model"] = [model(found, events, workers) for events in (found["events"], 10**8)
                      for workers in (1, 2, 8, 32)]
    found["model_median"] = [model(found, events, workers, statistics.median)
                             for events in (found["events"], 10**8) for workers in (1, 2, 8, 32)]
    found["cluster_start_s"] = _median(found["runs"]["dask"], "cluster_start_s")
    if args.report:
        from bench.measure import report

        report(found)
    else:
        print(json.dumps(found, indent=1, default=float))
    if args.out:
        args.out.write_text(json.dumps(found, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
