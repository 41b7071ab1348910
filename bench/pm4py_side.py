"""pm4py on the same events, in its own process: `python -m bench.pm4py_side WORKDIR K [R]`.

core.events is exported to pandas in procmine's canonical order (case, ts, source_file,
source_row, seq) — the export is timed but not counted as pm4py's time — then pm4py's
get_variants, discover_dfg, discover_performance_dfg, R times (default 3; each figure is the
median of the R), and the inductive miner (IMf) on the top K variants (K = the variants
procmine's discovered model covers; K = 0 skips it). The results are compared with marts.variants and
marts.transitions: exact counts, waits within 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.measure import medians, report, timed
from procmine import store
from procmine.config import load_config

EXPORT_SQL = """
SELECT case_id AS "case:concept:name", activity AS "concept:name", ts AS "time:timestamp"
FROM core.events
ORDER BY case_id, ts, source_file, source_row, seq
"""
WAIT_TOLERANCE_S = 1.0
REPEATS = 3
CORE = ("get_variants", "discover_dfg", "discover_performance_dfg")


def compare(conn: Any, variants: dict[tuple[str, ...], int], dfg: dict[Any, int],
            performance: dict[Any, dict[str, float]]) -> dict[str, Any]:
    """Differences between pm4py's results and the marts (empty lists: identical)."""
    ours_variants = {tuple(acts): count for acts, count in conn.execute(
        "SELECT activities, case_count FROM marts.variants").fetchall()}
    ours = {(a, b): (n, median, mean) for a, b, n, median, mean in conn.execute(
        "SELECT from_activity, to_activity, count, median_wait_s, mean_wait_s "
        "FROM marts.transitions").fetchall()}
    variant_diffs = [v for v in set(variants) | set(ours_variants)
                     if variants.get(v) != ours_variants.get(v)]
    dfg_diffs = [pair for pair in set(dfg) | set(ours)
                 if dfg.get(pair) != (ours[pair][0] if pair in ours else None)]
    wait_diffs = []
    for pair, stats in performance.items():
        mine = ours.get(pair)
        if mine is None or abs(stats["median"] - mine[1]) > WAIT_TOLERANCE_S \
                or abs(stats["mean"] - mine[2]) > WAIT_TOLERANCE_S:
            wait_diffs.append(pair)
    return {
        "variants_pm4py": len(variants), "variants_procmine": len(ours_variants),
        "dfg_edges_pm4py": len(dfg), "dfg_edges_procmine": len(ours),
        "variant_count_mismatches": len(variant_diffs),
        "dfg_count_mismatches": len(dfg_diffs),
        "wait_mismatches": len(wait_diffs),
        "identical": not (variant_diffs or dfg_diffs or wait_diffs),
        "examples": [str(x) for x in (variant_diffs + dfg_diffs + wait_diffs)[:5]],
    }


def main(argv: list[str]) -> None:
    workdir, top_k = Path(argv[0]), int(argv[1])
    repeats = int(argv[2]) if len(argv) > 2 else REPEATS
    config = load_config(workdir / "procmine.toml")
    timings: dict[str, float] = {}
    conn = store.reading(config.db_path())
    try:
        frame = timed(timings, "export", lambda: conn.sql(EXPORT_SQL).df())
        pm4py = timed(timings, "import", _import_pm4py)
        keys = {"activity_key": "concept:name", "timestamp_key": "time:timestamp",
                "case_id_key": "case:concept:name"}
        samples: dict[str, list[float]] = {name: [] for name in CORE}
        for _ in range(repeats):
            variants = timed(timings, "get_variants", lambda: pm4py.get_variants(frame, **keys))
            dfg, _, _ = timed(timings, "discover_dfg",
                               lambda: pm4py.discover_dfg(frame, **keys))
            performance, _, _ = timed(timings, "discover_performance_dfg",
                                       lambda: pm4py.discover_performance_dfg(frame, **keys))
            for name in CORE:
                samples[name].append(timings[name])
        core = medians(timings, samples)
        settings_noise = float(config.section("mining").get("model_noise_threshold", 0.2))

        def inductive() -> Any:
            top = pm4py.filter_variants_top_k(frame, top_k, **keys)
            return pm4py.discover_process_tree_inductive(top, noise_threshold=settings_noise,
                                                         **keys)

        if top_k > 0:   # 0: the variants and DFGs only (issue #20's real-shaped rows)
            timed(timings, "inductive_top_variants", inductive)
        checked = compare(conn, variants, dfg, performance)
    finally:
        conn.close()
    report({"events": len(frame), "top_k": top_k, "timings": timings, **core,
            "comparison": checked})


def _import_pm4py() -> Any:
    """pm4py prints a banner on import; keep it out of the benchmark's output."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    return pm4py


if __name__ == "__main__":
    main(sys.argv[1:])
