"""Detect to Correct across records (issue #18): core.links and the chain marts.

A small hand-made store whose every link and figure is worked out below, then the real
BPIC 2014 tables: three figures computed plainly in Python over the CSV files (csv + gzip, no
procmine code) must equal the marts.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import statistics
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ConfigError
from procmine.load import ingest, publish_d2c_records, reset_loaded_data
from procmine.mine import d2c
from procmine.sql import load_sql, run_sql
from procmine.sql.models import materialise, model_query
from tests.conftest import REAL_DATA
from tests.real_stores import RealStore

H = 3600.0
DAY = 86400.0


def _case(case_id: str, case_type: str, opened: str, *, closed: str | None = None,
          resolved: str | None = None, problem_id: str | None = None,
          change_id: str | None = None, **attributes: object) -> dict[str, object]:
    return {"case_id": case_id, "case_type": case_type, "source": "hand",
            "opened_at": opened, "resolved_at": resolved, "closed_at": closed,
            "problem_id": problem_id, "change_id": change_id,
            "attributes": json.dumps(attributes)}


# CI A: change C1 (ended 28 Dec) induces IM1 (opened 1 Jan, 4 days later); SD1 and SD2 report
# IM1 (first call 08:00, incident 10:00); IM1 is fixed by C3 (ended 3 Jan), which induces IM3
# (8 Jan, 5 days later). CI B: IM2 escalated to PR1, fixed by C2 (planned end 10 Jan); SD4
# calls 2 h before IM2 opens (same_ci); SD3 names '#MULTIVALUE'; SD5 an incident not in the
# store. IM4's caused-by CI Z no change touched.
CASES = [
    _case("SD1", "interaction", "2024-01-01 08:00", cis=["A"], related_incident="IM1"),
    _case("SD2", "interaction", "2024-01-01 09:00", cis=["A"], related_incident="IM1"),
    _case("SD3", "interaction", "2024-01-01 10:00", cis=["B"], related_incident="#MULTIVALUE"),
    _case("SD4", "interaction", "2024-01-02 10:00", cis=["B"]),
    _case("SD5", "interaction", "2024-01-02 10:00", cis=["C"], related_incident="IM404"),
    _case("IM1", "incident", "2024-01-01 10:00", resolved="2024-01-04 00:00",
          closed="2024-01-05 00:00", cis=["A"], caused_by_ci="A", related_interaction="SD1",
          related_change="C3"),
    _case("IM2", "incident", "2024-01-02 12:00", problem_id="PR1", cis=["B"],
          caused_by_ci="B", related_interaction="#N/B"),
    _case("IM3", "incident", "2024-01-08 00:00", cis=["A"], caused_by_ci="A"),
    _case("IM4", "incident", "2024-01-09 00:00", cis=["Z"], caused_by_ci="Z"),
    _case("PR1", "problem", "2024-01-03 00:00", change_id="C2"),
    _case("C1", "change", "2023-12-20 00:00", cis=["A", "X"], change_type="Normal",
          risk="High", emergency="N", cab_approval="Y", actual_end="2023-12-28T10:00:00Z",
          planned_end="2023-12-27T00:00:00Z"),
    _case("C2", "change", "2024-01-04 00:00", cis=["B"], change_type="Standard", risk="Low",
          emergency="N", cab_approval="N", planned_end="2024-01-10T00:00:00Z"),
    _case("C3", "change", "2024-01-02 00:00", cis=["A"], change_type="Normal", risk="Low",
          emergency="Y", cab_approval="N", actual_end="2024-01-03T00:00:00Z"),
]


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path_factory.mktemp("d2c-hand") / "procmine.duckdb"
    conn = store.connect(db)
    store.migrate(conn)
    conn.execute("SET TimeZone = 'UTC'")
    for row in CASES:
        conn.execute("INSERT INTO core.cases BY NAME SELECT * FROM (SELECT "
                     + ", ".join(f"${k} AS {k}" for k in row) + ")", row)
    conn.execute("UPDATE core.cases SET opened_at = opened_at")   # (TIMESTAMPTZ from text)
    publish_d2c_records(conn, whole=True)   # as publishing does
    d2c.build(conn, d2c.LinkSettings.from_config(load_config()))
    yield conn
    conn.close()


def test_links_given_and_inferred(hand: duckdb.DuckDBPyConnection) -> None:
    links = hand.execute("SELECT from_id, to_id, kind, origin, rule, to_exists, from_exists "
                         "FROM core.links ORDER BY ALL").fetchall()
    assert links == [
        ("C1", "IM1", "induced", "inferred", "induced", True, True),
        ("C3", "IM3", "induced", "inferred", "induced", True, True),
        ("IM1", "C3", "fixed_by", "given", "related_change", True, True),
        ("IM2", "PR1", "escalated_to", "given", "problem_id", True, True),
        ("PR1", "C2", "fixed_by", "given", "change_id", True, True),
        ("SD1", "IM1", "reported_as", "given", "related_incident", True, True),
        ("SD1", "IM1", "reported_as", "given", "related_interaction", True, True),
        ("SD2", "IM1", "reported_as", "given", "related_incident", True, True),
        ("SD4", "IM2", "same_ci", "inferred", "same_ci", True, True),
        ("SD5", "IM404", "reported_as", "given", "related_incident", False, True),
    ]
    evidence = hand.execute("SELECT evidence FROM core.links WHERE from_id = 'C1'").fetchone()
    assert evidence == ("CI A changed by C1 (actual end 2023-12-28 10:00); incident IM1 "
                        "opened 2024-01-01 10:00 (4.0 days later)",)
    summary = hand.execute("SELECT rule, status, links FROM marts.link_summary "
                           "WHERE status <> 'linked' ORDER BY ALL").fetchall()
    assert summary == [("related_incident", "not_in_store", 1),
                       ("related_incident", "placeholder #MULTIVALUE", 1),
                       ("related_interaction", "placeholder #N/B", 1)]


def test_rules_follow_the_configuration(tmp_path: Path,
                                        hand: duckdb.DuckDBPyConnection) -> None:
    (tmp_path / "procmine.toml").write_text(
        "[links.rules.induced]\nwindow_days = 4.5\nci = 'affected'\n"
        "[links.rules.same_ci]\nenabled = false\n", encoding="utf-8")
    settings = d2c.LinkSettings.from_config(load_config(tmp_path / "procmine.toml"))
    assert [(r.name, r.kind, r.window_s, r.ci_role) for r in settings.rules] == [
        ("induced", "induced", 4.5 * DAY, "affected")]
    (tmp_path / "bad.toml").write_text("[links.rules.x]\nkind = 'nearby'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[links.rules.x\] kind must be one of"):
        d2c.LinkSettings.from_config(load_config(tmp_path / "bad.toml"))


def test_chain_marts(hand: duckdb.DuckDBPyConnection) -> None:
    assert hand.execute("SELECT calls, incidents, example_ids FROM "
                        "marts.d2c_calls_per_incident").fetchall() == [
        (0, 3, "IM2, IM3, IM4"), (2, 1, "IM1")]
    incidents = hand.execute(
        "SELECT incident_id, calls, first_call_id, call_to_incident_s, problem_id, change_id, "
        "induced_by, induced_by_ids, chain_id FROM marts.d2c_incidents ORDER BY 1").fetchall()
    assert incidents == [
        ("IM1", 2, "SD1", 2 * H, None, "C3", 1, "C1", "C3"),
        ("IM2", 0, None, None, "PR1", "C2", 0, None, "C2"),
        ("IM3", 0, None, None, None, None, 1, "C3", "IM3"),
    ]   # IM4 has no link: no chain across records (counted under 0 calls above)
    chains = hand.execute(
        "SELECT chain_id, chain_type, call_to_incident_s, incident_to_problem_s, "
        "problem_to_change_s, incident_to_change_s, change_to_close_s, detect_to_fix_s "
        "FROM marts.d2c_chains WHERE chain_type = 'change' ORDER BY 1").fetchall()
    assert chains == [
        ("C2", "change", None, 12 * H, 1 * DAY, 1.5 * DAY, None, 7.5 * DAY),
        ("C3", "change", 2 * H, None, None, 14 * H, 2 * DAY, 2 * DAY - 8 * H),
    ]
    stages = dict(hand.execute("SELECT stage, median_s FROM marts.d2c_stage_times").fetchall())
    assert stages["call_to_incident"] == 2 * H and stages["incident_to_change"] == 25 * H


def test_change_failure_and_recurrence(hand: duckdb.DuckDBPyConnection) -> None:
    failure = hand.execute(
        "SELECT dimension, value, changes, failed_changes, change_failure_rate, "
        "induced_incidents, evidence FROM marts.d2c_change_failure "
        "WHERE dimension IN ('all', 'change_type') ORDER BY ALL").fetchall()
    assert failure == [("all", "all changes", 3, 2, 2 / 3, 2, "C1, C3"),
                       ("change_type", "Normal", 2, 2, 1.0, 2, "C1, C3"),
                       ("change_type", "Standard", 1, 0, 0.0, 0, None)]
    recurrence = hand.execute(
        "SELECT change_id, ci, incidents_before, incidents_after, before_ids, after_ids, "
        "known_problem_days FROM marts.d2c_recurrence ORDER BY 1, 2").fetchall()
    assert recurrence == [("C2", "B", 1, 0, "IM2", None, 7.5),
                          ("C3", "A", 1, 1, "IM1", "IM3", 38 * H / DAY)]



def test_seconds_between_instants_are_the_timestamptz_difference_bit_for_bit() -> None:
    """pm_seconds (the chain marts' stage times, the rules' gaps) equals epoch(later -
    earlier) of a UTC session exactly: sub-second instants decades apart, either order, NULL."""
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    run_sql(conn, load_sql(d2c.MACROS))
    conn.execute("SELECT setseed(0.25)")
    conn.execute("CREATE TABLE t AS SELECT make_timestamptz((random() * 3e15)::BIGINT) AS a, "
                 "make_timestamptz((random() * 3e15)::BIGINT) AS b FROM range(200000) "
                 "UNION ALL SELECT TIMESTAMPTZ '2024-03-31 01:59:59.5+00', NULL")
    assert conn.execute("SELECT count(*) FILTER (WHERE pm_seconds(a, b) IS DISTINCT FROM "
                        "epoch(a - b)), count(pm_seconds(a, b)) FROM t").fetchone() == (0, 200000)


def test_a_chains_first_incidents_by_opening_then_id_unopened_last() -> None:
    """incident_ids: the chain's first `evidence_ids` incidents by opening time, ties by id,
    incidents without an opening time after the others."""
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    run_sql(conn, load_sql(d2c.MACROS))
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.d2c_incidents (incident_id VARCHAR, opened_at TIMESTAMPTZ, "
                 "resolved_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, calls BIGINT, "
                 "first_call_at TIMESTAMPTZ, problem_id VARCHAR, problem_opened_at TIMESTAMPTZ, "
                 "change_id VARCHAR, change_opened_at TIMESTAMPTZ, "
                 "change_implemented_at TIMESTAMPTZ, chain_id VARCHAR, chain_type VARCHAR)")
    opened = {"IM1": None, "IM2": "2024-01-01 09:00", "IM3": "2024-01-01 09:00",
              "IM4": "2024-01-01 10:00", "IM5": None, "IM6": "2024-01-02 08:00"}
    for incident, at in opened.items():
        conn.execute("INSERT INTO marts.d2c_incidents (incident_id, opened_at, calls, change_id, "
                     "chain_id, chain_type) VALUES (?, ?::TIMESTAMPTZ, 0, 'C1', 'C1', 'change')",
                     [incident, at])
    for n, expected in ((4, "IM2, IM3, IM4, IM6"), (6, "IM2, IM3, IM4, IM6, IM1, IM5")):
        materialise(conn, "marts/d2c_chains", "marts.d2c_chains", {"evidence_ids": n})
        assert conn.execute("SELECT incidents, incident_ids, first_incident_at::VARCHAR "
                            "FROM marts.d2c_chains").fetchall() == [
            (6, expected, "2024-01-01 09:00:00+00")]


# ------------------------------------------------------------------ BPIC 2014, plainly
@pytest.fixture(scope="module")
def bpic14_mined(bpic14_d2c_store: RealStore,
                 tmp_path_factory: pytest.TempPathFactory) -> RealStore:
    """The session's BPIC 2014 store (four tables loaded from landing) copied, with its links
    and chain marts built as mining builds them (mine/d2c.py; the heat map, which needs
    marts.waste, is left out: ~4 s instead of a whole mining run). The shared store is only
    read."""
    db = tmp_path_factory.mktemp("d2c-bpic14") / "procmine.duckdb"
    shutil.copyfile(bpic14_d2c_store.db, db)
    with store.writing(db) as conn:
        d2c.build(conn, d2c.LinkSettings.from_config(bpic14_d2c_store.config), heatmap=False)
    return RealStore(db, bpic14_d2c_store.config, bpic14_d2c_store.result)


# Three figures computed with csv and gzip only, as a person would from the export's
# description, then compared with the marts. Placeholders name no record; a link counts when
# both records are in the store (the activity log's incidents are in it too).

PLACEHOLDERS = {"#MULTIVALUE", "#N/B"}


def _rows(name: str, delimiter: str = ";") -> Iterator[dict[str, str]]:
    with gzip.open(REAL_DATA / name, "rt", encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f, delimiter=delimiter)


def _dmy(text: str) -> datetime | None:          # 9-9-2011 9:23
    return datetime.strptime(text, "%d-%m-%Y %H:%M") if text else None


def _dmy_s(text: str) -> datetime | None:        # 05/02/2012 13:32:57
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S") if text else None


@pytest.fixture(scope="module")
def plain() -> dict[str, object]:
    incidents = {r["Incident ID"]: r for r in _rows("bpic14_detail_incident.csv.gz")
                 if r["Incident ID"]}
    in_store = set(incidents) | {r["Incident ID"] for r in _rows(
        "bpic14_incident_activity_eventlog_pmdemo.csv.gz", ",")}
    calls_of = {r["Interaction ID"]: r for r in _rows("bpic14_detail_interaction.csv.gz")}
    pairs = {(sd, r["Related Incident"]) for sd, r in calls_of.items()
             if r["Related Incident"] in in_store}
    pairs |= {(r["Related Interaction"], im) for im, r in incidents.items()
              if r["Related Interaction"] in calls_of}
    calls = Counter(im for _, im in pairs)
    distribution = Counter(calls.get(im, 0) for im in in_store)
    first_call: dict[str, datetime] = {}
    for sd, im in pairs:
        opened = _dmy(calls_of[sd]["Open Time (First Touch)"])
        if opened and (im not in first_call or opened < first_call[im]):
            first_call[im] = opened
    waits = [(_dmy_s(incidents[im]["Open Time"]) - first).total_seconds()
             for im, first in first_call.items() if im in incidents]
    # a change: every CI of its rows, its first row's type, its end: the latest actual end,
    # else the latest planned end, else the latest record close time
    changes: dict[str, dict[str, object]] = {}
    for r in _rows("bpic14_detail_change.csv.gz"):
        change = changes.setdefault(r["Change ID"], {"type": r["Change Type"], "cis": set(),
                                                     "actual": [], "planned": [], "closed": []})
        change["cis"].add(r["CI Name (aff)"])
        for key, column in (("actual", "Actual End"), ("planned", "Planned End"),
                            ("closed", "Change record Close Time")):
            if r[column]:
                change[key].append(_dmy(r[column]))
    caused_on: dict[str, list[tuple[datetime, str]]] = {}
    for im, r in incidents.items():
        if r["CI Name (CBy)"]:
            caused_on.setdefault(r["CI Name (CBy)"], []).append((_dmy_s(r["Open Time"]), im))
    induced: dict[str, set[str]] = {}
    pairs_induced: set[tuple[str, str]] = set()
    for change_id, change in changes.items():
        ends = change["actual"] or change["planned"] or change["closed"]
        if not ends:
            continue
        end = max(ends)
        for ci in change["cis"]:
            for opened, im in caused_on.get(ci, ()):
                if end <= opened <= end + timedelta(days=7):
                    induced.setdefault(change["type"], set()).add(im)
                    pairs_induced.add((change_id, im))
    return {"distribution": dict(distribution), "median": statistics.median(waits),
            "waits": len(waits), "induced": {t: len(ims) for t, ims in induced.items()},
            "induced_links": len(pairs_induced)}


@pytest.mark.real_data
def test_bpic14_links_are_counted(bpic14_mined: RealStore) -> None:
    with bpic14_mined.reading() as conn:
        summary = conn.execute("SELECT rule, status, links FROM marts.link_summary "
                               "WHERE origin = 'given' ORDER BY ALL").fetchall()
        inferred = conn.execute("SELECT rule, status, links FROM marts.link_summary "
                                "WHERE origin = 'inferred' ORDER BY ALL").fetchall()
    assert summary == [
        ("related_change", "linked", 505), ("related_change", "not_in_store", 31),
        ("related_change", "placeholder #MULTIVALUE", 24),
        ("related_incident", "linked", 51_259), ("related_incident", "not_in_store", 622),
        ("related_incident", "placeholder #MULTIVALUE", 873),
        ("related_interaction", "linked", 42_890),
        ("related_interaction", "not_in_store", 168),
        ("related_interaction", "placeholder #MULTIVALUE", 3_434),
        ("related_interaction", "placeholder #N/B", 114),
    ]
    # the shipped rules: 7 days (caused-by CI), 4 hours (same CI, calls without a given link)
    assert inferred == [("induced", "linked", 24_368), ("same_ci", "linked", 63_063)]


@pytest.mark.real_data
def test_bpic14_figures_equal_plain_python(bpic14_mined: RealStore,
                                           plain: dict[str, object]) -> None:
    with bpic14_mined.reading() as conn:
        distribution = dict(conn.execute(
            "SELECT calls, incidents FROM marts.d2c_calls_per_incident").fetchall())
        stage = conn.execute("SELECT records, median_s FROM marts.d2c_stage_times "
                             "WHERE stage = 'call_to_incident'").fetchone()
        induced = dict(conn.execute(
            "SELECT value, induced_incidents FROM marts.d2c_change_failure "
            "WHERE dimension = 'change_type' AND induced_incidents > 0").fetchall())
        links = conn.execute("SELECT count(*) FROM core.links WHERE rule = 'induced'"
                             ).fetchone()[0]
    assert distribution == plain["distribution"]
    assert distribution[1] == 43_059 and sum(distribution.values()) == 46_629
    assert stage == (plain["waits"], plain["median"]) == (46_274, 376.0)
    assert induced == plain["induced"]
    assert links == plain["induced_links"] == 24_368
    assert induced["Standard Change Type 06"] == 3_032 and sum(induced.values()) == 16_739


# core.d2c_records: publishing parses the records it writes (sql/core/d2c_records.sql); mining
# reads them. After any publishing the table must equal a parse of every core.cases row.

RECORDS_CONFIG = '''
[sources.incidents]
adapter = "records"
delimiter = ";"
date_format = "%Y-%m-%d %H:%M"
timezone = "UTC"
null_tokens = [""]
case_type = "incident"
[sources.incidents.columns]
case = "id"
opened_at = "opened"
closed_at = "closed"
[sources.incidents.events]
"Opened" = "opened"
"Closed" = "closed"
[sources.incidents.stages]
"Opened" = "log"
"Closed" = "close"
[sources.incidents.attributes]
related_change = "change"
cis = { column = "ci", type = "list" }
[sources.changes]
adapter = "records"
delimiter = ";"
date_format = "%Y-%m-%d %H:%M"
timezone = "UTC"
null_tokens = [""]
case_type = "change"
[sources.changes.columns]
case = "id"
opened_at = "opened"
[sources.changes.events]
"Change opened" = "opened"
[sources.changes.stages]
"Change opened" = "log"
'''


def _parsed_again(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every core.cases row parsed now by publishing's model, as rows of core.d2c_records."""
    conn.execute("CREATE OR REPLACE TEMP VIEW _d2c_parse_cases AS SELECT * FROM core.cases")
    parsed = conn.execute(f"SELECT * FROM ({model_query('core/d2c_records')}) ORDER BY case_id"
                          ).fetchall()
    conn.execute("DROP VIEW _d2c_parse_cases")
    return parsed


