"""The Detect-to-Correct links and chain marts' cost in the mine stage (issue #18: ≤ 25 %).

`python -m bench.d2c --events 1000000 --rounds 3` takes the cached `procmine sample` export
of that size (bench.samples: incidents with their problems and changes linked), loads it
once, then mines a fresh copy of the store alternately without and with the links and chain
marts (mine/d2c.py switched off by replacing its `start` and `build_heatmap` with no-ops) and
prints the median mine wall time of each and the share the marts add. Alternating runs keep
a loaded machine's drift out of the comparison. `make bench` runs it at each scale in a child
(bench.run's "Detect to Correct" rows), beside bench.bpic14's full run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.measure import report
from bench.samples import cases_for, ensure_sample, sample_files
from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from procmine.mine import d2c, mine

TARGET_SHARE = 0.25
CACHE = Path(__file__).resolve().parent / "cache"


def measure(events: int, rounds: int, seed: int = 7, cache: Path = CACHE) -> dict[str, float]:
    config = load_config()
    folder, _ = ensure_sample(cache, cases_for(events), seed)
    start, heatmap = d2c.start, d2c.build_heatmap
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as work:
        loaded, db = Path(work) / "loaded.duckdb", Path(work) / "mined.duckdb"
        ingest(config, loaded, "servicenow", sample_files(folder))
        try:
            for _ in range(rounds):
                for linked in (False, True):
                    d2c.start = start if linked else (lambda conn, settings: dict)
                    d2c.build_heatmap = heatmap if linked else (lambda conn: None)
                    shutil.copyfile(loaded, db)
                    conn = store.connect(db)
                    try:
                        started = time.perf_counter()
                        mine(conn, config, discover=False, incremental=False)
                        times[linked].append(time.perf_counter() - started)
                    finally:
                        conn.close()
        finally:
            d2c.start, d2c.build_heatmap = start, heatmap
    without, linked = statistics.median(times[False]), statistics.median(times[True])
    return {"without_s": without, "with_s": linked, "share": linked / without - 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    result = measure(args.events, args.rounds, cache=args.cache)
    report({**result, "events": args.events, "rounds": args.rounds,
                 "target_share": TARGET_SHARE, "met": result["share"] <= TARGET_SHARE})
    print(f"{args.events:,} events: mine {result['without_s']:.2f} s without the linked marts, "
          f"{result['with_s']:.2f} s with them: +{result['share']:.1%} "
          f"(target ≤ {TARGET_SHARE:.0%}; medians of {args.rounds} alternating runs)")


if __name__ == "__main__":
    main()
