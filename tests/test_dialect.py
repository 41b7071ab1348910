"""Dialects sniffed before loading: the real ServiceNow log rewritten in other date and boolean
dialects loads without flags to the same events; ambiguous or unreadable dates stop the load
with one line, leaving the database as it was."""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from tests.conftest import SERVICENOW_LOG, run_cli
from tests.real_stores import RealStore

DATE_COLUMNS = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
BOOLEAN_COLUMNS = ("active", "made_sla", "knowledge", "u_priority_confirmation")
EVENTS = ("SELECT case_id, activity, ts, seq, source_row, resource, org_group, d2c_stage "
          "FROM core.events ORDER BY source_row, seq")
CASES = ("SELECT case_id, opened_at, resolved_at, closed_at, sla_met, reopen_count, "
         "attributes::VARCHAR FROM core.cases ORDER BY case_id")


def _rewrite(target: Path, date: Callable[[datetime], str],
             boolean: Callable[[str], str] = str) -> Path:
    """The real ServiceNow log with its dates (d/m/yyyy HH:MM) and booleans rewritten (each
    distinct date text parsed once: 44k of the 600k date cells)."""
    dates: dict[str, str] = {"?": "?"}

    def new_date(text: str) -> str:
        if text not in dates:
            dates[text] = date(datetime.strptime(text, "%d/%m/%Y %H:%M"))
        return dates[text]

    with gzip.open(SERVICENOW_LOG, "rt", encoding="utf-8", newline="") as source, \
            target.open("w", encoding="utf-8", newline="") as sink:
        reader = csv.reader(source)
        header = next(reader)
        writer = csv.writer(sink)
        writer.writerow(header)
        date_at = [header.index(column) for column in DATE_COLUMNS]
        boolean_at = [header.index(column) for column in BOOLEAN_COLUMNS]
        for row in reader:
            for i in date_at:
                row[i] = new_date(row[i])
            for i in boolean_at:
                row[i] = boolean(row[i])
            writer.writerow(row)
    return target


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def original(servicenow_store: RealStore) -> dict[str, list[tuple]]:
    """The real log as exported, as the session's store loaded it (tests/real_stores.py):
    its events and cases."""
    return {"events": _rows(servicenow_store.db, EVENTS),
            "cases": _rows(servicenow_store.db, CASES)}


def test_dd_mm_yyyy_dates_and_upper_case_booleans_load_without_flags(
        tmp_path: Path, original: dict[str, list[tuple]]) -> None:
    export = _rewrite(tmp_path / "dashes.csv", lambda d: d.strftime("%d-%m-%Y %H:%M"),
                      lambda b: b.upper())
    db = tmp_path / "procmine.duckdb"
    run_cli("ingest", export, "--source", "servicenow", "--db", db)
    events = _rows(db, EVENTS)
    assert len(events) == len(original["events"]) > 100_000
    assert events == original["events"]
    cases = _rows(db, CASES)
    assert len(cases) == len(original["cases"]) > 20_000
    assert cases == original["cases"]
    assert _rows(db, "SELECT count(*) FILTER (WHERE sla_met), count(*) FILTER (WHERE NOT sla_met)"
                     " FROM core.cases") == [(sum(1 for c in original["cases"] if c[4] is True),
                                              sum(1 for c in original["cases"] if c[4] is False))]


def test_month_first_12_hour_dates_and_yes_no_booleans_load_without_flags(
        tmp_path: Path, original: dict[str, list[tuple]]) -> None:
    export = _rewrite(tmp_path / "us.csv",
                      lambda d: f"{d.month}/{d.day}/{d.year} {d:%I:%M %p}",
                      lambda b: {"true": "Y", "false": "N"}.get(b, b))
    db = tmp_path / "procmine.duckdb"
    run_cli("ingest", export, "--source", "servicenow", "--db", db)
    assert _rows(db, EVENTS) == original["events"]
    assert _rows(db, CASES) == original["cases"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ambiguous_dates_stop_before_loading_with_both_readings(tmp_path: Path) -> None:
    db = tmp_path / "procmine.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("case_id,activity,timestamp\nT1,Open,2024-03-13 09:00\n"
                     "T1,Resolved,2024-03-14 10:00\n")
    ingest(load_config(), db, "csv", [first])   # the store as it was (in this process)
    before = _digest(db)
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("case_id,activity,timestamp\n" + "".join(
        f"T{day},Open,{day:02d}/04/2024 10:00\nT{day},Resolved,{day:02d}/05/2024 11:00\n"
        for day in range(1, 13)))
    refused = run_cli("ingest", ambiguous, "--source", "csv", "--db", db, check=False)
    assert refused.returncode == 1
    message = refused.stderr.strip().splitlines()[-1]
    assert "'timestamp'" in message and "--date-format" in message
    assert "'%d/%m/%Y %H:%M'" in message and "'%m/%d/%Y %H:%M'" in message
    assert "01/04/2024 10:00 = 1 April 2024 or 4 January 2024" in message
    assert "01/05/2024 11:00 = 1 May 2024 or 5 January 2024" in message
    assert _digest(db) == before
    assert _rows(db, "SELECT count(*) FROM core.events") == [(2,)]
    run_cli("ingest", ambiguous, "--source", "csv", "--db", db, "--date-format",
            "%m/%d/%Y %H:%M")
    assert _rows(db, "SELECT count(*), count(*) FILTER (WHERE day(ts) IN (4, 5) AND year(ts) = "
                     "2024 AND month(ts) <= 12) FROM core.events") == [(26, 24)]


