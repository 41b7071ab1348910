"""CI smoke of the benchmark harness (issue #8): `python -m bench.run` at 100k events into a
tmp dir. Timings are not asserted; the harness must run every stage, agree with pm4py, run
the full run and the nightly (three times, each onto the full run's store), the Dask engine's
rows, and write a well-formed results.json and BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]   # bench/test_smoke.py: `make bench-smoke`
STAGES = ("ingest", "validate", "publish", "mine", "render")


def test_bench_harness_at_100k_events(tmp_path: Path) -> None:
    results, markdown = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scales", "100k", "--no-wait",
         "--cache", str(tmp_path / "cache"), "--results", str(results),
         "--markdown", str(markdown)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["machine"]["nproc"] >= 1 and data["machine"]["ram_bytes"] > 0
    assert {"python", "duckdb", "polars", "pm4py", "great-expectations", "prefect"} <= set(
        data["versions"])
    scale = data["scales"]["100k"]
    assert 90_000 <= scale["events"] <= 110_000
    for stage in STAGES:
        child = scale["stages"][stage]
        assert child["ok"], (stage, child.get("error"))
        assert child["wall_s"] > 0 and child["peak_rss_bytes"] > 10 * 2**20
    assert scale["stages"]["ingest"]["staged_events"] == scale["events"]
    assert scale["stages"]["mine"]["events"] == scale["events"]
    assert scale["stages"]["render"]["pages"] >= 1

    pm4py = scale["pm4py"]
    assert pm4py["ok"] and pm4py["events"] == scale["events"]
    # both sides of the mining comparison are medians of three runs
    assert len(scale["mine_core_samples"]) == len(pm4py["core_samples"]) == 3
    assert pm4py["comparison"]["identical"], pm4py["comparison"]
    assert pm4py["comparison"]["variants_pm4py"] == scale["stages"]["mine"]["variants"]

    targets = {row["id"]: row for row in scale["targets"]}
    assert set(targets) == {"mining_vs_pm4py", "full_run", "nightly", "peak_rss",
                            "validate_rss"}
    assert targets["mining_vs_pm4py"]["value"] > 0

    # issue #18's rows: the BPIC 2014 full run (when the real logs are there) and the linked
    # marts' share of mining, both side by side with their targets in BENCHMARKS.md
    d2c = data["d2c"]
    assert d2c["linked_100k"]["ok"] and d2c["linked_100k"]["with_s"] > 0
    if "bpic14" in d2c:
        assert d2c["bpic14"]["ok"], d2c["bpic14"].get("error")
    assert "## Detect to Correct across records (issue #18)" in markdown.read_text(
        encoding="utf-8")

    full, nightly = scale["full_run"], scale["nightly"]
    assert full["ok"] and full["mined"] and full["rendered"]
    assert full["core_events"] == scale["events"]
    # every nightly starts from the full run's store: each loads the same new events
    assert len(scale["nightly_samples"]) == 3
    assert nightly["ok"] and nightly["files_loaded"] == 1 and nightly["mined"]
    assert nightly["wall_s"] == sorted(scale["nightly_samples"])[1]
    assert nightly["core_events"] == scale["events"] + nightly["events_loaded"]
    assert nightly["events_loaded"] > 0
    assert "(median of " in targets["nightly"]["measured"]

    # issue #21's rows: the mine stage and the first full run on a LocalCluster(2) beside
    # the local engine (make bench runs them; --no-dask skips them)
    dask, full_dask = scale["dask"], scale["full_run_dask"]
    assert dask["ok"], dask.get("error")
    assert {len(dask["runs"][kind]) for kind in ("local", "dask", "dask_warm")} == {3}
    assert len(dask["runs"]["dask_warm"][0]["task_seconds"]) == dask["partitions"]
    assert {(m["events"], m["workers"]) for m in dask["model_median"]} >= {(10**8, 8),
                                                                        (10**8, 32)}
    assert full_dask["ok"] and full_dask["core_events"] == scale["events"]
    assert full_dask["marts_variants"] == full["marts_variants"]

    # the machine's speed at the start and end of the scale, stated beside the figures
    for probe in (scale["speed_probe_start"], scale["speed_probe_end"]):
        assert set(probe) == {"fault_1gib_s", "sort_10m_s", "python_3m_s"}
        assert all(seconds > 0 for seconds in probe.values())

    text = markdown.read_text(encoding="utf-8")
    assert "Speed probe at the start: 1 GiB of fresh memory" in text
    assert "### 100K events" in text and "| mine |" in text and "identical" in text
    assert "first full run, `--engine dask`" in text and "dask warm, round 1 only" in text
    assert (tmp_path / "cache" / "samples").is_dir()  # the sample is cached for the next run


def test_realshaped_harness_at_two_copies(tmp_path: Path) -> None:
    """Issue #20's rows at the smallest scale: the real BPIC 2013 log × 2 (131,066 events),
    through its adapter and as a generic CSV; pm4py and r4pm agree with the marts."""
    results, markdown = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--only", "realshaped", "--scales", "100k",
         "--no-wait", "--cache", str(tmp_path / "cache"), "--results", str(results),
         "--markdown", str(markdown)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    entry = json.loads(results.read_text(encoding="utf-8"))["realshaped"]["100k"]
    assert entry["copies"] == 2
    for load in ("adapter", "csv"):
        loaded = entry["loads"][load]
        assert loaded["events"] == 131_066, load
        assert [m["ok"] for m in loaded["mine_runs"]] == [True, True, True]
        # the repeats rewrite every case, as the first run on the fresh store does
        assert {m["cases_rewritten"] for m in loaded["mine_runs"]} == {loaded["mine_runs"][0][
            "cases"]}
        assert loaded["mine"]["stage_s"] == sorted(m["stage_s"] for m in loaded["mine_runs"])[1]
        for peer in ("pm4py", "r4pm"):
            comparison = loaded[peer]["comparison"]
            assert comparison["identical"], (load, peer, comparison)
            assert comparison[f"variants_{peer}"] == 2_278
            assert comparison[f"dfg_edges_{peer}"] == 81
            assert len(loaded[peer]["core_samples"]) == 3
    targets = {row["id"]: row for row in entry["targets"]}
    assert set(targets) == {f"mine_vs_{peer}_{load}" for peer in ("pm4py", "r4pm")
                            for load in ("adapter", "csv")}
    assert all(row["value"] > 0 for row in targets.values())
    text = markdown.read_text(encoding="utf-8")
    assert "### Real-shaped 100K: BPIC 2013 × 2" in text
    assert "r4pm's variants + DFG" in text
