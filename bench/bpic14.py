"""BPIC 2014 full run (issue #18): the four tables from a landing folder to dashboards.

`python -m bench.bpic14` lays out a work folder (examples/bpic2014/procmine.toml and the four
files of ../shared/data/itsm linked into data/landing/<source>/), runs `procmine run --full`
in a child exactly as bench.stages' `full` does (run_local: the same steps as the Prefect
flow), and prints its wall time, peak RSS, step times and counts beside the target (≤ 60 s).
Not part of `make bench` yet: `bench.run` can call `measure_bpic14` for a scale-free row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.measure import ROOT, run_child

TARGET_S = 60.0
LANDING = {
    "bpic14": "bpic14_incident_activity_eventlog_pmdemo.csv.gz",
    "bpic14_interactions": "bpic14_detail_interaction.csv.gz",
    "bpic14_incidents": "bpic14_detail_incident.csv.gz",
    "bpic14_changes": "bpic14_detail_change.csv.gz",
}


def make_workdir(folder: Path, data: Path) -> Path:
    """A fresh work folder: the example configuration and the landing links."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(ROOT / "examples" / "bpic2014" / "procmine.toml", folder / "procmine.toml")
    for landing, name in LANDING.items():
        target = folder / "data" / "landing" / landing
        target.mkdir(parents=True)
        (target / name).symlink_to((data / name).resolve())
    return folder


def measure_bpic14(work: Path, data: Path) -> dict[str, Any]:
    folder = make_workdir(work, data)
    load = os.getloadavg()[0]
    measured = run_child("bpic14_full", ["-m", "bench.stages", "full", str(folder), "-"],
                         cwd=ROOT, log=folder / "bpic14_full.log")
    result = measured.as_dict()
    result.update({"load1_before": round(load, 2), "target_s": TARGET_S,
                   "met": measured.ok and measured.wall_s <= TARGET_S})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bpic14",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "itsm")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "cache" / "bpic14")
    args = parser.parse_args(argv)
    # the children's bytecode cache (bench/cache/pycache) warmed first, as bench.run does:
    # cold, every child compiles pm4py, GX, pandas ... from source (30 s more)
    run_child("warmup", ["-m", "bench.warmup"], cwd=ROOT, log=args.work.parent / "warmup.log")
    result = measure_bpic14(args.work, args.data)
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
