"""Daily generic-CSV exports for the orchestration tests: deterministic, small, realistic.

Each day's file holds the events that happened that day: cases open on one day and are
worked, hand-offs and waits included, and resolved on the same or the next day, so a new
day's export also touches cases that earlier exports started.
"""

from __future__ import annotations

import csv
import random
import shutil
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

GROUPS = ("Hub Service Desk L1", "Hub Network L2", "Spoke Finance IT L1",
          "Vendor Acme Networks L3")
START = datetime(2024, 3, 4, 7, 0)
HEADER = ("case_id", "activity", "timestamp", "resource", "group")


def _case_events(case: str, opened: datetime, rnd: random.Random) -> list[tuple[str, ...]]:
    t = opened
    group = GROUPS[0]
    events = [(case, "Open", t, f"agent {rnd.randint(1, 9)}", group)]
    for _ in range(rnd.randint(1, 3)):
        t += timedelta(minutes=rnd.randint(5, 240))
        group = rnd.choice([g for g in GROUPS if g != group])
        events.append((case, "Assign", t, f"agent {rnd.randint(1, 9)}", group))
        if rnd.random() < 0.4:
            t += timedelta(minutes=rnd.randint(10, 600))
            events.append((case, "Awaiting User Info", t, f"agent {rnd.randint(1, 9)}", group))
        t += timedelta(minutes=rnd.randint(10, 300))
        events.append((case, "Work", t, f"agent {rnd.randint(1, 9)}", group))
    t += timedelta(minutes=rnd.randint(10, 600))
    events.append((case, "Resolved", t, f"agent {rnd.randint(1, 9)}", group))
    t += timedelta(hours=rnd.randint(1, 30))
    events.append((case, "Closed", t, "system", group))
    return [(c, a, ts.strftime("%Y-%m-%d %H:%M:%S"), r, g) for c, a, ts, r, g in events]


def all_events(days: int, cases_per_day: int, seed: int = 7) -> list[tuple[str, ...]]:
    rnd = random.Random(seed)
    events: list[tuple[str, ...]] = []
    for day in range(days):
        for n in range(cases_per_day):
            opened = START + timedelta(days=day, minutes=rnd.randint(0, 600))
            events += _case_events(f"INC{day:02d}{n:04d}", opened, rnd)
    return events


def write_daily_exports(folder: Path, days: int, cases_per_day: int = 20, *,
                        only: list[int] | None = None, seed: int = 7) -> dict[int, int]:
    """Write day_<n>.csv (events whose timestamp falls on day n); returns events per day."""
    folder.mkdir(parents=True, exist_ok=True)
    by_day: dict[int, list[tuple[str, ...]]] = {}
    for event in all_events(days, cases_per_day, seed):
        day = (datetime.strptime(event[2], "%Y-%m-%d %H:%M:%S").date() - START.date()).days
        by_day.setdefault(day, []).append(event)
    written = {}
    for day in sorted(by_day):
        if only is not None and day not in only:
            continue
        rows = sorted(by_day[day], key=lambda e: (e[2], e[0]))
        with (folder / f"day_{day:02d}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(rows)
        written[day] = len(rows)
    return written


def write_project(root: Path, *, extra_toml: str = "") -> Path:
    """A procmine project folder: procmine.toml (+ extra), data/landing/csv/, dashboards/."""
    (root / "data" / "landing" / "csv").mkdir(parents=True, exist_ok=True)
    config = root / "procmine.toml"
    config.write_text(textwrap.dedent("""\
        [database]
        path = "data/procmine.duckdb"

        [run]
        prefect = "never"
        io_retry_delay_s = 0

        [validation]
        row_count_tolerance = 100   # the tests load one day, then several at once
        """) + textwrap.dedent(extra_toml), encoding="utf-8")
    return config


def keep(root: Path) -> Path:
    """A copy of the project folder `root` beside it (file times kept), for `put_back`."""
    saved = root.with_name(root.name + ".kept")
    shutil.copytree(root, saved)
    return saved


def put_back(saved: Path, root: Path) -> None:
    """The project folder `root` as `keep` saved it, at the same path again: a run's state
    (core.load_registry records the landing files by path and time) is shared by the tests
    that start from it, each from a copy of its own."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(saved, root)
