"""r4pm (Rust4PM's Python package) on the same events, in its own process:
`python -m bench.r4pm_side WORKDIR [R]`.

core.events is exported to polars in procmine's canonical order (case, ts, source_file,
source_row, seq) and imported into r4pm's registry as an EventLog: both are timed but not
counted as r4pm's time (issue #20: "its import excluded"). Then, R times (default 3; each
figure the median of the R): variants (`log_to_activity_projection` + `get_variants`) and the
directly-follows graph (`discover_dfg`). r4pm computes no waiting times. The results are
compared with marts.variants and marts.transitions (exact counts).

r4pm is a benchmark-only dependency (uv dependency group `bench`, MIT or Apache-2.0).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.measure import medians, report, timed
from bench.pm4py_side import EXPORT_SQL
from procmine import store
from procmine.config import load_config

REPEATS = 3
CORE = ("variants", "discover_dfg")


def compare(conn: Any, variants: list[dict[str, Any]], dfg: dict[str, Any]) -> dict[str, Any]:
    """Differences between r4pm's results and the marts (zero mismatches: identical)."""
    ours_variants = {tuple(acts): count for acts, count in conn.execute(
        "SELECT activities, case_count FROM marts.variants").fetchall()}
    ours_dfg = {(a, b): n for a, b, n in conn.execute(
        "SELECT from_activity, to_activity, count FROM marts.transitions").fetchall()}
    theirs_variants = {tuple(v["activities"]): v["count"] for v in variants}
    theirs_dfg = {(pair[0], pair[1]): n for pair, n in dfg["directly_follows_relations"]}
    variant_diffs = [v for v in theirs_variants.keys() | ours_variants.keys()
                     if theirs_variants.get(v) != ours_variants.get(v)]
    dfg_diffs = [p for p in theirs_dfg.keys() | ours_dfg.keys()
                 if theirs_dfg.get(p) != ours_dfg.get(p)]
    return {"variants_r4pm": len(theirs_variants), "variants_procmine": len(ours_variants),
            "dfg_edges_r4pm": len(theirs_dfg), "dfg_edges_procmine": len(ours_dfg),
            "variant_count_mismatches": len(variant_diffs),
            "dfg_count_mismatches": len(dfg_diffs),
            "identical": not (variant_diffs or dfg_diffs),
            "examples": [str(x) for x in (variant_diffs + dfg_diffs)[:5]]}


def main(argv: list[str]) -> None:
    workdir = Path(argv[0])
    repeats = int(argv[1]) if len(argv) > 1 else REPEATS
    config = load_config(workdir / "procmine.toml")
    timings: dict[str, float] = {}
    conn = store.reading(config.db_path())
    try:
        frame = timed(timings, "export", lambda: conn.sql(EXPORT_SQL).pl())
        r4pm = timed(timings, "import", _import_r4pm)
        from r4pm import bindings

        log_id = timed(timings, "registry_import",
                        lambda: r4pm.import_item_from_df("EventLog", frame))
        samples: dict[str, list[float]] = {name: [] for name in CORE}
        variants: list[dict[str, Any]] = []
        dfg: dict[str, Any] = {}
        for _ in range(repeats):
            def projected() -> list[dict[str, Any]]:
                projection = bindings.log_to_activity_projection(log=log_id)
                try:
                    return bindings.get_variants(projection=projection)
                finally:
                    r4pm.remove_item(projection)

            variants = timed(timings, "variants", projected)
            dfg = timed(timings, "discover_dfg", lambda: bindings.discover_dfg(event_log=log_id))
            for name in CORE:
                samples[name].append(timings[name])
        core = medians(timings, samples)
        checked = compare(conn, variants, dfg)
        events = sum(len(v["activities"]) * v["count"] for v in variants)
    finally:
        conn.close()
    report({"events": events, "timings": timings, **core, "comparison": checked})


def _import_r4pm() -> Any:
    import r4pm

    return r4pm


if __name__ == "__main__":
    main(sys.argv[1:])
