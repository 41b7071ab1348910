"""Targets of issue #8 (and #4's validation memory) judged on the measured figures, and
BENCHMARKS.md rendered from results.json (plus the hand-written bench/analysis.md)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

GB = 10**9
ANALYSIS = Path(__file__).with_name("analysis.md")
PROCMINE_CHILDREN = ("ingest", "validate", "publish", "mine", "render")
STEP_ORDER = ("open", "pull", "extract", "load", "mine", "render", "finish", "publish",
              "publish-dashboards")
MINE_ORDER = ("load", "variants", "sql_variants", "sql_transitions", "waste", "conformance",
              "core", "sql_waste", "write_waste", "write_other_marts", "model")


def _ordered(timings: dict[str, float], order: tuple[str, ...]) -> list[tuple[str, float]]:
    """Known keys in pipeline order, then any others as they come."""
    known = [(k, timings[k]) for k in order if k in timings]
    return known + [(k, v) for k, v in timings.items() if k not in order]

# Why a target is missed, in plain words (kept next to the figures it explains; written from
# the profile in bench/analysis.md). Shown only when the target is not met.
GAP_CAUSES: dict[str, str] = {
    "mining_vs_pm4py": "results are identical; the core's ratio stays near 6x on a quiet "
                       "machine: 5.7x on 2026-12-07 evening (5.5 s vs 31.4 s), 5.6x that "
                       "morning (3.8 s vs 21.5 s); 10.3x on 2026-12-06 only because pm4py's "
                       "side took 50.5 s on a loaded machine (each side the median of three "
                       "runs; see Analysis)",
    "full_run": "the load step is most of it (2026-12-07 evening: 151.7 of 194.6 s; by an "
                "earlier profile at 10M: raw's append 38 %, the ServiceNow normalise 41 %, "
                "publishing core 15 %, GX 4 %): ingest stores every exported column of 13.3M "
                "snapshot rows in raw (~4.5 CPU s per 1M rows, no cheaper storage setting "
                "found) and derives events with a window sort (see Analysis)",
    "nightly": "a floor that any nightly pays plus what follows the history: the same night "
               "onto 100k events took 14-17 s on 2026-12-08 (the 100K column when measured; "
               "over half its CPU is importing Great Expectations and pm4py into a fresh "
               "process and drawing the charts' PNGs); above it, open, mine and render follow "
               "the history (docs/partitions.md): 2026-12-07 evening at 10M, mine 15.6 s (the "
               "core over all 10M events 6.5 s, the aggregate marts 5.1 s, d2c's links and "
               "chain marts from every record 6.2 s in their thread), load 7.5 s, render "
               "6.5 s, the private copy 2.2 s; the partitioned history that would make it "
               "follow the night is built to slice 1 of 4 (see Analysis)",
    "peak_rss": "DuckDB's memory_limit (store.connect) bounds the engine; the rest is Python",
    "validate_rss": "GX's pandas batches: lower [validation] batch_rows",
}


def _get(scale: dict[str, Any], *path: str) -> Any:
    node: Any = scale
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def mining_core_s(scale: dict[str, Any]) -> float | None:
    """procmine's mining core: the median of the mine stage's runs (one before 2026-11-24)."""
    samples = scale.get("mine_core_samples")
    if samples:
        return statistics.median(samples)
    return _get(scale, "stages", "mine", "core_s")


def _samples(values: list[float] | None) -> str:
    return ", ".join(f"{v:.2f}" for v in values) if values else ""


def evaluate(scale: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: figure, target, measured value (text), met (bool or None)."""
    rows = []
    ours = mining_core_s(scale)
    theirs = _get(scale, "pm4py", "core_s")
    identical = _get(scale, "pm4py", "comparison", "identical")
    ratio = theirs / ours if ours and theirs else None
    rows.append({
        "id": "mining_vs_pm4py",
        "figure": "mining (variants + transitions + waste) vs pm4py (variants + DFG + "
                  "performance DFG)",
        "target": "≥ 10× faster, identical results",
        "measured": (f"{ratio:.1f}× ({ours:.1f} s vs {theirs:.1f} s); results "
                     + ("identical" if identical else "DIFFERENT")) if ratio else "not measured",
        "met": (ratio >= 10 and bool(identical)) if ratio else None,
        "value": round(ratio, 2) if ratio else None,
    })
    full = _get(scale, "full_run")
    full_ok = bool(full and full.get("ok") and full.get("mined") and full.get("rendered"))
    rows.append({
        "id": "full_run",
        "figure": "first full run, CSV to dashboards (`procmine run --full`)",
        "target": "≤ 120 s",
        "measured": _seconds(full) + ("" if full_ok or not full else
                                      " (run did not complete every step: see below)"),
        "met": (full["wall_s"] <= 120 and full_ok) if full else None,
        "value": full["wall_s"] if full else None,
    })
    nightly = _get(scale, "nightly")
    rows.append({
        "id": "nightly",
        "figure": "incremental nightly, +1 day (~30k events) onto the store",
        "target": "≤ 15 s",
        "measured": _seconds(nightly) + (
            f", +{nightly.get('events_loaded', 0):,} events" if nightly else "") + (
            f" (median of {_samples(scale['nightly_samples'])} s)"
            if len(scale.get("nightly_samples") or []) > 1 else ""),
        "met": (nightly["wall_s"] <= 15 and nightly.get("ok", False)) if nightly else None,
        "value": nightly["wall_s"] if nightly else None,
    })
    peaks = {name: child["peak_rss_bytes"] for name, child in _children(scale).items()}
    worst = max(peaks, key=lambda k: peaks[k]) if peaks else None
    rows.append({
        "id": "peak_rss",
        "figure": "peak RSS, any stage",
        "target": "≤ 6 GB",
        "measured": f"{peaks[worst] / GB:.2f} GB ({worst})" if worst else "not measured",
        "met": peaks[worst] <= 6 * GB if worst else None,
        "value": peaks[worst] if worst else None,
    })
    validate = _get(scale, "stages", "validate")
    rows.append({
        "id": "validate_rss",
        "figure": "validation of the staged events, peak RSS (issue #4)",
        "target": "< 3 GB",
        "measured": f"{validate['peak_rss_bytes'] / GB:.2f} GB" if validate else "not measured",
        "met": validate["peak_rss_bytes"] < 3 * GB if validate else None,
        "value": validate["peak_rss_bytes"] if validate else None,
    })
    return rows


