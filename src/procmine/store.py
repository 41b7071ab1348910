"""The DuckDB store: versioned migrations, atomic publishing, one writer at a time.

Readers always open the *published* file read-only. A writer works on a private copy
(`.<name>.work` beside it) and publishes by an atomic rename, so readers see the previous
complete state or the new one, and a killed run leaves the published file untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from procmine.errors import ProcmineError, RunLockedError
from procmine.faults import crash_point
from procmine.sql import load_sql, table_exists
from procmine.sql.models import model_query

MIGRATIONS_PACKAGE = "procmine.sql.migrations"
MODEL_LINE = re.compile(r"^-- model: (\S+)$", re.MULTILINE)   # in a migration: see _with_models


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Migrations shipped in procmine/sql/migrations, ordered by version (NNN_name.sql)."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(int(version), rest.removesuffix(".sql"),
                                   _with_models(entry.read_text())))
    return sorted(found, key=lambda migration: migration.version)


def _with_models(sql: str) -> str:
    """A migration's `-- model: <name>` lines replaced by the SELECT of sql/<name>.sql: a
    backfill writes a derived table with the model that keeps it, not a copy of its SQL."""
    return MODEL_LINE.sub(lambda line: model_query(line.group(1)), sql)


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    if not table_exists(conn, "main", "schema_migrations"):
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM main.schema_migrations").fetchone()[0]


def migrate(conn: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply every shipped migration not yet applied (each in its own transaction, in version
    order), also one numbered below the newest applied; returns the versions applied."""
    conn.execute(load_sql("core/schema_migrations.sql"))
    done = {row[0] for row in conn.execute("SELECT version FROM main.schema_migrations").fetchall()}
    applied = []
    for migration in available_migrations():
        if migration.version in done or (target is not None and migration.version > target):
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO main.schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC)],
            )
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied


def _work_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.work")


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.lock")


@contextlib.contextmanager
def run_lock(db_path: Path, wait_s: float = 0.0) -> Iterator[None]:
    """One writer per database. The OS drops the lock when its holder dies (no stale locks)."""
    lock_file = _lock_path(db_path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_file.open("a+")
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise RunLockedError(
                        f"another procmine run is writing {db_path} ({holder}); wait for it "
                        "to finish or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": datetime.now(UTC).isoformat()}))
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Linux's sync_file_range flag: start writing the range's dirty pages, do not wait
SYNC_FILE_RANGE_WRITE = 2
WRITEBACK_THREAD = "procmine-writeback"


def _sync_file_range() -> Any | None:
    """libc's sync_file_range (Linux), or None."""
    function = getattr(ctypes.CDLL(None), "sync_file_range", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return function


_SYNC_FILE_RANGE = _sync_file_range()


def start_writeback(path: Path) -> bool:
    """Have the kernel start writing a file's dirty pages to disk now, without waiting for
    the writes (Linux sync_file_range; False where unavailable: then it happens at the first
    fsync). The call itself returns only once the writes are queued (see
    `write_back_in_background`).

    The private copy is a fresh write of the whole store (1.6 GB at 10M events) that sits in
    the page cache as dirty pages; the first fsync of it (DuckDB's first checkpoint, in the
    load step's first commit) waited for all of them: 2.1 s at 10M. Started at once, the
    disk writes them while the run computes."""
    if _SYNC_FILE_RANGE is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        return _SYNC_FILE_RANGE(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0
    finally:
        os.close(fd)


def write_back_in_background(path: Path) -> threading.Thread:
    """`start_writeback` in a daemon thread (ctypes releases the GIL): queuing a whole store's
    writes blocks until the disk's queue takes them (0.7-1.2 s for the 1.6 GB copy at 10M
    events, seconds more at 40M), time the run need not wait at open. Durability does not
    depend on it: publishing fsyncs the copy before the rename."""
    thread = threading.Thread(target=start_writeback, args=(path,),
                              name=WRITEBACK_THREAD, daemon=True)
    thread.start()
    return thread


MEMORY_LIMIT_ENV = "PROCMINE_DUCKDB_MEMORY_LIMIT"
# DuckDB's own default is 80% of RAM: a 10M-event load then holds ~10 GB resident; with a
# limit it spills sorts, joins and temp tables to <db>.tmp/ instead (measured in BENCHMARKS.md)
DEFAULT_MEMORY_LIMIT = "4GB"


def memory_limit() -> str:
    """DuckDB's memory limit for the store's connections."""
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


# GLOBAL, not the session's: a cursor (mining's d2c thread, the Dask engine's detector) is a
# session of its own and would otherwise take the host's time zone, where a TIMESTAMPTZ
# difference across a DST change is an hour off
UTC_SQL = "SET GLOBAL TimeZone = 'UTC'"


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The store's database, in UTC for this connection and every cursor of it."""
    conn = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit()})
    conn.execute(UTC_SQL)
    return conn


