"""The store: migrations upgrade in place, publishing is atomic, one writer at a time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from procmine import store
from procmine.errors import RunLockedError


def test_fresh_database_has_every_layer(db_path: Path) -> None:
    with store.writing(db_path) as conn:
        version = store.schema_version(conn)
    assert version == store.available_migrations()[-1].version
    conn = store.reading(db_path)
    schemas = {r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata")
               .fetchall()}
    assert {"raw", "staging", "quarantine", "core", "marts"} <= schemas
    columns = [r[0] for r in conn.execute("DESCRIBE core.events").fetchall()]
    assert columns[:13] == ["event_id", "case_id", "case_type", "activity", "ts", "resource",
                            "org_group", "support_level", "sourcing", "d2c_stage", "source",
                            "source_file", "source_row"]


def test_database_from_migration_1_is_upgraded_with_data_intact(db_path: Path) -> None:
    conn = duckdb.connect(str(db_path))
    assert store.migrate(conn, target=1) == [1]
    conn.execute(
        "INSERT INTO core.events VALUES ('e1', 'INC1', 'incident', 'Open', "
        "TIMESTAMPTZ '2024-01-01 10:00:00+00', 'alice', 'G1', NULL, 'hub', 'log', 'csv', 'a.csv', "
        "1, 0)")
    conn.execute("INSERT INTO core.load_registry VALUES ('f1', 'a.csv', 10, 'csv', 1, 1, 0, 'r1', "
                 "now())")
    conn.close()

    with store.writing(db_path) as conn:
        assert store.schema_version(conn) == store.available_migrations()[-1].version

    conn = store.reading(db_path)
    assert conn.execute("SELECT event_id, case_id, activity FROM core.events").fetchall() == [
        ("e1", "INC1", "Open")]
    assert conn.execute("SELECT count(*) FROM core.load_registry").fetchone()[0] == 1
    applied = [r[0] for r in conn.execute("SELECT version FROM main.schema_migrations ORDER BY 1")
               .fetchall()]
    assert applied == [m.version for m in store.available_migrations()]
    assert conn.execute("SELECT count(*) FROM marts.variants").fetchone()[0] == 0


def test_failed_write_leaves_published_state(db_path: Path) -> None:
    with store.writing(db_path) as conn:
        conn.execute("INSERT INTO marts.run_log (run_id, started_at, status) "
                     "VALUES ('r1', now(), 'success')")
    before = db_path.read_bytes()
    with pytest.raises(RuntimeError), store.writing(db_path) as conn:
        conn.execute("DELETE FROM marts.run_log")
        raise RuntimeError("boom")
    assert db_path.read_bytes() == before
    assert not list(db_path.parent.glob(".*.work*"))


ROW_GROUPS_SQL = "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('raw.t')"


def test_the_private_copy_is_written_back_from_the_start(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy's dirty pages are handed to the disk at once (not at the first checkpoint's
    fsync, which then waited for the whole store)."""
    with store.writing(db_path):
        pass
    started: list[Path] = []
    monkeypatch.setattr(store, "start_writeback", started.append)
    with store.writing(db_path) as conn:
        _join_writeback()
        assert started == [db_path.with_name(f".{db_path.name}.work")]
        conn.execute("CREATE TABLE main.t AS SELECT 1 AS x")
    assert store.reading(db_path).execute("SELECT x FROM main.t").fetchall() == [(1,)]