def _children(scale: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: scale["stages"][name] for name in PROCMINE_CHILDREN
             if name in scale.get("stages", {})}
    for name in ("full_run", "nightly"):
        if scale.get(name):
            found[name] = scale[name]
    return found


def all_ran(scale: dict[str, Any]) -> bool:
    children = list(_children(scale).values())
    if scale.get("pm4py"):
        children.append(scale["pm4py"])
    return bool(children) and all(c.get("ok") for c in children) and \
        len(scale.get("stages", {})) == len(PROCMINE_CHILDREN)


def _seconds(child: dict[str, Any] | None) -> str:
    if not child:
        return "not measured"
    return f"{child['wall_s']:.1f} s" + ("" if child.get("ok") else " (FAILED)")


def _mb(child: dict[str, Any] | None) -> str:
    return f"{child['peak_rss_bytes'] / 2**20:,.0f} MiB" if child else "–"


def _load(child: dict[str, Any]) -> str:
    """The 1-minute load average when the process started (2 cores: above 2 = shared)."""
    value = child.get("load1_before")
    return f"{value:.1f}" if isinstance(value, int | float) else "–"


def _status(met: bool | None) -> str:
    return {True: "met", False: "**gap**", None: "not measured"}[met]


def _scale_title(key: str) -> str:
    return key.upper() if key[-1:] in "km" else f"{int(key):,}"


