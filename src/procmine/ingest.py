"""Extract and load: files → raw.<source> → staging.events, one transaction per file.

A file already loaded (same content checksum) is skipped; a file that fails is rolled back
whole and reported, and the other files of the run still load. A file whose path, size and
modification time equal those core.load_registry recorded when it was read is recognised
without reading it again (`FileIdentifier`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from procmine.config import Config
from procmine.errors import InputError, ProcmineError
from procmine.sources import Adapter, LoadContext, RawFile, get_adapter
from procmine.sources.base import create_mapping_tables, number_raw_rows
from procmine.sql import load_sql, run_sql

DATA_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".gz", ".xes", ".xes.gz", ".sqlite")
# A file modified this shortly before it is looked at may change again within the same tick
# of a coarse file system clock without its mtime moving: its mtime is not recorded, so the
# next run reads it again (the "racily clean" case of git's index).
RACY_MTIME_NS = 2_000_000_000


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    source: str
    status: str  # loaded | skipped | failed
    file_id: str = ""
    size_bytes: int = 0
    rows: int = 0
    snapshot_rows: int | None = None   # of them, record snapshots (Adapter.snapshot_rows)
    message: str = ""
    mtime_ns: int | None = None  # as stat'ed before the file was read (None: too recent)


@dataclass
class StageReport:
    """Files seen by the extract/load step of one run."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "loaded"]

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


def install_macros(conn: duckdb.DuckDBPyConnection) -> None:
    run_sql(conn, load_sql("staging/macros.sql"))


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileIdentity:
    """A file's content checksum, with the size and mtime it had before it was read."""

    path: Path
    file_id: str
    size_bytes: int
    mtime_ns: int | None  # None: modified too recently to vouch for the content later
    hashed: bool = True   # False: recognised by (path, size, mtime) without reading it


def file_stamp(path: Path) -> tuple[int, int | None]:
    """(size, mtime_ns) of a file; mtime None if it changed within RACY_MTIME_NS of now."""
    stat = path.stat()
    settled = time.time_ns() - stat.st_mtime_ns >= RACY_MTIME_NS
    return stat.st_size, stat.st_mtime_ns if settled else None