def test_the_run_does_not_wait_for_the_writeback_to_be_queued(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queuing the copy's writes can block for seconds on a big store: the run goes on
    meanwhile, and what it writes is published whatever the writeback's state."""
    with store.writing(db_path):
        pass
    body_ran, released = threading.Event(), threading.Event()
    ran_first: list[bool] = []

    def slow_writeback(path: Path) -> bool:
        released.wait(30)
        ran_first.append(body_ran.is_set())
        return True

    monkeypatch.setattr(store, "start_writeback", slow_writeback)
    with store.writing(db_path) as conn:
        body_ran.set()
        released.set()
        conn.execute("CREATE TABLE main.t AS SELECT 1 AS x")
    _join_writeback()
    assert ran_first == [True]
    assert store.reading(db_path).execute("SELECT x FROM main.t").fetchall() == [(1,)]


def _join_writeback() -> None:
    for thread in threading.enumerate():
        if thread.name == store.WRITEBACK_THREAD:
            thread.join()


@pytest.mark.skipif(sys.platform != "linux", reason="sync_file_range is Linux's")
def test_start_writeback_reaches_the_kernel(tmp_path: Path) -> None:
    written = tmp_path / "f"
    written.write_bytes(b"x" * 1_000_000)
    assert store.start_writeback(written)


def test_appended_row_groups_are_merged_every_compact_every_writes(db_path: Path) -> None:
    """Each write appends its rows as a row group of its own (no re-compression of the rows
    before it); the COMPACT_EVERY-th write merges them, and every row is still there."""
    with store.writing(db_path) as conn:   # write 1 (a new store counts from here)
        conn.execute("CREATE TABLE raw.t AS SELECT range AS i, 'row ' || range AS s "
                     "FROM range(5000)")
    groups = []
    for write in range(2, store.COMPACT_EVERY + 1):
        with store.writing(db_path) as conn:
            conn.execute("INSERT INTO raw.t SELECT i + 5000 * ?, s FROM raw.t LIMIT 5000",
                         [write])
            if write < store.COMPACT_EVERY:
                assert conn.execute(store.WRITES_SINCE_COMPACTION_SQL).fetchone()[0] == write - 1
        reader = store.reading(db_path)
        groups.append(reader.execute(ROW_GROUPS_SQL).fetchone()[0])
        rows = reader.execute("SELECT count(*), count(DISTINCT i) FROM raw.t").fetchone()
        reader.close()
        assert rows == (5000 * write, 5000 * write)
    # every write before the COMPACT_EVERY-th added a row group; that one merged them all
    # (5,000 rows each, together less than one row group) into one
    assert groups == [*range(2, store.COMPACT_EVERY), 1]
    reader = store.reading(db_path)
    assert reader.execute(store.WRITES_SINCE_COMPACTION_SQL).fetchone()[0] == 0
    reader.close()


def _hold_lock(db_path: str, ready, release) -> None:
    with store.run_lock(Path(db_path)):
        ready.set()
        release.wait(20)


def test_second_writer_gets_a_clear_message(db_path: Path) -> None:
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(db_path), ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        with pytest.raises(RunLockedError, match="another procmine run"), store.writing(db_path):
            pass
    finally:
        release.set()
        holder.join(20)
    with store.writing(db_path):  # released: the next writer proceeds
        pass


def test_lock_of_a_killed_holder_is_recovered(db_path: Path) -> None:
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(db_path), ready, release))
    holder.start()
    assert ready.wait(20)
    holder.kill()
    holder.join(20)
    with store.writing(db_path):
        pass


def test_release_cache_drops_cached_blocks_and_keeps_the_limit(db_path: Path) -> None:
    conn = store.connect(db_path)
    conn.execute("CREATE TABLE t AS SELECT i, md5(CAST(i AS VARCHAR)) AS s FROM range(10000000) r(i)")
    conn.execute("CHECKPOINT")
    cached_sql = "SELECT sum(memory_usage_bytes) FROM duckdb_memory()"
    assert conn.execute("SELECT count(DISTINCT s) FROM t").fetchone()[0] == 10_000_000
    limit_sql = "SELECT current_setting('memory_limit')"
    (limit,) = conn.execute(limit_sql).fetchone()
    cached = conn.execute(cached_sql).fetchone()[0]
    assert cached > 2 * 64 * 2**20           # the table's blocks, read by the count
    store.release_cache(conn)
    assert conn.execute(cached_sql).fetchone()[0] <= 64 * 2**20   # store.RELEASE_LIMIT
    assert conn.execute(limit_sql).fetchone()[0] == limit
    assert conn.execute("SELECT count(DISTINCT s) FROM t").fetchone()[0] == 10_000_000
    conn.close()


def test_beside_arrays_lowers_the_limit_for_the_block_only(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store.MEMORY_LIMIT_ENV, raising=False)
    conn = store.connect(db_path)
    limit_sql = "SELECT current_setting('memory_limit')"
    (stored,) = conn.execute(limit_sql).fetchone()
    conn.execute("SET memory_limit = ?", [store.ARRAYS_MEMORY_LIMIT])
    (lowered,) = conn.execute(limit_sql).fetchone()
    conn.execute("SET memory_limit = ?", [store.memory_limit()])
    assert lowered != stored
    with store.beside_arrays(conn):
        assert conn.execute(limit_sql).fetchone()[0] == lowered
    assert conn.execute(limit_sql).fetchone()[0] == stored
    with pytest.raises(RuntimeError), store.beside_arrays(conn):   # set again on failure too
        raise RuntimeError("mining failed")
    assert conn.execute(limit_sql).fetchone()[0] == stored
    monkeypatch.setenv(store.MEMORY_LIMIT_ENV, "3GB")   # the user's limit holds for mining too
    assert store.arrays_memory_limit() == "3GB"
    conn.close()


def test_every_cursor_of_the_store_runs_in_utc(db_path: Path) -> None:
    """A cursor is a session of its own (mining's d2c thread, the Dask engine's detector):
    on a host in Europe/Amsterdam, 48 hours across the DST change stay 172,800 seconds."""
    with store.writing(db_path):
        pass
    probe = (
        "import sys; from procmine import store, readonly\n"
        "for open_store in (store.connect, readonly.connect_readonly):\n"
        "    conn = open_store(sys.argv[1])\n"
        "    cur = conn.cursor()\n"
        "    print(cur.execute(\"SELECT current_setting('TimeZone'), epoch(\"\n"
        "        \"TIMESTAMPTZ '2024-04-01 12:00:00+00' - TIMESTAMPTZ '2024-03-30 12:00:00+00')\"\n"
        "    ).fetchone())\n"
        "    conn.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(db_path)], capture_output=True,
                          text=True, env={**os.environ, "TZ": "Europe/Amsterdam"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["('UTC', 172800.0)"] * 2
