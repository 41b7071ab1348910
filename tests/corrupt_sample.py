"""A corrupted copy of sample-like data with the exact quarantine count each expectation owes.

The clean base is the bundled sample (``procmine.sample``) loaded through the ServiceNow
adapter and written back out as one event per row (case_id, activity, timestamp, resource,
group), so every corruption maps to known rows. The corrupted export is read by the generic
CSV source configured with the ServiceNow vocabulary (see :func:`write_config`).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from procmine.sample import generate_sample

HEADER = ("case_id", "activity", "timestamp", "resource", "group")
KEY_ACTIVITIES = {"Open", "Resolved", "Closed"}
UNKNOWN_ACTIVITY = "Escalated to Moon"
Row = dict[str, str]

EVENTS_SQL = """
SELECT case_id, activity, strftime(ts, '%Y-%m-%d %H:%M:%S') AS timestamp,
       coalesce(resource, 'unassigned') AS resource, coalesce(org_group, '') AS "group"
FROM core.events ORDER BY case_id, ts, source_file, source_row, seq
"""


def clean_events(work: Path, cases: int = 120, seed: int = 11) -> list[Row]:
    """The sample's events, one dict per event, unique by (case, activity, time, resource)."""
    generate_sample(work / "sample", cases=cases, seed=seed)
    db = work / "clean.duckdb"
    ingest(load_config(), db, "servicenow", [work / "sample" / "servicenow"])
    conn = store.reading(db)
    try:
        rows = [dict(zip(HEADER, r, strict=True)) for r in conn.execute(EVENTS_SQL).fetchall()]
    finally:
        conn.close()
    seen: set[tuple[str, ...]] = set()
    unique = []
    for row in rows:
        key = (row["case_id"], row["activity"], row["timestamp"], row["resource"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


@dataclass
class Corrupted:
    """The corrupted export, its overlapping second export, and what validation owes."""

    main: Path
    overlap: Path
    expected: dict[str, int]                       # rule -> rows quarantined
    valid: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # expected in core
    unknown_activity_rows: int = 0


def _key(row: Row) -> tuple[str, str, str]:
    return row["case_id"], row["activity"], row["timestamp"]


def corrupt(events: list[Row], out_dir: Path, seed: int = 5) -> Corrupted:
    """Corrupt disjoint rows and cases of `events`; returns the files and exact expectations."""
    rnd = random.Random(seed)
    by_case: dict[str, list[Row]] = {}
    for row in events:
        by_case.setdefault(row["case_id"], []).append(dict(row))
    incidents = sorted(c for c, rows in by_case.items()
                       if c.startswith("INC") and any(r["activity"] == "Closed" for r in rows)
                       and any(r["activity"] == "Open" for r in rows))
    rnd.shuffle(incidents)
    no_open, closed_early, overlap_cases = incidents[:2], incidents[2:5], incidents[5:8]
    touched_cases = set(incidents[:8])
    expected: dict[str, int] = Counter()

    # case level: drop the opening event; move the close before the opening
    for case in no_open:
        by_case[case] = [r for r in by_case[case] if r["activity"] != "Open"]
        expected["case_has_opening_event"] += len(by_case[case])
    for case in closed_early:
        opened = min(r["timestamp"] for r in by_case[case] if r["activity"] == "Open")
        closing = next(r for r in by_case[case] if r["activity"] == "Closed")
        closing["timestamp"] = opened.replace(opened[:4], str(int(opened[:4]) - 1), 1)
        expected["case_closed_not_before_opened"] += len(by_case[case])

    # row level: distinct non-key rows of untouched cases
    candidates = [r for c, rows in sorted(by_case.items()) if c not in touched_cases
                  for r in rows if r["activity"] not in KEY_ACTIVITIES]
    corruptions = [
        ("case_id_not_null", 3, lambda r: r.update(case_id="")),
        ("activity_not_null", 3, lambda r: r.update(activity="")),
        ("ts_not_null", 4, lambda r: r.update(timestamp="not a date")),
        ("ts_in_range", 3, lambda r: r.update(timestamp="2099-01-01 00:00:00")),
        ("ts_in_range", 2, lambda r: r.update(timestamp="1985-06-01 12:00:00")),
        ("activity_in_vocabulary", 6, lambda r: r.update(activity=UNKNOWN_ACTIVITY)),
        ("resource_present", 3, lambda r: r.update(resource="")),
    ]
    # identical rows in the same file (2 rows copied once, 1 row twice): distinct events, all
    # kept (README "Event identity"), never quarantined
    dup_copies = (1, 1, 2)
    picks = iter(rnd.sample(candidates, sum(c[1] for c in corruptions) + len(dup_copies)))
    corrupted_ids: set[int] = set()
    for rule, count, change in corruptions:
        for _ in range(count):
            row = next(picks)
            change(row)
            corrupted_ids.add(id(row))
            expected[rule] += 1
    duplicates: dict[int, int] = {}
    for copies in dup_copies:
        row = next(picks)
        duplicates[id(row)] = copies

    main_rows: list[Row] = []
    for case in sorted(by_case):
        for row in by_case[case]:
            main_rows.append(row)
            main_rows.extend(dict(row) for _ in range(duplicates.get(id(row), 0)))
    # an overlapping second export: rows of three clean cases again (not duplicates)
    overlap_rows = [dict(r) for c in overlap_cases for r in by_case[c]]
    bad_cases = set(no_open) | set(closed_early)
    valid = Counter(_key(r) for c in sorted(by_case) if c not in bad_cases
                    for r in by_case[c] if id(r) not in corrupted_ids
                    for _ in range(1 + duplicates.get(id(r), 0)))
    out_dir.mkdir(parents=True, exist_ok=True)
    corrupted = Corrupted(_write(out_dir / "a_export.csv", main_rows),
                          _write(out_dir / "b_overlap.csv", overlap_rows), dict(expected), valid,
                          expected["activity_in_vocabulary"])
    return corrupted


def _write(path: Path, rows: list[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_config(path: Path, *, extra_activities: dict[str, str] | None = None,
                 validation: dict[str, object] | None = None) -> Path:
    """A procmine.toml whose csv source speaks the ServiceNow vocabulary, needs a resource and
    an opening event."""
    stages = {**load_config().source("servicenow").stages, **(extra_activities or {})}
    lines = ["[sources.csv]", "require_resource = true", 'opening_activities = ["Open"]',
             "", "[sources.csv.stages]"]
    lines += [f'"{activity}" = "{stage}"' for activity, stage in stages.items()]
    if validation:
        lines += ["", "[validation]"]
        lines += [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
                  for k, v in validation.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
