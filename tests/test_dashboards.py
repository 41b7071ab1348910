"""Dashboards: pages from the marts, deterministic bytes, snapshot specs, embedded numbers.

Until the miner's marts are available the pages are built from a small deterministic marts
fixture (plausible rows in the contract tables); the Volvo tests mine the real log.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from procmine import store
from procmine.config import Config, default_config_data
from procmine.render import build_pages, render_all
from procmine.render import page as chart_page
from procmine.render.page import Context
from tests.conftest import PROCMINE, run_cli
from tests.real_stores import RealStore

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_SNAPSHOTS = os.environ.get("PROCMINE_UPDATE_SNAPSHOTS") == "1"
PAGES = ["index", "overview", "process_map", "waste", "bottlenecks", "variants", "operating_model",
         "d2c", "data_quality"]
MAX_PAGE_BYTES = 5 * 1024 * 1024
SPEC_RE = re.compile(r'<script type="application/json" id="spec-([^"]+)">(.*?)</script>', re.S)


@pytest.fixture(scope="module", autouse=True)
def validated_specs():
    """Every chart these tests build is checked against the Vega-Lite schema (renders skip
    the check: chart_page.VALIDATE_SPECS)."""
    chart_page.VALIDATE_SPECS = True
    yield
    chart_page.VALIDATE_SPECS = False


# ---------------------------------------------------------------- a small marts fixture

PRIORITIES = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"]
GROUPS = {
    "Hub Service Desk L1": "hub", "Hub Network L2": "hub", "Hub Apps L2": "hub",
    "Spoke Finance IT L1": "spoke:finance", "Spoke Retail IT L2": "spoke:retail",
    "Vendor Acme Networks L3": "vendor:acme", "Vendor Globex Apps L3": "vendor:globex",
}
ACTIVITIES = {
    "Open": "log", "Assign": "assign", "Reassign": "assign", "Active": "diagnose",
    "Awaiting User Info": "wait", "Awaiting Vendor": "wait", "Reclassify": "classify",
    "Resolved": "resolve", "Closed": "close",
}
WASTE_STAGES = {
    "waiting": ["wait", "diagnose", "assign"], "handoff": ["assign", "diagnose"],
    "ping_pong": ["assign"], "rework": ["diagnose", "classify"], "reopen": ["resolve", "close"],
    "escalation_bounce": ["diagnose", "escalate"], "deviation": ["close", "classify"],
}
START = datetime(2024, 1, 1, tzinfo=UTC)


def _variants(rng: random.Random, n: int) -> list[list[str]]:
    middle = ["Assign", "Active", "Awaiting User Info", "Reassign", "Active", "Awaiting Vendor",
              "Reclassify", "Assign", "Active"]
    seen: list[list[str]] = [["Open", "Assign", "Active", "Resolved", "Closed"]]
    while len(seen) < n:
        body = [rng.choice(middle) for _ in range(rng.randint(1, 6))]
        variant = ["Open", *body, "Resolved", "Closed"]
        if rng.random() < 0.15:
            variant += ["Active", "Resolved", "Closed"]
        if variant not in seen:
            seen.append(variant)
    return seen


def write_fixture_marts(conn, cases: int = 600, seed: int = 3, optional: bool = True) -> None:
    """Plausible, deterministic rows in every contract mart (the miner's tables' shape)."""
    rng = random.Random(seed)
    variants = _variants(rng, 40)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(variants))]
    groups = list(GROUPS)
    case_rows, waste_rows = [], []
    for i in range(cases):
        vi = rng.choices(range(len(variants)), weights)[0]
        opened = START + timedelta(minutes=rng.randint(0, 84 * 24 * 60))
        opened = opened.replace(hour=rng.choice([8, 9, 9, 10, 10, 11, 13, 14, 15, 16, 20]))
        duration = rng.lognormvariate(11, 1.0)
        group = rng.choice(groups)
        priority = rng.choices(PRIORITIES, [1, 3, 8, 4])[0]
        handoffs = max(0, len(variants[vi]) - 5 + rng.randint(-1, 2))
        case = {
            "case_id": f"INC{i:06d}", "variant_id": f"V{vi + 1:03d}", "duration_s": duration,
            "resolution_s": duration,
            "event_count": len(variants[vi]), "handoffs": handoffs,
            "ping_pong": int(rng.random() < 0.12), "reopened": "Active" in variants[vi][-3:],
            "rework_events": rng.choice([0, 0, 0, 1, 2]), "waiting_s": duration * rng.random() * 0.6,
            "sla_met": rng.random() < 0.8, "opened_at": opened,
            "resolved_at": opened + timedelta(seconds=duration), "priority": priority,
            "source": rng.choice(["servicenow", "servicenow", "bpic2013"]),
            "sourcing": GROUPS[group],
        }
        case_rows.append(case)
        for waste_type, stages in WASTE_STAGES.items():
            if rng.random() < 0.3:
                hours = round(rng.expovariate(1 / (8 if waste_type == "waiting" else 1.5)), 4)
                rate = 90 if case["sourcing"].startswith("vendor") else 60
                other = rng.choice(groups)
                waste_rows.append({
                    "case_id": case["case_id"], "d2c_stage": rng.choice(stages),
                    "waste_type": waste_type, "hours": hours, "cost": round(hours * rate, 2),
                    "evidence": f"{group} → {other} → {group}" if waste_type == "ping_pong"
                    else f"{waste_type} at {other}",
                    "detail": "vendor" if waste_type == "waiting" and rng.random() < 0.3 else "",
                })
    cases_df = pl.DataFrame(case_rows)
    waste_df = pl.DataFrame(waste_rows)
    if optional:
        for column, sql_type in (("opened_at", "TIMESTAMPTZ"), ("resolved_at", "TIMESTAMPTZ"),
                                 ("priority", "VARCHAR"), ("source", "VARCHAR"),
                                 ("sourcing", "VARCHAR"), ("resolution_s", "DOUBLE")):
            conn.execute(f"ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS {column} {sql_type}")
        conn.execute("ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS sourcing VARCHAR")
        conn.execute("ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS detail VARCHAR")
        waste_df = waste_df.join(cases_df.select("case_id", "sourcing"), on="case_id")
    else:
        waste_df = waste_df.drop("detail")
    stored = cases_df if optional else cases_df.drop(
        "opened_at", "resolved_at", "priority", "source", "sourcing", "resolution_s")
    conn.register("fx_cases", cases_df.to_arrow())
    conn.register("fx_stored", stored.to_arrow())
    conn.register("fx_waste", waste_df.to_arrow())
    conn.execute("INSERT INTO marts.case_kpis BY NAME SELECT * FROM fx_stored")
    conn.execute("INSERT INTO marts.waste BY NAME SELECT * FROM fx_waste")
    conn.execute("""
        INSERT INTO marts.waste_heatmap (d2c_stage, waste_type, cases, hours, cost,
                                         share_of_cycle_time)
        SELECT d2c_stage, waste_type, count(DISTINCT case_id), sum(hours), sum(cost),
               sum(hours) / (SELECT sum(duration_s) / 3600 FROM marts.case_kpis)
        FROM marts.waste GROUP BY ALL ORDER BY ALL""")
    variant_rows = [{"variant_id": f"V{i + 1:03d}", "activities": v} for i, v in
                    enumerate(variants)]
    conn.register("fx_variants", pl.DataFrame(variant_rows).to_arrow())
    conn.execute("""
        INSERT INTO marts.variants (variant_id, activities, case_count, case_share,
                                    median_duration_s)
        SELECT v.variant_id, v.activities, count(*), count(*) / (SELECT count(*) FROM fx_cases),
               median(c.duration_s)
        FROM fx_variants v JOIN fx_cases c USING (variant_id) GROUP BY ALL ORDER BY ALL""")
    transitions: dict[tuple[str, str], list[float]] = {}
    for case in case_rows:
        seq = variants[int(case["variant_id"][1:]) - 1]
        for a, b in itertools.pairwise(seq):
            base = 30 * 3600 if a.startswith("Awaiting") else 2 * 3600
            transitions.setdefault((a, b), []).append(rng.expovariate(1 / base))
    trans_rows = []
    for (a, b), waits in sorted(transitions.items()):
        waits.sort()
        trans_rows.append({"from_activity": a, "to_activity": b, "count": len(waits),
                           "median_wait_s": waits[len(waits) // 2],
                           "mean_wait_s": sum(waits) / len(waits),
                           "p90_wait_s": waits[int(len(waits) * 0.9)]})
    conn.register("fx_trans", pl.DataFrame(trans_rows).to_arrow())
    conn.execute("INSERT INTO marts.transitions BY NAME SELECT * FROM fx_trans")
    conn.execute("""
        INSERT INTO marts.activities (activity, event_count, case_count, start_count, end_count)
        SELECT a, count(*), count(DISTINCT case_id), count(*) FILTER (WHERE i = 1),
               count(*) FILTER (WHERE i = n)
        FROM (SELECT c.case_id, unnest(v.activities) AS a,
                     generate_subscripts(v.activities, 1) AS i, len(v.activities) AS n
              FROM fx_cases c JOIN fx_variants v USING (variant_id)) GROUP BY a ORDER BY a""")
    bottleneck_rows = []
    for dimension, keys in (("transition", [f"{a} → {b}" for a, b in sorted(transitions)]),
                            ("org_group", groups), ("sourcing", sorted(set(GROUPS.values())))):
        for key in keys:
            for stage in ("assign", "diagnose", "wait", "resolve"):
                if rng.random() < 0.7:
                    bottleneck_rows.append({
                        "dimension": dimension, "key": key, "d2c_stage": stage,
                        "median_wait_s": rng.expovariate(1 / (6 * 3600)) +
                        (20 * 3600 if key.startswith("vendor") or "Vendor" in key else 0),
                        "cases": rng.randint(5, 300)})
    conn.register("fx_bottle", pl.DataFrame(bottleneck_rows).to_arrow())
    conn.execute("""
        INSERT INTO marts.bottlenecks (dimension, key, d2c_stage, median_wait_s, cases, rank)
        SELECT dimension, key, d2c_stage, median_wait_s, cases,
               row_number() OVER (ORDER BY median_wait_s * cases DESC, dimension, key, d2c_stage)
        FROM fx_bottle""")
    conn.execute("""
        INSERT INTO marts.kpi_daily (day, opened, resolved, backlog, median_resolution_s,
                                     sla_rate)
        SELECT d, count(*) FILTER (WHERE opened_at::DATE = d),
               count(*) FILTER (WHERE resolved_at::DATE = d),
               count(*) FILTER (WHERE opened_at::DATE <= d AND resolved_at::DATE > d),
               median(duration_s) FILTER (WHERE resolved_at::DATE = d),
               avg(sla_met::INT) FILTER (WHERE resolved_at::DATE = d)
        FROM fx_cases, range(DATE '2024-01-01', DATE '2024-03-25', INTERVAL 1 DAY) t(d)
        GROUP BY d ORDER BY d""")
    handoff_rows = []
    for dimension, keys in (("sourcing", sorted(set(GROUPS.values()))), ("org_group", groups)):
        for a in keys:
            for b in keys:
                if a != b and rng.random() < 0.6:
                    n = rng.randint(3, 200)
                    handoff_rows.append({"dimension": dimension, "from_key": a, "to_key": b,
                                         "handoffs": n, "cases": max(1, n - rng.randint(0, 3)),
                                         "added_wait_s": rng.expovariate(1 / 7200) * n})
    conn.register("fx_handoff", pl.DataFrame(handoff_rows).to_arrow())
    conn.execute("INSERT INTO marts.handoff_matrix BY NAME SELECT * FROM fx_handoff")
    conn.execute("""
        INSERT INTO marts.conformance (variant_id, fitness, deviations)
        SELECT variant_id, CASE WHEN len(activities) > 8 THEN 0.8 ELSE 1.0 END,
               CASE WHEN len(activities) > 8 THEN ['Reclassify after Active'] ELSE [] END
        FROM fx_variants""")
    conn.execute("""
        INSERT INTO marts.drift (week, kind, series, before_value, after_value, change, score,
                                 weeks_before, weeks_after, contributors, contributor_detail,
                                 window_start, window_end)
        VALUES ('2024-02-19', 'handoff', 'hand-off edges', 0.01, 0.2, 0.19, 3.5, 7, 5,
                ['Hub Service Desk L1 → Hub Network L2'],
                'Hub Service Desk L1 → Hub Network L2: 1.0% → 20.0%',
                '2024-01-01', '2024-03-25'),
               ('2024-02-19', 'kpi', 'handoffs_per_case', 1.1, 1.9, 0.8, 2.5, 7, 5, [], NULL,
                '2024-01-01', '2024-03-25')""")
    for i in range(5):
        started = START + timedelta(days=80 + i)
        conn.execute(
            "INSERT INTO marts.run_log (run_id, started_at, finished_at, status, files_loaded, "
            "events_loaded, events_quarantined, command, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"2024032{i}T020000000000Z", started, started + timedelta(minutes=3 + i),
             "failed_validation" if i == 2 else "success", 1, 0 if i == 2 else 1200 + 40 * i,
             7 * i, "run", "quarantined share 9% > 5%" if i == 2 else ""])
    for j in range(30):
        rule = ["activity_in_vocabulary", "ts_not_null", "ts_in_range",
                "closed_not_before_opened"][j % 4 if j < 20 else 0]
        conn.execute(
            "INSERT INTO quarantine.events (run_id, rule, column_name, bad_value, reason, case_id,"
            " source, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [f"2024032{j % 5}T020000000000Z", rule, "activity", "-100", "not in vocabulary",
             f"INC9{j:05d}", "servicenow", START + timedelta(days=80 + j % 5)])
    for name in ("fx_cases", "fx_stored", "fx_waste", "fx_variants", "fx_trans", "fx_bottle", "fx_handoff"):
        conn.unregister(name)


def build_fixture_db(path: Path, **kwargs) -> Path:
    with store.writing(path) as conn:
        write_fixture_marts(conn, **kwargs)
        write_fixture_links(conn)
    return path


def write_fixture_links(conn) -> None:
    """The Detect-to-Correct marts (mine/d2c.py) over the hand-made records of test_d2c and
    the fixture's waste cases as incidents."""
    from procmine.load import publish_d2c_records
    from procmine.mine import d2c
    from tests.test_d2c import CASES

    for row in CASES:
        conn.execute("INSERT INTO core.cases BY NAME SELECT * FROM (SELECT "
                     + ", ".join(f"${k} AS {k}" for k in row) + ")", row)
    conn.execute("INSERT INTO core.cases (case_id, case_type, source) "
                 "SELECT DISTINCT case_id, 'incident', 'fixture' FROM marts.waste "
                 "WHERE case_id NOT IN (SELECT case_id FROM core.cases)")
    publish_d2c_records(conn, whole=True)   # as publishing does
    d2c.build(conn, d2c.LinkSettings.from_config(Config(default_config_data())))


