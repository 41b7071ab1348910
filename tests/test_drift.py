"""Drift detection (mine/drift.py, marts.drift): an injected process change is found in its
week with its hand-off edges as the top contributors; stationary samples raise at most one
false alarm over 20 seeds (measured here).

Cheap on purpose: the 20 stationary samples (300 incidents over 16 weeks each) are ingested
once, into one store (their case numbers prefixed by the seed); each seed's drift runs on a
copy of its own rows of core.events / core.cases in an in-memory DuckDB, from the mining
index built there as mining builds it (load_events rebuilds an index out of step).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

import procmine
from procmine import store as store_mod
from procmine.config import load_config
from procmine.errors import ConfigError
from procmine.mine.drift import DriftSettings, compute_drift, detect_drift, weekly_series
from procmine.mine.events import EventArrays, case_key_table, check_case_ids, load_events
from procmine.mine.variants import compute_variants, variant_table
from procmine.orchestration.summary import _drift_lines
from procmine.sample import Drift, generate_sample
from procmine.sql.models import materialise
from tests.conftest import run_cli

DRIFT_AT = date(2024, 3, 4)   # a Monday: week 10 of 16
SEEDS = range(20)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A mined store of 500 incidents over 16 weeks, half of those from DRIFT_AT making the
    hand-off loop service desk → Hub Network L2 → desk."""
    out = tmp_path_factory.mktemp("drifted")
    generate_sample(out, 500, 11, weeks=16, drift=Drift(DRIFT_AT, "Network L2"))
    db = procmine.open(out / "store.duckdb")
    db.ingest(out / "servicenow" / "incidents.csv", "servicenow")
    db.mine(discover=False)
    return out / "store.duckdb", json.loads((out / "manifest.json").read_text())["drift"]


@pytest.fixture(scope="module")
def stationary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store holding 20 stationary samples (case numbers S<seed>INC...)."""
    out = tmp_path_factory.mktemp("stationary")
    files = []
    for seed in SEEDS:
        generate_sample(out / f"s{seed}", 300, 100 + seed, weeks=16)
        source = out / f"s{seed}" / "servicenow" / "incidents.csv"
        target = out / "landing" / f"incidents_{seed:02d}.csv"
        target.parent.mkdir(exist_ok=True)
        header, *lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        target.write_text(header + "".join(f"S{seed:02d}{line}" for line in lines),
                          encoding="utf-8")
        files.append(target)
    procmine.open(out / "store.duckdb").ingest(files, "servicenow")
    return out / "store.duckdb"


def _seed_store(store: Path, seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory store (migrated) with one seed's rows of core.events and core.cases."""
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    store_mod.migrate(conn)
    conn.execute("ATTACH ? AS loaded (READ_ONLY)", [str(store)])
    prefix = f"S{seed:02d}INC%"
    for table in ("events", "cases"):
        conn.execute(f"INSERT INTO core.{table} SELECT * FROM loaded.core.{table} "
                     "WHERE case_id LIKE ?", [prefix])
    conn.execute("DETACH loaded")
    return conn


def _mining_index(conn: duckdb.DuckDBPyConnection):
    """The event arrays and each case's variant, with _mine_variant and _mine_case_id, as
    mining has them when it computes the drift."""
    events: EventArrays = load_events(conn)
    variants = compute_variants(events)
    conn.register("_mine_variant", variant_table(variants))
    conn.register("_mine_case_key",   # as mining's writer does
                  case_key_table(events, variants.case_variant))
    materialise(conn, "intermediate/case_ids", "_mine_case_id", temp=True)
    check_case_ids(conn, events)
    return events, variants


def test_injected_loop_is_found_in_its_week_with_its_edges_on_top(drifted) -> None:
    store, truth = drifted
    assert truth["at"] == DRIFT_AT.isoformat() and truth["group"] == "Hub Network L2"
    assert truth["cases"] > 50
    with duckdb.connect(str(store), read_only=True) as conn:
        found = pl.from_arrow(conn.sql("SELECT * FROM marts.drift").to_arrow_table())
    assert isinstance(found, pl.DataFrame)
    handoff = found.filter(pl.col("kind") == "handoff")
    assert handoff.height == 1, handoff
    row = handoff.row(0, named=True)
    assert abs((row["week"] - DRIFT_AT).days) <= 7       # within one window (a week)
    assert row["window_start"] == date(2024, 1, 1)
    assert row["window_end"] == date(2024, 1, 1) + timedelta(weeks=16)
    assert len(row["contributors"]) == 3
    assert set(row["contributors"]) & set(truth["edges"])
    assert row["after_value"] > row["before_value"] + 0.1   # the top edge's share of cases
    assert row["score"] > 1
    # the loop adds two hand-offs to half the cases: the KPI changes the same week
    kpi = found.filter((pl.col("kind") == "kpi") & (pl.col("series") == "handoffs_per_case"))
    assert kpi.height == 1 and kpi["week"][0] == row["week"]
    assert 0.6 < kpi["change"][0] < 1.4


def test_stationary_samples_raise_at_most_one_false_alarm_over_20_seeds(stationary) -> None:
    alarms = []
    for seed in SEEDS:
        with _seed_store(stationary, seed) as conn:
            kpis, items = weekly_series(conn, DriftSettings(), *_mining_index(conn))
            assert kpis.height == 16 and int(kpis["cases"].sum()) == 300
            alarms.append(detect_drift(kpis, items, DriftSettings()).height)
    assert sum(alarms) <= 1, alarms


def test_a_tiny_penalty_raises_alarms_on_the_same_samples(stationary) -> None:
    """The stationary test can fail: PELT with a penalty of about 2·ln n alone alarms."""
    loose = DriftSettings(penalty=0.0)
    alarms = 0
    for seed in range(5):
        with _seed_store(stationary, seed) as conn:
            alarms += compute_drift(conn, loose, *_mining_index(conn)).height
    assert alarms >= 3


