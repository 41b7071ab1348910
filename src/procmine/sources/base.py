"""The source-adapter interface and the shared reading helpers every adapter uses.

An adapter turns one export format into canonical events in two steps:

1. ``load_raw``: the file's rows, as exported, into ``raw.<source>`` with lineage
   (``_file_id``, ``_source_file``, ``_source_row``, ``_loaded_at``);
2. ``normalise``: raw rows of the files just loaded into ``staging.events`` and
   ``staging.cases``. The pipeline then maps stages and sourcing (``procmine.ingest``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from procmine.config import Config, SourceConfig
from procmine.errors import InputError
from procmine.privacy import Pseudonymiser, pseudonymiser

STAGING_EVENT_COLUMNS = (
    "event_id", "case_id", "case_type", "activity", "ts", "resource", "org_group",
    "support_level", "sourcing", "d2c_stage", "source", "source_file", "source_row", "seq",
    "ts_raw", "run_id",
)
LINEAGE_COLUMNS = ("_file_id", "_source_file", "_source_row", "_loaded_at")


@dataclass
class LoadContext:
    """Everything an adapter needs to read one file of one source in one run."""

    config: Config
    source: SourceConfig
    run_id: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any = None) -> Any:
        """A CLI override (--date-format, --tz, column flags) wins over the source config."""
        value = self.overrides.get(key)
        return value if value not in (None, "") else self.source.get(key, default)

    @cached_property
    def pseudonymiser(self) -> Pseudonymiser | None:
        """Masks personal columns as rows enter raw (None when [privacy] is disabled)."""
        mapped_resource = self.overrides.get("resource") or self.source.get("columns", {}).get(
            "resource")
        return pseudonymiser(self.config, (mapped_resource,) if mapped_resource else ())

    @property
    def raw_table(self) -> str:
        return f"raw.{quote_ident(self.source.name)}"


@dataclass(frozen=True)
class RawFile:
    """One file loaded into the raw layer."""

    path: Path
    file_id: str
    rows: int


class Adapter(ABC):
    """Base class of every source adapter; subclasses register by ``name``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        """Append the file's rows to ``ctx.raw_table``; raise InputError if unreadable."""

    @abstractmethod
    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        """Insert canonical events of ``files`` into staging.events (and cases into staging.cases)."""


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted; the only way names from files reach SQL text."""
    return '"' + name.replace('"', '""') + '"'


def read_delimited(conn: duckdb.DuckDBPyConnection, path: Path, file_id: str, ctx: LoadContext,
                   required: list[tuple[str, str]]) -> RawFile:
    """Read a delimited text file (optionally gzip) as VARCHAR rows into ``ctx.raw_table``.

    ``required`` lists (column, mapping key) pairs that must be present; a missing one names
    the mapping key to set. Row numbers are 1-based data rows (the header is row 0).
    """
    delimiter = ctx.option("delimiter", ",")
    encoding = str(ctx.option("encoding", "utf-8")).lower().replace("_", "-")
    if encoding in {"utf-8-sig", "utf8"}:
        encoding = "utf-8"
    staged = "_procmine_read"
    try:
        conn.execute(f"DROP TABLE IF EXISTS {staged}")
        conn.execute(
            f"CREATE TEMP TABLE {staged} AS SELECT row_number() OVER () AS _source_row, * "
            "FROM read_csv(?, all_varchar = true, header = true, delim = ?, encoding = ?, "
            "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
            "auto_detect = true, sample_size = -1)",
            [str(path), delimiter, encoding],
        )
    except duckdb.Error as exc:
        raise InputError(f"cannot read as CSV ({_first_line(exc)})", path=str(path)) from exc
    columns = [row[0] for row in conn.execute(f"DESCRIBE {staged}").fetchall()][1:]
    if len(columns) == 1 and delimiter not in columns[0] and ("," in columns[0] or ";" in columns[0]
                                                             or "\t" in columns[0]):
        raise InputError(
            f"one column only; is the delimiter {delimiter!r} right? set the source's "
            "'delimiter' (e.g. delimiter = \";\")", path=str(path),
        )
    for column, key in required:
        if column not in columns:
            raise InputError(
                f"missing required column {column!r}; set the mapping key {key!r} in the "
                f"source's config (or its flag) to the column that holds it; found: "
                + ", ".join(columns[:20]), path=str(path),
            )
    _append_raw(conn, staged, columns, path, file_id, ctx)
    rows = conn.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]
    conn.execute(f"DROP TABLE {staged}")
    return RawFile(path, file_id, rows)


def _append_raw(conn: duckdb.DuckDBPyConnection, staged: str, columns: list[str], path: Path,
                file_id: str, ctx: LoadContext) -> None:
    """Append a staged VARCHAR table to raw.<source>, adding any new columns first."""
    target = ctx.raw_table
    existing = {
        row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?", [ctx.source.name],
        ).fetchall()
    }
    if not existing:
        column_ddl = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
        conn.execute(
            f"CREATE TABLE {target} (_file_id VARCHAR, _source_file VARCHAR, "
            f"_source_row BIGINT, _loaded_at TIMESTAMPTZ, {column_ddl})"
        )
    else:
        for column in columns:
            if column not in existing:
                conn.execute(f"ALTER TABLE {target} ADD COLUMN {quote_ident(column)} VARCHAR")
    masker = ctx.pseudonymiser
    select = ", ".join(
        f"{masker.sql_expression(quote_ident(c))} AS {quote_ident(c)}"
        if masker and c in masker.columns else quote_ident(c)
        for c in columns
    )
    conn.execute(
        f"INSERT INTO {target} BY NAME SELECT $file_id AS _file_id, $path AS _source_file, "
        f"_source_row, $loaded_at AS _loaded_at, {select} FROM {staged}",
        {"file_id": file_id, "path": str(path), "loaded_at": datetime.now(UTC),
         **(masker.sql_params() if masker and masker.columns & set(columns) else {})},
    )


def sample_values(conn: duckdb.DuckDBPyConnection, raw_table: str, column: str,
                  files: list[RawFile], limit: int = 20000) -> list[str]:
    """Distinct non-empty values of a raw column in `files` (for format detection)."""
    return [row[0] for row in conn.execute(
        f"SELECT DISTINCT {quote_ident(column)} FROM {raw_table} WHERE list_contains(?, _file_id) "
        f"AND {quote_ident(column)} IS NOT NULL LIMIT ?",
        [[f.file_id for f in files], limit],
    ).fetchall()]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


# ----------------------------------------------------------------- timestamps

DAY_FIRST = "%d/%m/%Y %H:%M"
MONTH_FIRST = "%m/%d/%Y %H:%M"
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")


def detect_date_format(values: list[str], *, path: str, option_hint: str = "--date-format") -> str:
    """Day-first or month-first for d/m/y-style values, only when the data make it unambiguous.

    Returns "" for ISO-8601 values (parsed by a cast). Raises InputError naming the option
    otherwise.
    """
    firsts, seconds, matched = [], [], 0
    for value in values:
        found = _SLASH_DATE.match(value)
        if found:
            matched += 1
            firsts.append(int(found.group(1)))
            seconds.append(int(found.group(2)))
    if not matched:
        return ""
    day_first = any(v > 12 for v in firsts)
    month_first = any(v > 12 for v in seconds)
    seconds_part = ":%S" if any(v.count(":") >= 2 for v in values[:1000]) else ""
    if day_first and not month_first:
        return DAY_FIRST + seconds_part
    if month_first and not day_first:
        return MONTH_FIRST + seconds_part
    raise InputError(
        "ambiguous or inconsistent date format (day-first and month-first both fit); set "
        f"{option_hint} (e.g. {option_hint} '%d/%m/%Y %H:%M') or the source's 'date_format'",
        path=path, fatal=True,
    )