def write_hostile_marts(conn, seed: int = 5) -> None:
    """Huge cardinalities and nasty strings: caps and escaping must hold."""
    rng = random.Random(seed)
    acts = [f"Activity {i:03d}" for i in range(300)]
    rows = [{"from_activity": rng.choice(acts), "to_activity": rng.choice(acts),
             "count": rng.randint(1, 500), "median_wait_s": rng.random() * 1e5,
             "mean_wait_s": rng.random() * 1e5, "p90_wait_s": rng.random() * 2e5}
            for _ in range(20000)]
    conn.register("fx_big", pl.DataFrame(rows).unique(["from_activity", "to_activity"]).to_arrow())
    conn.execute("INSERT INTO marts.transitions BY NAME SELECT * FROM fx_big")
    conn.execute("""
        INSERT INTO marts.bottlenecks (dimension, key, d2c_stage, median_wait_s, cases, rank)
        SELECT CASE WHEN i % 2 = 0 THEN 'org_group' ELSE 'sourcing' END, 'Group ' || (i % 900),
               ['assign', 'diagnose', 'wait'][1 + i % 3], 3600 + i, 1 + i % 50, i
        FROM range(6000) t(i)""")
    conn.execute("""
        INSERT INTO marts.handoff_matrix (dimension, from_key, to_key, handoffs, cases,
                                          added_wait_s)
        SELECT 'org_group', 'Group ' || (i % 700), 'Group ' || ((i * 7) % 700), 1 + i % 90,
               1 + i % 40, i * 10.0 FROM range(30000) t(i)""")
    conn.execute("""
        INSERT INTO marts.variants (variant_id, activities, case_count, case_share,
                                    median_duration_s)
        SELECT 'W' || i, list_transform(range(80), lambda x: 'Activity ' || ((x * i) % 300)), 1 + i,
               0.0001, 3600.0 * i FROM range(5000) t(i)""")
    conn.execute("""
        INSERT INTO marts.waste (case_id, d2c_stage, waste_type, hours, cost, evidence)
        SELECT 'EV' || i, 'diagnose', 'ping_pong', 1.5, 90.0,
               '</script><script>alert(1)</script> & <b>' || (i % 3)
        FROM range(50) t(i)""")
    conn.execute("""
        INSERT INTO marts.waste_heatmap (d2c_stage, waste_type, cases, hours, cost,
                                         share_of_cycle_time) VALUES
        ('diagnose', 'ping_pong', 50, 75.0, 4500.0, 0.01)""")
    conn.unregister("fx_big")