STAGE_NOTES = {
    "ingest": "files → raw.<source> → staging.events (+ mappings)",
    "validate": "GX suites (row, case, batch level) + quarantine + data docs",
    "publish": "staging → core.events / core.cases, and the mining index (core.event_codes)",
    "mine": "every mart + discovered model (pm4py IMf)",
    "render": "every dashboard page + a PNG per chart",
}


def _stage_note(name: str, child: dict[str, Any]) -> str:
    note = STAGE_NOTES.get(name, "")
    extra = []
    if name == "validate" and "validate_s" in child:
        extra.append(f"validate_staged {child['validate_s']:.1f} s, data docs "
                     f"{child['data_docs_s']:.1f} s, {child.get('quarantined', 0):,} quarantined")
    if name == "mine" and child.get("timings"):
        timings = child["timings"]
        extra.append(", ".join(f"{k} {v:.1f}" for k, v in _ordered(timings, MINE_ORDER))
                     + " s")
    if name == "ingest" and "staged_events" in child:
        extra.append(f"{child.get('raw_rows', 0):,} raw rows → {child['staged_events']:,} events")
    if name == "render" and "pages" in child:
        extra.append(f"{child['pages']} HTML pages, {child['pngs']} PNGs")
    if "store_s" in child:
        extra.append(f"store copy/checkpoint/publish {child['store_s']:.1f} s")
    if not child.get("ok"):
        extra.append("FAILED: " + (child.get("error") or "").splitlines()[-1][:200]
                     if child.get("error") else "FAILED")
    return note + ("; " + "; ".join(extra) if extra else "")


def _probe_note(scale: dict[str, Any]) -> str:
    """The machine's speed probe (bench.machine.speed_probe) at the start and end of a scale."""
    start, end = scale.get("speed_probe_start"), scale.get("speed_probe_end")
    if not start:
        return ""

    def text(probe: dict[str, float]) -> str:
        return (f"1 GiB of fresh memory {probe['fault_1gib_s']:.2f} s, sort of 10M integers "
                f"{probe['sort_10m_s']:.2f} s, 3M Python loop steps {probe['python_3m_s']:.2f} s")

    return (f" Speed probe at the start: {text(start)}"
            + (f"; at the end: {text(end)}" if end else "") + ".")


def _scale_section(key: str, scale: dict[str, Any]) -> list[str]:
    sample = scale.get("sample", {})
    events = scale.get("events") or scale.get("events_target")
    load = scale.get("machine_load", {})
    lines = [
        f"### {_scale_title(key)} events",
        "",
        f"{events:,} events in core from {scale['cases']:,} generated incidents (seed "
        f"{scale['seed']}; {sample.get('csv_bytes', 0) / 2**30:.2f} GiB of CSV"
        + (f", generated in {sample['generated_s']:.0f} s" if sample.get("generated_s") else
           ", from the cache") + f"). Measured {scale.get('measured_at', '?')}; 1-minute load "
        f"average {load.get('load1_at_start', '?')} at the start"
        + (f" (waited {load['waited_s']} s for < {load['threshold']})"
           if load.get("waited_s") else "") + f", {scale.get('load1_after', '?')} at the end."
        + _probe_note(scale),
        "",
        "| stage | wall s | peak RSS | load before | what / inner timings |",
        "|---|--:|--:|--:|---|",
    ]
    for name in PROCMINE_CHILDREN:
        child = scale.get("stages", {}).get(name)
        if child:
            lines.append(f"| {name} | {child['wall_s']:.1f} | {_mb(child)} | {_load(child)} | "
                         f"{_stage_note(name, child)} |")
    for name, title in (("full_run", "**first full run** (`procmine run --full`)"),
                        ("nightly", "**nightly** (`procmine run`, +1 day)"),
                        ("full_run_dask", "**first full run, `--engine dask`** "
                                          "(LocalCluster(2))")):
        child = scale.get(name)
        if child:
            steps = ", ".join(f"{k} {v:.1f}" for k, v in
                              _ordered(child.get("steps", {}), STEP_ORDER) if not k.endswith("_s"))
            what = (f"{child.get('status', '?')}; +{child.get('events_loaded', 0):,} events; "
                    f"steps (s): {steps}") if child.get("ok") else _stage_note(name, child)
            lines.append(f"| {title} | {child['wall_s']:.1f} | {_mb(child)} | {_load(child)} | "
                         f"{what} |")
    pm = scale.get("pm4py")
    if pm:
        lines += ["", *_pm4py_table(scale, pm)]
    dask = scale.get("dask")
    if dask:
        lines += ["", *_dask_table(dask)]
    return lines


