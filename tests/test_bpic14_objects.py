"""BPIC 2014's four tables as objects (issue #18): interactions, incidents and changes loaded
from a landing folder in one run (tests/real_stores.py ``bpic14_d2c_store``, configured by
docs/sources.md's examples ``bpic14`` and ``bpic14_objects``), every row accounted for, the
attributes the Detect-to-Correct contract names, and each object type's events equal to an
independent plain-Python reading of the CSV files (variants and directly-follows counts by
pm4py)."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from datetime import datetime
from functools import cache
from itertools import pairwise
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from procmine.errors import InputError
from procmine.sources import get_adapter
from procmine.sources.base import LoadContext
from tests.conftest import REAL_DATA
from tests.real_stores import RealStore, config_from_docs, example_config

INTERACTIONS = REAL_DATA / "bpic14_detail_interaction.csv.gz"
INCIDENTS = REAL_DATA / "bpic14_detail_incident.csv.gz"
CHANGES = REAL_DATA / "bpic14_detail_change.csv.gz"

CHANGE_EVENTS = (  # activity, column, latest (else earliest) of the change's CI rows
    ("Change record opened", "Change record Open Time", False),
    ("Planned start", "Planned Start", False),
    ("Planned end", "Planned End", True),
    ("Actual start", "Actual Start", False),
    ("Actual end", "Actual End", True),
    ("Change record closed", "Change record Close Time", True),
)


@cache
def _rows(path: Path) -> tuple[dict[str, str], ...]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle, delimiter=";"))


def _dmy(value: str) -> datetime:
    return datetime.strptime(value, "%d-%m-%Y %H:%M")


def _interaction_log() -> pd.DataFrame:
    """One row per event, in the order procmine breaks ties (file row, then table order)."""
    events = []
    for row in _rows(INTERACTIONS):
        for activity, column in (("Interaction opened", "Open Time (First Touch)"),
                                 ("Interaction closed", "Close Time")):
            if row[column]:
                events.append((row["Interaction ID"], activity, _dmy(row[column])))
    return pd.DataFrame(events, columns=["case", "activity", "ts"])


def _changes() -> dict[str, list[dict[str, str]]]:
    changes: dict[str, list[dict[str, str]]] = {}
    for row in _rows(CHANGES):
        changes.setdefault(row["Change ID"], []).append(row)
    return changes


def _change_log() -> pd.DataFrame:
    events = []
    for change, rows in _changes().items():
        for activity, column, latest in CHANGE_EVENTS:
            times = [_dmy(r[column]) for r in rows if r[column]]
            if times:
                events.append((change, activity, max(times) if latest else min(times)))
    return pd.DataFrame(events, columns=["case", "activity", "ts"])


def _pm4py_figures(frame: pd.DataFrame) -> tuple[dict, dict]:
    import pm4py

    log = pm4py.format_dataframe(frame, case_id="case", activity_key="activity",
                                 timestamp_key="ts")
    variants = {tuple(v): n for v, n in pm4py.get_variants(log).items()}
    dfg, _, _ = pm4py.discover_dfg(log)
    return variants, dict(dfg)


def _procmine_figures(store: RealStore, case_type: str) -> tuple[dict, dict]:
    with store.reading() as conn:
        traces = conn.execute(
            "SELECT list(activity ORDER BY ts, source_file, source_row, seq) FROM core.events "
            "WHERE case_type = ? GROUP BY case_id", [case_type]).fetchall()
    variants = Counter(tuple(t) for (t,) in traces)
    dfg = Counter(pair for (t,) in traces for pair in pairwise(t))
    return dict(variants), dict(dfg)


def _query(store: RealStore, sql: str, params: list | None = None) -> list[tuple]:
    with store.reading() as conn:
        return conn.execute(sql, params or []).fetchall()


# ---------------------------------------------------------------- accounting


def test_every_table_is_loaded_in_one_run_from_landing(bpic14_d2c_store: RealStore) -> None:
    result = bpic14_d2c_store.result
    assert result.status == "success" and not result.failed_files
    assert sorted((f.source, f.rows) for f in result.files) == [
        ("bpic14", 466_660), ("bpic14_changes", 30_275), ("bpic14_incidents", 46_809),
        ("bpic14_interactions", 147_004)]
    assert result.events_loaded == 466_660 + 2 * 147_004 + 105_366
    assert result.events_quarantined == 0


def test_objects_and_events_per_type(bpic14_d2c_store: RealStore) -> None:
    assert _query(bpic14_d2c_store, "SELECT case_type, source, count(*) FROM core.cases "
                                    "GROUP BY ALL ORDER BY ALL") == [
        ("change", "bpic14_changes", 18_000),
        ("incident", "bpic14", 46_629),  # 46,606 with the detail table's row, 23 without
        ("interaction", "bpic14_interactions", 147_004)]
    assert _query(bpic14_d2c_store, "SELECT case_type, count(*) FROM core.events "
                                    "GROUP BY ALL ORDER BY ALL") == [
        ("change", 105_366), ("incident", 466_660), ("interaction", 294_008)]
    assert _query(bpic14_d2c_store, "SELECT count(*) FROM quarantine.events") == [(0,)]


def test_incident_detail_rows_accounted_for(bpic14_d2c_store: RealStore) -> None:
    """46,606 incidents are core.cases rows with the detail's attributes; the 203 blank rows
    stay in raw only (every field empty); no incident of the table is missing."""
    ids = {r["Incident ID"] for r in _rows(INCIDENTS) if r["Incident ID"]}
    blank = [r for r in _rows(INCIDENTS) if not any((v or "").strip() for v in r.values())]
    assert (len(ids), len(blank), len(_rows(INCIDENTS))) == (46_606, 203, 46_809)
    with bpic14_d2c_store.reading() as conn:
        detailed = {r[0] for r in conn.execute(
            "SELECT case_id FROM core.cases WHERE case_type = 'incident' "
            "AND attributes IS NOT NULL"
        ).fetchall()}
        raw_blank = conn.execute(
            'SELECT count(*) FROM raw.bpic14_incidents WHERE "Incident ID" IS NULL '
            'AND "Open Time" IS NULL AND "Status" IS NULL').fetchone()[0]
    assert detailed == ids
    assert raw_blank == 203


def test_changes_are_one_object_per_change(bpic14_d2c_store: RealStore) -> None:
    changes = _changes()
    assert (len(changes), sum(map(len, changes.values()))) == (18_000, 30_275)
    stored = dict(_query(bpic14_d2c_store, "SELECT case_id, attributes->>'cis' FROM core.cases "
                                           "WHERE case_type = 'change'"))
    assert {c: json.loads(v) for c, v in stored.items()} == {
        c: sorted({r["CI Name (aff)"] for r in rows if r["CI Name (aff)"]})
        for c, rows in changes.items()}


# ---------------------------------------------------------------- attributes (the contract)

INTERACTION_KEYS = {"cis", "ci_type", "ci_subtype", "related_incident", "first_call_resolution",
                    "handle_time_s", "status", "impact", "urgency", "km_number", "closure_code"}
INCIDENT_KEYS = {"cis", "ci_type", "ci_subtype", "caused_by_ci", "caused_by_ci_type",
                 "caused_by_ci_subtype", "caused_by_service", "related_interaction",
                 "related_change", "related_interactions", "related_incidents",
                 "related_changes", "reassignments", "reopened_at", "handle_time_h", "status",
                 "impact", "urgency", "km_number", "alert_status", "closure_code"}
CHANGE_KEYS = {"cis", "ci_types", "services", "change_type", "risk", "emergency",
               "cab_approval", "planned_start", "planned_end", "actual_start", "actual_end",
               "scheduled_downtime_start", "scheduled_downtime_end", "requested_end",
               "originated_from", "related_interactions", "related_incidents"}


def _case(store: RealStore, case_id: str) -> tuple:
    row = _query(store, "SELECT case_type, priority, category, service, opened_at, "
                        "resolved_at, closed_at, problem_id, change_id, attributes "
                        "FROM core.cases WHERE case_id = ?", [case_id])[0]
    return (*row[:-1], json.loads(row[-1]))


def test_interaction_attributes(bpic14_d2c_store: RealStore) -> None:
    kind, priority, category, service, opened, resolved, closed, _, _, attrs = _case(
        bpic14_d2c_store, "SD0000001")
    assert (kind, priority, category, service) == ("interaction", "4", "incident", "WBS000125")
    assert (opened.isoformat(), resolved, closed.isoformat()) == (
        "2011-09-09T09:23:00+00:00", None, "2014-02-14T09:05:00+00:00")
    assert set(attrs) == INTERACTION_KEYS
    assert (attrs["cis"], attrs["related_incident"], attrs["first_call_resolution"],
            attrs["handle_time_s"]) == (["SBA000243"], "IM0000001", False, 239.0)
    fcr = _query(bpic14_d2c_store, "SELECT (attributes->>'first_call_resolution')::BOOLEAN, "
                                   "count(*) FROM core.cases WHERE case_type = 'interaction' "
                                   "GROUP BY ALL ORDER BY ALL")
    assert fcr == [(False, 53_008), (True, 93_996)]
    related = _query(bpic14_d2c_store, "SELECT count(*) FROM core.cases WHERE case_type = "
                                       "'interaction' AND attributes->>'related_incident' "
                                       "IS NOT NULL")
    assert related == [(52_754,)]  # as exported (#MULTIVALUE and missing ids included)
    # the given ids meet the objects' ids (issue #18: 51,259 name an incident that exists)
    assert _query(bpic14_d2c_store, "SELECT count(*) FROM core.cases AS i JOIN core.cases AS c "
                                    "ON c.case_id = i.attributes->>'related_incident' AND "
                                    "c.case_type = 'incident' WHERE i.case_type = "
                                    "'interaction'") == [(51_259,)]


def test_incident_attributes_from_the_detail_table(bpic14_d2c_store: RealStore) -> None:
    kind, priority, category, service, opened, resolved, closed, _, change, attrs = _case(
        bpic14_d2c_store, "IM0000004")
    assert (kind, priority, category, service, change) == (
        "incident", "4", "incident", "WBS000162", None)
    assert [t.isoformat() for t in (opened, resolved, closed)] == [
        "2012-02-05T13:32:57+00:00", "2013-11-04T13:50:27+00:00", "2013-11-04T13:51:17+00:00"]
    assert set(attrs) == INCIDENT_KEYS
    assert (attrs["cis"], attrs["caused_by_ci"], attrs["related_interaction"],
            attrs["reassignments"], attrs["handle_time_h"], attrs["reopened_at"]) == (
        ["SUB000508"], "SUB000508", "SD0000007", 26, 3871.691111, None)
    assert _case(bpic14_d2c_store, "IM0000005")[-1]["reopened_at"] == "2013-12-02T12:31:02Z"
    given = _query(bpic14_d2c_store, "SELECT count(*) FILTER (WHERE attributes->>"
                                     "'related_change' IS NOT NULL), count(*) FILTER (WHERE "
                                     "attributes->>'related_change' = '#MULTIVALUE') "
                                     "FROM core.cases WHERE case_type = 'incident'")
    assert given == [(560, 24)]
    assert _query(bpic14_d2c_store, "SELECT count(*) FROM core.cases AS i JOIN core.cases AS c "
                                    "ON c.case_id = i.attributes->>'related_change' AND "
                                    "c.case_type = 'change' WHERE i.case_type = "
                                    "'incident'") == [(505,)]


def test_change_attributes_across_ci_rows(bpic14_d2c_store: RealStore) -> None:
    kind, priority, category, service, _, resolved, _, _, _, attrs = _case(
        bpic14_d2c_store, "C00000005")
    assert (kind, priority, category, service, resolved) == (
        "change", None, "Release Type 13", "WBS000162", None)  # risk: an attribute
    assert set(attrs) == CHANGE_KEYS
    assert {k: attrs[k] for k in ("cis", "change_type", "risk", "emergency", "cab_approval",
                                  "planned_start", "actual_end")} == {
        "cis": ["SUB000494"], "change_type": "Release Type 13", "risk": "Business Change",
        "emergency": False, "cab_approval": True, "planned_start": "2014-03-04T09:00:00Z",
        "actual_end": "2014-03-04T17:52:00Z"}
    # C00000844's two CI rows disagree: the earliest start, the latest end
    two = _case(bpic14_d2c_store, "C00000844")[-1]
    assert (two["actual_start"], two["actual_end"]) == ("2013-10-18T09:52:00Z",
                                                        "2013-11-11T22:00:00Z")


# ---------------------------------------------------------------- events equal pm4py's


@pytest.mark.parametrize("case_type", ["interaction", "change"])
def test_variants_and_dfg_equal_pm4py(bpic14_d2c_store: RealStore, case_type: str) -> None:
    frame = _interaction_log() if case_type == "interaction" else _change_log()
    variants, dfg = _pm4py_figures(frame)
    assert _procmine_figures(bpic14_d2c_store, case_type) == (variants, dfg)
    assert (len(variants), sum(variants.values())) == (
        (1, 147_004) if case_type == "interaction" else (88, 18_000))


# ---------------------------------------------------------------- rows that are not records


def test_padding_blank_rows_and_rows_without_an_id(tmp_path: Path) -> None:
    """Trailing unnamed columns are read and dropped; blank rows skipped; a row with data but
    no id quarantined; a value under an unnamed column stops the file, naming its row."""
    from procmine.load import ingest

    config = config_from_docs(tmp_path, "bpic14_objects")
    header = ("Interaction ID;Open Time (First Touch);Close Time;CI Name (aff);CI Type (aff);"
              "CI Subtype (aff);Service Comp WBS (aff);Status;Impact;Urgency;Priority;Category;"
              "KM number;Closure Code;First Call Resolution;Handle Time (secs);Related Incident"
              ";;")
    good = tmp_path / "good.csv"
    good.write_text("\n".join([
        header,
        "SD1;1-2-2014 9:00;1-2-2014 9:30;CI1;;;;Closed;;;4;incident;;;Y;12,5;IM1;;",
        ";;;;;;;;;;;;;;;;;;",
        ";1-2-2014 9:00;;CI2;;;;Closed;;;;;;;;;;;",
    ]) + "\n", encoding="utf-8")
    result = ingest(config, tmp_path / "p.duckdb", "bpic14_interactions", [good])
    assert (result.events_loaded, result.events_quarantined) == (2, 1)
    assert result.quarantined_by_rule == {"case_id_not_null": 1, "activity_not_null": 1,
                                          "ts_not_null": 1}  # one row, staged without any
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "\nSD2;1-2-2014 9:00;;CI1;;;;;;;;;;;;;;;oops\n", encoding="utf-8")
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    with pytest.raises(InputError, match=r"'oops'.* unnamed header column \(19\)") as error:
        get_adapter("records").load_raw(conn, bad, "f", LoadContext(
            config, config.source("bpic14_interactions"), "run"))
    assert error.value.row == 1
    middle = tmp_path / "middle.csv"   # an unnamed column before a named one is no padding
    middle.write_text(header.replace(";Status;", ";;", 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"column 8 of the header has no name"):
        get_adapter("records").load_raw(conn, middle, "f", LoadContext(
            config, config.source("bpic14_interactions"), "run"))
    commas = tmp_path / "commas.csv"   # a comma-separated export read with ';'
    commas.write_text(header.replace(";", ",").rstrip(",") + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"one column only; is the delimiter ';' right"):
        get_adapter("records").load_raw(conn, commas, "f", LoadContext(
            config, config.source("bpic14_interactions"), "run"))


def test_example_file_matches_the_docs() -> None:
    shipped = (Path(__file__).resolve().parents[1] / "examples" / "bpic2014"
               / "procmine.toml").read_text(encoding="utf-8")
    assert example_config("bpic14") in shipped and example_config("bpic14_objects") in shipped


# ---------------------------------------------------------------- ServiceNow sample


def test_servicenow_sample_problems_and_changes_are_objects(tmp_path: Path) -> None:
    """`procmine sample`'s problems.csv and changes.csv load as problem and change objects
    beside the incidents; each incident's given links (problem_id, rfc of its last snapshot)
    reach core.cases, and every record's CI is attributes.cis."""
    from procmine.config import load_config
    from procmine.load import ingest
    from procmine.sample import generate_sample

    generate_sample(tmp_path / "landing", 120, 7)
    folder = tmp_path / "landing" / "servicenow"
    last: dict[str, dict[str, str]] = {}
    for name in ("incidents.csv", "problems.csv", "changes.csv"):
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):  # the rows of a record are in update order
                last[row["number"]] = row
    result = ingest(load_config(), tmp_path / "p.duckdb", "servicenow", [folder])
    assert result.status == "success" and len(result.files) == 3
    kinds = Counter({"INC": "incident", "PRB": "problem", "CHG": "change"}[n[:3]] for n in last)
    with duckdb.connect(str(tmp_path / "p.duckdb"), read_only=True) as conn:
        assert dict(conn.execute("SELECT case_type, count(*) FROM core.cases GROUP BY ALL")
                    .fetchall()) == kinds
        stored = {r[0]: r[1:] for r in conn.execute(
            "SELECT case_id, problem_id, change_id, attributes->>'$.cis[0]' FROM core.cases"
        ).fetchall()}
    assert kinds["problem"] > 0 and kinds["change"] > 0
    expected = {n: tuple(None if r[c] == "?" else r[c] for c in ("problem_id", "rfc", "cmdb_ci"))
                for n, r in last.items()}
    assert stored == expected
    linked = [v for v in expected.values() if v[0] or v[1]]
    assert linked and {v[0] for v in linked if v[0]} <= {n for n in last if n.startswith("PRB")}


