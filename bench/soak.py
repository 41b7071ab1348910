"""The nightly soak (issue #20): many simulated nights onto one store, some of them killed.

    .venv/bin/python -m bench.soak [--nights 30] [--cases-per-night 40] [--kills 10]
        [--seed 1] [--workdir DIR] [--keep]          (`make soak`, knobs SOAK_*)

1. `procmine sample` writes nights × cases-per-night incidents over the nights' days; the
   snapshot rows (incidents, problems, changes) are split by their update day into one
   export per night, night_NN.csv (the last night also takes the tail of late updates), so a
   night's export updates cases that earlier nights opened, like a real nightly delta.
2. Night by night, the export lands in the soak project's landing folder and the real
   `procmine run` process runs. In the nights the seeded plan picks, it is SIGKILLed at a
   seeded random moment inside the load, the mining or the publish step (a seeded share of
   that step's length in the previous clean night, after the log line that starts it), then
   run again, possibly killed again, until one run ends by itself.
3. Meanwhile a reader process queries the published file read-only in a loop and checks, on
   every read, that core and the marts agree (every event recorded by a published run, every
   case in core.cases, the marts mined from exactly this core) and that the state it sees is
   one a run published (the states after every process end), never a half state.
4. A reference project loads the same night files in one clean run. The soak store's marts
   must equal its marts (bench.compare_marts: every mart, counts exact, floats 1e-9
   relative; the per-run logs excepted); core holds every event once, each file is registered
   once, the runs' logged events add up to core's, and no leftover of a killed run remains.

Prints one line per night and a verdict; exit status 0 when everything held. A JSON summary is
written to WORKDIR/soak.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.compare_marts import compare
from procmine.sql import load_sql

ROOT = Path(__file__).resolve().parents[1]
PROCMINE = Path(sys.executable).with_name("procmine")
SOURCE_FILES = ("incidents.csv", "problems.csv", "changes.csv")
UPDATED_AT = "sys_updated_at"
# marts that log each run (they grow with every run that loads or mines, by design)
PER_RUN_MARTS = ("marts.run_log", "marts.waste_heatmap_history", "marts.validation_results")
# a kill is aimed at one of these steps: the log lines that start and end it in `procmine run`
PHASES = {
    "load": ("extract: ", "file(s), +"),       # stage, validate, publish to core
    "mine": ("file(s), +", "mine: "),          # every mart
    "publish": ("publish: checkpoint", "publish: published"),   # checkpoint, fsync, rename
}
PHASE_MARKERS = ("extract: ", "load: ", "file(s), +", "mine: ", "publish: checkpoint",
                 "publish: published")

INVARIANTS_SQL = load_sql("analyses/store_invariants.sql")


def log(message: str) -> None:
    print(f"[soak {datetime.now():%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------- the nights' exports


def write_nights(generated: Path, out: Path, nights: int) -> list[Path]:
    """Split the sample's snapshot rows by update day into night_NN.csv (one per night)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"night_{n:02d}.csv" for n in range(nights)]
    handles = [p.open("w", encoding="utf-8", newline="") for p in paths]
    try:
        writers = [csv.writer(h, lineterminator="\n") for h in handles]
        start = None
        for index, name in enumerate(SOURCE_FILES):
            with (generated / "servicenow" / name).open(encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                column = header.index(UPDATED_AT)
                if index == 0:
                    for writer in writers:
                        writer.writerow(header)
                rows = [(datetime.strptime(r[column], "%d/%m/%Y %H:%M").date(), r)
                        for r in reader]
                if start is None:
                    start = min(day for day, _ in rows)
                for day, row in rows:
                    writers[min((day - start).days, nights - 1)].writerow(row)
    finally:
        for handle in handles:
            handle.close()
    return paths


def write_project(root: Path) -> Path:
    (root / "data" / "landing" / "servicenow").mkdir(parents=True, exist_ok=True)
    config = root / "procmine.toml"
    config.write_text(textwrap.dedent("""\
        [database]
        path = "data/procmine.duckdb"

        [run]
        prefect = "never"
        io_retry_delay_s = 0

        [validation]
        row_count_tolerance = 100   # the first night is small, the nights vary

        [sources.servicenow]
        date_format = "%d/%m/%Y %H:%M"   # a night of days 1-12 alone is ambiguous
        """), encoding="utf-8")
    return config


# ---------------------------------------------------------------- one `procmine run`


@dataclass
class Attempt:
    night: int
    returncode: int
    wall_s: float
    aimed_at: str = ""          # the phase a kill was aimed at ('' = not killed)
    kill_after_s: float | None = None
    killed: bool = False
    reached: str = ""           # the last phase marker logged before the end (or the kill)
    marks: dict[str, float] = field(default_factory=dict)   # marker -> seconds after start
    state: tuple[int, int] | None = None   # (events, runs) published after the process end


def run_procmine(config: Path, night: int, kill: tuple[str, float] | None = None) -> Attempt:
    """The real `procmine run`. `kill` = (phase, delay): SIGKILLed `delay` seconds after the
    log line that starts the phase (PHASES) appears, if it is still running then."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")}
    env["COLUMNS"] = "250"   # one log record per line
    started = time.monotonic()
    proc = subprocess.Popen([str(PROCMINE), "--config", str(config), "run"],
                            cwd=config.parent, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    marks: dict[str, float] = {}
    lines: list[str] = []

    def follow() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            for marker in PHASE_MARKERS:
                if marker in line:
                    marks[marker] = time.monotonic() - started
    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    killed, kill_at = False, None
    if kill is not None:
        phase, delay = kill
        begin_marker = PHASES[phase][0]
        while begin_marker not in marks and proc.poll() is None:
            time.sleep(0.005)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed, kill_at = True, round(time.monotonic() - started, 2)
    proc.wait()
    reader.join(timeout=10)
    wall = time.monotonic() - started
    reached = max(marks, key=marks.get) if marks else "start"
    attempt = Attempt(night, proc.returncode, round(wall, 2), kill[0] if kill else "", kill_at,
                      killed, reached, {k: round(v, 2) for k, v in marks.items()})
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"night {night}: procmine run failed ({proc.returncode}):\n"
                           + "".join(lines[-40:]))
    return attempt


def kill_delay(phase: str, timeline: dict[str, float], wall_s: float,
               rnd: random.Random) -> float:
    """Seconds after the phase's first log line: a seeded share of the phase's length in the
    previous clean night."""
    begin_marker, end_marker = PHASES[phase]
    begin = timeline.get(begin_marker, 0.0)
    end = timeline.get(end_marker, wall_s)
    return rnd.uniform(0.05, 0.95) * max(end - begin, 0.05)


# ---------------------------------------------------------------- the concurrent reader


def reader_loop(db: Path, out: Path, stop: Path) -> None:
    """The reader process (`python -m bench.soak --reader DB OUT STOP`): reads the published
    store read-only in a loop, as `procmine sql` does, one JSON line per read, until STOP
    exists."""
    from procmine.readonly import connect_readonly, execute_readonly

    with out.open("a", encoding="utf-8") as handle:
        while not stop.exists():
            if db.exists():
                started = time.monotonic()
                record: dict[str, Any] = {}
                try:
                    conn = connect_readonly(db)
                    try:
                        cursor = execute_readonly(conn, INVARIANTS_SQL)
                        columns = [d[0] for d in cursor.description]
                        row = dict(zip(columns, cursor.fetchone(), strict=True))
                    finally:
                        conn.close()
                    record["state"] = [row["events"], row["runs"]]
                    problems = [f"{a} {row[a]} != {b} {row[b]}" for a, b in (
                        ("events", "logged_events"), ("files", "logged_files"),
                        ("cases", "event_cases"), ("mined_events", "events"))
                        if row[a] != row[b]]
                    if problems:
                        record["violation"] = "; ".join(problems)
                except Exception as exc:   # reported and failed on by the soak
                    record["error"] = f"{type(exc).__name__}: {exc}"
                record["read_s"] = round(time.monotonic() - started, 3)
                handle.write(json.dumps(record) + "\n")
                handle.flush()
            time.sleep(0.1)


class Reader:
    """The reader process and what it saw."""

    def __init__(self, db: Path, work: Path) -> None:
        self.out, self.stop_file = work / "reader.jsonl", work / "reader.stop"
        self.out.unlink(missing_ok=True)
        self.stop_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.soak", "--reader", str(db),
                                      str(self.out), str(self.stop_file)], cwd=ROOT)

    def finish(self) -> list[dict[str, Any]]:
        self.stop_file.touch()
        self.proc.wait(timeout=60)
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines()]


def published_state(db: Path) -> tuple[int, int] | None:
    import duckdb

    if not db.exists():
        return None
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM core.events), (SELECT count(*) FROM marts.run_log)"
        ).fetchone()


# ---------------------------------------------------------------- final checks


def store_checks(db: Path, reference: Path, nights: int, raw_rows: int) -> list[str]:
    """Nothing lost, nothing counted twice: '' for each check that held, else why."""
    import duckdb

    failures = []
    with duckdb.connect(str(db), read_only=True) as conn:
        conn.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        checks = {
            "core.events equals the reference's (every column but load lineage)": """
                SELECT count(*) FROM (
                  (SELECT * EXCLUDE (source_file)
                   FROM core.events EXCEPT ALL
                   SELECT * EXCLUDE (source_file)
                   FROM ref.core.events)
                  UNION ALL
                  (SELECT * EXCLUDE (source_file)
                   FROM ref.core.events EXCEPT ALL
                   SELECT * EXCLUDE (source_file)
                   FROM core.events))""",
            "core.cases equals the reference's": """
                SELECT count(*) FROM (
                  (SELECT * FROM core.cases EXCEPT ALL SELECT * FROM ref.core.cases)
                  UNION ALL
                  (SELECT * FROM ref.core.cases EXCEPT ALL SELECT * FROM core.cases))""",
        }
        for name, sql in checks.items():
            try:
                differing = conn.execute(sql).fetchone()[0]
            except duckdb.Error as exc:
                failures.append(f"{name}: {exc}")
                continue
            if differing:
                failures.append(f"{name}: {differing} rows differ")
        events, keys, files, distinct_files, logged, raw, partitioned = conn.execute("""
            SELECT (SELECT count(*) FROM core.events),
                   (SELECT count(DISTINCT event_id) FROM core.events),
                   (SELECT count(*) FROM core.load_registry),
                   (SELECT count(DISTINCT path) FROM core.load_registry),
                   (SELECT sum(events_loaded) FROM marts.run_log
                    WHERE status IN ('success', 'partial')),
                   (SELECT count(*) FROM raw.servicenow),
                   (SELECT sum(events) FROM core.run_partitions)""").fetchone()
        if keys != events:
            failures.append(f"core.events: {events} rows but {keys} distinct event ids")
        if (files, distinct_files) != (nights, nights):
            failures.append(f"core.load_registry: {files} rows, {distinct_files} files, "
                            f"expected {nights}")
        if logged != events:
            failures.append(f"run_log's events_loaded add up to {logged}, core holds {events}")
        if partitioned != events:
            failures.append(f"core.run_partitions' events add up to {partitioned}, core holds "
                            f"{events}")
        if raw != raw_rows:
            failures.append(f"raw.servicenow holds {raw} rows, the nights' files {raw_rows}")
    return failures


def leftovers(project: Path) -> list[str]:
    """Files a killed run might leave behind (the next run must clear them)."""
    data, dashboards_parent = project / "data", project
    found = [p for p in data.iterdir() if p.name.startswith(".procmine.duckdb.work")]
    found += [p for p in dashboards_parent.iterdir()
              if p.name.startswith(".dashboards.") and p.is_dir()]
    return [str(p.relative_to(project)) for p in found]


# ---------------------------------------------------------------- the soak


def plan_kills(nights: int, kills: int, rnd: random.Random) -> dict[int, list[str]]:
    """night -> the phases its successive attempts are killed in (load, mine, publish in
    turn, so every phase is hit; the nights and their order seeded)."""
    plan: dict[int, list[str]] = {}
    phases = list(PHASES)
    for i in range(kills):
        night = rnd.randrange(1, nights) if nights > 1 else 0
        plan.setdefault(night, []).append(phases[i % len(phases)])
    return plan


def soak(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir)
    rnd = random.Random(args.seed)
    started = time.monotonic()
    generated = work / "generated"
    weeks = max(1, math.ceil(args.nights / 7))
    cases = args.nights * args.cases_per_night
    subprocess.run([str(PROCMINE), "sample", "--cases", str(cases), "--weeks", str(weeks),
                    "--seed", str(args.seed), "--out", str(generated)], check=True,
                   capture_output=True, text=True)
    night_files = write_nights(generated, work / "nights", args.nights)
    raw_rows = sum(sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in night_files)
    sample_rows = sum(sum(1 for _ in (generated / "servicenow" / name).open(encoding="utf-8"))
                      - 1 for name in SOURCE_FILES)
    if raw_rows != sample_rows:   # the split must keep every snapshot row exactly once
        raise RuntimeError(f"the nights hold {raw_rows} rows, the sample {sample_rows}")
    log(f"{cases} incidents over {weeks} week(s) -> {args.nights} nightly exports "
        f"({raw_rows:,} snapshot rows)")

    soak_root, ref_root = work / "soak", work / "reference"
    config, ref_config = write_project(soak_root), write_project(ref_root)
    db = soak_root / "data" / "procmine.duckdb"
    landing = soak_root / "data" / "landing" / "servicenow"
    plan = plan_kills(args.nights, args.kills, rnd)
    reader = Reader(db, work)
    attempts: list[Attempt] = []
    published: set[tuple[int, int]] = set()
    timeline: dict[str, float] = {}
    clean_wall = 30.0
    try:
        for night, path in enumerate(night_files):
            shutil.copyfile(path, landing / path.name)
            for phase in plan.get(night, []):
                delay = kill_delay(phase, timeline, clean_wall, rnd)
                attempt = run_procmine(config, night, (phase, delay))
                attempt.state = published_state(db)
                published.add(attempt.state)
                attempts.append(attempt)
                log(f"night {night:2d}: killed={attempt.killed} in {phase} ({delay:.2f} s after "
                    f"it began, {attempt.kill_after_s} s in), last step logged: "
                    f"{attempt.reached!r}, "
                    f"state {attempt.state}")
            attempt = run_procmine(config, night)
            attempt.state = published_state(db)
            published.add(attempt.state)
            attempts.append(attempt)
            timeline, clean_wall = attempt.marks, attempt.wall_s
            log(f"night {night:2d}: {attempt.wall_s:5.1f} s, state {attempt.state}")
    finally:
        time.sleep(0.5)
        reads = reader.finish()

    ref_landing = ref_root / "data" / "landing" / "servicenow"
    for path in night_files:
        shutil.copyfile(path, ref_landing / path.name)
    reference = run_procmine(ref_config, -1)
    ref_db = ref_root / "data" / "procmine.duckdb"
    log(f"reference: one clean run of the {args.nights} files, {reference.wall_s:.1f} s")

    marts = compare(ref_db, db, ignore=set(PER_RUN_MARTS))
    different = {t: o for t, o in marts.items() if not (o.startswith("equal") or o == "ignored")}
    failures = [f"{t}: {o}" for t, o in different.items()]
    failures += store_checks(db, ref_db, args.nights, raw_rows)
    seen = {tuple(r["state"]) for r in reads if "state" in r}
    failures += [f"reader error: {r['error']}" for r in reads if "error" in r][:5]
    failures += [f"reader saw a half state: {r['violation']}" for r in reads
                 if "violation" in r][:5]
    unpublished = seen - published
    if unpublished:
        failures.append(f"reader saw states no run published: {sorted(unpublished)}")
    left = leftovers(soak_root)
    if left:
        failures.append(f"leftovers of killed runs: {left}")
    kills = [a for a in attempts if a.aimed_at]
    killed = [a for a in kills if a.killed]
    summary = {
        "args": vars(args), "nights": args.nights, "cases": cases, "raw_rows": raw_rows,
        "kills_planned": len(kills), "kills_done": len(killed),
        "killed_in": {phase: sum(1 for a in killed if a.aimed_at == phase) for phase in PHASES},
        # the rename had happened when the kill came: the state changed under the killed run
        "kills_after_publish": sum(1 for before, a in itertools.pairwise(attempts)
                                   if a.killed and a.state != before.state),
        "reader_reads": len(reads), "reader_states_seen": len(seen),
        "reader_slowest_s": max((r["read_s"] for r in reads), default=0.0),
        "marts_compared": len(marts), "marts_equal": sum(o.startswith("equal")
                                                         for o in marts.values()),
        "reference_s": reference.wall_s, "soak_s": round(time.monotonic() - started, 1),
        "failures": failures, "attempts": [asdict(a) for a in attempts],
    }
    (work / "soak.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--cases-per-night", type=int, default=40)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs in all (>= 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the stores go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    parser.add_argument("--reader", nargs=3, type=Path, metavar=("DB", "OUT", "STOP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reader:
        reader_loop(*args.reader)
        return 0
    temporary = args.workdir is None
    if temporary:
        args.workdir = Path(tempfile.mkdtemp(prefix="procmine-soak-"))
    try:
        summary = soak(args)
    finally:
        if temporary and not args.keep:
            log_dir = args.workdir
            shutil.rmtree(log_dir, ignore_errors=True)
    log(f"{summary['nights']} nights, {summary['kills_done']} of {summary['kills_planned']} "
        f"kills landed (aimed at {summary['killed_in']}; "
        f"{summary['kills_after_publish']} after the database was published); reader: "
        f"{summary['reader_reads']} reads, {summary['reader_states_seen']} states, slowest "
        f"{summary['reader_slowest_s']} s; marts {summary['marts_equal']} of "
        f"{summary['marts_compared']} equal; {summary['soak_s']} s")
    for failure in summary["failures"]:
        log(f"FAILED: {failure}")
    log("soak passed" if not summary["failures"] else "soak FAILED")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