def _dask_table(dask: dict[str, Any]) -> list[str]:
    """The mine stage on the local engine beside --engine dask (bench/dask_scaling.py),
    medians over the repeats, and its scaling model's prediction at 100M events."""
    if not dask.get("ok"):
        return [f"Dask engine: failed ({dask.get('error', '?')})."]
    runs = dask.get("runs", {})

    def span(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f} s" if values else "–"

    def median(kind: str, key: str = "mine_s") -> str:
        values = [r[key] for r in runs.get(kind, []) if r.get(key) is not None]
        return f"{statistics.median(values):.1f} s" if values else "–"

    tasks = [t for r in runs.get("dask_warm", []) for t in r.get("task_seconds", {}).values()]
    marts = [t for r in runs.get("dask_warm", [])
             for t in r.get("marts_task_seconds", {}).values()]
    model = {(m["events"], m["workers"]): m for m in dask.get("model_median", [])}
    predicted = ", ".join(
        f"{workers} workers {model[(10**8, workers)]['total_s']:.0f} s"
        for workers in (8, 32) if (10**8, workers) in model)
    local_100m = model.get((10**8, 8), {}).get("local_s")
    share = next(iter(model.values()), {}).get("coordinator_share")
    return [
        f"Mine stage, local engine beside `--engine dask` on a LocalCluster of "
        f"{dask.get('workers', 2)} worker processes, {dask.get('partitions', '?')} partitions "
        f"(`bench/dask_scaling.py`, medians of {len(runs.get('local', []))}; every case "
        "rewritten, no model discovery):",
        "",
        "| local | dask, new workers | dask, warm | dask warm, round 1 only "
        "(`dask_case_marts = false`) | round 1 / round 2 task per partition (warm) |",
        "|--:|--:|--:|--:|---|",
        f"| {median('local')} | {median('dask')} | {median('dask_warm')} | "
        f"{median('dask_round1')} | {span(tasks)} / {span(marts)} |",
        "",
        f"Scaling model (medians; the module docstring states its assumptions): the "
        f"coordinator's share of the local stage {share:.2f}; at 100M events {predicted}"
        + (f", local (linear) {local_100m:.0f} s." if local_100m else ".")
        if share is not None else "Scaling model: not computed.",
    ]


