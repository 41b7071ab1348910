"""The mine stage on the local engine beside `--engine dask` on a LocalCluster, with a scaling
model for N workers: `python -m bench.dask_scaling STORE [--workers 2] [--partitions 8]
[--repeat 1] [--out results.json]`.

`make bench BENCH_ARGS=--dask` runs it on each scale's stages database (results.json only).
STORE is a mined procmine database (e.g. a bench workdir's at 1M or 10M events); it is copied
(never changed). Measured on the copy, per engine: the whole mine stage (every case's rows
rewritten, no model discovery), and for dask: the cluster's start, the partitions' write, the
tasks (submit → every result back), each partition task's seconds on its worker, the merge.
Also in process: waste.detect on the whole log and on each partition, so the model can say
which part is distributed and what the rest costs.

Scaling model (printed and written with its inputs): for E events and N workers,

    T(N, E) = T_coord(E) + T_write(E) + T_merge(E) + T_tasks(N, E) + T_start
    T_tasks(N, E) = ceil(P / N) × t_part(E / P) + dispatch,   P = max(partitions, N)

with T_coord = the mine stage without the waste detection (local mine − detect; runs on the
coordinator whatever N is), T_write, T_merge and t_part linear in events (per-event costs
measured here), dispatch = the measured task round trip minus the slowest partition. It
assumes balanced partitions (md5 of case ids: within a few % at 1M events), workers as fast
as this machine's cores, and a shared file system as fast as the local disk.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
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


def _mine(db: Path, settings: RunSettings) -> tuple[float, Any, float]:
    """(mine seconds, the dask engine's stats or None, seconds with the store's copy)."""
    config = load_config()
    started = time.perf_counter()
    with store.writing(db) as conn, engine(conn, settings, db) as detector:
        opened = time.perf_counter()
        mine(conn, config, discover=False, incremental=False, detector=detector)
        mined = time.perf_counter() - opened
    return mined, (detector.stats if detector is not None else None), time.perf_counter() - started


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
        runs: dict[str, list[dict[str, Any]]] = {"local": [], "dask": [], "dask_warm": []}
        for _ in range(repeat):
            mined, _, whole = _mine(db, local)
            runs["local"].append({"mine_s": mined, "with_store_s": whole})
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
                    mined, stats, whole = _mine(db, on_cluster)
                    runs["dask_warm" if warm else "dask"].append({
                        "mine_s": mined, "with_store_s": whole, "cluster_start_s": start_s,
                        "write_s": stats.write_s, "tasks_s": stats.tasks_s,
                        "merge_s": stats.merge_s, "task_seconds": stats.task_seconds})
        return {"events": n_events, "workers": workers, "partitions": partitions,
                "partition_events": sizes, "detect_in_process_s": detect_s,
                "detect_partition_in_process_s": part_s, "runs": runs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def model(found: dict[str, Any], events: int, workers: int) -> dict[str, float]:
    """Predicted dask mine seconds for `events` events on `workers` warm workers (module doc):
    partition compute from the in-process per-partition detect times, per-task overhead and
    dispatch from the warm cluster run, the rest of the stage from the local engine."""
    scale = events / found["events"]
    warm, local = found["runs"]["dask_warm"], found["runs"]["local"]
    coord = _median(local, "mine_s") - found["detect_in_process_s"]
    write, merge = _median(warm, "write_s"), _median(warm, "merge_s")
    compute = found["detect_partition_in_process_s"]   # per partition, this machine
    per_event = sum(compute) / found["events"]
    overhead = statistics.median(   # per task: read + unpickle + return, beyond compute
        statistics.median(max(0.0, t - c) for t, c in zip(
            (r["task_seconds"][str(p)] if str(p) in r["task_seconds"] else r["task_seconds"][p]
             for p in range(len(compute))), compute, strict=True)) for r in warm)
    parts = max(found["partitions"], workers)
    per_part = per_event * events / parts + overhead * scale * found["partitions"] / parts
    dispatch = max(0.0, _median(warm, "tasks_s") - statistics.median(
        max(r["task_seconds"].values()) for r in warm))
    tasks = math.ceil(parts / workers) * per_part + dispatch
    total = (coord + write + merge) * scale + tasks
    return {"events": events, "workers": workers, "partitions": parts,
            "coordinator_s": coord * scale, "write_s": write * scale, "merge_s": merge * scale,
            "tasks_s": tasks, "total_s": total,
            "local_s": _median(local, "mine_s") * scale}


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
