"""Validation with Great Expectations: exact quarantine per expectation, the publish gate,
release after a config fix, results and offline Data Docs, the real ServiceNow log."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ValidationFailed
from procmine.load import RunResult, ingest
from procmine.quarantine import release
from procmine.validation.docs import REMOTE_REFERENCE
from procmine.validation.suites import load_suites
from tests.conftest import run_cli
from tests.corrupt_sample import (
    UNKNOWN_ACTIVITY,
    Corrupted,
    Row,
    clean_events,
    corrupt,
    write_config,
)
from tests.real_stores import RealStore


def _rows(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return clean_events(tmp_path_factory.mktemp("clean"), cases=250)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory,
           events: list[Row]) -> tuple[Path, Path, Corrupted, RunResult]:
    """The corrupted sample loaded once (both exports, one run)."""
    work = tmp_path_factory.mktemp("corrupted")
    corrupted = corrupt(events, work / "exports")
    config_path = write_config(work / "procmine.toml")
    config = load_config(config_path)
    db = work / "procmine.duckdb"
    result = ingest(config, db, "csv", [corrupted.main, corrupted.overlap])
    return db, config_path, corrupted, result


def test_suites_are_gx_files_with_named_rules() -> None:
    suites = load_suites(load_config())
    rules = {r.name: (s, r.type) for s, suite in suites.items() for r in suite.rules}
    assert rules["activity_in_vocabulary"] == ("staging_events", "expect_column_values_to_be_in_set")
    assert rules["case_closed_not_before_opened"][0] == "staging_cases"
    assert rules["quarantined_share_below_threshold"][0] == "load_sources"
    assert rules["file_contributes_rows"][0] == "load_files"
    import great_expectations as gx

    for suite in suites.values():  # every file is a valid GX suite
        assert len(gx.ExpectationSuite(**suite.data).expectations) == len(suite.rules)


def test_corrupted_sample_exact_quarantine_per_expectation(
        loaded: tuple[Path, Path, Corrupted, RunResult]) -> None:
    db, _, corrupted, result = loaded
    assert result.status == "success"
    by_rule = dict(_rows(db, "SELECT rule, count(*) FROM quarantine.events GROUP BY rule"))
    assert by_rule == corrupted.expected
    assert result.quarantined_by_rule == corrupted.expected
    assert "event_id_unique" not in by_rule and corrupted.expected["ts_in_range"] == 5
    # every quarantined row names its expectation, column, offending value and run
    details = _rows(db, "SELECT rule, column_name, bad_value, run_id FROM quarantine.events")
    assert {r[3] for r in details} == {result.run_id}
    values = Counter((r[0], r[1], r[2]) for r in details)
    assert values[("ts_not_null", "ts", "not a date")] == 4
    assert values[("ts_in_range", "ts", "2099-01-01 00:00:00")] == 3
    assert values[("activity_in_vocabulary", "activity", UNKNOWN_ACTIVITY)] == 6
    assert values[("resource_present", "resource", None)] == 3


def test_every_valid_row_is_in_core(loaded: tuple[Path, Path, Corrupted, RunResult]) -> None:
    db, _, corrupted, result = loaded
    core = Counter(_rows(db, "SELECT case_id, activity, strftime(ts, '%Y-%m-%d %H:%M:%S') "
                             "FROM core.events"))
    assert core == corrupted.valid
    # identical rows of one file are kept (a row copied twice: 3 events); the overlapping
    # export is de-duplicated by publish, not quarantined
    assert Counter(core.values()) == {1: len(core) - 3, 2: 2, 3: 1}
    assert result.events_loaded == sum(corrupted.valid.values())


def test_results_are_stored_and_data_docs_are_offline(
        loaded: tuple[Path, Path, Corrupted, RunResult]) -> None:
    db, config_path, _, result = loaded
    results = {(r[0], r[1]): r[2:] for r in _rows(
        db, "SELECT rule, coalesce(source, ''), success, unexpected_count, engine, level "
            "FROM marts.validation_results WHERE run_id = ?", [result.run_id])}
    assert results[("event_id_unique", "csv")] == (True, 0, "duckdb", "row")
    assert results[("activity_in_vocabulary", "csv")] == (False, 6, "gx", "row")
    assert results[("case_has_opening_event", "csv")] == (False, 2, "gx", "case")
    assert results[("quarantined_share_below_threshold", "")][:2] == (True, 0)
    assert results[("file_contributes_rows", "")][:2] == (True, 0)
    docs = load_config(config_path).dashboards_dir / "validation"
    pages = sorted(p.name for p in (docs / result.run_id).glob("*.html"))
    assert pages == ["index.html", "load_files.html", "load_sources.html",
                     "staging_cases.csv.html", "staging_events.csv.html"]
    assert result.run_id in (docs / "index.html").read_text(encoding="utf-8")
    for page in [docs / "index.html", *(docs / result.run_id).glob("*.html")]:
        text = page.read_text(encoding="utf-8")
        assert not REMOTE_REFERENCE.search(text), page
        assert "cdn" not in text.lower() and "https://" not in text, page
    events_page = (docs / result.run_id / "staging_events.csv.html").read_text()
    assert "activity_in_vocabulary" in events_page and UNKNOWN_ACTIVITY in events_page


def test_data_docs_compile_their_templates_once(
        loaded: tuple[Path, Path, Corrupted, RunResult], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages rendered again (the next page, the next run) reuse the compiled templates; the
    pages are the same (apart from GX's random element ids)."""
    from jinja2 import Environment

    from procmine.validation.docs import write_data_docs

    report = loaded[3].validation
    assert report is not None
    write_data_docs(report, tmp_path / "first")
    compiled: list[str] = []
    original = Environment.compile

    def counting(self: Environment, source: str, *args: object, **kwargs: object) -> object:
        compiled.append(str(args[0]) if args else "")
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counting)
    write_data_docs(report, tmp_path / "second")
    assert compiled == []
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    first, second = (sorted((tmp_path / name / report.run_id).glob("*.html"))
                     for name in ("first", "second"))
    assert [p.name for p in first] == [p.name for p in second] and len(first) == 5
    for one, other in zip(first, second, strict=True):
        assert uuid.sub("", one.read_text()) == uuid.sub("", other.read_text()), one.name


