"""Activities without a Detect-to-Correct stage are said, not punished: conformance judges the
mapped events only (unmapped ones projected out of the aligned sequence), no deviation waste
or cost comes from them, and the ingest output, the run summary and the waste page state the
unmapped share. Real data: the BPIC 2013 Volvo log with its activities replaced by codes, and
the BPIC 2014 activity log with the stage table `procmine inspect` proposes."""

from __future__ import annotations

import csv
import gzip
import math
import shutil
from collections import Counter
from pathlib import Path

import pytest

import procmine
from procmine import store
from procmine.config import load_config
from procmine.sources.inspect import inspect_file
from tests.conftest import run_cli
from tests.landing_data import write_project
from tests.mine_support import Log, mine_log, rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "itsm"
VOLVO = DATA / "bpic2013_volvo_incidents.csv.gz"
BPIC14 = DATA / "bpic14_incident_activity_eventlog_pmdemo.csv.gz"
DESK = "Hub Service Desk L1"


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# ---------------------------------------------------------------- alignment (hand-made log)


def test_unmapped_events_are_projected_out_of_the_alignment(tmp_path: Path) -> None:
    """A, ?, B is judged as A, B: an unmapped step between allowed ones is no deviation; a
    step the model does not allow still is, at its own event, with the judged activity
    before it as evidence; a variant with no mapped event is not aligned (fitness NULL)."""
    log = Log()
    good = [("Open", 0), ("Note", 2), ("Assign", 5), ("Active", 10), ("Resolved", 30),
            ("Closed", 90)]
    bad = [("Open", 0), ("Assign", 5), ("Active", 10), ("Resolved", 30), ("Note", 35),
           ("Active", 40), ("Resolved", 100), ("Closed", 120)]
    for i in range(2):
        for activity, minute in good:
            log.add(f"G{i}", activity, minute, DESK)
        for activity, minute in bad:
            log.add(f"X{i}", activity, minute, DESK)
    for activity, minute in [("Note", 0), ("Call", 5)]:
        log.add("U0", activity, minute, DESK)
    assert log.config.stage_of("servicenow", "Note") is None
    conn = mine_log(log, tmp_path / "db.duckdb")
    deviations = rows(conn, "SELECT case_id, d2c_stage, evidence, hours FROM marts.waste "
                            "WHERE waste_type = 'deviation' ORDER BY case_id")
    assert deviations == [
        {"case_id": f"X{i}", "d2c_stage": "diagnose", "hours": 1.0,
         "evidence": "Active after Resolved is not in the reference model"} for i in range(2)]
    conformance = rows(conn, "SELECT case_count, fitness, log_moves, unjudged_events, "
                             "deviations FROM marts.conformance ORDER BY case_count DESC, log_moves, "
                             "unjudged_events")
    assert [(c["case_count"], c["fitness"] == 1.0, c["log_moves"], c["unjudged_events"])
            for c in conformance] == [(2, True, 0, 1), (2, False, 1, 1), (1, False, 0, 2)]
    assert conformance[1]["deviations"] == ["diagnose not allowed after resolve"]
    assert conformance[2]["fitness"] is None and conformance[2]["deviations"] is None


# ---------------------------------------------------------------- a generic CSV of codes


