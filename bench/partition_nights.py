"""Partitions touched per night on the real ServiceNow log (docs/partitions.md §2, slice 1).

The log's snapshot rows are split by their update day into one export per day
(`split_by_update_day`); each export is loaded in turn by `procmine ingest` (load.ingest) into
one store, and the partitions (case-open months) each load touched are read back from
core.run_partitions. Prints the median / p90 / max partitions per night, over every night and
over the nights of at least 100 rows (the days §2's table counted).

    python -m bench.partition_nights [--log PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import statistics
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from procmine import store
from procmine.config import Config, load_config
from procmine.errors import ValidationFailed
from procmine.load import ingest

ROOT = Path(__file__).resolve().parents[1]
SERVICENOW_LOG = ROOT.parent / "shared" / "data" / "itsm" / "servicenow_incident_event_log.csv.gz"
UPDATED_AT = "sys_updated_at"
DATE_FORMAT = "%d/%m/%Y %H:%M"   # the log's; a day's export alone can be ambiguous
BUSY_ROWS = 100


@dataclass(frozen=True)
class Night:
    day: date        # the update day (the first export: the last day before `start`)
    path: Path
    rows: int


def split_by_update_day(log: Path, out: Path, start: date | None = None) -> list[Night]:
    """One CSV export per update day of `log`'s rows, in day order; with `start`, the rows
    updated before it form the first export (a store's history before the nights)."""
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(log, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        column = header.index(UPDATED_AT)
        by_day: dict[date, list[list[str]]] = {}
        for row in reader:
            day = datetime.strptime(row[column], DATE_FORMAT).date()
            by_day.setdefault(day, []).append(row)
    if start is not None:
        before = [day for day in by_day if day < start]
        if before:
            by_day[max(before)] = [row for day in sorted(before) for row in by_day.pop(day)]
    nights = []
    for day in sorted(by_day):
        path = out / f"servicenow_{day:%Y%m%d}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(by_day[day])
        nights.append(Night(day, path, len(by_day[day])))
    return nights


def nights_config(folder: Path) -> Config:
    """procmine.toml for loading the nights one by one: the log's date format, and row counts
    that vary from night to night (as bench/soak.py's)."""
    path = folder / "procmine.toml"
    path.write_text(textwrap.dedent(f"""\
        [validation]
        row_count_tolerance = 100   # a weekend night is a tenth of a weekday's

        [sources.servicenow]
        date_format = "{DATE_FORMAT}"
        """), encoding="utf-8")
    return load_config(path)


def _p90(values: list[int]) -> int:
    """Nearest rank: the smallest value at or above 90 % of them."""
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def describe(touched: list[int]) -> str:
    return (f"{len(touched)} nights: median {statistics.median(touched):g}, "
            f"p90 {_p90(touched)}, max {max(touched)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=SERVICENOW_LOG)
    parser.add_argument("--work", type=Path, help="folder for the exports and the store "
                                                  "(default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        nights = split_by_update_day(args.log, work / "nights")
        db = work / "procmine.duckdb"
        config = nights_config(work)
        started = time.perf_counter()
        touched: list[tuple[Night, int]] = []
        stopped: list[str] = []
        for n, night in enumerate(nights):
            try:
                result = ingest(config, db, "servicenow", [night.path])
            except ValidationFailed as exc:   # a night that validation stops
                stopped.append(f"{night.day}: {exc}".split(" (nothing published")[0])
                continue
            touched.append((night, result.partitions_touched))
            if n % 25 == 0:
                print(f"{night.day}: {night.rows} rows, +{result.events_loaded} events, "
                      f"{result.partitions_touched} of {result.partitions} partitions "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
        with store.reading(db) as conn:
            events, months = conn.execute(
                "SELECT (SELECT count(*) FROM core.events), "
                "count(DISTINCT open_month) FROM core.case_keys").fetchone()
    print(f"{args.log.name}: {events:,} events, {months} partitions (case-open months)")
    print(f"{len(stopped)} night(s) stopped by validation (nothing published):", *stopped,
          sep="\n  ")
    print("partitions touched per night, all:", describe([t for _, t in touched]))
    print(f"  nights of >= {BUSY_ROWS} rows:",
          describe([t for night, t in touched if night.rows >= BUSY_ROWS]))


if __name__ == "__main__":
    main()