def _pm4py_table(scale: dict[str, Any], pm: dict[str, Any]) -> list[str]:
    if not pm.get("ok"):
        return [f"pm4py side: FAILED ({(pm.get('error') or '').splitlines()[-1:]})"]
    t = pm["timings"]
    mine = scale["stages"]["mine"]
    mt = mine.get("timings", {})
    comparison = pm["comparison"]
    ours_core = mining_core_s(scale)
    ours_samples, theirs_samples = scale.get("mine_core_samples"), pm.get("core_samples")

    def ratio(theirs: float, ours: float | None) -> str:
        return f"{theirs / ours:.1f}×" if ours else "–"

    lines = [
        f"pm4py {pm['events']:,} events, same run, same database (pandas frame in canonical "
        f"order; peak RSS of the pm4py process {_mb(pm)}). Export core.events → pandas "
        f"{t['export']:.1f} s and `import pm4py` {t['import']:.1f} s are not counted.",
        *([f"Each side's figure is the median of {len(theirs_samples)} runs: pm4py "
           f"{_samples(theirs_samples)} s (in its process, one after the other), procmine "
           f"{_samples(ours_samples)} s (the mine stage run again in a fresh process each "
           "time)."] if ours_samples and theirs_samples else []),
        "",
        "| computation | pm4py s | procmine s | pm4py / procmine |",
        "|---|--:|--:|--:|",
        f"| get_variants | {t['get_variants']:.2f} | | |",
        f"| discover_dfg | {t['discover_dfg']:.2f} | | |",
        f"| discover_performance_dfg | {t['discover_performance_dfg']:.2f} | | |",
        f"| **variants + DFG + performance DFG** vs procmine variants + transitions + waste "
        f"(read the store's mining index; variants and transitions marts written; every waste "
        f"instance, deviations included, with hours and cost) | **{pm['core_s']:.2f}** | "
        f"**{ours_core:.2f}** | **{ratio(pm['core_s'], ours_core)}** |",
        f"| same, plus writing marts.waste (one labelled row per waste instance) | "
        f"{pm['core_s']:.2f} | {ours_core + mt.get('write_waste', 0):.2f} | "
        f"{ratio(pm['core_s'], ours_core + mt.get('write_waste', 0))} |",
        f"| same, against the whole mine stage (every mart + model, process wall) | "
        f"{pm['core_s']:.2f} | {mine['wall_s']:.2f} | {ratio(pm['core_s'], mine['wall_s'])} |",
        f"| inductive miner (IMf) on the top {pm['top_k']} variants | "
        f"{t['inductive_top_variants']:.2f} | {mt.get('model', 0):.2f} | "
        f"{ratio(t['inductive_top_variants'], mt.get('model'))} |",
        "",
        f"Results: {comparison['variants_pm4py']:,} variants (procmine "
        f"{comparison['variants_procmine']:,}), {comparison['dfg_edges_pm4py']:,} DFG edges "
        f"(procmine {comparison['dfg_edges_procmine']:,}); mismatched variant counts "
        f"{comparison['variant_count_mismatches']}, DFG counts "
        f"{comparison['dfg_count_mismatches']}, waits (median or mean off by > 1 s) "
        f"{comparison['wait_mismatches']} → **"
        + ("identical" if comparison["identical"] else "DIFFERENT: "
           + "; ".join(comparison["examples"])) + "**.",
    ]
    return lines


QUIET_PROBE_S = 0.6   # first writes to 1 GiB of fresh memory on this machine when quiet
LOADED_PROBE_S = 1.5  # above this the figures are not comparable with a quiet run's


