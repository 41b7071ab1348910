"""Generic CSV ingestion: idempotent re-loads, overlapping exports, mappings, bad rows."""

from __future__ import annotations

from pathlib import Path

from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from tests.conftest import run_cli

HEADER = "ticket;what;when;who;team\n"


def _write(path: Path, rows: list[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + HEADER + "".join(r + "\n" for r in rows),
                    encoding="utf-8")
    return path


MAPPING = {"case": "ticket", "activity": "what", "timestamp": "when", "resource": "who",
           "group": "team", "delimiter": ";"}


def _count(db_path: Path, sql: str) -> int:
    conn = store.reading(db_path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_same_file_twice_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    export = _write(tmp_path / "day1.csv", [
        "T1;Open;2024-03-01 09:00;ann;Hub Service Desk L1",
        "T1;Resolved;2024-03-01 11:30;bob;Hub Network L2",
        "T2;Open;2024-03-02 10:00;ann;Vendor Acme Networks L3",
    ], bom=True)
    config = load_config()
    first = ingest(config, db_path, "csv", [export], MAPPING)
    second = ingest(config, db_path, "csv", [export], MAPPING)
    assert (first.events_loaded, second.events_loaded) == (3, 0)
    assert [f.status for f in second.files] == ["skipped"]
    assert _count(db_path, "SELECT count(*) FROM core.events") == 3
    assert _count(db_path, "SELECT count(*) FROM core.load_registry") == 1
    assert _count(db_path, "SELECT count(*) FROM raw.csv") == 3


def test_overlapping_exports_yield_the_union(tmp_path: Path, db_path: Path) -> None:
    day1 = _write(tmp_path / "day1.csv", [
        "T1;Open;2024-03-01 09:00;ann;Hub Service Desk L1",
        "T1;Resolved;2024-03-01 11:30;bob;Hub Network L2",
    ])
    day2 = _write(tmp_path / "day2.csv", [
        "T1;Resolved;2024-03-01 11:30;bob;Hub Network L2",   # overlap with day1
        "T1;Closed;2024-03-04 08:00;bob;Hub Network L2",
        "T2;Open;2024-03-03 10:00;ann;Spoke Retail IT L1",
    ])
    result = ingest(load_config(), db_path, "csv", [day1, day2], MAPPING)
    assert result.events_loaded == 4
    conn = store.reading(db_path)
    rows = conn.execute("SELECT case_id, activity, d2c_stage, sourcing FROM core.events "
                        "ORDER BY case_id, ts").fetchall()
    assert rows == [("T1", "Open", "log", "hub"), ("T1", "Resolved", "resolve", "hub"),
                    ("T1", "Closed", "close", "hub"), ("T2", "Open", "log", "spoke:retail")]
    cases = conn.execute("SELECT case_id, sourcing, resolved_at IS NOT NULL FROM core.cases "
                         "ORDER BY 1").fetchall()
    assert cases == [("T1", "hub", True), ("T2", "spoke:retail", False)]


def test_unparseable_row_is_quarantined_and_the_rest_kept(tmp_path: Path, db_path: Path) -> None:
    export = _write(tmp_path / "bad.csv", [
        "T1;Open;2024-03-01 09:00;ann;G",
        "T1;Resolved;yesterday;bob;G",
        ";Open;2024-03-01 09:00;ann;G",
    ])
    result = ingest(load_config(), db_path, "csv", [export], MAPPING)
    assert result.events_loaded == 1
    conn = store.reading(db_path)
    assert conn.execute("SELECT rule, column_name, bad_value, source_row FROM quarantine.events "
                        "ORDER BY source_row").fetchall() == [
        ("ts_not_null", "ts", "yesterday", 2), ("case_id_not_null", "case_id", None, 3)]


def test_missing_column_names_the_mapping_key(tmp_path: Path, db_path: Path) -> None:
    export = _write(tmp_path / "x.csv", ["T1;Open;2024-03-01 09:00;ann;G"])
    proc = run_cli("ingest", export, "--source", "csv", "--db", db_path, "--delimiter", ";",
                   "--activity", "what", "--timestamp", "when", check=False)
    assert proc.returncode == 1
    assert "missing required column 'case_id'" in proc.stderr
    assert "columns.case" in proc.stderr


def test_ambiguous_dates_need_a_format(tmp_path: Path, db_path: Path) -> None:
    export = tmp_path / "dates.csv"
    export.write_text("case_id,activity,timestamp\nT1,Open,01/02/2024 09:00\n"
                      "T1,Resolved,03/02/2024 10:00\n")
    proc = run_cli("ingest", export, "--source", "csv", "--db", db_path, check=False)
    assert proc.returncode == 1 and "--date-format" in proc.stderr
    run_cli("ingest", export, "--source", "csv", "--db", db_path, "--date-format",
            "%d/%m/%Y %H:%M")
    assert _count(db_path, "SELECT count(*) FROM core.events WHERE month(ts) = 2") == 2


def test_source_rows_follow_the_file_over_row_groups(tmp_path: Path, db_path: Path) -> None:
    """Raw rows are numbered by their order of insertion (no row_number() window, so DuckDB
    may read the file in parallel): every row over several row groups carries its own 1-based
    data row, quoted line breaks (rows and lines differ) included."""
    from procmine.ingest import stage_files

    export = tmp_path / "large.csv"
    rows = 300_000
    with export.open("w", encoding="utf-8") as handle:
        handle.write(HEADER.rstrip("\n") + ";row;note\n")
        for i in range(1, rows + 1):
            note = f'"line one\nline two {i}"' if i % 997 == 0 else "x" * 20
            handle.write(f"T{i % 5000};Open;2024-03-01 09:00;ann;G;{i};{note}\n")
    with store.writing(db_path) as conn:
        report = stage_files(conn, load_config(), "csv", [export], "r1", MAPPING)
        assert [f.rows for f in report.loaded] == [rows]
        assert conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE _source_row = \"row\"::BIGINT), "
            "min(_source_row), max(_source_row) FROM raw.csv").fetchone() == (rows, rows, 1, rows)
        assert conn.execute("SELECT count(*) FROM staging.events WHERE source_row = 997 * 3 "
                            "AND case_id = 'T2991'").fetchone() == (1,)


def test_a_file_failing_after_its_raw_rows_leaves_no_raw_rows(tmp_path: Path,
                                                               db_path: Path) -> None:
    """Raw rows are committed before they are numbered and normalised; a failure after that
    (here: dates that fit day-first and month-first) removes them again."""
    import pytest

    from procmine.errors import InputError
    from procmine.ingest import stage_files

    good = _write(tmp_path / "good.csv", ["T1;Open;2024-03-01 09:00;ann;G"])
    ambiguous = _write(tmp_path / "ambiguous.csv", ["T2;Open;01/02/2024 09:00;ann;G",
                                                    "T2;Resolved;03/02/2024 10:00;ann;G"])
    with store.writing(db_path) as conn:
        stage_files(conn, load_config(), "csv", [good], "r1", MAPPING)
        with pytest.raises(InputError, match="date"):
            stage_files(conn, load_config(), "csv", [ambiguous], "r2", MAPPING)
        assert conn.execute("SELECT _source_file, _source_row FROM raw.csv").fetchall() == [
            (str(good), 1)]
        assert conn.execute("SELECT count(*) FROM staging.events WHERE run_id = 'r2'"
                            ).fetchone() == (0,)


def test_a_case_last_held_at_a_tied_time_takes_the_later_rows_sourcing(
        tmp_path: Path, db_path: Path) -> None:
    """Two hand-offs at the same minute: the case's sourcing is the group of the row that comes
    later in the export (the canonical event order: time, file, row), not either at random."""
    export = _write(tmp_path / "ties.csv", [
        "T1;Open;2024-03-01 09:00;ann;Hub Service Desk L1",
        "T1;Assign;2024-03-01 10:00;bob;Hub Network L2",
        "T1;Assign;2024-03-01 10:00;cid;Vendor Acme Networks L3",
        "T2;Open;2024-03-01 09:00;ann;Hub Service Desk L1",
        "T2;Assign;2024-03-01 10:00;cid;Vendor Acme Networks L3",
        "T2;Assign;2024-03-01 10:00;bob;Hub Network L2",
    ])
    ingest(load_config(), db_path, "csv", [export], MAPPING)
    conn = store.reading(db_path)
    try:
        rows = conn.execute("SELECT case_id, sourcing FROM core.cases ORDER BY 1").fetchall()
    finally:
        conn.close()
    assert rows == [("T1", "vendor:acme"), ("T2", "hub")]
