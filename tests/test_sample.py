"""The sample generator: real-file layout, determinism, and waste ground truth.

The waste detector below is written independently of the generator: it reads only
the snapshot rows of incidents.csv, as a downstream adapter would.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from procmine.sample import COLUMNS, DEFAULT_RATES, WASTE_KINDS, generate_sample

DATE = re.compile(r"^([1-9]|[12]\d|3[01])/([1-9]|1[0-2])/\d{4} ([01]\d|2[0-3]):[0-5]\d$")
DATE_COLUMNS = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
WAITING = {"Awaiting User Info", "Awaiting Vendor", "Awaiting Problem", "Awaiting Evidence"}
STATES = WAITING | {"New", "Active", "Resolved", "Closed"}
FILES = ("servicenow/incidents.csv", "servicenow/problems.csv", "servicenow/changes.csv")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M")


def read_records(path: Path) -> dict[str, list[dict[str, str]]]:
    """Rows per record number, ordered by sys_updated_at then sys_mod_count."""
    records: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            records[row["number"]].append(row)
    for rows in records.values():
        rows.sort(key=lambda r: (parse_time(r["sys_updated_at"]), int(r["sys_mod_count"])))
    return records


def level(group: str) -> int:
    return int(group.rsplit(" L", 1)[1])


def state_events(rows: list[dict[str, str]]) -> list[str]:
    """States entered, compared with an implicit initial New."""
    events, previous = [], "New"
    for row in rows:
        if row["incident_state"] != previous:
            events.append(row["incident_state"])
            previous = row["incident_state"]
    return events


def adapter_events(rows: list[dict[str, str]]) -> list[str]:
    """Activities as the downstream adapter derives them from one record's snapshots."""
    events, state, group = ["Open"], "New", "?"
    for i, row in enumerate(rows):
        if row["incident_state"] != state:
            state = row["incident_state"]
            events.append(state)
        if row["assignment_group"] not in ("?", group):
            events.append("Assign" if group == "?" else "Reassign")
            group = row["assignment_group"]
        if i and row["category"] != rows[i - 1]["category"]:
            events.append("Reclassify")
    return events


def generic_rework(events: list[str]) -> int:
    """Work activities (Active, Reclassify) repeated after other work in between."""
    work = [e for e in events if e in ("Active", "Reclassify")]
    collapsed = [e for i, e in enumerate(work) if i == 0 or work[i - 1] != e]
    return sum(1 for i, e in enumerate(collapsed) if e in collapsed[:i])


def detect_waste(rows: list[dict[str, str]]) -> dict[str, int]:
    """Waste instances visible in one record's snapshots."""
    found: Counter[str] = Counter()

    groups: list[str] = []  # assignment groups held, consecutive repeats collapsed
    for row in rows:
        group = row["assignment_group"]
        if group != "?" and (not groups or groups[-1] != group):
            groups.append(group)
    for i, group in enumerate(groups):
        earlier = [j for j in range(i) if groups[j] == group]
        if earlier:
            start = earlier[-1]
            assert len({level(g) for g in groups[start : i + 1]}) == 1, groups
            found["ping_pong_direct" if i - start == 2 else "ping_pong_indirect"] += 1
    for before, after in itertools.pairwise(groups):
        if level(after) < level(before):  # up, then back down
            found["escalation_bounce"] += 1

    states = state_events(rows)
    for before, after in itertools.pairwise(states):
        if before in ("Resolved", "Closed") and after == "Active":
            found["reopen"] += 1
    found["vendor_waiting"] = states.count("Awaiting Vendor")

    changes = [i for i in range(1, len(rows)) if rows[i]["category"] != rows[i - 1]["category"]]
    for first, second in itertools.pairwise(changes):
        between = state_events(rows[:second])[len(state_events(rows[: first + 1])) :]
        if any(state not in WAITING for state in between):
            found["rework"] += 1
    return {kind: n for kind, n in sorted(found.items()) if n}


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample10k")
    seen: list[int] = []
    summary = generate_sample(out, 10_000, 11, progress=seen.append)
    assert seen[-1] == 10_000 and len(seen) == 10
    assert summary.cases == 10_000 and summary.manifest == out / "manifest.json"
    assert [p.relative_to(out).as_posix() for p in summary.files] == [*FILES, "manifest.json"]
    return out