def markdown(results: dict[str, Any]) -> str:
    scales = results.get("scales", {})
    machine, versions = results.get("machine", {}), results.get("versions", {})
    order = sorted(scales, key=lambda k: scales[k].get("events_target", 0))
    headline = next((k for k in reversed(order) if scales[k].get("events_target", 0) >= 10**7),
                    order[-1] if order else None)
    lines = [
        "# procmine benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.run`) from `bench/results.json`; the "
        "analysis section is `bench/analysis.md`. Every stage runs in a fresh process: wall "
        "time is the process's, peak RSS is its own maximum resident set (wait4 → ru_maxrss).",
        "",
    ]
    if headline:
        others = [k for k in order if k != headline]
        lines += [f"## Targets (issue #8), measured at {_scale_title(headline)} events", "",
                  "| figure | target | measured | status |"
                  + "".join(f" at {_scale_title(k)} |" for k in others),
                  "|---|---|---|---|" + "---|" * len(others)]
        probe = (scales[headline].get("speed_probe_start") or {}).get("fault_1gib_s")
        loaded = probe is not None and probe > LOADED_PROBE_S
        if loaded:
            lines[-2:-2] = [
                f"**Measured on a loaded machine**: the speed probe's first writes to 1 GiB of "
                f"fresh memory took {probe:.1f} s (about {QUIET_PROBE_S} s when this machine "
                "is quiet), so every wall time below is inflated by that factor or more; a gap "
                "here is the machine's, and figures compare only side by side within one run "
                "(see Analysis).", ""]
        for row in scales[headline].get("targets") or evaluate(scales[headline]):
            cause = ("the machine was loaded (speed probe above)" if loaded
                     else GAP_CAUSES.get(row["id"], "")) if row["met"] is False else ""
            smaller = "".join(
                f" {next((r['measured'] for r in evaluate(scales[k]) if r['id'] == row['id']), '')} |"
                for k in others)
            lines.append(f"| {row['figure']} | {row['target']} | {row['measured']} | "
                         f"{_status(row['met'])}{': ' + cause if cause else ''} |{smaller}")
        lines.append("")
    realshaped = results.get("realshaped") or {}
    if realshaped:
        lines += ["## Real-shaped log (issue #20): the whole mine stage vs pm4py and r4pm", ""]
        for key in sorted(realshaped, key=lambda k: realshaped[k].get("events_target", 0),
                          reverse=True):
            lines += [*_realshaped_section(key, realshaped[key]), ""]
    if results.get("d2c"):
        lines += [*_d2c_section(results["d2c"]), ""]
    lines += ["## Results per scale", ""]
    for key in order:
        lines += [*_scale_section(key, scales[key]), ""]
    if ANALYSIS.is_file():
        lines += [ANALYSIS.read_text(encoding="utf-8").rstrip(), ""]
    lines += [
        "## Machine",
        "",
        f"- {machine.get('nproc', '?')} cores ({machine.get('cpu_model', '?')}), "
        f"{machine.get('ram_gib', '?')} GiB RAM, Linux {machine.get('kernel', '?')}",
        f"- DuckDB as procmine's store opens it: threads = {machine.get('duckdb_threads', '?')}, "
        f"memory_limit = {machine.get('duckdb_memory_limit', '?')} (DuckDB's own default: 80 % "
        f"of RAM); polars thread pool {machine.get('polars_threads', '?')}",
        "- shared with other engineers' test runs: see the load averages per scale above",
        "",
        "## Versions",
        "",
        "| package | version |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in versions.items()],
        "",
        "## How to reproduce",
        "",
        "```",
        "make bench                                   # install, then 100k, 1M and 10M (≈ 55 min)",
        ".venv/bin/python -m bench.run --scales 1m    # one scale; others stay in results.json",
        ".venv/bin/python -m bench.run --scales 100k --no-wait   # the CI smoke size",
        ".venv/bin/python -m bench.run --only realshaped --scales 10m   # issue #20's rows only",
        ".venv/bin/python -m bench.run --only d2c --scales 10m   # issue #18's rows only",
        ".venv/bin/python -m bench.run --scales 10m --no-dask   # without issue #21's Dask rows",
        "```",
        "",
        "Samples are generated with `procmine sample` (≈ 7.9 events per incident) and cached in "
        "`bench/cache/samples/`, keyed by (incidents, seed, hash of `procmine/sample.py`). The "
        "nightly increment is one more export file: a small sample of another seed with record "
        "numbers moved out of the base range and dates moved after the base export. Workdirs, "
        "databases and per-stage logs are in `bench/cache/work/<scale>/`. A 10M run waits "
        "(up to 40 min) for a 1-minute load average below 1.5 first (`--no-wait` skips). "
        "The real-shaped log (BPIC 2013 × N, bench/realshaped.py) is written once into "
        "`bench/cache/realshaped/`; `--keep-stage-db` keeps its stores and `--reuse-stores` "
        "mines them again without loading.",
        "",
        "The workdirs' `procmine.toml` (written by `bench/run.py`) runs the pipeline in-process "
        "(`[run] prefect = \"never\"`: the same steps the Prefect flow runs as tasks, without a "
        "server); everything else is procmine's shipped defaults.",
        "",
    ]
    return "\n".join(lines)