def isolated_config(base: Path) -> Config:
    """The shipped defaults, with paths (dashboards/, validation docs) under `base`."""
    return Config(default_config_data(), base_dir=base)


def embedded_specs(page: Path) -> dict[str, dict]:
    """The Vega-Lite specs (with data) embedded in a page, by chart slug."""
    return {slug: json.loads(text) for slug, text in SPEC_RE.findall(page.read_text("utf-8"))}


def read_rows(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# ---------------------------------------------------------------- fixtures

def mined_volvo(tmp_path_factory: pytest.TempPathFactory,
                volvo_store: RealStore) -> tuple[Path, Path]:
    """The session's Volvo store (tests/real_stores.py: ingested and mined with the shipped
    settings, no BPMN model: not the pages' concern) rendered once per session: (database,
    pages)."""
    base = tmp_path_factory.getbasetemp() / "volvo-mined"
    db, out = volvo_store.db, base / "dashboards"
    if (out / "index.html").exists():
        return db, out
    base.mkdir(exist_ok=True)
    config = isolated_config(base)
    conn = store.reading(db)
    try:
        render_all(conn, config, out, png=False)
    finally:
        conn.close()
    return db, out


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("marts") / "procmine.duckdb")


@pytest.fixture(scope="module")
def rendered(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dashboards")
    conn = store.reading(fixture_db)
    try:
        render_all(conn, isolated_config(out), out)
    finally:
        conn.close()
    return out


# ---------------------------------------------------------------- pages and files

def test_every_page_and_png_is_written(rendered: Path) -> None:
    for name in PAGES:
        page = rendered / f"{name}.html"
        assert page.is_file(), name
        text = page.read_text("utf-8")
        assert "<script src=" not in text and "https://cdn" not in text
        assert 'http-equiv="Content-Security-Policy"' in text
        assert page.stat().st_size < MAX_PAGE_BYTES
    charts = {slug for name in PAGES for slug in embedded_specs(rendered / f"{name}.html")}
    assert {"waste-heatmap", "overview-trends", "overview-flow", "bottlenecks-transitions",
            "bottlenecks-weekday-hour", "variants-pareto", "operating-model-sourcing-handoffs",
            "data-quality-quarantine", "data-quality-runs", "overview-drift", "d2c-flow",
            "d2c-heatmap", "d2c-recurrence", "d2c-change-types"} <= charts
    for slug in charts:
        png = (rendered / f"{slug}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, slug
    index = (rendered / "index.html").read_text("utf-8")
    for name in PAGES[1:]:
        assert f'href="{name}.html"' in index


def test_same_marts_give_the_same_bytes(fixture_db: Path, rendered: Path,
                                        tmp_path: Path) -> None:
    conn = store.reading(fixture_db)
    try:
        render_all(conn, isolated_config(tmp_path), tmp_path)
    finally:
        conn.close()
    first = sorted(p.name for p in rendered.iterdir())
    assert first == sorted(p.name for p in tmp_path.iterdir())
    for name in first:
        assert (rendered / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_embedded_heatmap_equals_the_mart(fixture_db: Path, rendered: Path) -> None:
    assert_heatmap_matches(fixture_db, rendered)


def assert_heatmap_matches(db: Path, out: Path) -> None:
    spec = embedded_specs(out / "waste.html")["waste-heatmap"]
    embedded = sorted(
        (r["d2c_stage"], r["waste_type"], r["cases"], r["hours"], r["cost"],
         r["share_of_cycle_time"]) for r in spec["datasets"]["waste_heatmap"])
    mart = sorted(read_rows(db, "SELECT d2c_stage, waste_type, cases, hours, cost, "
                                "share_of_cycle_time FROM marts.waste_heatmap"),
                  key=lambda r: tuple("" if v is None else str(v) for v in r))
    embedded.sort(key=lambda r: tuple("" if v is None else str(v) for v in r))
    assert embedded == [tuple(r) for r in mart]
    assert len(embedded) > 0


def test_tiles_compare_the_last_four_weeks_with_the_four_before(fixture_db: Path,
                                                                 rendered: Path) -> None:
    text = (rendered / "overview.html").read_text("utf-8")
    last = read_rows(fixture_db, "SELECT greatest(max(opened_at::DATE), max(resolved_at::DATE))"
                                 " FROM marts.case_kpis")[0][0]
    first = last - timedelta(days=27)
    assert f"Last 4 weeks ({first} to {last}) against the 28 days before" in text
    assert text.count('class="tile"') == 7
    assert "vs previous" in text


@pytest.mark.real_data
def test_volvo_heatmap_embeds_exactly_the_mined_mart(
        tmp_path_factory: pytest.TempPathFactory, volvo_store: RealStore) -> None:
    db, out = mined_volvo(tmp_path_factory, volvo_store)
    assert_heatmap_matches(db, out)
    for name in PAGES:
        assert (out / f"{name}.html").stat().st_size < MAX_PAGE_BYTES


# ---------------------------------------------------------------- specs under review

def test_chart_specs_match_their_snapshots(fixture_db: Path) -> None:
    """A change to a chart shows in review as a change of tests/snapshots/<chart>.json."""
    conn = store.reading(fixture_db)
    try:
        _, pages = build_pages(conn, Context())
    finally:
        conn.close()
    SNAPSHOTS.mkdir(exist_ok=True)
    missing, changed = [], []
    for page in pages:
        for chart in page.charts:
            snapshot = {
                "spec": chart.spec(),
                "datasets": {name: {"rows": len(rows),
                                    "columns": sorted({k for r in rows for k in r})}
                             for name, rows in sorted(chart.datasets.items())},
            }
            text = json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            path = SNAPSHOTS / f"{chart.slug}.json"
            if UPDATE_SNAPSHOTS or not path.exists():
                if not path.exists():
                    missing.append(path.name)
                path.write_text(text, encoding="utf-8")
            elif path.read_text(encoding="utf-8") != text:
                changed.append(path.name)
    assert not changed, (f"chart specs changed: {changed}; review and re-run with "
                         "PROCMINE_UPDATE_SNAPSHOTS=1 to accept")
    assert not missing or UPDATE_SNAPSHOTS, f"new snapshots written: {missing}; re-run"


# ---------------------------------------------------------------- robustness

def test_missing_optional_columns_still_render(tmp_path: Path) -> None:
    db = build_fixture_db(tmp_path / "bare.duckdb", optional=False)
    out = tmp_path / "out"
    conn = store.reading(db)
    try:
        render_all(conn, isolated_config(out), out, png=False)
    finally:
        conn.close()
    overview = (out / "overview.html").read_text("utf-8")
    assert "need case dates in marts.case_kpis" in overview
    assert "overview-flow" in embedded_specs(out / "overview.html")
    assert_heatmap_matches(db, out)


def test_empty_database_renders_notes(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    with store.writing(db):
        pass
    out = tmp_path / "out"
    conn = store.reading(db)
    try:
        render_all(conn, isolated_config(out), out)
    finally:
        conn.close()
    assert "No waste mined yet" in (out / "waste.html").read_text("utf-8")
    assert "No variants mined yet" in (out / "variants.html").read_text("utf-8")
    assert not list(out.glob("*.png"))


def test_categories_are_capped_and_strings_escaped(tmp_path: Path) -> None:
    db = tmp_path / "hostile.duckdb"
    with store.writing(db) as conn:
        write_fixture_marts(conn)
        write_hostile_marts(conn)
    out = tmp_path / "out"
    conn = store.reading(db)
    try:
        render_all(conn, isolated_config(out), out, png=False)
    finally:
        conn.close()
    bottlenecks = embedded_specs(out / "bottlenecks.html")
    transitions = bottlenecks["bottlenecks-transitions"]["datasets"]["transitions"]
    assert len({r["from_activity"] for r in transitions} | {r["to_activity"] for r in transitions}) <= 25
    groups = bottlenecks["bottlenecks-org-group"]["datasets"]["bottleneck_org_group"]
    assert len({r["key"] for r in groups}) <= 25
    handoffs = embedded_specs(out / "operating_model.html")[
        "operating-model-group-handoffs"]["datasets"]["handoffs_group"]
    assert len({r["from_key"] for r in handoffs}) <= 20
    variants = embedded_specs(out / "variants.html")["variants-pareto"]["datasets"]["variants"]
    assert len(variants) == 20 and all(len(v["activities"]) <= 60 for v in variants)
    waste = (out / "waste.html").read_text("utf-8")
    assert "<script><script>alert" not in waste and "</script><script>alert" not in waste
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in waste  # in the JSON
    for name in PAGES:
        assert (out / f"{name}.html").stat().st_size < MAX_PAGE_BYTES


def test_page_size_does_not_grow_with_the_events(tmp_path: Path) -> None:
    """Pages embed aggregates only: 10x the cases (and waste rows) changes bytes marginally."""
    sizes = {}
    for cases in (3000, 30000):
        db = build_fixture_db(tmp_path / f"c{cases}.duckdb", cases=cases)
        out = tmp_path / f"out{cases}"
        conn = store.reading(db)
        try:
            render_all(conn, isolated_config(out), out, png=False)
        finally:
            conn.close()
        sizes[cases] = {p.name: p.stat().st_size for p in out.glob("*.html")}
    for name, small in sizes[3000].items():
        assert sizes[30000][name] < small * 1.05 + 20_000, (name, small, sizes[30000][name])


# ---------------------------------------------------------------- CLI

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_dashboards_then_serve(fixture_db: Path, tmp_path: Path) -> None:
    proc = run_cli("dashboards", "--db", fixture_db, cwd=tmp_path)
    index = tmp_path / "dashboards" / "index.html"
    assert index.is_file() and str(index) in proc.stderr.replace("\n", "")
    assert (tmp_path / "dashboards" / "waste-heatmap.png").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dashboards")]
    port = _free_port()
    server = subprocess.Popen([str(PROCMINE), "serve", "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/waste.html", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.content == (tmp_path / "dashboards" / "waste.html").read_bytes()
        assert httpx.get(f"http://127.0.0.1:{port}/nope.html", timeout=2).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_dashboards_without_database_is_one_clear_error(tmp_path: Path) -> None:
    from procmine.errors import ProcmineError
    from procmine.render import rebuild

    with pytest.raises(ProcmineError, match="no database at"):
        rebuild(isolated_config(tmp_path), tmp_path / "none.duckdb")
    assert not (tmp_path / "dashboards").exists()


def test_validation_docs_and_model_are_linked_when_present(fixture_db: Path, tmp_path: Path) -> None:
    config = isolated_config(tmp_path)
    docs = config.dashboards_dir / "validation" / "index.html"
    out = tmp_path / "staged"
    conn = store.reading(fixture_db)
    try:
        render_all(conn, config, out, png=False)
        assert 'href="validation/index.html"' not in (out / "index.html").read_text("utf-8")
        docs.parent.mkdir(parents=True)
        docs.write_text("<html>docs</html>")
        model = config.dashboards_dir / "model" / "discovered_model.svg"
        model.parent.mkdir(parents=True)
        model.write_text("<svg/>")
        render_all(conn, config, out, png=False)
    finally:
        conn.close()
    assert 'href="validation/index.html"' in (out / "index.html").read_text("utf-8")
    assert 'href="validation/index.html"' in (out / "data_quality.html").read_text("utf-8")
    assert 'href="model/discovered_model.svg"' in (out / "variants.html").read_text("utf-8")
