"""Extract and load: files → raw.<source> → staging.events, one transaction per file.

A file already loaded (same content checksum) is skipped; a file that fails is rolled back
whole and reported, and the other files of the run still load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from procmine.config import Config
from procmine.errors import InputError, ProcmineError
from procmine.sources import LoadContext, get_adapter
from procmine.sql import load_sql, run_sql

DATA_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".gz", ".xes", ".xes.gz")


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    source: str
    status: str  # loaded | skipped | failed
    file_id: str = ""
    size_bytes: int = 0
    rows: int = 0
    message: str = ""


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
    run_sql(conn, load_sql("pipeline/macros.sql"))


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def stage_files(
    conn: duckdb.DuckDBPyConnection, config: Config, source_name: str, paths: list[Path],
    run_id: str, overrides: dict[str, Any] | None = None,
    progress: Callable[[FileResult], None] | None = None,
) -> StageReport:
    """Load each new file into raw.<source> and its canonical events into staging."""
    install_macros(conn)
    source = config.source(source_name)
    adapter = get_adapter(source.adapter)
    ctx = LoadContext(config=config, source=source, run_id=run_id, overrides=overrides or {})
    report = StageReport(run_id)
    for path in expand_paths(paths):
        result = FileResult(path=path, source=source_name, status="loaded")
        result.size_bytes = path.stat().st_size
        result.file_id = file_checksum(path)
        if already_loaded(conn, result.file_id):
            result.status, result.message = "skipped", "already loaded (same checksum)"
        else:
            conn.execute("BEGIN TRANSACTION")
            try:
                raw = adapter.load_raw(conn, path, result.file_id, ctx)
                adapter.normalise(conn, [raw], ctx)
                conn.execute("COMMIT")
                result.rows = raw.rows
            except InputError as exc:
                conn.execute("ROLLBACK")
                if exc.fatal:
                    raise
                result.status, result.message = "failed", str(exc)
            except duckdb.Error as exc:
                conn.execute("ROLLBACK")
                result.status = "failed"
                result.message = f"{path}: cannot load ({str(exc).splitlines()[0][:300]})"
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        report.files.append(result)
        if progress:
            progress(result)
    apply_mappings(conn, config, run_id)
    return report


def apply_mappings(conn: duckdb.DuckDBPyConnection, config: Config, run_id: str) -> None:
    """Fill d2c_stage, sourcing (and nothing else) of the staged events from the config."""
    stage_rows = [
        (name, activity, stage)
        for name in config.source_names
        for activity, stage in config.source(name).stages.items()
    ]
    sources = [r[0] for r in conn.execute(
        "SELECT DISTINCT source FROM staging.events WHERE run_id = ?", [run_id]).fetchall()]
    generic = config.section("stages")
    activities = conn.execute(
        "SELECT DISTINCT source, activity FROM staging.events WHERE run_id = ? "
        "AND activity IS NOT NULL", [run_id]).fetchall()
    known = {(s, a) for s, a, _ in stage_rows}
    stage_rows += [(s, a, generic[a]) for s, a in activities if (s, a) not in known and a in generic]
    groups = [r[0] for r in conn.execute(
        "SELECT DISTINCT org_group FROM staging.events WHERE run_id = ? AND org_group IS NOT NULL",
        [run_id]).fetchall()]
    conn.execute("CREATE OR REPLACE TEMP TABLE _stage_map "
                 "(source VARCHAR, activity VARCHAR, d2c_stage VARCHAR)")
    conn.execute("CREATE OR REPLACE TEMP TABLE _sourcing_map (org_group VARCHAR, sourcing VARCHAR)")
    stage_rows = [r for r in stage_rows if r[0] in sources]
    if stage_rows:  # executemany refuses an empty list (e.g. an XES log, no known activity)
        conn.executemany("INSERT INTO _stage_map VALUES (?, ?, ?)", stage_rows)
    if groups:
        conn.executemany("INSERT INTO _sourcing_map VALUES (?, ?)",
                         [(g, config.sourcing_of(g)) for g in groups])
    run_sql(conn, load_sql("pipeline/apply_mappings.sql"), {"run_id": run_id})


def register_files(conn: duckdb.DuckDBPyConnection, report: StageReport,
                   counts: dict[str, tuple[int, int]]) -> None:
    """Record loaded files with their (events, quarantined) counts by source_file."""
    now = datetime.now(UTC)
    for result in report.loaded:
        events, quarantined = counts.get(str(result.path), (0, 0))
        conn.execute(
            "INSERT INTO core.load_registry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.file_id, str(result.path), result.size_bytes, result.source, result.rows,
             events, quarantined, report.run_id, now],
        )


__all__ = ["FileResult", "ProcmineError", "StageReport", "expand_paths", "stage_files"]