@pytest.fixture(scope="module")
def volvo_codes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The BPIC 2013 Volvo log as a three-column generic CSV whose activities are codes (A01
    ...), no stage table: loaded with `procmine ingest`, then mined and rendered by `procmine
    run`. Returns (project config, ingest output, run summary)."""
    root = tmp_path_factory.mktemp("volvo_codes")
    config = write_project(root, extra_toml="""
        [sources.csv.columns]
        case = "SR Number"
        activity = "code"
        timestamp = "Change Date+Time"
        resource = ""
        group = ""
        """)
    codes: dict[str, str] = {}
    export = root / "volvo_codes.csv"
    with gzip.open(VOLVO, "rt", encoding="utf-8-sig", newline="") as source, \
            export.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["SR Number", "code", "Change Date+Time"])
        for row in csv.DictReader(source):
            code = codes.setdefault(row["Activity"], f"A{len(codes) + 1:02d}")
            writer.writerow([row["SR Number"], code, row["Change Date+Time"]])
    assert len(codes) == 13
    ingested = run_cli("--config", config, "ingest", "--source", "csv", export)
    procmine.open(load_config(config).db_path(), load_config(config)).run(prefect="never")
    db = load_config(config).db_path()
    summary = _rows(db, "SELECT summary_md FROM marts.run_log WHERE command = 'run'")[0][0]
    return config, ingested.stdout + ingested.stderr, summary


def test_codes_are_no_deviation_and_cost_nothing(volvo_codes: tuple[Path, str, str]) -> None:
    db = load_config(volvo_codes[0]).db_path()
    assert _rows(db, "SELECT count(*), count(DISTINCT case_id) FROM core.events") == [
        (65_533, 7_554)]
    assert _rows(db, "SELECT count(*) FROM marts.waste WHERE waste_type = 'deviation'") == [
        (0,)]
    assert _rows(db, "SELECT count(*), coalesce(sum(cost), 0) FROM marts.waste_heatmap "
                     "WHERE waste_type = 'deviation'") == [(0, 0)]
    assert _rows(db, "SELECT coalesce(sum(cost), 0) FROM marts.waste") == [(0,)]
    # conformance judged nothing and says so: every event of every variant unjudged
    assert _rows(db, "SELECT count(*), count(fitness), sum(unjudged_events * case_count), "
                     "sum(log_moves) FROM marts.conformance") == [(2_278, 0, 65_533, 0)]


UNMAPPED_CODES = ("65,533 of 65,533 events (100.0%) in 7,554 of 7,554 cases (100.0%) have an "
                  "activity without a D2C stage")


def test_codes_unmapped_share_in_ingest_output_and_run_summary(
        volvo_codes: tuple[Path, str, str]) -> None:
    _, ingested, summary = volvo_codes
    assert f"unmapped activities: {UNMAPPED_CODES}" in " ".join(ingested.split())
    assert "top: 'A01' 30,239, 'A02' 11,544, 'A03' 6,115" in " ".join(ingested.split())
    assert "map them to stages in [stages] or [sources.csv.stages]" in " ".join(ingested.split())
    line = next(s for s in summary.splitlines() if s.startswith("| unmapped activities |"))
    assert UNMAPPED_CODES in line and "top: 'A01' 30,239" in line
    assert "map them to stages in [stages] or [sources.csv.stages]" in line


def test_codes_waste_page_states_the_unmapped_share(volvo_codes: tuple[Path, str, str]) -> None:
    page = (load_config(volvo_codes[0]).dashboards_dir / "waste.html").read_text()
    assert ("Unmapped activities: 65,533 of 65,533 events (100.0%) in 7,554 of 7,554 cases "
            "(100.0%) have an activity without a Detect-to-Correct stage: A01 (30,239), "
            "A02 (11,544)") in page
    assert "they never count as deviation" in page


# ------------------------------------------- BPIC 2014 with the stage table `inspect` proposed

UNPLACED = {"Notify By Change", "OO Response", "Quality Indicator", "Quality Indicator Set",
            "Status Change"}


@pytest.fixture(scope="module")
def bpic14(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], list]:
    """The BPIC 2014 activity log (466,660 events, 39 activities) run once through `procmine
    run` as a generic CSV, with the column mapping and the [stages] table that `procmine
    inspect` proposes for it (its unplaced activities left without a stage), and the file's
    (case, activity) rows read plainly."""
    proposal = inspect_file(BPIC14)
    assert proposal.adapter == "csv"
    stages = {a: s for a, s in proposal.stages.items() if s}
    activity_column = proposal.column("activity")
    with gzip.open(BPIC14, "rt", encoding="utf-8-sig", newline="") as source:
        events = [(r[proposal.column("case")], r[activity_column])
                  for r in csv.DictReader(source)]
    table = "\n".join(f'"{a}" = "{s}"' for a, s in stages.items())
    root = tmp_path_factory.mktemp("bpic14")
    config_path = write_project(root, extra_toml=f"""
        [sources.csv.columns]
        case = "{proposal.column("case")}"
        activity = "{activity_column}"
        timestamp = "{proposal.column("timestamp")}"
        resource = ""
        group = "{proposal.column("group")}"
        """)
    with config_path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n[stages]\n{table}\n")
    shutil.copy(BPIC14, root / "data" / "landing" / "csv" / BPIC14.name)
    config = load_config(config_path)
    result = procmine.open(config.db_path(), config).run(prefect="never")
    assert (result.status, result.events_loaded, result.events_quarantined) == (
        "success", 466_660, 0)
    return config_path, stages, events


def test_bpic14_stage_table(bpic14: tuple[Path, dict[str, str], list]) -> None:
    """inspect's name rules place the ITIL steps and leave five activities for the user."""
    stages = bpic14[1]
    assert {a: stages[a] for a in ("Open", "Assignment", "Reassignment", "Pending vendor",
                                   "Resolved", "Closed", "Reopen")} == {
        "Open": "log", "Assignment": "assign", "Reassignment": "assign",
        "Pending vendor": "wait", "Resolved": "resolve", "Closed": "close", "Reopen": "reopen"}
    assert {a for _, a in bpic14[2]} - set(stages) == UNPLACED
    assert [a for a, s in stages.items() if s == "wait"] == ["Pending vendor"]


def test_bpic14_heat_map_has_waiting_handoff_and_ping_pong(
        bpic14: tuple[Path, dict[str, str], list]) -> None:
    db = load_config(bpic14[0]).db_path()
    cases = dict(_rows(db, "SELECT waste_type, count(DISTINCT case_id) FROM marts.waste "
                           "GROUP BY ALL"))
    assert cases["waiting"] == 3_169     # 'Pending vendor' (stage wait) is a waiting state
    assert cases["handoff"] > 20_000 and cases["ping_pong"] > 9_000
    waiting = _rows(db, "SELECT DISTINCT d2c_stage FROM marts.waste_heatmap "
                        "WHERE waste_type = 'waiting'")
    assert waiting == [("wait",)]


