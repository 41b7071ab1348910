"""Benchmark inputs: `procmine sample` exports cached under bench/cache/samples/, and the
nightly increment (one day of new incidents) derived from a small sample of another seed.

A cache entry is keyed by (cases, seed, hash of procmine/sample.py): a changed generator
gives new files, an unchanged one reuses them. An entry is complete once its `.complete`
marker exists (an interrupted generation is redone).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import procmine.sample as sample_module
from procmine.sample import generate_sample

# events per incident in the generated export (incidents plus their problems and changes),
# measured on 13,000 incidents: 102,480 events
EVENTS_PER_INCIDENT = 7.88
SOURCE_FILES = ("incidents.csv", "problems.csv", "changes.csv")
_NUMBER = re.compile(r"\b(INC|PRB|CHG)(\d{7})\b")
_STAMP = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}) (\d\d:\d\d)\b")


def cases_for(events: int) -> int:
    """Incidents whose export yields about `events` canonical events."""
    return max(1, round(events / EVENTS_PER_INCIDENT))


def generator_hash() -> str:
    return hashlib.sha256(Path(sample_module.__file__).read_bytes()).hexdigest()[:12]


def _complete(folder: Path) -> bool:
    return (folder / ".complete").is_file()


def ensure_sample(cache: Path, cases: int, seed: int) -> tuple[Path, float | None]:
    """The cached export folder (…/servicenow/*.csv, manifest.json) and, when it had to be
    generated now, the seconds it took (None when cached)."""
    folder = cache / "samples" / f"sn-c{cases}-s{seed}-g{generator_hash()}"
    if _complete(folder):
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    generate_sample(folder, cases=cases, seed=seed)
    seconds = time.perf_counter() - started
    (folder / ".complete").write_text(json.dumps({"seconds": round(seconds, 1)}))
    return folder, seconds


def sample_files(folder: Path) -> list[Path]:
    return [folder / "servicenow" / name for name in SOURCE_FILES]


def ensure_increment(cache: Path, base: Path, cases: int, seed: int) -> Path:
    """One nightly export file of `cases` new incidents (with their problems and changes),
    dated from the base sample's export day on: a small sample of another seed
    whose record numbers are moved out of the base sample's range (INC0000001 →
    INC90000001) and whose timestamps are shifted by whole days."""
    folder = cache / "samples" / f"nightly-c{cases}-s{seed}-g{generator_hash()}-{base.name}"
    target = folder / "nightly.csv"
    if _complete(folder):
        return target
    shutil.rmtree(folder, ignore_errors=True)
    generate_sample(folder / "raw", cases=cases, seed=seed)
    shift = _period(base, "export_at") - _period(folder / "raw", "start")
    days = shift.days
    shifted: dict[str, str] = {}

    def move(match: re.Match[str]) -> str:
        text = match.group(0)
        if text not in shifted:
            day, month, year, hm = match.groups()
            moved = datetime(int(year), int(month), int(day)) + timedelta(days=days)
            shifted[text] = f"{moved.day}/{moved.month}/{moved.year} {hm}"
        return shifted[text]

    with target.open("w", encoding="utf-8", newline="") as out:
        for index, path in enumerate(sample_files(folder / "raw")):
            with path.open(encoding="utf-8", newline="") as handle:
                header = handle.readline()
                if index == 0:
                    out.write(header)
                for line in handle:
                    out.write(_STAMP.sub(move, _NUMBER.sub(r"\g<1>9\g<2>", line)))
    shutil.rmtree(folder / "raw")
    (folder / ".complete").write_text(json.dumps({"shift_days": days}))
    return target


def _period(folder: Path, key: str) -> datetime:
    """A date of the manifest's period (start, arrivals_end, export_at), at midnight."""
    with (folder / "manifest.json").open(encoding="utf-8") as handle:
        for line in handle:  # one top-level key per line; "period" follows the big case map
            if line.startswith('  "period": '):
                period = json.loads(line.split(":", 1)[1].strip().rstrip(","))
                return datetime.strptime(period[key][:10], "%Y-%m-%d")
    raise ValueError(f"{folder / 'manifest.json'}: no period")