def test_drift_settings_come_from_the_configuration(tmp_path: Path) -> None:
    assert DriftSettings.from_config(load_config()) == DriftSettings()
    config = tmp_path / "procmine.toml"
    config.write_text("[drift]\nwindow_weeks = 12\npenalty = 4.5\n", encoding="utf-8")
    assert DriftSettings.from_config(load_config(config)) == DriftSettings(window_weeks=12,
                                                                          penalty=4.5)
    config.write_text("[drift]\nwindow = 12\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[drift\] unknown keys \['window'\]"):
        DriftSettings.from_config(load_config(config))
    config.write_text("[drift]\nwindow_weeks = 4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at least twice min_size"):
        DriftSettings.from_config(load_config(config))


def test_the_sample_records_the_drift_and_loops_only_from_its_date(tmp_path: Path) -> None:
    summary = generate_sample(tmp_path, 400, 3, weeks=10,
                              drift=Drift(date(2024, 2, 5), "Hub Network L2", share=1.0))
    truth = json.loads(summary.manifest.read_text())["drift"]
    assert truth["share"] == 1.0 and truth["group"] == "Hub Network L2"
    text = (tmp_path / "servicenow" / "incidents.csv").read_text().splitlines()[1:]
    opened = {}
    for line in text:
        number, *_, = line.split(",", 1)
        opened.setdefault(number, line.split(",")[9])    # opened_at
    late = sum(1 for v in opened.values() if _day(v) >= date(2024, 2, 5))
    assert truth["cases"] == late
    with pytest.raises(ValueError, match="names 0 groups"):
        generate_sample(tmp_path, 10, 3, drift=Drift(date(2024, 1, 8), "Nowhere L2"))
    with pytest.raises(ValueError, match="L2 or L3"):
        generate_sample(tmp_path, 10, 3, drift=Drift(date(2024, 1, 8), "Hub Service Desk L1"))


def _day(text: str) -> date:
    day, month, rest = text.split("/")
    return date(int(rest[:4]), int(month), int(day))


def test_overview_page_and_run_summary_show_the_changes(drifted, tmp_path: Path) -> None:
    store, truth = drifted
    files = procmine.open(store).dashboards(tmp_path)
    png = tmp_path / "overview-drift.png"
    assert png in files and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "overview.html").read_text(encoding="utf-8")
    assert "Drift: 3 changes in the weeks from 2024-01-01 to 2024-04-22" in html
    assert "Hub Network L2 → Hub Service Desk L1" in html
    with duckdb.connect(str(store), read_only=True) as conn:
        lines = _drift_lines(conn)
    assert lines[1] == "## Drift: changes in the weekly KPIs, edges and variants"
    rows = [line for line in lines if line.startswith(f"| {truth['at']} |")]
    assert len(rows) == 3
    assert any("| hand-off edges |" in row and "Hub Network L2" in row for row in rows)


def test_cli_sample_injects_the_drift_and_names_a_bad_group(tmp_path: Path) -> None:
    run_cli("sample", "--out", tmp_path / "a", "--cases", "200", "--weeks", "6",
            "--drift-at", "2024-01-22", "--drift-group", "Server L2", "--drift-share", "0.25")
    truth = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert truth["drift"]["group"] == "Hub Server L2" and truth["drift"]["share"] == 0.25
    assert truth["period"]["arrivals_end"] == "2024-02-12T00:00:00Z"     # 6 weeks
    bad = run_cli("sample", "--out", tmp_path / "b", "--cases", "20", "--drift-at",
                  "2024-01-22", "--drift-group", "L2", check=False)
    assert bad.returncode == 2
    assert "--drift-group 'L2' names 7 groups" in " ".join(bad.stderr.split())
    assert not (tmp_path / "b").exists()


# each case's week (of its first event) and reopen flag, straight from core (the oracle)
CASE_WEEKS_SQL = """
SELECT date_trunc('week', min(e.ts))::DATE AS week, count(DISTINCT e.case_id) AS cases
FROM core.events AS e GROUP BY e.case_id
"""


def test_weekly_series_of_the_drifted_store(drifted, tmp_path) -> None:
    """The weekly KPIs and item counts mining computes from its index (no read of
    core.events): the counts the former SQL over core.events gave on this store (16 weeks,
    373 items, 48 of them hand-off edges); cases, reopened and resolved cases and the median
    hours to resolution per week exactly as SQL over core has them."""
    import shutil

    store, _ = drifted
    shutil.copyfile(store, tmp_path / "copy.duckdb")
    with duckdb.connect(str(tmp_path / "copy.duckdb")) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        kpis, items = weekly_series(conn, DriftSettings(), *_mining_index(conn))
        expected = conn.execute("""
            WITH firsts AS (SELECT case_id, min(ts) AS first_ts,
                                   date_trunc('week', min(ts))::DATE AS week
                            FROM core.events GROUP BY case_id)
            SELECT f.week, count(*), count(*) FILTER (WHERE c.reopen_count > 0),
                   count(c.resolved_at),
                   median(epoch(c.resolved_at - f.first_ts) / 3600.0)
            FROM firsts AS f LEFT JOIN core.cases AS c USING (case_id)
            WHERE f.week IN (SELECT week FROM kpis)
            GROUP BY f.week ORDER BY f.week""").fetchall()
    assert kpis.height == 16 and items.height == 373
    assert items.filter(pl.col("kind") == "handoff").height == 48
    assert kpis.select("week", "cases", "reopened", "resolved",
                       "median_resolution_h").rows() == expected
    assert sum(row[1] for row in expected) == 500