class FileIdentifier:
    """Content checksums of files, read only when core.load_registry cannot vouch for them.

    A file whose (path, size, mtime_ns) equal a registry row is that row's content; any other
    file is hashed (sha256), as are files registered without an mtime.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self._by_stamp = registry_stamps(conn)

    def identify(self, path: Path) -> FileIdentity:
        size, mtime_ns = file_stamp(path)  # before reading: a later change moves the mtime
        known = self._by_stamp.get((str(path), size, mtime_ns)) if mtime_ns is not None else None
        if known is not None:
            return FileIdentity(path, known, size, mtime_ns, hashed=False)
        return FileIdentity(path, file_checksum(path), size, mtime_ns)

    def already_loaded(self, identity: FileIdentity) -> bool:
        """Is this content loaded? A hashed, loaded file's current mtime is recorded (same
        path and size) so that the next run recognises it without reading it."""
        if not identity.hashed:
            return True
        if not already_loaded(self.conn, identity.file_id):
            return False
        if identity.mtime_ns is not None:
            run_sql(self.conn, load_sql("core/registry_restamp.sql"), {
                "file_id": identity.file_id, "path": str(identity.path),
                "size_bytes": identity.size_bytes, "mtime_ns": identity.mtime_ns})
        return True


def registry_stamps(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], str | None]:
    """(path, size, mtime_ns) → file_id of the registry; None where two contents share one."""
    stamps: dict[tuple[str, int, int], str | None] = {}
    for path, size, mtime_ns, file_id in conn.execute(
            load_sql("core/registry_stamps.sql")).fetchall():
        key = (path, size, mtime_ns)
        stamps[key] = file_id if stamps.get(key, file_id) == file_id else None
    return stamps


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders contribute their data files, sorted by name (recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".") and p.name.endswith(DATA_SUFFIXES)
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError("no such file or folder", path=str(path))
    return found


def already_loaded(conn: duckdb.DuckDBPyConnection, file_id: str) -> bool:
    return conn.execute(
        "SELECT count(*) FROM core.load_registry WHERE file_id = ?", [file_id]
    ).fetchone()[0] > 0


def load_context(config: Config, source_name: str, run_id: str,
                 overrides: dict[str, Any] | None = None) -> tuple[Adapter, LoadContext]:
    """The adapter of a configured source and the context its files are read in."""
    source = config.source(source_name)
    return (get_adapter(source.adapter),
            LoadContext(config=config, source=source, run_id=run_id, overrides=overrides or {}))


def plan_files(
    conn: duckdb.DuckDBPyConnection, source_name: str, paths: list[Path],
    *, identities: Mapping[Path, FileIdentity] | None = None,
) -> list[FileResult]:
    """Each file of `paths` with its checksum: status `loaded` (to read) or `skipped` (loaded
    before). A file with the same content as one loaded earlier in the run is skipped when
    the loader reaches it (stage_files): only a file that did load stands for its content.

    `identities`: files the caller already identified (the extract step), not hashed again.
    """
    identifier = FileIdentifier(conn)
    planned: list[FileResult] = []
    for path in expand_paths(paths):
        identity = (identities or {}).get(path) or identifier.identify(path)
        result = FileResult(path=path, source=source_name, status="loaded",
                            file_id=identity.file_id, size_bytes=identity.size_bytes,
                            mtime_ns=identity.mtime_ns)
        if identifier.already_loaded(identity):
            result.status, result.message = "skipped", "already loaded (same checksum)"
        planned.append(result)
    return planned


class FileStager(Protocol):
    """Reads the files of a load elsewhere (orchestration's Dask engine: one task per file)
    and appends what each produced when the loader reaches it, in the local order."""

    def start(self, files: list[tuple[Adapter, LoadContext, FileResult]]) -> None:
        """Begin reading every file to load (status `loaded`), in this order."""

    def load(self, conn: duckdb.DuckDBPyConnection, adapter: Adapter, ctx: LoadContext,
             result: FileResult) -> None:
        """What `load_file` does for one file: raw + staging, or result.status `failed`."""


def stage_files(
    conn: duckdb.DuckDBPyConnection, config: Config, source_name: str, paths: list[Path],
    run_id: str, overrides: dict[str, Any] | None = None,
    progress: Callable[[FileResult], None] | None = None,
    *, identities: Mapping[Path, FileIdentity] | None = None,
    planned: list[FileResult] | None = None, stager: FileStager | None = None,
) -> StageReport:
    """Load each new file into raw.<source> and its canonical events into staging.

    `identities`: files the caller already identified (the extract step), not hashed again.
    `planned`: plan_files' answer for `paths`, if the caller has it; `stager`: files are read
    by it (started by the caller) instead of in this process.
    """
    install_macros(conn)
    adapter, ctx = load_context(config, source_name, run_id, overrides)
    if planned is None:
        planned = plan_files(conn, source_name, paths, identities=identities)
    report = StageReport(run_id)
    for result in planned:
        if result.status == "loaded" and result.file_id in {f.file_id for f in report.loaded}:
            result.status, result.message = "skipped", "same content as a file of this run"
        elif result.status == "loaded":
            if stager is not None:
                stager.load(conn, adapter, ctx, result)
            else:
                load_file(conn, adapter, ctx, result)
        report.files.append(result)
        if progress:
            progress(result)
    apply_mappings(conn, config, run_id)
    return report


RawReader = Callable[[duckdb.DuckDBPyConnection, Path, str, LoadContext], RawFile]
Normaliser = Callable[[duckdb.DuckDBPyConnection, list[RawFile], LoadContext], None]


def load_file(conn: duckdb.DuckDBPyConnection, adapter: Adapter, ctx: LoadContext,
              result: FileResult, *, read: RawReader | None = None,
              normalise: Normaliser | None = None) -> None:
    """raw + staging for one file; a failure rolls the file back whole.

    One transaction, or two when the raw rows are numbered after their append
    (`number_raw_rows`): then a failure after the first commit deletes the file's raw rows.
    Either way the run works on a private copy of the database (store.writing).
    `read` and `normalise` default to the adapter's; the Dask engine's file tasks and the
    coordinator appending their results pass their own (orchestration/dask_ingest.py).
    """
    committed: RawFile | None = None
    conn.execute("BEGIN TRANSACTION")
    try:
        raw = (read or adapter.load_raw)(conn, result.path, result.file_id, ctx)
        if not raw.numbered:
            conn.execute("COMMIT")
            committed = raw
            conn.execute("BEGIN TRANSACTION")
            number_raw_rows(conn, ctx, raw)
        (normalise or adapter.normalise)(conn, [raw], ctx)
        result.snapshot_rows = adapter.snapshot_rows(conn, raw, ctx)
        conn.execute("COMMIT")
        result.rows = raw.rows
    except InputError as exc:
        _roll_back(conn, ctx, committed)
        if exc.fatal:
            raise
        result.status, result.message = "failed", str(exc)
    except duckdb.Error as exc:
        _roll_back(conn, ctx, committed)
        result.status = "failed"
        result.message = f"{result.path}: cannot load ({str(exc).splitlines()[0][:300]})"
    except BaseException:
        _roll_back(conn, ctx, committed)
        raise


def _roll_back(conn: duckdb.DuckDBPyConnection, ctx: LoadContext,
               committed: RawFile | None) -> None:
    conn.execute("ROLLBACK")
    if committed is not None:
        conn.execute(f"DELETE FROM {ctx.raw_table} WHERE _file_id = ?", [committed.file_id])


def apply_mappings(conn: duckdb.DuckDBPyConnection, config: Config, run_id: str) -> None:
    """Fill d2c_stage, sourcing (and nothing else) of the staged events from the config, where
    their adapter did not (one UPDATE; events mapped as they were staged are not rewritten)."""
    sources = [r[0] for r in conn.execute(
        "SELECT DISTINCT source FROM staging.events WHERE run_id = ?", [run_id]).fetchall()]
    groups = [r[0] for r in conn.execute(
        "SELECT DISTINCT org_group FROM staging.events WHERE run_id = ? AND sourcing IS NULL "
        "AND org_group IS NOT NULL", [run_id]).fetchall()]
    create_mapping_tables(conn, config, sources, groups)
    run_sql(conn, load_sql("staging/apply_mappings.sql"), {"run_id": run_id})


def register_files(conn: duckdb.DuckDBPyConnection, report: StageReport,
                   counts: dict[str, tuple[int, int]]) -> None:
    """Record loaded files with their (events, quarantined) counts by source_file."""
    now = datetime.now(UTC)
    for result in report.loaded:
        events, quarantined = counts.get(str(result.path), (0, 0))
        run_sql(conn, load_sql("core/register_file.sql"), {
            "file_id": result.file_id, "path": str(result.path),
            "size_bytes": result.size_bytes, "mtime_ns": result.mtime_ns,
            "source": result.source, "rows_read": result.rows, "events": events,
            "quarantined": quarantined, "run_id": report.run_id, "loaded_at": now})


__all__ = ["FileIdentifier", "FileIdentity", "FileResult", "FileStager", "ProcmineError",
           "StageReport", "expand_paths", "load_file", "plan_files", "stage_files"]