@pytest.fixture(scope="module")
def incidents(big_sample: Path) -> dict[str, list[dict[str, str]]]:
    return read_records(big_sample / "servicenow/incidents.csv")


@pytest.fixture(scope="module")
def manifest(big_sample: Path) -> dict:
    return json.loads((big_sample / "manifest.json").read_text(encoding="utf-8"))


def _file_bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in (*FILES, "manifest.json")}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    generate_sample(tmp_path / "a", 1000, 7)
    generate_sample(tmp_path / "b", 1000, 7)
    generate_sample(tmp_path / "c", 1000, 8)
    a, b, c = (_file_bytes(tmp_path / d) for d in "abc")
    assert a == b
    for name in a:
        assert a[name] != c[name], name
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["manifest.json", "servicenow"]


@pytest.mark.real_data
def test_the_real_file_has_the_layout_the_sample_mimics() -> None:
    from tests.conftest import SERVICENOW_LOG

    with gzip.open(SERVICENOW_LOG, "rt", encoding="utf-8", newline="") as handle:
        real = csv.reader(handle)
        assert tuple(next(real)) == COLUMNS
        for _, row in zip(range(2000), real, strict=False):  # the format we mimic
            assert all(
                DATE.match(row[COLUMNS.index(c)]) or row[COLUMNS.index(c)] == "?"
                for c in DATE_COLUMNS
            )


