"""The benchmark harness: `python -m bench.run [--scales 100k,1m,10m]` (what `make bench` runs).

Per scale: a cached `procmine sample` export of about that many events; each stage (ingest,
validate, publish, mine, render) in a fresh child process on one database; pm4py's
equivalent computations on the same events (bench.pm4py_side); the first full run (`procmine
run --full`: CSV → dashboards) on a fresh database; the nightly run (+1 day of new incidents)
on top of it. Every child's wall time and own peak RSS (wait4 → ru_maxrss) is recorded.
Writes bench/results.json (scales measured earlier are kept) and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bpic14
from bench import report as report_mod
from bench.machine import machine_info, speed_probe, versions
from bench.measure import Measured, run_child
from bench.realshaped import LOADS, copies_for, ensure_realshaped
from bench.samples import cases_for, ensure_increment, ensure_sample, sample_files
from procmine.runtime import MALLOC_ENV

ROOT = Path(__file__).resolve().parents[1]
SCALES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000, "40m": 40_000_000}
NIGHTLY_EVENTS = 30_000
STAGE_ORDER = ("ingest", "validate", "publish", "mine", "render")
CORE_REPEATS = 3   # mining core and pm4py's variants + DFGs: the median of 3 runs each
NIGHTLY_REPEATS = 3   # the nightly: the median of 3 runs, each onto the full run's store
# pm4py's process gets the allocator behaviour procmine's tuned mining sets for itself
# (procmine/runtime.py): freed large blocks are reused instead of mapped and faulted in again
PM4PY_ENV = dict(MALLOC_ENV)
QUIET_FROM_EVENTS = 5_000_000  # scales this big wait for a quiet machine first
WORKDIR_CONFIG = """\
# procmine.toml of a benchmark workdir (written by bench/run.py)
[database]
path = "procmine.duckdb"

[paths]
landing = "landing"
dashboards = "dashboards"

[run]
prefect = "never"               # the in-process run: the same steps as the Prefect flow
"""


DASK_ENGINE = 'engine = "dask"             # a LocalCluster of [run] dask_workers (2)\n'


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def parse_scale(text: str) -> tuple[str, int]:
    key = text.strip().lower()
    if key in SCALES:
        return key, SCALES[key]
    events = int(float(key))
    return f"{events}", events


def label(key: str) -> str:
    return key.upper() if key[-1] in "km" else key


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def wait_for_quiet(threshold: float, max_wait_s: float, poll_s: float = 60) -> dict[str, Any]:
    """Poll the 1-minute load average until it drops below `threshold` (or give up)."""
    started = time.monotonic()
    seen = [load1()]
    while seen[-1] >= threshold and time.monotonic() - started < max_wait_s:
        log(f"load average {seen[-1]} ≥ {threshold}: waiting for a quieter machine "
            f"({time.monotonic() - started:.0f} of {max_wait_s:.0f} s)")
        time.sleep(poll_s)
        seen.append(load1())
    return {"threshold": threshold, "waited_s": round(time.monotonic() - started),
            "load1_at_start": seen[-1], "quiet": seen[-1] < threshold,
            "max_load1_seen": max(seen)}


def make_workdir(folder: Path, files: list[Path], source: str = "servicenow") -> Path:
    """A fresh folder with procmine.toml and landing/<source>/ holding `files` (hard links)."""
    shutil.rmtree(folder, ignore_errors=True)
    landing = folder / "landing" / source
    landing.mkdir(parents=True)
    (folder / "procmine.toml").write_text(WORKDIR_CONFIG, encoding="utf-8")
    for path in files:
        link(path, landing / path.name)
    return folder


def shown(path: Path) -> str:
    """A path as recorded in results.json: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def measure(name: str, module: str, args: list[str], workdir: Path, logs: Path,
            env: dict[str, str] | None = None) -> Measured:
    load = load1()
    log(f"{name}: start (load {load})")
    measured = run_child(name, ["-m", module, *args], cwd=workdir, log=logs / f"{name}.log",
                         env=env)
    measured.data["load1_before"] = load
    state = "ok" if measured.ok else f"FAILED ({measured.returncode}), see {logs / name}.log"
    log(f"{name}: {measured.wall_s:.1f} s, peak RSS {measured.peak_rss_bytes / 2**20:,.0f} MB, "
        f"{state}")
    return measured


