"""`procmine sql` while a run writes: it never errors and never sees a half-published state.

A run works on a private copy and publishes it with os.replace(); readers open the published
file read-only. These tests check that this holds under DuckDB's own file locking: readers in
a loop (the real CLI, and a tight in-process loop over the same read-only connection code)
during a real `procmine run` in another process, with invariants across tables checked on
every read.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

from procmine import store
from procmine.config import load_config
from procmine.orchestration.run import run_local
from procmine.readonly import connect_readonly, execute_readonly
from procmine.sql import load_sql
from tests.conftest import PROCMINE, run_cli
from tests.landing_data import write_daily_exports, write_project

# Every read checks that these tables agree with each other: each event, file and case in
# core was recorded by a published run, and the marts were mined from exactly this core.
INVARIANTS_SQL = load_sql("analyses/store_invariants.sql")


def check(row: dict[str, int], mining: bool) -> None:
    assert row["events"] == row["logged_events"], row
    assert row["files"] == row["logged_files"], row
    assert row["cases"] == row["event_cases"], row
    if mining:
        assert row["mined_events"] == row["events"], row


def read_in_process(db_path: Path) -> dict[str, int]:
    conn = connect_readonly(db_path)
    try:
        cursor = execute_readonly(conn, INVARIANTS_SQL)
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))
    finally:
        conn.close()


def test_sql_in_a_loop_during_a_run_never_errors_nor_sees_a_half_published_state(
        tmp_path, prefect_server):
    """The writer is a nightly run as `procmine run` starts it with a Prefect API configured:
    the procmine-nightly flow (so this also shows that `procmine run` is that flow)."""
    config = write_project(tmp_path)
    landing = tmp_path / "data" / "landing" / "csv"
    db = tmp_path / "data" / "procmine.duckdb"
    write_daily_exports(landing, days=4, cases_per_day=60, only=[0])
    run_local(load_config(config), db)
    initial = read_in_process(db)
    mining = initial["mined_events"] > 0  # the mining step fills marts.activities
    check(initial, mining)

    write_daily_exports(landing, days=4, cases_per_day=60, only=[1, 2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCMINE_")}
    writer = subprocess.Popen(
        [str(PROCMINE), "run", "--config", str(config), "--prefect", "auto"], cwd=tmp_path,
        env=env | prefect_server.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    tight_reads: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def tight_loop() -> None:
        stop_after: float | None = None  # keep reading for a moment after the run ended
        while stop_after is None or time.monotonic() < stop_after:
            if stop_after is None and writer.poll() is not None:
                stop_after = time.monotonic() + 1
            try:
                tight_reads.append(read_in_process(db))
            except BaseException as exc:  # collected and asserted on below
                errors.append(exc)
                return
            time.sleep(0.05)  # leave most of the two CPUs to the writer

    reader = threading.Thread(target=tight_loop)
    reader.start()
    cli_reads: list[dict[str, int]] = []
    while writer.poll() is None:
        proc = run_cli("sql", "--db", db, "--format", "json", "--", INVARIANTS_SQL, check=False)
        assert proc.returncode == 0, proc.stderr  # never an error, not even a lock conflict
        cli_reads += json.loads(proc.stdout)
        time.sleep(2)  # a user re-running a query, not a fork bomb on two CPUs
    reader.join()
    output, _ = writer.communicate()
    assert writer.returncode == 0, output
    assert "Finished in state Completed()" in output  # Prefect's log of the flow run
    final = read_in_process(db)
    cli_reads += json.loads(run_cli("sql", "--db", db, "--format", "json", "--",
                                    INVARIANTS_SQL).stdout)

    assert not errors, errors
    assert len(cli_reads) >= 2 and len(tight_reads) > 20
    for row in [*tight_reads, *cli_reads]:
        check(row, mining)
    # Only the two published states were ever visible, and the switch was seen live.
    seen = {(r["events"], r["runs"]) for r in [*tight_reads, *cli_reads]}
    assert seen <= {(initial["events"], initial["runs"]), (final["events"], final["runs"])}
    assert final["events"] > initial["events"]
    assert {r["events"] for r in tight_reads} == {initial["events"], final["events"]}
    assert cli_reads[-1]["events"] == final["events"]
    with store.reading(db) as conn:
        flow_run_ids = [r[0] for r in conn.execute(
            "SELECT prefect_flow_run_id FROM marts.run_log ORDER BY started_at").fetchall()]
    assert flow_run_ids[0] is None and flow_run_ids[1]  # in-process first, then the flow


def test_open_reader_keeps_its_snapshot_and_does_not_block_the_writer(tmp_path):
    config_path = write_project(tmp_path)
    landing = tmp_path / "data" / "landing" / "csv"
    write_daily_exports(landing, days=3, cases_per_day=10, only=[0])
    config = load_config(config_path)
    db = config.db_path()
    run_local(config, db)

    held = store.reading(db)  # e.g. a notebook that keeps its connection
    before = held.execute("SELECT count(*) FROM core.events").fetchone()[0]
    write_daily_exports(landing, days=3, cases_per_day=10, only=[1])
    started = time.monotonic()
    result, _ = run_local(config, db)  # must not wait for the reader
    assert result.status == "success" and result.events_loaded > 0
    assert time.monotonic() - started < 120
    assert held.execute("SELECT count(*) FROM core.events").fetchone()[0] == before
    held.close()

    fresh = json.loads(run_cli("sql", "select count(*) AS n from core.events", "--db", db,
                               "--format", "json").stdout)
    assert fresh == [{"n": before + result.events_loaded}]