# --- issue #20: the real-shaped log (bench.realshaped), the whole mine stage vs its peers ---

REALSHAPED_LOADS = {"adapter": "BPIC 2013 × {copies} through its adapter (`--source bpic2013`)",
                    "csv": "the same log as a three-column generic CSV (`--source csv`)"}
# Why a real-shaped target is missed (from the per-step timings in bench/analysis.md)
REALSHAPED_GAP_CAUSES: dict[str, str] = {
    "mine_vs_pm4py": "the stage writes 15 marts and a model, not three dicts: on 2026-12-07 "
                     "evening through the adapter (24.5 s, quiet machine) writing marts.waste "
                     "8.3 s (5.06M rows with their text columns), the other marts 6.5 s "
                     "(case_kpis 3.2 s), the model 5.5 s in its thread, the core 4.3 s; the "
                     "CSV load's stage 19.6 s against pm4py's 28.5 s (see Analysis)",
    "mine_vs_r4pm": "r4pm counts variants and DFG edges in Rust on a log already in its "
                    "registry (its import excluded): 5.2 s through the adapter on 2026-12-07 "
                    "evening; the mine stage's core alone (read the index, variants, every "
                    "waste instance) took 4.1-5.3 s beside it, the marts and model the rest "
                    "(see Analysis)",
}


def _stage_s(child: dict[str, Any] | None) -> float | None:
    return child.get("stage_s") if child and child.get("ok") else None


def _d2c_section(d2c: dict[str, Any]) -> list[str]:
    """Issue #18's rows: the BPIC 2014 full run and the linked marts' share of mining."""
    lines = ["## Detect to Correct across records (issue #18)", "",
             "| figure | target | measured | status |", "|---|---|---|---|"]
    full = d2c.get("bpic14")
    if full:
        measured = (f"{full['wall_s']:.1f} s (peak RSS {full['peak_rss_mb']:,.0f} MiB; "
                    f"load average {full.get('load1_before', '?')} before)"
                    if full.get("ok") else f"failed: {str(full.get('error', ''))[-200:]}")
        lines.append("| BPIC 2014 full run, four tables from landing to dashboards "
                     f"(`procmine run --full`, examples/bpic2014) | ≤ 60 s | {measured} | "
                     f"{_status(bool(full.get('met')))} |")
    for key, row in d2c.items():
        if not key.startswith("linked_"):
            continue
        if not row.get("ok"):
            lines.append(f"| linked marts' share of the mine stage, {row['scale']} | ≤ 25 % | "
                         f"failed: {str(row.get('error', ''))[-200:]} | **gap** |")
            continue
        lines.append(
            f"| the links and Detect-to-Correct marts' share of the mine stage, generated "
            f"{row['events']:,} events with problems and changes linked | ≤ 25 % | "
            f"+{row['share']:.1%} ({row['without_s']:.2f} s without, {row['with_s']:.2f} s "
            f"with; medians of {row['rounds']} alternating runs) | {_status(row['met'])} |")
    return lines


def realshaped_ran(entry: dict[str, Any]) -> bool:
    loads = entry.get("loads", {})
    return bool(loads) and all(
        load.get("mine") and load["mine"].get("ok")
        and all(load.get(side, {"ok": True}).get("ok") for side in ("pm4py", "r4pm"))
        for load in loads.values())