def measure_nightlies(full_dir: Path, logs: Path) -> list[dict[str, Any]]:
    """The nightly NIGHTLY_REPEATS times, each onto the store and dashboards the full run
    left (kept aside before the first and put back before each other). Before each, the page
    cache is written back (`os.sync`): a nightly starts a day after the last write, not while
    the kernel still writes the previous run's (or the put-back copy's) 1.6 GB to disk."""
    kept = full_dir.parent / "before-nightly"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    shutil.copyfile(full_dir / "procmine.duckdb", kept / "procmine.duckdb")
    shutil.copytree(full_dir / "dashboards", kept / "dashboards")
    runs = []
    try:
        for repeat in range(NIGHTLY_REPEATS):
            if repeat:
                shutil.copyfile(kept / "procmine.duckdb", full_dir / "procmine.duckdb")
                shutil.rmtree(full_dir / "dashboards")
                shutil.copytree(kept / "dashboards", full_dir / "dashboards")
            os.sync()
            name = f"nightly_repeat_{repeat}" if repeat else "nightly"
            runs.append(measure(name, "bench.stages", ["nightly", str(full_dir), "-"],
                                full_dir, logs).as_dict())
            if not runs[-1]["ok"]:
                break
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    return runs


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, or the first that failed."""
    failed = [r for r in runs if not r["ok"]]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2]


def measurement_start(events: int, args: argparse.Namespace) -> dict[str, Any]:
    """How the machine was when a scale's measurement began: the wait for a quiet machine
    (large scales), the time, and the speed probe."""
    if events >= QUIET_FROM_EVENTS and not args.no_wait:
        machine_load = wait_for_quiet(args.quiet_load, args.max_wait_s)
    else:
        machine_load = {"load1_at_start": load1(), "waited_s": 0}
    return {"machine_load": machine_load,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "speed_probe_start": speed_probe()}


def bench_scale(key: str, events: int, args: argparse.Namespace) -> dict[str, Any]:
    cache: Path = args.cache
    cases = cases_for(events)
    out: dict[str, Any] = {"events_target": events, "cases": cases, "seed": args.seed}
    out.update(measurement_start(events, args))
    log(f"{label(key)}: sample of {cases:,} incidents (seed {args.seed})")
    sample, generated_s = ensure_sample(cache, cases, args.seed)
    files = sample_files(sample)
    out["sample"] = {"folder": shown(sample), "generated_s": generated_s,
                     "csv_bytes": sum(p.stat().st_size for p in files)}
    work = cache / "work" / key
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)

    # 1. each stage in its own process, on one database
    stages_dir = make_workdir(work / "stages", files)
    run_id = f"bench-{key}"
    stages: dict[str, Any] = {}
    for stage in STAGE_ORDER:
        measured = measure(stage, "bench.stages", [stage, str(stages_dir), run_id], stages_dir,
                           logs)
        stages[stage] = measured.as_dict()
        if not measured.ok:
            break
    out["stages"] = stages
    out["events"] = stages.get("publish", {}).get("core_events")
    # the mining core again (the same computation; the per-case marts find nothing changed),
    # so that the comparison with pm4py is a median of CORE_REPEATS runs on both sides
    if stages.get("mine", {}).get("ok"):
        samples = [stages["mine"]["core_s"]]
        for repeat in range(1, CORE_REPEATS):
            again = measure(f"mine_repeat_{repeat}", "bench.stages", ["mine", str(stages_dir),
                                                                      run_id], stages_dir, logs)
            if again.ok:
                samples.append(again.data["core_s"])
        out["mine_core_samples"] = samples

    # 2. pm4py on the same events (the stages database, after mining)
    if stages.get("mine", {}).get("ok") and not args.no_pm4py:
        top_k = max(1, int(stages["mine"].get("model_variants") or 1))
        out["pm4py"] = measure("pm4py", "bench.pm4py_side",
                               [str(stages_dir), str(top_k), str(CORE_REPEATS)], stages_dir,
                               logs, env=PM4PY_ENV).as_dict()
    # 2b. the Dask engine (LocalCluster of 2 processes) beside the local one (issue #21)
    if stages.get("mine", {}).get("ok") and args.dask:
        out["dask"] = measure("dask", "bench.dask_scaling",
                              [str(stages_dir / "procmine.duckdb"), "--report",
                               "--repeat", str(CORE_REPEATS)], stages_dir, logs).as_dict()
    if not args.keep_stage_db:
        (stages_dir / "procmine.duckdb").unlink(missing_ok=True)  # disk: the full run's copy

    # 3. the first full run, CSV → dashboards, on a fresh database; 4. the nightly on top
    if not args.no_runs:
        nightly_cases = cases_for(NIGHTLY_EVENTS)
        increment = ensure_increment(cache, sample, nightly_cases, args.seed + 1)
        out["nightly_file"] = {"path": shown(increment), "cases": nightly_cases,
                               "bytes": increment.stat().st_size}
        full_dir = make_workdir(work / "full", files)
        out["full_run"] = measure("full", "bench.stages", ["full", str(full_dir), "-"],
                                  full_dir, logs).as_dict()
        if out["full_run"]["ok"]:
            link(increment, full_dir / "landing" / "servicenow" / increment.name)
            nightlies = measure_nightlies(full_dir, logs)
            out["nightly_samples"] = [n["wall_s"] for n in nightlies]
            out["nightly"] = median_run(nightlies)
        db = full_dir / "procmine.duckdb"
        out["db_bytes"] = db.stat().st_size if db.exists() else None
        if args.dask and out["full_run"]["ok"]:   # the same first full run on --engine dask
            dask_dir = make_workdir(work / "full-dask", files)
            (dask_dir / "procmine.toml").write_text(WORKDIR_CONFIG + DASK_ENGINE,
                                                    encoding="utf-8")
            out["full_run_dask"] = measure("full_dask", "bench.stages",
                                           ["full", str(dask_dir), "-"], dask_dir,
                                           logs).as_dict()
            shutil.rmtree(dask_dir, ignore_errors=True)   # disk: a second 10M store
    out["load1_after"] = load1()
    out["speed_probe_end"] = speed_probe()
    return out


def bench_realshaped(key: str, events: int, args: argparse.Namespace) -> dict[str, Any]:
    """Issue #20's rows: the real BPIC 2013 log × N (bench.realshaped), loaded through its
    adapter and as a generic three-column CSV; per load: ingest, validate, publish, then the
    whole mine stage three times (the first on the fresh store, then with every case
    rewritten, the same work: stages.mine_all), pm4py's variants + DFG + performance DFG and
    r4pm's variants + DFG on the same events (each the median of three in its process)."""
    copies = copies_for(events)
    out: dict[str, Any] = {"copies": copies, "events_target": events}
    out.update(measurement_start(events, args))
    log(f"real-shaped {label(key)}: BPIC 2013 × {copies}")
    files, generated_s = ensure_realshaped(args.cache, copies)
    out["files"] = {load: {"path": shown(path), "bytes": path.stat().st_size}
                    for load, path in files.items()}
    out["generated_s"] = generated_s
    out["loads"] = {}
    for load, source in LOADS.items():
        work = args.cache / "work" / f"realshaped-{key}" / load
        logs = work / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        run_id = f"bench-realshaped-{key}-{load}"
        result: dict[str, Any] = {"source": source, "stages": {}}
        out["loads"][load] = result
        workdir = work / "stages"
        kept = workdir / "stages.json"   # the loading stages of the run that left the store
        if args.reuse_stores and kept.is_file() and (workdir / "procmine.duckdb").is_file():
            result["stages"] = json.loads(kept.read_text(encoding="utf-8"))
            result["reused_store"] = True
            log(f"{load}: the store of an earlier run (--reuse-stores)")
        else:
            workdir = make_workdir(workdir, [files[load]], source)
            for stage in ("ingest", "validate", "publish"):
                measured = measure(f"{load}_{stage}", "bench.stages",
                                   [stage, str(workdir), run_id], workdir, logs)
                result["stages"][stage] = measured.as_dict()
                if not measured.ok:
                    break
            else:
                kept.write_text(json.dumps(result["stages"]), encoding="utf-8")
        if all(result["stages"].get(s, {}).get("ok") for s in ("ingest", "validate", "publish")):
            result["events"] = result["stages"]["publish"].get("core_events")
            mines = []
            for repeat in range(CORE_REPEATS):   # pm4py and r4pm run between the repeats
                # the first on a fresh store rewrites every case; on a reused one, say so
                stage = "mine_all" if repeat or result.get("reused_store") else "mine"
                mines.append(measure(f"{load}_mine_{repeat}", "bench.stages",
                                     [stage, str(workdir), run_id], workdir, logs).as_dict())
                if not mines[-1]["ok"]:
                    break
                if not args.no_pm4py:
                    if repeat == 0:
                        result["pm4py"] = measure(   # top 0: no inductive miner here
                            f"{load}_pm4py", "bench.pm4py_side",
                            [str(workdir), "0", str(CORE_REPEATS)], workdir, logs,
                            env=PM4PY_ENV).as_dict()
                    if repeat == 1:
                        result["r4pm"] = measure(
                            f"{load}_r4pm", "bench.r4pm_side",
                            [str(workdir), str(CORE_REPEATS)], workdir, logs).as_dict()
            for child in mines:   # the stage inside its process: store copy + mining + publish
                child["stage_s"] = round(child.get("work_s", 0) + child.get("store_s", 0), 3)
            result["mine_runs"] = mines
            result["mine"] = median_run(
                [{**m, "wall_s": m["stage_s"]} for m in mines]) if mines else None
        if not args.keep_stage_db:
            (workdir / "procmine.duckdb").unlink(missing_ok=True)
    out["load1_after"] = load1()
    out["speed_probe_end"] = speed_probe()
    out["targets"] = report_mod.evaluate_realshaped(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="100k,1m,10m",
                        help="comma-separated: 100k, 1m, 10m or a number of events (100k: the "
                             "nightly's fixed floor, the same night onto a small store)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "cache")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--quiet-load", type=float, default=1.5,
                        help="1-minute load average to wait for before a 10M-scale run")
    parser.add_argument("--max-wait-s", type=float, default=2400)
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    parser.add_argument("--no-pm4py", action="store_true")
    parser.add_argument("--dask", action=argparse.BooleanOptionalAction, default=True,
                        help="the mine stage (bench/dask_scaling.py) and the first full run "
                             "also on --engine dask, a LocalCluster of 2 worker processes "
                             "(--no-dask: skip)")
    parser.add_argument("--no-runs", action="store_true", help="skip the full and nightly runs")
    parser.add_argument("--keep-stage-db", action="store_true")
    parser.add_argument("--reuse-stores", action="store_true",
                        help="real-shaped rows: mine the stores an earlier run kept "
                             "(--keep-stage-db) instead of loading the files again")
    parser.add_argument("--only", choices=("generated", "realshaped", "d2c"),
                        help="only the generated samples' scales, or only issue #20's "
                             "real-shaped log (BPIC 2013 × N) at each scale")
    parser.add_argument("--fresh", action="store_true",
                        help="drop results of scales not measured now")
    args = parser.parse_args(argv)
    scales = [parse_scale(s) for s in args.scales.split(",") if s.strip()]
    results: dict[str, Any] = {}
    if args.results.is_file() and not args.fresh:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    results.update({"machine": machine_info(), "versions": versions(ROOT),
                    "command": "python -m bench.run " + " ".join(argv or sys.argv[1:])})
    results.setdefault("scales", {})
    results.setdefault("realshaped", {})
    started = time.perf_counter()
    warm = run_child("warmup", ["-m", "bench.warmup"], cwd=ROOT,
                     log=args.cache / "work" / "warmup.log")
    log(f"bytecode cache warm-up: {warm.wall_s:.1f} s ({'ok' if warm.ok else 'FAILED'})")
    failed = []
    if args.only in (None, "realshaped"):
        for key, events in scales:
            scale_started = time.perf_counter()
            results["realshaped"][key] = bench_realshaped(key, events, args)
            results["realshaped"][key]["harness_s"] = round(time.perf_counter() - scale_started,
                                                            1)
            write(results, args)
            if not report_mod.realshaped_ran(results["realshaped"][key]):
                failed.append(f"realshaped-{key}")
    if args.only in (None, "d2c"):
        results["d2c"] = bench_d2c(scales, args)
        write(results, args)
        if not all(r.get("ok") for r in results["d2c"].values()):
            failed.append("d2c")
    if args.only in ("realshaped", "d2c"):
        log(f"done in {time.perf_counter() - started:.0f} s → {args.results}, {args.markdown}")
        return 1 if failed else 0
    for key, events in scales:
        scale_started = time.perf_counter()
        results["scales"][key] = bench_scale(key, events, args)
        results["scales"][key]["harness_s"] = round(time.perf_counter() - scale_started, 1)
        results["scales"][key]["targets"] = report_mod.evaluate(results["scales"][key])
        write(results, args)  # after each scale: a long run keeps what it measured
    log(f"done in {time.perf_counter() - started:.0f} s → {args.results}, {args.markdown}")
    failed += [k for k, _ in scales if not report_mod.all_ran(results["scales"][k])]
    return 1 if failed else 0


def bench_d2c(scales: list[tuple[str, int]], args: argparse.Namespace) -> dict[str, Any]:
    """Issue #18's rows: the BPIC 2014 full run (four tables, landing to dashboards) and, per
    scale, the share the linked marts add to the mine stage (bench.d2c, alternating runs)."""
    out: dict[str, Any] = {}
    data = ROOT.parent / "shared" / "data" / "itsm"
    if (data / bpic14.LANDING["bpic14"]).is_file():
        log("d2c: BPIC 2014 full run")
        out["bpic14"] = bpic14.measure_bpic14(args.cache / "work" / "bpic14", data)
    for key, events in scales:
        log(f"d2c: linked marts' share of the mine stage at {label(key)}")
        measured = run_child(f"d2c_{key}", ["-m", "bench.d2c", "--events", str(events),
                                            "--rounds", "3", "--cache", str(args.cache)],
                             cwd=ROOT, log=args.cache / "work" / key / "d2c.log")
        out[f"linked_{key}"] = {**measured.as_dict(), "scale": key}
    return out


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    results["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.results.with_name(args.results.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.results)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(report_mod.markdown(results), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