def test_bpic14_deviation_only_for_mapped_activities(bpic14: tuple[Path, dict[str, str], list]) -> None:
    db = load_config(bpic14[0]).db_path()
    stages = bpic14[1]
    found = _rows(db, "SELECT evidence, d2c_stage, count(*) FROM marts.waste "
                      "WHERE waste_type = 'deviation' GROUP BY ALL")
    assert found
    for evidence, stage, _ in found:
        activity, _, before = evidence.removesuffix(" is not in the reference model"
                                                    ).partition(" after ")
        assert stages[activity] == stage, evidence      # a mapped activity, at its stage
        assert not before or before in stages, evidence  # evidence: the judged one before
    # no deviation outside a stage: unmapped events are never judged
    assert _rows(db, "SELECT count(*) FROM marts.waste_heatmap "
                     "WHERE waste_type = 'deviation' AND d2c_stage IS NULL") == [(0,)]


def test_bpic14_unmapped_share_in_summary_and_page(
        bpic14: tuple[Path, dict[str, str], list]) -> None:
    config_path, stages, events = bpic14
    unmapped = [(case, activity) for case, activity in events if activity not in stages]
    cases = {case for case, _ in unmapped}
    all_cases = {case for case, _ in events}
    top = Counter(activity for _, activity in unmapped).most_common(3)
    config = load_config(config_path)
    summary = _rows(config.db_path(), "SELECT summary_md FROM marts.run_log")[0][0]
    share = (f"{len(unmapped):,} of {len(events):,} events ({len(unmapped) / len(events):.1%}) "
             f"in {len(cases):,} of {len(all_cases):,} cases ({len(cases) / len(all_cases):.1%})")
    assert f"| unmapped activities | {share} have an activity without a D2C stage" in summary
    assert "top: " + ", ".join(f"'{a}' {n:,}" for a, n in top) in summary
    page = (config.dashboards_dir / "waste.html").read_text()
    assert (f"Unmapped activities: {share} have an activity without a Detect-to-Correct stage: "
            + ", ".join(f"{a} ({n:,})" for a, n in top[:2])) in page
    assert _rows(config.db_path(), "SELECT sum(unjudged_events * case_count) "
                                   "FROM marts.conformance") == [(len(unmapped),)]


def test_incremental_mining_of_unmapped_events_equals_a_full_run(tmp_path: Path) -> None:
    """A new case with an unmapped step and a deviation: only it is rewritten, and the marts
    equal mining everything from scratch."""
    import pyarrow as pa

    from procmine import event_index
    from procmine.mine import MARTS, mine
    from tests.mine_support import EVENT_COLUMNS

    log = Log()
    for i in range(3):
        for activity, minute in [("Open", 0), ("Note", 2), ("Assign", 5), ("Resolved", 30),
                                 ("Closed", 90)]:
            log.add(f"C{i}", activity, minute, DESK)
    conn = mine_log(log, tmp_path / "incremental.duckdb")
    known = len(log.events)
    for activity, minute in [("Open", 0), ("Assign", 5), ("Resolved", 30), ("Note", 35),
                             ("Active", 40), ("Resolved", 100), ("Closed", 120)]:
        log.add("N0", activity, minute, DESK)
    new = pa.table({c: [e[c] for e in log.events[known:]] for c in EVENT_COLUMNS})
    conn.register("_new_events", new)
    conn.execute(f"INSERT INTO core.events ({', '.join(EVENT_COLUMNS)}) "
                 f"SELECT {', '.join(EVENT_COLUMNS)} FROM _new_events")
    conn.execute("INSERT INTO core.cases (case_id, case_type, source) "
                 "VALUES ('N0', 'incident', 'servicenow')")
    conn.execute("CREATE TEMP TABLE _reindex_cases AS SELECT 'N0' AS case_id")
    event_index.refresh(conn)   # as publishing does: the known cases keep their codes
    report = mine(conn, log.config, discover=False, incremental=True)
    assert (report.cases_rewritten, report.rewrite_reason) == (1, "")
    assert report.waste_instances["deviation"] == 1
    full = mine_log(log, tmp_path / "full.duckdb")

    def marts(c) -> dict[str, list[tuple]]:   # NaN (no value) as None, to compare
        return {m: sorted((tuple(None if isinstance(v, float) and math.isnan(v) else v
                                 for v in row)
                           for row in c.execute(f"SELECT * FROM marts.{m}").fetchall()),
                          key=repr) for m in MARTS}

    got, want = marts(conn), marts(full)
    for m in MARTS:
        for a, b in zip(got[m], want[m], strict=True):
            assert a == b, (m, a, b)
