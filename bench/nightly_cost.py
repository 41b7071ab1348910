"""Where a nightly's time goes, step by step, on a store of a given size (issue #20):
`python -m bench.nightly_cost --scale 1m [--repeats 3]`.

The same inputs as `make bench` (bench.samples: the cached sample of the scale, the +1 day
increment of ~30k events), the first full run once (kept in bench/cache/work/cost-<scale>/ and
reused while its marker is there; a copy of its store is put back before each measurement), then the nightly `--repeats` times, each onto the full
run's store (bench.run.measure_nightlies), in its own process. Besides the steps'
and mining's own timings, the parts that follow the history rather than the night are measured
on the store directly: the copy `store.writing` makes of the published file (size, free
blocks), and the file's tables by size. Prints and writes cost-<scale>/result.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import (
    NIGHTLY_EVENTS,
    ROOT,
    SCALES,
    link,
    log,
    make_workdir,
    measure,
    measure_nightlies,
    median_run,
)
from bench.samples import cases_for, ensure_increment, ensure_sample, sample_files


def store_facts(db: Path) -> dict[str, Any]:
    """Size of the published file, its free blocks, the copy's time and the biggest tables."""
    import duckdb

    facts: dict[str, Any] = {"bytes": db.stat().st_size}
    os.sync()
    copy = db.with_name(".cost-copy")
    started = time.perf_counter()
    shutil.copyfile(db, copy)
    facts["copy_s"] = round(time.perf_counter() - started, 3)
    copy.unlink()
    with duckdb.connect(str(db), read_only=True) as conn:
        total, free = conn.execute(
            "SELECT total_blocks, free_blocks FROM pragma_database_size()").fetchone()
        facts["blocks"], facts["free_blocks"] = total, free
        rows = conn.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
            "ORDER BY estimated_size DESC LIMIT 12").fetchall()
        facts["largest_tables_rows"] = dict(rows)
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1m", choices=sorted(SCALES))
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "cache")
    args = parser.parse_args(argv)
    cache: Path = args.cache
    work = cache / "work" / f"cost-{args.scale}"
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sample, _ = ensure_sample(cache, cases_for(SCALES[args.scale]), args.seed)
    increment = ensure_increment(cache, sample, cases_for(NIGHTLY_EVENTS), args.seed + 1)
    full_dir, marker, after_full = work / "full", work / ".full-complete", work / "after-full"
    out: dict[str, Any] = {"scale": args.scale}
    if not (marker.exists() and (after_full / "procmine.duckdb").exists()):
        make_workdir(full_dir, sample_files(sample))
        full = measure("full", "bench.stages", ["full", str(full_dir), "-"], full_dir, logs)
        out["full_run"] = full.as_dict()
        if not full.ok:
            print(json.dumps(out, indent=1))
            return 1
        link(increment, full_dir / "landing" / "servicenow" / increment.name)
        shutil.rmtree(after_full, ignore_errors=True)   # the store every measurement starts on
        after_full.mkdir(parents=True)
        shutil.copyfile(full_dir / "procmine.duckdb", after_full / "procmine.duckdb")
        shutil.copytree(full_dir / "dashboards", after_full / "dashboards")
        marker.write_text("ok")
    shutil.copyfile(after_full / "procmine.duckdb", full_dir / "procmine.duckdb")
    shutil.rmtree(full_dir / "dashboards", ignore_errors=True)
    shutil.copytree(after_full / "dashboards", full_dir / "dashboards")
    out["store"] = store_facts(full_dir / "procmine.duckdb")
    import bench.run as bench_run

    bench_run.NIGHTLY_REPEATS = args.repeats
    nightlies = measure_nightlies(full_dir, logs)
    out["nightly_samples"] = [n["wall_s"] for n in nightlies]
    out["nightly"] = median_run(nightlies)
    out["nightlies"] = nightlies
    (work / "result.json").write_text(json.dumps(out, indent=1, default=str))
    night = out["nightly"]
    log(f"{args.scale}: store {out['store']['bytes'] / 2**30:.2f} GiB (copy "
        f"{out['store']['copy_s']} s); nightly {out['nightly_samples']} s; steps "
        f"{night.get('steps')}; mining {night.get('mine_timings')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
