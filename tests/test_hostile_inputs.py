"""Hostile and broken inputs: a clear message, the bad file or rows set aside, the valid data
of the same run kept, and never a crash."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ProcmineError
from procmine.load import RunResult, ingest

HEADER = "case_id,activity,timestamp,resource,group\n"
VALID_ROWS = ("OK1,Open,2024-03-01 09:00,ann,Hub Service Desk L1\n"
              "OK1,Resolved,2024-03-01 10:00,ann,Hub Service Desk L1\n")


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_valid.csv"
    path.write_text(HEADER + VALID_ROWS)
    return path


def _ingest(db: Path, *files: Path, **overrides: str) -> RunResult:
    """The pipeline's ingest in-process (the CLI prints exactly these messages)."""
    return ingest(load_config(), db, "csv", list(files), overrides)


def _core(db: Path, sql: str = "SELECT case_id, activity FROM core.events ORDER BY ts") -> list:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _assert_valid_kept(db: Path) -> None:
    assert ("OK1", "Open") in _core(db) and ("OK1", "Resolved") in _core(db)


def _file_failure(tmp_path: Path, valid_file: Path, bad: Path, message: str) -> None:
    db = tmp_path / "db.duckdb"
    result = _ingest(db, valid_file, bad)
    assert [f.path for f in result.failed_files] == [bad]
    failure = result.failed_files[0].message
    assert failure.startswith(str(bad)) and message in failure, failure
    _assert_valid_kept(db)
    assert _core(db, "SELECT count(*) FROM core.events")[0][0] == 2
    assert _core(db, "SELECT count(*) FROM core.load_registry")[0][0] == 1


def test_truncated_gzip(tmp_path: Path, valid_file: Path) -> None:
    body = gzip.compress((HEADER + "T1,Open,2024-03-01 09:00,x,G\n" * 5000).encode())
    bad = tmp_path / "b_truncated.csv.gz"
    bad.write_bytes(body[: len(body) // 2])
    _file_failure(tmp_path, valid_file, bad, "truncated or not valid gzip")


def test_corrupt_gzip(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_corrupt.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00garbage" * 100)
    _file_failure(tmp_path, valid_file, bad, "truncated or not valid gzip")


def test_wrong_encoding(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_latin1.csv"
    bad.write_bytes((HEADER + "T1,Clôturé,2024-03-01 09:00,Zoë,G\n").encode("latin-1"))
    _file_failure(tmp_path, valid_file, bad, "not valid utf-8")
    db = tmp_path / "fixed.duckdb"
    assert not _ingest(db, bad, encoding="latin-1").failed_files
    assert _core(db) == [("T1", "Clôturé")]


def test_embedded_newlines_and_quotes(tmp_path: Path, valid_file: Path) -> None:
    odd = tmp_path / "b_quotes.csv"
    odd.write_text(HEADER + 'Q1,"Open",2024-03-01 09:00,"O\'Brien, ""Bob""","Hub\nNetwork"\n'
                   'Q1,Resolved,2024-03-01 11:00,x,G\n')
    db = tmp_path / "db.duckdb"
    assert not _ingest(db, valid_file, odd).failed_files
    rows = _core(db, "SELECT resource, org_group, source_row FROM core.events "
                     "WHERE case_id = 'Q1' ORDER BY ts")
    assert rows == [('O\'Brien, "Bob"', "Hub\nNetwork", 1), ("x", "G", 2)]
    _assert_valid_kept(db)


def test_one_megabyte_field(tmp_path: Path, valid_file: Path) -> None:
    huge = tmp_path / "b_huge.csv"
    huge.write_text(HEADER + f"H1,Open,2024-03-01 09:00,{'x' * 1_048_576},G\n"
                    "H1,Resolved,2024-03-01 10:00,y,G\n")
    db = tmp_path / "db.duckdb"
    assert not _ingest(db, valid_file, huge).failed_files
    assert _core(db, "SELECT length(resource) FROM core.events WHERE case_id = 'H1' "
                     "ORDER BY ts") == [(1_048_576,), (1,)]
    _assert_valid_kept(db)


def test_duplicate_headers(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_dup.csv"
    bad.write_text("case_id,activity,timestamp,activity\nT1,Open,2024-03-01 09:00,Close\n")
    _file_failure(tmp_path, valid_file, bad, "duplicate column name 'activity'")


def test_missing_columns(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_missing.csv"
    bad.write_text("case_id,timestamp\nT1,2024-03-01 09:00\n")
    _file_failure(tmp_path, valid_file, bad, "missing required column 'activity'")


def test_empty_file(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_empty.csv"
    bad.write_bytes(b"")
    _file_failure(tmp_path, valid_file, bad, "the file is empty")


def test_unknown_encoding_is_a_clear_error(tmp_path: Path, valid_file: Path) -> None:
    with pytest.raises(ProcmineError, match="unknown encoding 'klingon'"):
        _ingest(tmp_path / "db.duckdb", valid_file, encoding="klingon")


def test_ragged_rows_name_the_row(tmp_path: Path, valid_file: Path) -> None:
    bad = tmp_path / "b_ragged.csv"
    bad.write_text(HEADER + "T1,Open,2024-03-01 09:00,x,G\nT1,Resolved,2024-03-01 10:00,x,G,extra\n")
    _file_failure(tmp_path, valid_file, bad, "row 2")


def test_timestamps_far_in_the_past_or_future_are_quarantined(tmp_path: Path,
                                                              valid_file: Path) -> None:
    odd = tmp_path / "b_far.csv"
    odd.write_text(HEADER + "F1,Open,1899-12-31 09:00,x,G\nF1,Resolved,2999-01-01 10:00,x,G\n"
                   "F2,Open,+275760-09-13 00:00,x,G\nF3,Open,2024-03-01 09:00,x,G\n")
    db = tmp_path / "db.duckdb"
    assert not _ingest(db, valid_file, odd).failed_files
    quarantined = _core(db, "SELECT case_id, rule, bad_value FROM quarantine.events "
                            "ORDER BY source_row")
    assert quarantined == [("F1", "ts_in_range", "1899-12-31 09:00"),
                           ("F1", "ts_in_range", "2999-01-01 10:00"),
                           ("F2", "ts_not_null", "+275760-09-13 00:00")]
    assert ("F3", "Open") in _core(db)
    _assert_valid_kept(db)


def test_daylight_saving_transitions(tmp_path: Path) -> None:
    """Naive local times across both Brussels DST changes of 2024 land in the right UTC instants."""
    dst = tmp_path / "dst.csv"
    dst.write_text(HEADER +
                   "D1,Open,2024-03-31 01:30,x,G\n"       # CET (UTC+1)
                   "D1,Active,2024-03-31 03:30,x,G\n"     # CEST (UTC+2), one real hour later
                   "D2,Open,2024-10-27 01:30,x,G\n"       # CEST
                   "D2,Active,2024-10-27 03:30,x,G\n")    # CET, three real hours later
    db = tmp_path / "db.duckdb"
    assert not _ingest(db, dst, timezone="Europe/Brussels").failed_files
    rows = _core(db, "SELECT case_id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') "
                     "FROM core.events ORDER BY case_id, ts")
    assert rows == [("D1", "2024-03-31 00:30"), ("D1", "2024-03-31 01:30"),
                    ("D2", "2024-10-26 23:30"), ("D2", "2024-10-27 02:30")]
