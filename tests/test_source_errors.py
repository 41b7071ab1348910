"""Bad input for the ITSM adapters: missing columns name the mapping key; bad values are
quarantined with the reason (never dropped); a broken file fails whole while the others of
the same run load."""

from __future__ import annotations

import gzip
from pathlib import Path

from procmine import store
from procmine.config import load_config
from procmine.load import RunResult, ingest
from tests.conftest import run_cli

SN_HEADER = "number,incident_state,sys_mod_count,opened_at,sys_updated_at,assignment_group\n"
SN_ROWS = [
    "INC1,New,0,15/1/2024 09:00,15/1/2024 09:00,Hub Network L2",
    "INC1,Resolved,1,15/1/2024 09:00,16/1/2024 10:00,Hub Network L2",
]
VOLVO_HEADER = "SR Number,Change Date+Time,Status,Sub Status,Involved ST,ST Level,Resource\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _query(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _by_name(result: RunResult) -> dict[str, tuple[str, str]]:
    return {f.path.name: (f.status, f.message) for f in result.files}


def test_missing_servicenow_column_names_the_mapping_key(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "an_export_folder_whose_path_is_longer_than_a_terminal_line_of_80_chars"
    folder.mkdir()
    export = _write(folder / "no_state.csv", SN_HEADER.replace("incident_state", "state")
                    + "INC1,New,0,15/1/2024 09:00,15/1/2024 09:00,G\n")
    proc = run_cli("ingest", export, "--source", "servicenow", "--db", db_path, check=False)
    assert proc.returncode == 1
    assert "missing required column 'incident_state'" in proc.stderr
    assert "columns.state" in proc.stderr
    assert str(export) in proc.stderr   # whole, however long: stderr is not wrapped in a log
    # the flag (--activity state) maps it
    ingest(load_config(), db_path, "servicenow", [export], {"activity": "state"})
    assert _query(db_path, "SELECT activity FROM core.events ORDER BY seq") == [
        ("Open",), ("Assign",)]


def test_missing_bpic_columns_name_the_mapping_keys(tmp_path: Path, db_path: Path) -> None:
    no_status = _write(tmp_path / "no_status.csv", VOLVO_HEADER.replace("Status,Sub Status",
                                                                        "State,Sub State"))
    no_time = _write(tmp_path / "no_time.csv", VOLVO_HEADER.replace("Change Date+Time", "When"))
    result = ingest(load_config(), db_path, "bpic2013", [no_status, no_time])
    messages = _by_name(result)
    assert messages["no_status.csv"][0] == "failed"
    assert "'Status'" in messages["no_status.csv"][1]
    assert "columns.status" in messages["no_status.csv"][1]
    assert "'Change Date+Time'" in messages["no_time.csv"][1]
    assert "columns.timestamp" in messages["no_time.csv"][1]


def test_broken_files_fail_whole_and_the_others_load(tmp_path: Path, db_path: Path) -> None:
    good = _write(tmp_path / "a_good.csv", SN_HEADER + "\n".join(SN_ROWS) + "\n")
    full = gzip.compress((SN_HEADER + "\n".join(
        f"INC{n},New,0,15/1/2024 09:00,15/1/2024 09:{n % 60:02d},G" for n in range(2, 5000)
    ) + "\n").encode())
    truncated = tmp_path / "b_truncated.csv.gz"
    truncated.write_bytes(full[: len(full) // 2])
    semicolons = _write(tmp_path / "c_semicolons.csv",
                        SN_HEADER.replace(",", ";") + SN_ROWS[0].replace(",", ";") + "\n")
    binary = tmp_path / "d_binary.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    result = ingest(load_config(), db_path, "servicenow", [good, truncated, semicolons, binary])
    files = _by_name(result)
    assert files["a_good.csv"][0] == "loaded"
    for name in ("b_truncated.csv.gz", "c_semicolons.csv", "d_binary.csv"):
        status, message = files[name]
        assert status == "failed", name
        assert name in message
    assert "delimiter" in files["c_semicolons.csv"][1]
    assert result.status == "partial"
    # nothing half-loaded: raw, staging and core hold only the good file
    assert _query(db_path, "SELECT DISTINCT _source_file FROM raw.servicenow") == [(str(good),)]
    assert _query(db_path, "SELECT DISTINCT source_file FROM core.events") == [(str(good),)]
    assert _query(db_path, "SELECT count(*) FROM core.events") == [(3,)]  # Open, Assign, Resolved


def test_bad_values_are_quarantined_never_dropped(tmp_path: Path, db_path: Path) -> None:
    export = _write(tmp_path / "bad.csv", SN_HEADER + "\n".join([
        "INC1,New,0,15/1/2024 09:00,15/1/2024 09:00,Hub Network L2",
        "INC1,Active,1,15/1/2024 09:00,yesterday,Hub Network L2",      # unparseable time
        "INC1,Resolved,2,15/1/2024 09:00,32/1/2024 10:00,Hub Network L2",  # impossible date
        ",Active,0,15/1/2024 09:00,15/1/2024 09:30,Hub Network L2",   # no record number
        "INC2,Bogus,0,not a date,15/1/2024 11:00,Hub Network L2",      # bad opened_at + state
    ]) + "\n")
    result = ingest(load_config(), db_path, "servicenow", [export])
    assert result.status == "success"
    quarantined = set(_query(db_path, "SELECT case_id, activity, rule, bad_value, source_row "
                                      "FROM quarantine.events"))
    assert {
        ("INC1", "Active", "ts_not_null", "yesterday", 2),
        ("INC1", "Resolved", "ts_not_null", "32/1/2024 10:00", 3),
        (None, "Active", "case_id_not_null", None, 4),
        ("INC2", "Open", "ts_not_null", "not a date", 5),
        ("INC2", "Bogus", "activity_in_vocabulary", "Bogus", 5),
    } <= quarantined
    # every derived event is in core or in quarantine: INC1 Open + Assign are valid; INC2's
    # Assign is valid itself but its case has no valid opening (validation may hold it back)
    core = _query(db_path, "SELECT case_id, activity FROM core.events ORDER BY case_id, seq")
    held = {(q[0], q[1]) for q in quarantined}
    assert core[:2] == [("INC1", "Open"), ("INC1", "Assign")]
    assert ("INC2", "Assign") in set(core) | held
    assert len(core) + len(held) == 8


def test_bad_bpic_rows_are_quarantined(tmp_path: Path, db_path: Path) -> None:
    export = _write(tmp_path / "volvo.csv", VOLVO_HEADER + "\n".join([
        "1-1,2012-05-01T10:00:00+02:00,Queued,Awaiting Assignment,G97,L1,be-Ann",
        "1-1,2012-05-01 25:00,Accepted,In Progress,G97,L1,be-Ann",
        "1-1,2012-05-01T12:00:00+02:00,Completed,Resolved,G97,L1,",
        "1-1,2012-05-01T13:00:00+02:00,Completed,Teleported,G97,L1,be-Ann",
    ]) + "\n")
    ingest(load_config(), db_path, "bpic2013", [export])
    assert _query(db_path, "SELECT source_row, rule FROM quarantine.events ORDER BY 1, 2") == [
        (2, "ts_not_null"), (3, "resource_present"), (4, "activity_in_vocabulary")]
    assert _query(db_path, "SELECT count(*) FROM core.events") == [(1,)]