def evaluate_realshaped(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The target rows of issue #20 on the real-shaped log: the whole mine stage (median of
    three, inside its process: store copy, every mart, model, publish) against pm4py's
    variants + DFG + performance DFG (≥ 5×) and r4pm's variants + DFG (≥ 1×)."""
    rows = []
    for load, loaded in entry.get("loads", {}).items():
        ours = _stage_s(loaded.get("mine"))
        samples = [m.get("stage_s") for m in loaded.get("mine_runs", [])]
        where = REALSHAPED_LOADS[load].format(copies=entry.get("copies"))
        for peer, target, what in (("pm4py", 5.0, "pm4py's variants + DFG + performance DFG"),
                                   ("r4pm", 1.0, "r4pm's variants + DFG (its import excluded)")):
            side = loaded.get(peer) or {}
            theirs = side.get("core_s") if side.get("ok") else None
            identical = (side.get("comparison") or {}).get("identical")
            ratio = theirs / ours if ours and theirs else None
            rows.append({
                "id": f"mine_vs_{peer}_{load}",
                "figure": f"whole mine stage vs {what}, {where}",
                "target": f"≥ {target:g}×",
                "measured": (f"{ratio:.2f}× ({ours:.1f} s vs {theirs:.1f} s; procmine "
                             f"{_samples(samples)} s, {peer} {_samples(side.get('core_samples'))}"
                             " s); results " + ("identical" if identical else "DIFFERENT"))
                if ratio else "not measured",
                "met": (ratio >= target and bool(identical)) if ratio else None,
                "value": round(ratio, 3) if ratio else None,
            })
    return rows


def _realshaped_section(key: str, entry: dict[str, Any]) -> list[str]:
    load = entry.get("machine_load", {})
    lines = [
        f"### Real-shaped {_scale_title(key)}: BPIC 2013 × {entry.get('copies')}",
        "",
        f"Measured {entry.get('measured_at', '?')}; 1-minute load average "
        f"{load.get('load1_at_start', '?')} at the start, {entry.get('load1_after', '?')} at the "
        f"end." + _probe_note(entry) + " The mine stage's figure is its time inside the process "
        "(store copy, every mart, the model, publish; interpreter start-up and imports "
        "excluded), the median of three runs with pm4py and r4pm run between them.",
        "",
        "| figure | target | measured | status |",
        "|---|---|---|---|",
    ]
    for row in entry.get("targets") or evaluate_realshaped(entry):
        cause = REALSHAPED_GAP_CAUSES.get(row["id"].rsplit("_", 1)[0], "") \
            if row["met"] is False else ""
        lines.append(f"| {row['figure']} | {row['target']} | {row['measured']} | "
                     f"{_status(row['met'])}{': ' + cause if cause else ''} |")
    if any(loaded.get("reused_store") for loaded in entry.get("loads", {}).values()):
        lines += ["", "The loading stages' rows are those of the run that loaded the stores "
                  "(`--reuse-stores`: mined again here without loading)."]
    lines += ["", "| load | stage | wall s | peak RSS | what / inner timings |",
              "|---|---|--:|--:|---|"]
    for name, loaded in entry.get("loads", {}).items():
        for stage, child in loaded.get("stages", {}).items():
            lines.append(f"| {name} | {stage} | {child['wall_s']:.1f} | {_mb(child)} | "
                         f"{_stage_note(stage, child)} |")
        for i, child in enumerate(loaded.get("mine_runs", [])):
            lines.append(f"| {name} | mine #{i + 1} | {child['wall_s']:.1f} | {_mb(child)} | "
                         f"stage {child.get('stage_s', 0):.1f} s; "
                         f"{child.get('waste_rows', 0):,} waste rows; "
                         f"{_stage_note('mine', child)} |")
        for peer in ("pm4py", "r4pm"):
            side = loaded.get(peer)
            if side:
                t = side.get("timings", {})
                lines.append(f"| {name} | {peer} | {side['wall_s']:.1f} | {_mb(side)} | "
                             + ", ".join(f"{k} {v:.2f}" for k, v in t.items()) + " s; "
                             + str({k: v for k, v in (side.get("comparison") or {}).items()
                                    if k != "examples"}) + " |")
    return lines