SET_MEMORY_LIMIT_SQL = "SET memory_limit = ?"
# the limit set for a moment by release_cache: DuckDB evicts every block it can to fit in it
RELEASE_LIMIT = "64MB"


# DuckDB's limit while a caller's own large arrays are at their largest (mining's core:
# ~130-230 bytes per event beside DuckDB). The core's SQL spills beyond it and fits at 40M
# events; marts.kpis needs more there, so mining sets the store's limit again after its core.
ARRAYS_MEMORY_LIMIT = "2GB"


def arrays_memory_limit() -> str:
    """DuckDB's limit beside a caller's own arrays: $PROCMINE_DUCKDB_MEMORY_LIMIT when set
    (the user's choice for every step), else ARRAYS_MEMORY_LIMIT."""
    return os.environ.get(MEMORY_LIMIT_ENV) or ARRAYS_MEMORY_LIMIT


@contextlib.contextmanager
def beside_arrays(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's cached blocks dropped (release_cache) and its limit lowered to
    arrays_memory_limit() while the caller's arrays are at their largest, the store's limit
    set again after the block (or earlier by the caller, `set_memory_limit`): the process's
    peak is DuckDB's limit plus those arrays (40M events mined: issue #20's 8 GB)."""
    release_cache(conn, arrays_memory_limit())
    try:
        yield
    finally:
        set_memory_limit(conn)


def set_memory_limit(conn: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's limit set to the store's (memory_limit())."""
    conn.execute(SET_MEMORY_LIMIT_SQL, [memory_limit()])


def release_cache(conn: duckdb.DuckDBPyConnection, limit: str | None = None) -> None:
    """Let DuckDB drop the blocks it keeps cached from earlier statements (up to its memory
    limit, held after the statements are done), by lowering the limit for a moment.

    For work that holds its own data outside DuckDB next (mining's arrays: at 40M events they
    came on top of the 4 GB the load had left cached). Blocks in use stay; evicted ones are
    read again if needed.
    The limit set after is `limit`, by default the store's (memory_limit(); current_setting()
    gives it rounded)."""
    try:
        conn.execute(SET_MEMORY_LIMIT_SQL, [RELEASE_LIMIT])
    except duckdb.Error:
        pass   # more is in use than that: what could be evicted was
    finally:
        conn.execute(SET_MEMORY_LIMIT_SQL, [limit or memory_limit()])


# DuckDB's checkpoint merges adjacent small row groups (its vacuum), re-compressing every row
# of them. An append to a stored table goes into a new row group, and the merging made each
# write's checkpoint rewrite rows it had not touched: at 10M events the nightly's commit of
# its 30k raw rows took 1.46 s with merging and 0.70 s without (0.8 s against 0.1 s for the
# same insert alone; 40 text columns). So writes leave row groups as they are, and every
# COMPACT_EVERY-th write of a store merges what the writes appended (or thinned by deletes)
# in its final checkpoint.
COMPACT_EVERY = 7
NO_MERGING_SQL = "SET max_vacuum_tasks = 0"
MERGING_SQL = "RESET max_vacuum_tasks"
WRITES_SINCE_COMPACTION_SQL = "SELECT writes_since_compaction FROM main.store_maintenance"


def _count_write(conn: duckdb.DuckDBPyConnection) -> bool:
    """Count this write in main.store_maintenance; True when it is the one to compact."""
    row = conn.execute(WRITES_SINCE_COMPACTION_SQL).fetchone()
    writes = (row[0] if row else 0) + 1
    compact = writes >= COMPACT_EVERY
    conn.execute("DELETE FROM main.store_maintenance")
    conn.execute("INSERT INTO main.store_maintenance VALUES (?)", [0 if compact else writes])
    return compact


@contextlib.contextmanager
def writing(db_path: Path, *, lock_wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a private copy, published atomically on success.

    On any exception (or a kill) the published database stays as it was. Row groups are
    merged only by every COMPACT_EVERY-th write (see there).
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(db_path, lock_wait_s):
        work = _work_path(db_path)
        for leftover in (work, work.with_name(work.name + ".wal")):
            leftover.unlink(missing_ok=True)
        if db_path.exists():
            shutil.copyfile(db_path, work)
            write_back_in_background(work)
        conn = connect(work)
        try:
            migrate(conn)
            conn.execute(NO_MERGING_SQL)
            yield conn
            if _count_write(conn):
                conn.execute(MERGING_SQL)
            conn.execute("CHECKPOINT")
            conn.close()
            _fsync_path(work)
            crash_point("publish")
            os.replace(work, db_path)
            _fsync_path(db_path.parent)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            work.unlink(missing_ok=True)
            work.with_name(work.name + ".wal").unlink(missing_ok=True)
            raise


def reading(db_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the last published state."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise ProcmineError(
            f"no database at {db_path} yet; load data first (procmine ingest PATH --source ...)"
        )
    return connect(db_path, read_only=True)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
