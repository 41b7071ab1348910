"""The Python API (procmine.open → Database), used as an analyst uses it in a notebook: the
Volvo (BPIC 2013) log ingested, mined, read back as polars and pandas frames and handed to
pm4py, whose results equal procmine's marts."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import procmine
from procmine.config import load_config
from procmine.errors import ProcmineError
from procmine.readonly import ReadOnlyViolation
from tests.conftest import ROOT, VOLVO_LOG

ROWS = 65_533   # the Volvo log's events (all valid), as in test_source_bpic2013
CASES = 7_554
HEAVY = ("duckdb", "pm4py", "polars", "prefect", "pandas", "great_expectations", "numpy")


@pytest.fixture(scope="module")
def volvo(tmp_path_factory: pytest.TempPathFactory) -> tuple[procmine.Database, object, object]:
    """The notebook: open, ingest the Volvo log, mine (one store for the whole module)."""
    folder = tmp_path_factory.mktemp("api")
    config = dataclasses.replace(load_config(), base_dir=folder)   # dashboards/ under folder
    db = procmine.open(folder / "volvo.duckdb", config=config)
    ingested = db.ingest(VOLVO_LOG, source="bpic2013")
    mined = db.mine()
    return db, ingested, mined


def test_import_procmine_is_cheap_and_names_are_lazy() -> None:
    code = (f"import sys, procmine; before = [m for m in {HEAVY!r} if m in sys.modules]; "
            "db = procmine.open('x.duckdb'); "
            f"print(before, [m for m in {HEAVY!r} if m in sys.modules], type(db).__name__, "
            "procmine.RunSettings.__name__, 'open' in dir(procmine))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[] [] Database RunSettings True"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        procmine.nope  # noqa: B018


def test_ingest_and_mine_return_results(volvo) -> None:
    db, ingested, mined = volvo
    assert isinstance(ingested, procmine.IngestResult) and ingested.status == "success"
    assert (ingested.events_loaded, ingested.events_quarantined, ingested.files_loaded) == (
        ROWS, 0, 1)
    assert isinstance(mined, procmine.MineReport)
    assert (mined.events, mined.cases) == (ROWS, CASES)
    again = db.ingest([VOLVO_LOG], source="bpic2013")   # same content: skipped
    assert (again.events_loaded, [f.status for f in again.files]) == (0, ["skipped"])


def test_notebook_variants_and_pm4py_dfg_equal_the_marts(volvo) -> None:
    import pm4py
    import polars as pl

    db, _, mined = volvo
    variants = db.table("marts.variants")
    assert isinstance(variants, pl.DataFrame)
    assert variants.height == mined.variants and variants["case_count"].sum() == CASES
    events = db.events()
    assert len(events) == ROWS and events["case:concept:name"].nunique() == CASES
    assert list(events.columns[:6]) == ["case:concept:name", "concept:name", "time:timestamp",
                                        "org:resource", "org:group", "case:case_type"]
    assert str(events["time:timestamp"].dt.tz) == "UTC"
    expected = pm4py.get_variants(events)
    assert {tuple(r["activities"]): r["case_count"] for r in variants.iter_rows(named=True)} \
        == {tuple(k): v for k, v in expected.items()}
    dfg, starts, _ends = pm4py.discover_dfg(events)
    transitions = db.table("marts.transitions")
    ours = {(r["from_activity"], r["to_activity"]): r["count"]
            for r in transitions.iter_rows(named=True)}
    assert len(ours) == mined.transitions > 20
    assert ours == dict(dfg)
    activities = db.query("SELECT activity, start_count FROM marts.activities "
                          "WHERE start_count > 0")
    assert dict(activities.iter_rows()) == starts


def test_query_is_read_only_with_parameters(volvo) -> None:
    db, _, _ = volvo
    frame = db.query("SELECT count(*) AS n FROM core.events WHERE source = ?", ["bpic2013"])
    assert frame.to_dicts() == [{"n": ROWS}]
    named = db.query("SELECT count(DISTINCT case_id) AS n FROM core.events "
                     "WHERE source = $source", {"source": "nope"})
    assert named.to_dicts() == [{"n": 0}]
    assert db.rows("SELECT 1 AS a, 'x' AS b").rows == [(1, "x")]
    before = db.path.read_bytes()
    with pytest.raises(ReadOnlyViolation, match="DDL \\(DROP\\)"):
        db.query("DROP TABLE core.events")
    with pytest.raises(ReadOnlyViolation, match="reading or writing files"):
        db.query("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ProcmineError, match="need a single statement"):
        db.query("SELECT ?; SELECT 2", [1])
    assert db.path.read_bytes() == before


def test_table_names_are_validated(volvo) -> None:
    db, _, _ = volvo
    assert db.table("waste_heatmap").columns == db.table("marts.waste_heatmap").columns
    assert db.table("core.cases").height == CASES
    for bad in ("marts.nope", 'marts.variants"; DROP TABLE core.events; --', "a.b.c"):
        with pytest.raises(ProcmineError, match="no table"):
            db.table(bad)
    assert "marts.transitions" in db.tables()


def test_status_is_data(volvo) -> None:
    db, ingested, _ = volvo
    status = db.status(limit=5)
    assert (status.events, status.cases) == (ROWS, CASES)
    assert {r["command"] for r in status.runs} == {"ingest --source bpic2013"}
    assert status.runs[-1]["run_id"] == ingested.run_id
    assert status.last_problem is None and status.watermarks == []


def test_export_and_quarantine(volvo, tmp_path: Path) -> None:
    db, _, _ = volvo
    assert db.export(tmp_path / "events.csv") == ROWS
    assert len((tmp_path / "events.csv").read_text().splitlines()) == ROWS + 1
    assert db.quarantine_list() == []
    assert len(db.quarantine_show("any_rule")) == 0
    with pytest.raises(ProcmineError, match="unknown ingest option"):
        db.ingest(VOLVO_LOG, source="bpic2013", tiemstamp="x")


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    db = procmine.open(tmp_path / "none.duckdb")
    with pytest.raises(ProcmineError, match="no database at"):
        db.mine()
    with pytest.raises(ProcmineError):
        db.query("SELECT 1")
    assert not (tmp_path / "none.duckdb").exists()


def test_cli_sql_count_equals_the_api_query(volvo) -> None:
    from tests.conftest import run_cli

    db, _, _ = volvo
    proc = run_cli("sql", "--format", "json", "select count(*) as n from core.events",
                   "--db", db.path)
    assert json.loads(proc.stdout) == db.query(
        "select count(*) as n from core.events").to_dicts() == [{"n": ROWS}]
    assert Counter(db.events()["source"]) == {"bpic2013": ROWS}