def test_a_day_above_12_settles_day_first(tmp_path: Path) -> None:
    db = tmp_path / "procmine.duckdb"
    export = tmp_path / "dates.csv"
    export.write_text("case_id,activity,timestamp\nT1,Open,01/04/2024 10:00\n"
                      "T1,Resolved,13/04/2024 10:00\n")
    run_cli("ingest", export, "--source", "csv", "--db", db)
    assert _rows(db, "SELECT day(ts), month(ts) FROM core.events ORDER BY ts") == [
        (1, 4), (13, 4)]


def test_unreadable_dates_stop_with_one_line_and_leave_the_database(tmp_path: Path) -> None:
    db = tmp_path / "procmine.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("case_id,activity,timestamp\nT1,Open,2024-03-13 09:00\n")
    ingest(load_config(), db, "csv", [first])   # the store as it was (in this process)
    before = _digest(db)
    tables_before = _rows(db, "SELECT * FROM core.events")
    odd = tmp_path / "odd.csv"
    odd.write_text("case_id,activity,timestamp\n" + "".join(
        f"T{i},Open,2024.03.{i:02d} 9h{i:02d}\n" for i in range(1, 11))
        + "T99,Open,2024-03-01 10:00\n")
    refused = run_cli("ingest", odd, "--source", "csv", "--db", db, check=False)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "column 'timestamp'" in lines[0] and "91% of the rows" in lines[0]
    assert "'2024.03.01 9h01'" in lines[0] and "--date-format" in lines[0]
    assert _digest(db) == before and _rows(db, "SELECT * FROM core.events") == tables_before
    # a configured format that reads almost nothing is the same dialect problem
    wrong = run_cli("ingest", first, "--source", "csv", "--db", tmp_path / "other.duckdb",
                    "--date-format", "%d/%m/%Y %H:%M", check=False)
    assert wrong.returncode == 1 and "'%d/%m/%Y %H:%M' (configured)" in wrong.stderr


def test_pm_bool_and_pm_number_read_every_dialect() -> None:
    from procmine.sql import load_sql, run_sql

    conn = duckdb.connect()
    run_sql(conn, load_sql("staging/macros.sql"))
    words = ["TRUE", "false", "Y", "n", "yes", "No", "1", "0", "maybe"]
    assert [conn.execute("SELECT pm_bool(?)", [w]).fetchone()[0] for w in words] == [
        True, False, True, False, True, False, True, False, None]
    assert [conn.execute("SELECT pm_number(?)", [v]).fetchone()[0]
            for v in ["3,5", "3.5", "12", "1.234,5", "x"]] == [3.5, 3.5, 12.0, None, None]


def test_a_boolean_column_in_an_unknown_dialect_stops_with_one_line(tmp_path: Path) -> None:
    export = tmp_path / "sla.csv"
    export.write_text("number,incident_state,sys_mod_count,opened_at,sys_updated_at,made_sla\n"
                      "INC1,New,0,2024-03-13 09:00,2024-03-13 09:00,Ja\n"
                      "INC1,Resolved,1,2024-03-13 09:00,2024-03-14 10:00,Nein\n"
                      "INC2,New,0,2024-03-13 09:00,2024-03-13 11:00,yes\n")
    db = tmp_path / "procmine.duckdb"
    refused = run_cli("ingest", export, "--source", "servicenow", "--db", db, check=False)
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert "column 'made_sla'" in line and "67% of the values (2 of 3)" in line
    assert "e.g. 'Ja'" in line or "e.g. 'Nein'" in line
    assert "columns.sla_met" in line and "\n" not in line
    assert not db.exists() or _rows(db, "SELECT count(*) FROM core.events") == [(0,)]
    export.write_text(export.read_text().replace("Ja", "Y").replace("Nein", "n"))
    run_cli("ingest", export, "--source", "servicenow", "--db", db)
    assert _rows(db, "SELECT case_id, sla_met FROM core.cases ORDER BY 1") == [
        ("INC1", False), ("INC2", True)]


def test_first_rows_that_leave_the_format_open_are_settled_by_every_value() -> None:
    """The format is read from each column's first 200,000 rows first; when those are
    ambiguous (every day <= 12), every value decides: a later day above 12 settles day-first,
    and a file ambiguous throughout still stops."""
    from procmine.sources.dialect import sniff_timestamps
    from procmine.sql import load_sql, run_sql

    conn = duckdb.connect()
    run_sql(conn, load_sql("staging/macros.sql"))
    conn.execute("CREATE TABLE rows AS SELECT '01/02/2024 10:00' AS ts FROM range(200_000)")
    ambiguous = sniff_timestamps(conn, "rows", ["ts"], {}, [])
    assert ambiguous.format is None and ambiguous.ambiguity is not None
    conn.execute("INSERT INTO rows VALUES ('13/02/2024 10:00')")   # row 200,001
    settled = sniff_timestamps(conn, "rows", ["ts"], {}, [])
    assert (settled.format, settled.ambiguity, settled.total_rows) == (
        "%d/%m/%Y %H:%M", None, 200_001)