def test_attribute_table_loaded_after_its_events(tmp_path: Path) -> None:
    """`case_source`: a detail table loaded in a later run than the activity log replaces the
    cases' rows (one row per case, the detail's times and attributes); a record whose case has
    no events in core is not published (docs: load the events first or in the same run); a
    later activity export keeps the attributes."""
    from procmine.config import load_config
    from procmine.load import ingest

    (tmp_path / "procmine.toml").write_text('''
[sources.log]
adapter = "csv"
null_tokens = [""]
[sources.log.columns]
case = "id"
activity = "what"
timestamp = "at"
[sources.log.stages]
"Open" = "log"
"Closed" = "close"
[sources.detail]
adapter = "records"
delimiter = ";"
case_source = "log"
date_format = "%d/%m/%Y %H:%M:%S"
allow_empty_files = true
[sources.detail.columns]
case = "Incident ID"
opened_at = "Open Time"
[sources.detail.attributes]
handle_time_h = { column = "Handle Time", type = "number" }
''', encoding="utf-8")
    config = load_config(tmp_path / "procmine.toml")
    db = tmp_path / "p.duckdb"
    (tmp_path / "log1.csv").write_text("id,what,at\nIM1,Open,2014-01-02 10:00:00\n"
                                       "IM2,Open,2014-01-03 10:00:00\n", encoding="utf-8")
    (tmp_path / "detail.csv").write_text("Incident ID;Open Time;Handle Time\n"
                                         "IM1;02/01/2014 09:59:59;1,5\nIM2;;2\nIM9;;3\n",
                                         encoding="utf-8")
    (tmp_path / "log2.csv").write_text("id,what,at\nIM1,Closed,2014-01-04 10:00:00\n",
                                       encoding="utf-8")
    ingest(config, db, "log", [tmp_path / "log1.csv"])
    ingest(config, db, "detail", [tmp_path / "detail.csv"])
    query = ("SELECT case_id, source, opened_at::VARCHAR, closed_at::VARCHAR, "
             "(attributes->>'handle_time_h')::DOUBLE FROM core.cases ORDER BY case_id")
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute(query).fetchall() == [
            ("IM1", "log", "2014-01-02 09:59:59+00", None, 1.5),
            ("IM2", "log", None, None, 2.0)]
    ingest(config, db, "log", [tmp_path / "log2.csv"])
    with duckdb.connect(str(db), read_only=True) as conn:  # (times: from the events again)
        assert [(r[0], r[1], r[3], r[4]) for r in conn.execute(query).fetchall()] == [
            ("IM1", "log", "2014-01-04 10:00:00+00", 1.5), ("IM2", "log", None, 2.0)]
