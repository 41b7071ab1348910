"""`procmine inspect`: on each shared log it proposes the right case, activity and timestamp
columns, and the command it prints, run as printed, loads the log with every row accounted
for; an unknown CSV in another dialect (';', cp1252, d-m-y dates, decimal commas) too."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from procmine import store
from procmine.sources.inspect import inspect_file, propose_stage
from tests.conftest import REAL_DATA, SERVICENOW_LOG, VOLVO_LOG, run_cli

BPIC14_LOG = REAL_DATA / "bpic14_incident_activity_eventlog_pmdemo.csv.gz"
PROBLEMS_LOG = REAL_DATA / "bpic13_closed_problems.csv.gz"

# log -> (adapter, case, activity, timestamp, group, rows)
EXPECTED = {
    SERVICENOW_LOG: ("servicenow", "number", "incident_state", "sys_updated_at",
                     "assignment_group", 119_998),
    VOLVO_LOG: ("bpic2013", "SR Number", "Status", "Change Date+Time", "Involved ST", 65_533),
    BPIC14_LOG: ("csv", "Incident ID", "Detail Incident Activity.IncidentActivity_Type",
                 "Detail Incident Activity.DateStamp",
                 "Detail Incident Activity.Assignment Group", 466_660),
    PROBLEMS_LOG: ("csv", "case:concept:name", "concept:name", "time:timestamp",
                   "organization involved", 6_660),
}


def _printed_command(stdout: str) -> str:
    lines = stdout.splitlines()
    return lines[lines.index("load it with:") + 1].strip()


def _one(db: Path, sql: str) -> tuple:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


@pytest.mark.parametrize("log", list(EXPECTED), ids=lambda p: p.name.split(".")[0])
def test_inspect_proposes_the_mapping_and_a_command_that_loads_every_row(
        log: Path, tmp_path: Path) -> None:
    adapter, case, activity, timestamp, group, rows = EXPECTED[log]
    shown = run_cli("inspect", log, cwd=tmp_path).stdout
    proposed = dict(re.findall(r"^  (case|activity|timestamp|resource|group) +'(.+?)': ",
                               shown, re.MULTILINE))
    assert [proposed.get(k) for k in ("case", "activity", "timestamp", "group")] == [
        case, activity, timestamp, group]
    assert f"-> adapter {adapter}\n" in shown and f"CSV, {rows:,} rows" in shown
    command = _printed_command(shown)
    assert command.startswith(f"procmine ingest {log} --source {adapter}")
    # run as printed, from another folder, with the real executable
    argv = shlex.split(command)
    db = tmp_path / "procmine.duckdb"
    proc = run_cli(*argv[1:], cwd=tmp_path, env={"PROCMINE_DB": str(db)})
    assert argv[0] == "procmine"
    assert "0 failed" in proc.stderr
    read, events, quarantined = _one(db, "SELECT sum(rows_read), sum(events), "
                                         "sum(quarantined) FROM core.load_registry")
    assert read == rows
    if adapter != "servicenow":  # one event per row: each is in core or in quarantine
        assert events + quarantined == rows
        assert _one(db, "SELECT (SELECT count(*) FROM core.events) + "
                        "(SELECT count(*) FROM quarantine.events)") == (rows,)
    else:  # events derived from snapshots: every snapshot row is in raw
        assert _one(db, "SELECT count(*) FROM raw.servicenow") == (rows,)
        assert events > 100_000


def test_inspect_reads_another_dialect_and_its_command_loads_it(tmp_path: Path) -> None:
    export = tmp_path / "tickets export.csv"
    rows = ["Ticket Nr;Action;Zeitpunkt;Agent;Team;Priorität;Kosten;Done"]
    for i in range(1, 41):
        day = i % 28 + 1
        rows += [f"T{i};Neu;{day:02d}-03-2024 09:{i:02d};Jörg;Servicedesk;{i % 3};{i},5;N",
                 f"T{i};Assign;{day:02d}-03-2024 10:{i:02d};Jörg;Netz;{i % 3};{i},25;N",
                 f"T{i};Resolved;{day:02d}-03-2024 11:{i:02d};Zoë;Netz;{i % 3};0,75;Y"]
    export.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    inspection = inspect_file(export)
    assert (inspection.delimiter, inspection.encoding, inspection.rows) == (";", "cp1252", 120)
    types = {c.name: (c.type, c.date_format) for c in inspection.columns}
    assert types["Zeitpunkt"] == ("timestamp", "%d-%m-%Y %H:%M")
    assert types["Kosten"] == ("decimal (comma)", None)
    assert types["Priorität"] == ("integer", None)
    assert [inspection.column(k) for k in ("case", "activity", "timestamp", "resource",
                                           "group")] == [
        "Ticket Nr", "Action", "Zeitpunkt", "Agent", "Team"]
    assert inspection.stages == {"Neu": None, "Assign": "assign", "Resolved": "resolve"}
    assert "--delimiter ';' --encoding cp1252 --date-format '%d-%m-%Y %H:%M'" in \
        inspection.command
    db = tmp_path / "procmine.duckdb"
    run_cli(*shlex.split(inspection.command)[1:], cwd=tmp_path, env={"PROCMINE_DB": str(db)})
    assert _one(db, "SELECT count(*), count(DISTINCT case_id), strftime(timezone('UTC', "
                    "min(ts)), '%Y-%m-%d %H:%M'), count(*) FILTER (WHERE resource = 'Jörg') "
                    "FROM core.events") == (120, 40, "2024-03-01 09:28", 80)



def test_inspect_names_both_readings_of_ambiguous_dates(tmp_path: Path) -> None:
    export = tmp_path / "ambiguous.csv"
    export.write_text("case_id,activity,timestamp\n" + "".join(
        f"T{day},Open,{day}/4/2024 10:00\nT{day},Closed,{day}/5/2024 10:00\n"
        for day in range(1, 13)))
    inspection = inspect_file(export)
    stamp = next(c for c in inspection.columns if c.name == "timestamp")
    assert (stamp.type, stamp.date_format) == ("timestamp", "%d/%m/%Y %H:%M")
    assert inspection.date_problem is not None
    assert "1/4/2024 10:00 = 1 April 2024 or 4 January 2024" in inspection.date_problem
    assert "(format unsettled)" in inspection.render()
    assert inspection.command.endswith("--date-format '%d/%m/%Y %H:%M'")

def test_write_config_appends_a_source_table_once(tmp_path: Path) -> None:
    config = tmp_path / "procmine.toml"
    config.write_text('[paths]\nlanding = "landing"\n')
    run_cli("inspect", PROBLEMS_LOG, "--write-config", "--name", "problems", cwd=tmp_path)
    data = tomllib.loads(config.read_text())
    assert data["paths"] == {"landing": "landing"}
    source = data["sources"]["problems"]
    assert source["adapter"] == "csv" and source["date_format"] == ""
    assert source["columns"] == {"case": "case:concept:name", "activity": "concept:name",
                                 "timestamp": "time:timestamp", "resource": "org:resource",
                                 "group": "organization involved"}
    assert source["stages"] == {"Accepted": "diagnose", "Completed": "resolve",
                                "Queued": "assign", "Unmatched": ""}
    assert '"Unmatched" = ""  # not placed' in config.read_text()
    again = run_cli("inspect", PROBLEMS_LOG, "--write-config", "--name", "problems",
                    cwd=tmp_path, check=False)
    assert again.returncode == 1 and "[sources.problems] is already defined" in again.stderr
    assert config.read_text().count("[sources.problems]") == 1


@pytest.mark.parametrize(("activity", "stage"), [
    ("Open", "log"), ("New", "log"), ("Assignment", "assign"), ("Reassign", "assign"),
    ("Pending vendor", "wait"), ("Awaiting User Info", "wait"), ("Resolved", "resolve"),
    ("Closed", "close"), ("Reopen", "reopen"), ("Completed-Closed", "close"),
    ("Escalated to L2", "escalate"), ("Impact Change", "classify"),
    ("Analysis/Research", "diagnose"), ("Status Change", None), ("Quality Indicator", None),
])
def test_stage_from_the_activity_name(activity: str, stage: str | None) -> None:
    assert propose_stage(activity) == stage