def _stored(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute("SELECT * FROM core.d2c_records ORDER BY case_id").fetchall()


def test_a_night_that_changes_a_records_reference_moves_its_link(tmp_path: Path) -> None:
    """IM1 is fixed by C1; a later export of IM1 (closed, its related change now C2) rewrites
    IM1's core.cases row, so publishing parses it again: the parsed row and, after mining's
    links, the given link follow. IM2, untouched, keeps its row. --full empties the table."""
    (tmp_path / "procmine.toml").write_text(RECORDS_CONFIG, encoding="utf-8")
    config = load_config(tmp_path / "procmine.toml")
    db = tmp_path / "p.duckdb"
    files = {
        "changes.csv": "id;opened\nC1;2024-01-01 08:00\nC2;2024-01-02 08:00\n",
        "day1.csv": "id;opened;closed;change;ci\nIM1;2024-01-03 09:00;;C1;A\n"
                    "IM2;2024-01-03 10:00;;;B\n",
        "day2.csv": "id;opened;closed;change;ci\nIM1;2024-01-03 09:00;2024-01-05 09:00;C2;A\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ingest(config, db, "changes", [tmp_path / "changes.csv"])
    ingest(config, db, "incidents", [tmp_path / "day1.csv"])

    def links_and_records() -> tuple[list[tuple], dict[str, tuple]]:
        with store.writing(db) as conn:
            d2c.build(conn, d2c.LinkSettings.from_config(config), heatmap=False)
            assert _stored(conn) == _parsed_again(conn)
            links = conn.execute("SELECT from_id, to_id, kind, rule FROM core.links "
                                 "WHERE origin = 'given' ORDER BY ALL").fetchall()
            records = {row[0]: row[1:] for row in conn.execute(
                "SELECT case_id, related_change, cis, closed_at IS NOT NULL "
                "FROM core.d2c_records").fetchall()}
        return links, records

    links, records = links_and_records()
    assert links == [("IM1", "C1", "fixed_by", "related_change")]
    assert records == {"C1": (None, [], False), "C2": (None, [], False),
                       "IM1": ("C1", ["A"], False), "IM2": (None, ["B"], False)}
    ingest(config, db, "incidents", [tmp_path / "day2.csv"])
    links, records = links_and_records()
    assert links == [("IM1", "C2", "fixed_by", "related_change")]
    assert records["IM1"] == ("C2", ["A"], True)
    assert records["IM2"] == (None, ["B"], False)
    with store.writing(db) as conn:
        reset_loaded_data(conn)
        assert conn.execute("SELECT count(*) FROM core.d2c_records").fetchone()[0] == 0


@pytest.mark.real_data
def test_a_store_of_version_19_gets_its_records_parsed(bpic14_mined: RealStore,
                                                       tmp_path: Path) -> None:
    """Migration 20 on a version-19 store holding BPIC 2014's 211,633 records: core.d2c_records
    is filled, equal to a parse of every row now and to what publishing wrote in the loaded
    store (four tables, attributes loaded after their events)."""
    conn = duckdb.connect(str(tmp_path / "v19.duckdb"))
    try:
        assert store.migrate(conn, target=19)[-1] == 19
        conn.execute(f"ATTACH '{bpic14_mined.db}' AS loaded (READ_ONLY)")
        conn.execute("INSERT INTO core.cases SELECT * FROM loaded.core.cases")
        published = conn.execute("SELECT * FROM loaded.core.d2c_records ORDER BY case_id"
                                 ).fetchall()
        conn.execute("DETACH loaded")
        assert store.migrate(conn, target=20) == [20]
        stored = _stored(conn)
        assert len(stored) == 211_633
        assert stored == _parsed_again(conn) == published
    finally:
        conn.close()