def test_header_dates_and_nulls_match_the_real_file(big_sample: Path) -> None:
    for name in FILES:
        raw = (big_sample / name).read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        raw.decode("utf-8")
        with (big_sample / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            assert tuple(next(reader)) == COLUMNS
            for row in reader:
                assert len(row) == len(COLUMNS)
                assert "" not in row and "NULL" not in row
                record = dict(zip(COLUMNS, row, strict=True))
                assert record["incident_state"] in STATES
                for column in ("opened_at", "sys_updated_at"):
                    assert DATE.match(record[column]), record[column]
                for column in ("sys_created_at", "resolved_at", "closed_at"):
                    assert record[column] == "?" or DATE.match(record[column]), record[column]
                assert record["active"] == (
                    "false" if record["incident_state"] == "Closed" else "true"
                )
    sample_row = (big_sample / FILES[0]).read_text(encoding="utf-8").splitlines()[1]
    assert re.match(r"^INC\d{7},New,true,0,0,0,", sample_row)


def test_each_waste_kind_is_close_to_its_rate(manifest: dict) -> None:
    assert manifest["cases"] == 10_000 and manifest["seed"] == 11
    assert manifest["rates"] == DEFAULT_RATES
    assert list(manifest) == sorted(manifest)
    per_case = manifest["cases_with_waste"]
    for kind in WASTE_KINDS:
        cases = sum(1 for kinds in per_case.values() if kind in kinds)
        instances = sum(kinds.get(kind, 0) for kinds in per_case.values())
        assert cases == manifest["case_counts"][kind]
        assert instances == manifest["counts"][kind]
        share = cases / manifest["cases"]
        assert abs(share - DEFAULT_RATES[kind]) <= 0.1 * DEFAULT_RATES[kind], (kind, share)


def test_detector_agrees_with_manifest_for_every_case(incidents: dict, manifest: dict) -> None:
    truth = manifest["cases_with_waste"]
    detected = {
        number: found for number, rows in incidents.items() if (found := detect_waste(rows))
    }
    assert len(incidents) == 10_000
    mismatches = {
        n: (detected.get(n), truth.get(n))
        for n in set(detected) | set(truth)
        if detected.get(n) != truth.get(n)
    }
    assert not mismatches, list(mismatches.items())[:5]
    for number, rows in incidents.items():  # the config's generic rework rule agrees too
        assert generic_rework(adapter_events(rows)) == truth.get(number, {}).get("rework", 0)
    totals = Counter()
    for found in detected.values():
        totals.update(found)
    assert {k: totals[k] for k in WASTE_KINDS} == manifest["counts"]


def test_counters_and_waste_columns_are_consistent(incidents: dict) -> None:
    for number, rows in incidents.items():
        assert [int(r["sys_mod_count"]) for r in rows] == list(range(len(rows)))
        states = state_events(rows)
        reopens = sum(1 for a, b in itertools.pairwise(states) if a == "Resolved" and b == "Active")
        assert int(rows[-1]["reopen_count"]) == reopens, number
        groups = [r["assignment_group"] for r in rows if r["assignment_group"] != "?"]
        changes = sum(1 for a, b in itertools.pairwise(groups) if a != b)
        assert int(rows[-1]["reassignment_count"]) == changes, number
        for row in rows:
            waiting_at_vendor = row["incident_state"] == "Awaiting Vendor"
            assert (row["vendor"] in ("Acme", "Globex", "Initech")) == waiting_at_vendor
        for column in ("resolved_at", "closed_at", "resolved_by", "closed_code"):
            assert len({r[column] for r in rows}) == 1, (number, column)
        if rows[-1]["incident_state"] == "Closed":
            assert rows[-1]["closed_at"] == rows[-1]["sys_updated_at"]
            assert rows[-1]["resolved_at"] != "?"


def test_flows_look_like_an_it_service_desk(incidents: dict, manifest: dict) -> None:
    events, still_open, in_hours, out_hours = 0, 0, 0, 0
    arrivals_in_hours = 0
    for rows in incidents.values():
        first = rows[0]
        groups = [r["assignment_group"] for r in rows if r["assignment_group"] != "?"]
        assert groups[0].endswith(" L1")
        events += len(adapter_events(rows))
        still_open += rows[-1]["incident_state"] != "Closed"
        opened = parse_time(first["opened_at"])
        arrivals_in_hours += opened.weekday() < 5 and 8 <= opened.hour < 18
        if first["priority"] in ("3 - Moderate", "4 - Low"):
            for row in rows[1:]:
                if row["sys_updated_by"] == "Updated by 908":  # auto-close
                    continue
                t = parse_time(row["sys_updated_at"])
                if t.weekday() < 5 and 8 <= t.hour < 18:
                    in_hours += 1
                else:
                    out_hours += 1
    n = len(incidents)
    assert 7.0 <= events / n <= 9.0
    assert still_open / n <= 0.05
    assert arrivals_in_hours / n > 0.6
    assert out_hours == 0 and in_hours > 5 * n
    priorities = Counter(rows[-1]["priority"] for rows in incidents.values())
    assert priorities.most_common(1)[0][0] == "3 - Moderate"
    assert 0.02 <= sum(r[-1]["category"] == "Security" for r in incidents.values()) / n <= 0.04
    made = sum(rows[-1]["made_sla"] == "true" for rows in incidents.values()) / n
    assert 0.5 < made < 0.95
    levels = {g: v["level"] for g, v in manifest["groups"].items()}
    assert all(g.endswith(" " + lv) for g, lv in levels.items()) and 15 <= len(levels) <= 20


def test_problems_and_changes_are_linked_and_clean(big_sample: Path, incidents: dict) -> None:
    problems = read_records(big_sample / "servicenow/problems.csv")
    changes = read_records(big_sample / "servicenow/changes.csv")
    assert problems and all(re.fullmatch(r"PRB\d{7}", n) for n in problems)
    assert changes and all(re.fullmatch(r"CHG\d{7}", n) for n in changes)
    for records in (problems, changes):
        for rows in records.values():
            assert detect_waste(rows) == {}
            assert "Awaiting Vendor" not in state_events(rows)
    linked_problem = Counter(rows[-1]["problem_id"] for rows in incidents.values())
    linked_change = Counter(rows[-1]["rfc"] for rows in incidents.values())
    n = len(incidents)
    assert 0.04 <= (n - linked_problem.pop("?")) / n <= 0.06
    assert 0.03 <= (n - linked_change.pop("?")) / n <= 0.05
    assert set(linked_problem) <= set(problems) and set(linked_change) <= set(changes)
    assert max(linked_problem.values()) >= 2  # incidents share problems


def test_rates_are_configurable_and_checked(tmp_path: Path) -> None:
    rates = dict.fromkeys(WASTE_KINDS, 0.0) | {"reopen": 0.2}
    generate_sample(tmp_path, 2000, 3, rates=rates)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert set().union(*manifest["cases_with_waste"].values()) == {"reopen"}
    assert 360 <= manifest["case_counts"]["reopen"] <= 400
    with pytest.raises(ValueError):
        generate_sample(tmp_path, 10, 3, rates={"teleport": 0.1})
