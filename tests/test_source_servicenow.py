"""ServiceNow adapter: the real UCI incident log (119,998 snapshot rows, 20,769 incidents),
the derivation rules on hand-checked incidents, an independent plain-Python derivation,
incremental overlapping exports, and date-format detection through the CLI."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ValidationFailed
from procmine.load import RunResult, ingest
from tests.conftest import SERVICENOW_LOG, VOLVO_LOG, run_cli
from tests.real_stores import RealStore

INCIDENTS = 20_769
RAW_ROWS = 119_998
EVENTS_DERIVED = 119_403      # staged: core + quarantine
EVENTS_IN_CORE = 119_402
NULLS = {"?", ""}
SN_FORMAT = "%d/%m/%Y %H:%M"


@pytest.fixture(scope="module")
def sn(servicenow_store: RealStore) -> tuple[Path, RunResult]:
    """The session's ServiceNow store (tests/real_stores.py), read only."""
    return servicenow_store.db, servicenow_store.result


@pytest.fixture
def conn(sn: tuple[Path, RunResult]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = store.reading(sn[0])
    yield connection
    connection.close()


def _ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _events(conn: duckdb.DuckDBPyConnection, case_id: str) -> list[tuple]:
    return conn.execute(
        "SELECT activity, strftime(timezone('UTC', ts), '%Y-%m-%d %H:%M'), org_group, resource, "
        "source_row, seq FROM core.events WHERE case_id = ? "
        "ORDER BY ts, source_file, source_row, seq", [case_id]).fetchall()


def test_every_incident_is_accounted_for(sn: tuple[Path, RunResult],
                                         conn: duckdb.DuckDBPyConnection) -> None:
    result = sn[1]
    assert result.status == "success" and result.files_loaded == 1
    assert conn.execute("SELECT count(*) FROM raw.servicenow").fetchone()[0] == RAW_ROWS
    in_core, only_quarantined = conn.execute(
        "SELECT (SELECT count(DISTINCT case_id) FROM core.events WHERE source = 'servicenow'), "
        "(SELECT count(DISTINCT case_id) FROM quarantine.events WHERE source = 'servicenow' "
        " AND case_id NOT IN (SELECT case_id FROM core.events))").fetchone()
    assert in_core + only_quarantined == INCIDENTS
    assert conn.execute("SELECT count(*), count(DISTINCT case_id) FROM core.cases "
                        "WHERE source = 'servicenow'").fetchone() == (INCIDENTS, INCIDENTS)


def test_exact_event_count(sn: tuple[Path, RunResult], conn: duckdb.DuckDBPyConnection) -> None:
    core, quarantined = conn.execute(
        "SELECT (SELECT count(*) FROM core.events), "
        "(SELECT count(DISTINCT (source_row, seq, event_id)) FROM quarantine.events)").fetchone()
    assert (core, quarantined) == (EVENTS_IN_CORE, EVENTS_DERIVED - EVENTS_IN_CORE)
    assert sn[1].events_loaded == EVENTS_IN_CORE
    assert conn.execute("SELECT count(DISTINCT event_id) FROM core.events").fetchone()[0] == core
    by_activity = dict(conn.execute(
        "SELECT activity, count(*) FROM core.events GROUP BY 1").fetchall())
    assert by_activity == {
        "Open": 20_769, "Assign": 20_396, "Reassign": 16_203, "Reclassify": 1_215,
        "New": 1, "Active": 13_444, "Awaiting User Info": 5_116, "Awaiting Problem": 223,
        "Awaiting Vendor": 208, "Awaiting Evidence": 10, "Resolved": 21_041, "Closed": 20_776,
    }


def _python_derivation(path: Path) -> list[tuple[str, str, datetime, int, int]]:
    """The rules of docs/sources.md, re-implemented over the CSV without DuckDB."""
    def clean(value: str) -> str | None:
        return None if value.strip() in NULLS else value.strip()

    records: dict[str, list[tuple[int, dict[str, str]]]] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row_no, row in enumerate(csv.DictReader(handle), start=1):
            records.setdefault(row["number"], []).append((row_no, row))
    events = []
    for number, rows in records.items():
        seen, unique = set(), []
        for row_no, row in rows:  # a snapshot exported twice counts once
            content = tuple(row.values())
            if content not in seen:
                seen.add(content)
                unique.append((row_no, row))
        unique.sort(key=lambda r: (datetime.strptime(r[1]["sys_updated_at"], SN_FORMAT),
                                   int(r[1]["sys_mod_count"]), r[0]))
        state, group, category = "New", None, None
        for k, (row_no, row) in enumerate(unique):
            at = datetime.strptime(row["sys_updated_at"], SN_FORMAT).replace(tzinfo=UTC)
            if k == 0:
                opened = datetime.strptime(row["opened_at"], SN_FORMAT).replace(tzinfo=UTC)
                events.append((number, "Open", opened, row_no, 0))
            new_state = clean(row["incident_state"])
            if new_state is not None:
                if new_state != state:
                    events.append((number, new_state, at, row_no, 1))
                state = new_state
            new_group = clean(row["assignment_group"])
            if new_group is not None:
                if group is None:
                    events.append((number, "Assign", at, row_no, 2))
                elif new_group != group:
                    events.append((number, "Reassign", at, row_no, 2))
                group = new_group
            new_category = clean(row["category"])
            if new_category is not None:
                if k > 0 and new_category != category:
                    events.append((number, "Reclassify", at, row_no, 3))
                category = new_category
    return events


def test_independent_python_derivation_agrees(conn: duckdb.DuckDBPyConnection) -> None:
    expected = _python_derivation(SERVICENOW_LOG)
    assert len(expected) == EVENTS_DERIVED
    stored = conn.execute(
        "SELECT case_id, activity, ts, source_row, seq FROM core.events UNION ALL "
        "SELECT DISTINCT case_id, activity, ts, source_row, seq FROM quarantine.events"
    ).fetchall()
    normalised = Counter((c, a, t.astimezone(UTC), r, s) for c, a, t, r, s in stored)
    assert normalised == Counter(expected)


def test_minus_100_state_is_quarantined_with_its_reason(conn: duckdb.DuckDBPyConnection) -> None:
    raw = conn.execute("SELECT number, _source_row FROM raw.servicenow "
                       "WHERE incident_state = '-100' ORDER BY 2").fetchall()
    assert raw == [("INC0028089", 115_642), ("INC0028089", 115_643)]
    # the second -100 snapshot repeats the state: one event, from the first row
    quarantined = conn.execute(
        "SELECT case_id, activity, source_row, rule, column_name, bad_value, reason "
        "FROM quarantine.events").fetchall()
    assert [q[:6] for q in quarantined] == [
        ("INC0028089", "-100", 115_642, "activity_in_vocabulary", "activity", "-100")]
    assert quarantined[0][6].startswith("activity not in the source's configured vocabulary")
    assert conn.execute("SELECT count(*) FROM core.events WHERE activity = '-100'").fetchone() == (0,)
    # the rest of that incident is in core
    assert [e[:2] for e in _events(conn, "INC0028089")] == [
        ("Open", "2016-05-10 22:09"), ("Assign", "2016-05-10 22:09"),
        ("Resolved", "2016-06-16 12:03"), ("Closed", "2016-06-21 13:07")]


def test_hand_checked_incidents(conn: duckdb.DuckDBPyConnection) -> None:
    # New (G56) -> Resolved -> Resolved -> Closed: the repeated Resolved collapses
    assert _events(conn, "INC0000045") == [
        ("Open", "2016-02-29 01:16", "Group 56", None, 1, 0),
        ("Assign", "2016-02-29 01:23", "Group 56", None, 1, 2),
        ("Resolved", "2016-02-29 08:53", "Group 56", None, 2, 1),
        ("Closed", "2016-03-05 12:00", "Group 56", None, 4, 1),
    ]
    # the worked example of docs/sources.md: ping-pong 70 -> 50 -> 70, then a reopen
    assert [(a, t, g, r) for a, t, g, _, r, _ in _events(conn, "INC0000102")] == [
        ("Open", "2016-02-29 09:06", "Group 70", 202),
        ("Assign", "2016-02-29 09:13", "Group 70", 202),
        ("Awaiting User Info", "2016-02-29 20:09", "Group 70", 204),
        ("Active", "2016-03-03 17:29", "Group 70", 208),
        ("Reassign", "2016-03-04 11:15", "Group 50", 209),
        ("Reassign", "2016-03-04 12:17", "Group 70", 211),
        ("Reassign", "2016-03-04 14:08", "Group 29", 212),
        ("Reassign", "2016-03-04 15:51", "Group 23", 213),
        ("Awaiting User Info", "2016-03-07 11:50", "Group 23", 214),
        ("Resolved", "2016-03-14 08:13", "Group 23", 217),
        ("Active", "2016-03-17 16:27", "Group 23", 218),
        ("Resolved", "2016-03-17 16:28", "Group 23", 219),
        ("Closed", "2016-03-24 18:59", "Group 23", 220),
    ]
    # first snapshot already Active; one snapshot both reassigns and reclassifies
    assert [(a, t, r, s) for a, t, _, _, r, s in _events(conn, "INC0005043")] == [
        ("Open", "2016-03-09 16:08", 22_856, 0), ("Active", "2016-03-09 16:08", 22_856, 1),
        ("Assign", "2016-03-09 16:08", 22_856, 2), ("Reassign", "2016-03-09 21:32", 22_857, 2),
        ("Reclassify", "2016-03-09 21:32", 22_857, 3), ("Reassign", "2016-03-18 14:36", 22_858, 2),
        ("Resolved", "2016-03-18 15:57", 22_859, 1), ("Closed", "2016-03-24 19:00", 22_860, 1),
    ]


def test_case_attributes_from_the_last_snapshot(conn: duckdb.DuckDBPyConnection) -> None:
    row = conn.execute(
        "SELECT case_type, priority, category, service, opened_at, resolved_at, closed_at, "
        "sla_met, reopen_count, problem_id, change_id, vendor, sourcing, "
        "attributes->>'impact', attributes->>'subcategory', attributes->>'contact_type' "
        "FROM core.cases WHERE case_id = 'INC0000045'").fetchone()
    assert row == ("incident", "3 - Moderate", "Category 55", None, _ts("2016-02-29 01:16"),
                   _ts("2016-02-29 11:29"), _ts("2016-03-05 12:00"), True, 0, None, None, None,
                   "hub", "2 - Medium", "Subcategory 170", "Phone")
    reopened = conn.execute("SELECT reopen_count, sla_met FROM core.cases "
                            "WHERE case_id = 'INC0000102'").fetchone()
    assert reopened[0] == 1
    linked = conn.execute("SELECT count(*) FILTER (WHERE problem_id IS NOT NULL), "
                          "count(*) FILTER (WHERE change_id IS NOT NULL) FROM core.cases"
                          ).fetchone()
    assert linked[0] > 0 and linked[1] > 0
    # every group of the UCI log is "Group <n>": mapped to the hub; no level in the names
    assert conn.execute("SELECT DISTINCT sourcing FROM core.events WHERE org_group IS NOT NULL"
                        ).fetchall() == [("hub",)]
    assert conn.execute("SELECT count(*) FROM core.events WHERE support_level IS NOT NULL"
                        ).fetchone() == (0,)


def test_both_real_logs_stay_apart(sn: tuple[Path, RunResult], tmp_path: Path) -> None:
    both = tmp_path / "both.duckdb"
    shutil.copy(sn[0], both)
    volvo = ingest(load_config(), both, "bpic2013", [VOLVO_LOG])
    assert volvo.status == "success"
    conn = store.reading(both)
    try:
        per_source = conn.execute(
            "SELECT source, count(*), count(DISTINCT case_id) FROM core.events "
            "GROUP BY 1 ORDER BY 1").fetchall()
        assert per_source == [("bpic2013", 65_533, 7_554), ("servicenow", EVENTS_IN_CORE, INCIDENTS)]
        assert conn.execute(
            "SELECT count(*) FROM (SELECT case_id FROM core.events GROUP BY 1 "
            "HAVING count(DISTINCT source) > 1)").fetchone() == (0,)
        assert conn.execute("SELECT source, count(*) FROM core.cases GROUP BY 1 ORDER BY 1"
                            ).fetchall() == [("bpic2013", 7_554), ("servicenow", INCIDENTS)]
        assert conn.execute("SELECT count(*) FROM core.cases c JOIN core.events e "
                            "USING (case_id) WHERE c.source <> e.source").fetchone() == (0,)
    finally:
        conn.close()


# ------------------------------------------------------------------ small exports

COLUMNS = ["number", "incident_state", "sys_mod_count", "opened_at", "sys_updated_at",
           "assignment_group", "assigned_to", "category", "priority", "made_sla",
           "reopen_count", "resolved_at", "closed_at"]


def _export(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


SNAPSHOTS = [
    ["INC1", "New", "0", "15/1/2024 09:00", "15/1/2024 09:01", "?", "?", "Network", "3 - Moderate", "true", "0", "?", "?"],
    ["INC1", "New", "1", "15/1/2024 09:00", "15/1/2024 09:05", "Hub Service Desk L1", "?", "Network", "3 - Moderate", "true", "0", "?", "?"],
    ["INC1", "Active", "2", "15/1/2024 09:00", "15/1/2024 10:00", "Hub Network L2", "ann", "Network", "3 - Moderate", "true", "0", "?", "?"],
    ["INC1", "Awaiting Vendor", "3", "15/1/2024 09:00", "15/1/2024 11:00", "Vendor Acme Networks L3", "bob", "Hardware", "2 - High", "true", "0", "?", "?"],
    ["INC1", "Resolved", "4", "15/1/2024 09:00", "16/1/2024 15:00", "Vendor Acme Networks L3", "bob", "Hardware", "2 - High", "false", "0", "16/1/2024 15:00", "?"],
    ["PRB7", "Active", "0", "13/1/2024 08:00", "13/1/2024 08:00", "Hub Database L3", "cy", "?", "?", "?", "?", "?", "?"],
]  # fmt: skip


def _core(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


EVENTS_SQL = ("SELECT event_id, case_id, activity, org_group, support_level, sourcing, "
              "d2c_stage FROM core.events ORDER BY case_id, ts, source_row, seq")


def test_small_export_levels_sourcing_case_types(tmp_path: Path, db_path: Path) -> None:
    ingest(load_config(), db_path, "servicenow", [_export(tmp_path / "a.csv", SNAPSHOTS)])
    rows = [r[1:] for r in _core(db_path, EVENTS_SQL)]
    assert rows == [
        ("INC1", "Open", None, None, "unmapped", "log"),
        ("INC1", "Assign", "Hub Service Desk L1", "L1", "hub", "assign"),
        ("INC1", "Active", "Hub Network L2", "L2", "hub", "diagnose"),
        ("INC1", "Reassign", "Hub Network L2", "L2", "hub", "assign"),
        ("INC1", "Awaiting Vendor", "Vendor Acme Networks L3", "L3", "vendor:acme", "wait"),
        ("INC1", "Reassign", "Vendor Acme Networks L3", "L3", "vendor:acme", "assign"),
        ("INC1", "Reclassify", "Vendor Acme Networks L3", "L3", "vendor:acme", "classify"),
        ("INC1", "Resolved", "Vendor Acme Networks L3", "L3", "vendor:acme", "resolve"),
        ("PRB7", "Open", "Hub Database L3", "L3", "hub", "log"),
        ("PRB7", "Active", "Hub Database L3", "L3", "hub", "diagnose"),
        ("PRB7", "Assign", "Hub Database L3", "L3", "hub", "assign"),
    ]
    assert _core(db_path, "SELECT case_id, case_type, priority, category, sla_met, "
                          "resolved_at IS NOT NULL, sourcing FROM core.cases ORDER BY 1") == [
        ("INC1", "incident", "2 - High", "Hardware", False, True, "vendor:acme"),
        ("PRB7", "problem", None, None, None, False, "hub"),
    ]


def test_overlapping_exports_derive_each_event_once(tmp_path: Path) -> None:
    day1 = _export(tmp_path / "day1.csv", SNAPSHOTS[:3])
    day2 = _export(tmp_path / "day2.csv", SNAPSHOTS[1:])  # rows 2-3 again, then new ones
    whole = _export(tmp_path / "whole.csv", SNAPSHOTS)
    config = load_config()
    reference, one_run, two_runs = (tmp_path / f"{n}.duckdb" for n in ("ref", "one", "two"))
    ingest(config, reference, "servicenow", [whole])
    single = ingest(config, one_run, "servicenow", [day1, day2])
    ingest(config, two_runs, "servicenow", [day1])
    later = ingest(config, two_runs, "servicenow", [day2])
    expected = [r[:3] for r in _core(reference, EVENTS_SQL)]
    assert [r[:3] for r in _core(one_run, EVENTS_SQL)] == expected
    assert [r[:3] for r in _core(two_runs, EVENTS_SQL)] == expected
    # nothing staged twice, nothing quarantined as a duplicate
    assert single.events_quarantined == 0 and later.events_quarantined == 0
    assert later.events_loaded == len(expected) - 4  # day1 gave Open, Assign, Active, Reassign
    # lineage: the overlapping rows stay attributed to day1
    assert _core(two_runs, "SELECT DISTINCT source_file FROM core.events WHERE activity = "
                           "'Assign' AND case_id = 'INC1'") == [(str(day1),)]
    # the case attributes come from the latest snapshot seen
    assert _core(two_runs, "SELECT priority, category FROM core.cases WHERE case_id = 'INC1'"
                 ) == [("2 - High", "Hardware")]


def test_ambiguous_dates_need_the_date_format_option(tmp_path: Path, db_path: Path) -> None:
    rows = [["INC9", "New", "0", "1/2/2024 09:00", "1/2/2024 09:00", "Hub Network L2", "?",
             "Net", "?", "true", "0", "?", "?"],
            ["INC9", "Resolved", "1", "1/2/2024 09:00", "3/2/2024 10:00", "Hub Network L2",
             "?", "Net", "?", "true", "0", "3/2/2024 10:00", "?"]]
    export = _export(tmp_path / "ambiguous.csv", rows)
    refused = run_cli("ingest", export, "--source", "servicenow", "--db", db_path, check=False)
    assert refused.returncode != 0
    assert "--date-format" in refused.stderr and "ambiguous" in refused.stderr
    assert not db_path.exists() or _core(db_path, "SELECT count(*) FROM core.events") == [(0,)]
    run_cli("ingest", export, "--source", "servicenow", "--db", db_path,
            "--date-format", "%d/%m/%Y %H:%M")
    assert _core(db_path, "SELECT activity, strftime(timezone('UTC', ts), '%Y-%m-%d %H:%M') "
                          "FROM core.events ORDER BY ts, seq") == [
        ("Open", "2024-02-01 09:00"), ("Assign", "2024-02-01 09:00"),
        ("Resolved", "2024-02-03 10:00")]


def test_time_zone_of_naive_timestamps(tmp_path: Path, db_path: Path) -> None:
    export = _export(tmp_path / "tz.csv", SNAPSHOTS[5:])
    ingest(load_config(), db_path, "servicenow", [export], {"timezone": "Europe/Brussels"})
    assert _core(db_path, "SELECT DISTINCT strftime(timezone('UTC', ts), '%Y-%m-%d %H:%M') "
                          "FROM core.events") == [("2024-01-13 07:00",)]


NO_EVENT_NIGHT = datetime(2016, 7, 15).date()   # 2 snapshot rows, each a state already loaded


def test_a_night_whose_snapshots_derive_no_event_is_loaded(tmp_path: Path) -> None:
    """The real log's export of 2016-07-15 (2 rows) repeats states already loaded: it derives
    no event and stages nothing. It is a sound export, loaded and registered; before, its
    file_contributes_rows failure stopped that night, and, the file staying unloaded in the
    landing folder, every later night. A file whose rows name no record still fails, with
    the setting that allows it."""
    from bench.partition_nights import split_by_update_day
    from procmine import open as open_store

    nights = split_by_update_day(SERVICENOW_LOG, tmp_path / "nights", start=NO_EVENT_NIGHT)
    history, quiet, next_night = nights[0], nights[1], nights[2]
    assert (quiet.day, quiet.rows) == (NO_EVENT_NIGHT, 2)
    project = tmp_path / "project"
    landing = project / "landing" / "servicenow"
    landing.mkdir(parents=True)
    (project / "procmine.toml").write_text(
        '[database]\npath = "procmine.duckdb"\n[paths]\nlanding = "landing"\n'
        'dashboards = "dashboards"\n[run]\nprefect = "never"\n'
        f'[validation]\nrow_count_tolerance = 100\n[sources.servicenow]\n'
        f'date_format = "{SN_FORMAT}"\n', encoding="utf-8")
    db = open_store(project / "procmine.duckdb", config=load_config(project / "procmine.toml"))
    shutil.copy(history.path, landing)
    assert db.run().status == "success"
    shutil.copy(quiet.path, landing)
    result = db.run()
    assert (result.status, result.files_loaded, result.events_loaded) == ("success", 1, 0)
    shutil.copy(next_night.path, landing)
    result = db.run()
    assert (result.status, result.files_loaded) == ("success", 1)
    assert result.events_loaded > 0
    with store.reading(project / "procmine.duckdb") as conn:
        registered = dict(conn.execute(
            "SELECT path, events FROM core.load_registry").fetchall())
    assert registered[str(landing / quiet.path.name)] == 0
    assert len(registered) == 3

    # rows that name no record: the number column empty in every row
    with quiet.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    number = rows[0].index("number")
    nameless = tmp_path / "nameless.csv"
    with nameless.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(
            [rows[0], *([*r[:number], "", *r[number + 1:]] for r in rows[1:])])
    with pytest.raises(ValidationFailed, match=r"file_contributes_rows: .*nameless\.csv "
                       r"contributed 0 valid rows .*allow_empty_files = true in "
                       r"\[sources\.servicenow\]"):
        ingest(load_config(project / "procmine.toml"), project / "procmine.duckdb",
               "servicenow", [nameless])


def test_a_night_that_only_changes_a_priority_publishes_it(tmp_path: Path,
                                                           db_path: Path) -> None:
    """A night's export whose one snapshot changes INC1's priority and nothing an event is made
    of: no event, and INC1's core.cases row takes the new priority (before, validation's
    file_contributes_rows stopped the night: 0 rows staged)."""
    header = ("number,incident_state,sys_mod_count,opened_at,sys_updated_at,"
              "assignment_group,priority\n")
    day1 = tmp_path / "day1.csv"
    day1.write_text(header + "INC1,New,0,30/1/2024 09:00,30/1/2024 09:01,Desk L1,3 - Moderate\n"
                    "INC2,New,0,2/2/2024 09:00,2/2/2024 09:01,Desk L1,3 - Moderate\n",
                    encoding="utf-8")
    day2 = tmp_path / "day2.csv"
    day2.write_text(header + "INC1,New,1,30/1/2024 09:00,5/3/2024 10:00,Desk L1,1 - Critical\n",
                    encoding="utf-8")
    options = {"date_format": SN_FORMAT}
    ingest(load_config(), db_path, "servicenow", [day1], options)
    night = ingest(load_config(), db_path, "servicenow", [day2], options)
    assert (night.status, night.events_loaded, night.partitions_touched) == ("success", 0, 1)
    with store.reading(db_path) as conn:
        assert conn.execute("SELECT case_id, priority FROM core.cases ORDER BY case_id"
                            ).fetchall() == [("INC1", "1 - Critical"), ("INC2", "3 - Moderate")]
        assert conn.execute("SELECT events FROM core.load_registry WHERE path = ?",
                            [str(day2)]).fetchall() == [(0,)]