def test_release_after_adding_the_activity_moves_exactly_those_rows(
        loaded: tuple[Path, Path, Corrupted, RunResult], tmp_path: Path) -> None:
    db = loaded[0]
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    before = dict(_rows(copy, "SELECT rule, count(*) FROM quarantine.events GROUP BY rule"))
    core_before = _rows(copy, "SELECT count(*) FROM core.events")[0][0]
    # the config is still missing the activity: the rows are re-validated and stay
    unchanged = release(load_config(write_config(tmp_path / "same.toml")), copy,
                        rule="activity_in_vocabulary")
    assert (unchanged.released, unchanged.admitted, unchanged.requarantined) == (6, 0, 6)
    assert _rows(copy, "SELECT count(*) FROM core.events")[0][0] == core_before
    fixed = write_config(tmp_path / "fixed.toml", extra_activities={UNKNOWN_ACTIVITY: "escalate"})
    proc = run_cli("--config", fixed, "quarantine", "release", "--rule", "activity_in_vocabulary",
                   "--db", copy)
    assert "released 6 row(s): 6 into core, 0 still quarantined" in proc.stderr
    touched, months = _rows(
        copy, "SELECT (SELECT count(DISTINCT k.open_month) FROM core.events AS e "
              "JOIN core.case_keys AS k USING (case_id) WHERE e.activity = ?), "
              "(SELECT count(DISTINCT open_month) FROM core.case_keys)", [UNKNOWN_ACTIVITY])[0]
    assert 0 < touched <= months
    assert f"; {touched} of {months} partitions touched" in proc.stderr
    after = dict(_rows(copy, "SELECT rule, count(*) FROM quarantine.events GROUP BY rule"))
    assert after == {k: v for k, v in before.items() if k != "activity_in_vocabulary"}
    assert _rows(copy, "SELECT count(*), min(d2c_stage), max(d2c_stage) FROM core.events "
                       "WHERE activity = ?", [UNKNOWN_ACTIVITY]) == [(6, "escalate", "escalate")]
    assert _rows(copy, "SELECT count(*) FROM core.events")[0][0] == core_before + 6
    listing = run_cli("quarantine", "list", "--db", copy).stdout
    assert "case_has_opening_event" in listing and "activity_in_vocabulary" not in listing
    shown = run_cli("quarantine", "show", "ts_not_null", "--db", copy).stdout
    assert shown.count("not a date") == 4 and "a_export.csv" in shown


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, except the run's own bookkeeping (run_log, validation results,
    what a stopped run would have quarantined)."""
    conn = store.reading(db)
    try:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('core', 'marts', 'quarantine', 'staging', 'raw') "
            "AND table_name NOT IN ('run_log', 'validation_results', 'failed_quarantine')"
        ).fetchall()
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall()))
                for (t,) in tables}
    finally:
        conn.close()


def _folder_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_quarantine_share_over_threshold_stops_publishing(tmp_path: Path,
                                                          events: list[Row]) -> None:
    """`procmine run` with a new export of which ~12% is bad: failed_validation, exit 1, the
    published database (marts included) and dashboards unchanged."""
    import procmine
    from tests.corrupt_sample import _write

    config_path = write_config(tmp_path / "procmine.toml")
    config = load_config(config_path)
    landing = config.landing_dir / "csv"
    landing.mkdir(parents=True)
    cases = sorted({e["case_id"] for e in events})
    good = [r for r in events if r["case_id"] <= cases[40]]
    _write(landing / "day1.csv", good)
    first = procmine.open(config.db_path(), config).run()
    assert first.status == "success" and first.events_quarantined == 0
    db, dashboards = config.db_path(), config.dashboards_dir
    before_db, before_pages = _snapshot(db), _folder_digest(dashboards)
    assert before_db["marts.variants"] and "validation/index.html" in before_pages
    later = [r for r in events if cases[41] <= r["case_id"] <= cases[81]]
    _write(landing / "day2.csv", [
        dict(r, activity=UNKNOWN_ACTIVITY) if i % 7 == 3 and r["activity"] != "Open" else r
        for i, r in enumerate(later)])
    proc = run_cli("--config", config_path, "run", check=False)
    assert proc.returncode == 1
    error = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "validation failed" in error[0]
    assert "quarantined_share_below_threshold: csv:" in error[0] and "> 5.0%" in error[0]
    assert _snapshot(db) == before_db
    assert _folder_digest(dashboards) == before_pages
    runs = _rows(db, "SELECT status, message FROM marts.run_log ORDER BY started_at")
    assert [r[0] for r in runs] == ["success", "failed_validation"]
    assert "quarantined_share_below_threshold" in runs[1][1]
    stored = _rows(db, "SELECT rule FROM marts.validation_results v JOIN marts.run_log r "
                       "USING (run_id) WHERE r.status = 'failed_validation' AND NOT v.success "
                       "AND v.level = 'batch'")
    assert stored == [("quarantined_share_below_threshold",)]
    # what it would have quarantined is kept for `procmine quarantine list --failed-run`
    kept = _rows(db, "SELECT rule, column_name, rows FROM marts.failed_quarantine")
    renamed = sum(1 for i, r in enumerate(later) if i % 7 == 3 and r["activity"] != "Open")
    assert kept == [("activity_in_vocabulary", "activity", renamed)] and renamed == 43


def test_row_count_and_empty_file_gates(tmp_path: Path, events: list[Row]) -> None:
    from tests.corrupt_sample import _write

    config = load_config(write_config(tmp_path / "procmine.toml"))
    db = tmp_path / "procmine.duckdb"
    cases = sorted({e["case_id"] for e in events})
    ingest(config, db, "csv", [_write(tmp_path / "big.csv",
                                      [r for r in events if r["case_id"] <= cases[60]])])
    # the first load is the backfill, never the baseline: the first nightly passes whatever its size
    similar = [r for r in events if cases[100] <= r["case_id"] <= cases[160]]
    assert ingest(config, db, "csv", [_write(tmp_path / "similar.csv", similar)]).status == "success"
    small = [r for r in events if cases[200] <= r["case_id"] <= cases[205]]
    with pytest.raises(ValidationFailed, match="row_count_vs_previous_run"):
        ingest(config, db, "csv", [_write(tmp_path / "small.csv", small)])
    empty = tmp_path / "empty.csv"
    empty.write_text("case_id,activity,timestamp,resource,group\n")
    third = [r for r in events if cases[161] <= r["case_id"] <= cases[199]]
    with pytest.raises(ValidationFailed, match=r"file_contributes_rows: .*empty\.csv"):
        ingest(config, db, "csv", [_write(tmp_path / "third.csv", third), empty])
    ok = ingest(config, db, "csv", [tmp_path / "third.csv"])
    assert ok.status == "success"
    statuses = [r[0] for r in _rows(db, "SELECT status FROM marts.run_log ORDER BY started_at")]
    assert statuses == ["success", "success", "failed_validation", "failed_validation", "success"]


def test_validate_command_checks_what_is_staged(tmp_path: Path) -> None:
    db = tmp_path / "procmine.duckdb"
    with store.writing(db) as conn:
        conn.execute(
            "INSERT INTO staging.events (event_id, case_id, case_type, activity, ts, source, "
            "source_file, source_row, seq, ts_raw, sourcing, run_id) SELECT 'e' || i, "
            "'C' || (i // 3), 'incident', CASE WHEN i = 7 THEN NULL ELSE 'Open' END, "
            "TIMESTAMPTZ '2024-01-01' + to_minutes(i), 'csv', 'f.csv', i, 0, 'x', 'hub', 'old' "
            "FROM range(150) t(i)")
    proc = run_cli("validate", "--db", db, "--publish", cwd=tmp_path)
    assert "validated 150 staged rows: 1 quarantined (activity_not_null 1)" in proc.stderr
    assert _rows(db, "SELECT count(*) FROM core.events") == [(149,)]
    assert _rows(db, "SELECT count(*) FROM staging.events") == [(0,)]
    assert (tmp_path / "dashboards" / "validation" / "index.html").is_file()
    again = run_cli("validate", "--db", db, cwd=tmp_path)
    assert "nothing staged" in again.stderr


@pytest.mark.real_data
def test_real_servicenow_minus_100_state_is_quarantined_by_name(
        servicenow_store: RealStore) -> None:
    """The session's ServiceNow store (tests/real_stores.py: the log ingested with the
    shipped configuration; mining writes none of the tables read here)."""
    db, result = servicenow_store.db, servicenow_store.result
    assert result.status == "success"
    rows = _rows(db, "SELECT rule, column_name, bad_value, case_id FROM quarantine.events "
                     "WHERE activity = '-100'")
    assert rows and {r[:3] for r in rows} == {("activity_in_vocabulary", "activity", "-100")}
    assert _rows(db, "SELECT count(*) FROM core.events WHERE activity = '-100'") == [(0,)]
    partial = _rows(db, "SELECT partial_unexpected FROM marts.validation_results "
                        "WHERE rule = 'activity_in_vocabulary'")[0][0]
    assert "-100" in json.loads(partial)
