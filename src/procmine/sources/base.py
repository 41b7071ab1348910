"""The source-adapter interface and the shared reading helpers every adapter uses.

An adapter turns one export format into canonical events in two steps:

1. ``load_raw``: the file's rows, as exported, into ``raw.<source>`` with lineage
   (``_file_id``, ``_source_file``, ``_source_row``, ``_loaded_at``);
2. ``normalise``: raw rows of the files just loaded into ``staging.events`` and
   ``staging.cases``. The pipeline then maps stages and sourcing (``procmine.ingest``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import shutil
import tempfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from procmine.config import Config, SourceConfig
from procmine.errors import InputError
from procmine.privacy import Pseudonymiser, pseudonymiser
from procmine.sql import quote_ident  # (sources import it from here too)

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
    """One file loaded into the raw layer.

    `numbered` False: the rows were appended in file order with `_source_row` still NULL;
    the loader commits them, then calls `number_raw_rows` (see there for why).
    """

    path: Path
    file_id: str
    rows: int
    numbered: bool = True


class Adapter(ABC):
    """Base class of every source adapter; subclasses register by ``name``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # normalise reads only the raw rows of the files it is given and writes only their
    # staging.events rows: it can run where the file is read (the Dask engine's file tasks).
    # False where it reads earlier files' raw rows (a case's rows across files: its
    # staging.cases row; ServiceNow's snapshots deduplicated against raw)
    file_local: ClassVar[bool] = False

    @abstractmethod
    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        """Append the file's rows to ``ctx.raw_table``; raise InputError if unreadable."""

    @abstractmethod
    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        """Insert canonical events of ``files`` into staging.events (and cases into staging.cases)."""

    def snapshot_rows(self, conn: duckdb.DuckDBPyConnection, raw: RawFile,
                      ctx: LoadContext) -> int | None:
        """The file's rows that are snapshots of a record, where an export's rows are (None:
        each row is staged as what it is). A snapshot repeating a state already loaded derives
        no event, so a sound export can stage nothing; validation's file_contributes_rows
        counts these rows for a file that staged none."""
        return None


DUCKDB_ENCODINGS = {"utf-8", "utf-16", "latin-1"}
_CSV_ERROR_LINE = re.compile(r"CSV Error on Line: (\d+)")


def read_delimited(conn: duckdb.DuckDBPyConnection, path: Path, file_id: str, ctx: LoadContext,
                   required: list[tuple[str, str]]) -> RawFile:
    """Read a delimited text file (optionally gzip) as VARCHAR rows into ``ctx.raw_table``.

    ``required`` lists (column, mapping key) pairs that must be present; a missing one names
    the mapping key to set. Row numbers are 1-based data rows (the header is row 0).
    """
    delimiter = str(ctx.option("delimiter", ","))
    encoding = normalise_encoding(str(ctx.option("encoding", "utf-8")))
    header = read_header(path, delimiter, encoding)
    columns = header
    if len(columns) == 1 and any(sep in columns[0] for sep in ",;\t|" if sep != delimiter):
        raise InputError(
            f"one column only; is the delimiter {delimiter!r} right? set the source's "
            "'delimiter' (or --delimiter), e.g. delimiter = \";\"", path=str(path),
        )
    for column, key in required:
        if column not in columns:
            raise InputError(
                f"missing required column {column!r}; set the mapping key {key!r} in the "
                f"source's config (or its flag) to the column that holds it; found: "
                + ", ".join(columns[:20]), path=str(path),
            )
    return append_csv(conn, path, file_id, ctx, header, columns, delimiter, encoding)


# DuckDB's CSV reader over a file of known header, every column VARCHAR (append_csv's params)
CSV_READER = ("read_csv($csv_path, columns = $columns, header = true, auto_detect = false, "
              "delim = $delim, quote = '\"', escape = '\"', strict_mode = true, "
              "null_padding = false, encoding = $encoding, max_line_size = 67108864)")


def append_csv(conn: duckdb.DuckDBPyConnection, path: Path, file_id: str, ctx: LoadContext,
               header: list[str], keep: list[str], delimiter: str, encoding: str,
               check: Callable[[str, dict[str, Any]], None] | None = None) -> RawFile:
    """Append the delimited file `path` (columns `header`) to raw.<source>, its columns
    `keep`, straight from DuckDB's CSV reader (no intermediate copy of the file); a file in an
    encoding DuckDB does not read is transcoded to a temporary UTF-8 copy first.
    `check(reader, params)` runs before the append, over the same reader; a CSV error becomes
    one line naming the file and row (csv_read_error)."""
    readable = path if encoding in DUCKDB_ENCODINGS else transcode_to_utf8(path, encoding)
    params = {"csv_path": str(readable), "columns": dict.fromkeys(header, "VARCHAR"),
              "delim": delimiter, "encoding": "utf-8" if readable != path else encoding}
    # rows numbered by a row_number() window would be read on one thread; in file order
    # (DuckDB keeps the order of insertion), they are read in parallel and numbered after
    in_order = preserves_order(conn)
    try:
        if check is not None:
            check(CSV_READER, params)
        rows = append_raw(conn, CSV_READER, keep, path, file_id, ctx, params,
                          row_number="NULL::BIGINT" if in_order else "row_number() OVER ()")
    except duckdb.Error as exc:
        raise csv_read_error(exc, path, encoding) from exc
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)
    return RawFile(path, file_id, rows, numbered=not in_order)


def normalise_encoding(encoding: str) -> str:
    name = codecs.lookup(encoding).name if _known_codec(encoding) else encoding.lower()
    return {"utf-8-sig": "utf-8", "utf_8": "utf-8", "iso8859-1": "latin-1",
            "utf-16-le": "utf-16"}.get(name.replace("_", "-"), name.replace("_", "-"))


def _known_codec(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}; set the source's 'encoding' "
                         "(or --encoding) to e.g. utf-8, latin-1, cp1252, utf-16",
                         fatal=True) from None
    return True


def open_text(path: Path, encoding: str) -> io.TextIOBase:
    """A text stream over a plain or gzip file (by its magic bytes), BOM stripped."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")  # noqa: SIM115
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    return io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")


def read_header(path: Path, delimiter: str, encoding: str, *,
                trailing_unnamed: bool = False) -> list[str]:
    """The header row; empty files and duplicate column names are clear errors.
    `trailing_unnamed`: cells without a name are allowed after the last named one (an export
    padding every row with empty fields), an unnamed column before it is an error."""
    try:
        with open_text(path, encoding) as handle:
            header = next(csv.reader(handle, delimiter=delimiter), None)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read the file: it is truncated or not valid gzip ({exc})",
                         path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} near the start of the file; set the source's "
                         "'encoding' (or --encoding), e.g. latin-1 or cp1252",
                         path=str(path)) from exc
    except csv.Error as exc:
        raise InputError(f"cannot parse the header ({exc})", path=str(path), row=0) from exc
    if not header or not any(cell.strip() for cell in header):
        raise InputError("the file is empty (no header row)", path=str(path))
    last_named = max(i for i, cell in enumerate(header) if cell.strip())
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if trailing_unnamed and not name.strip():
            if position - 1 < last_named:
                raise InputError(f"column {position} of the header has no name; name it "
                                 "(only trailing columns may be unnamed)", path=str(path), row=0)
            continue
        if name in seen:
            raise InputError(f"duplicate column name {name!r} in the header (columns "
                             f"{seen[name]} and {position}); rename one", path=str(path), row=0)
        seen[name] = position
    return header


def transcode_to_utf8(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a file in an encoding DuckDB does not read natively (e.g. cp1252)."""
    handle, name = tempfile.mkstemp(suffix=".csv", prefix=".procmine-", dir=path.parent
                                    if os.access(path.parent, os.W_OK) else None)
    target = Path(name)
    try:
        with open_text(path, encoding) as source, os.fdopen(handle, "w", encoding="utf-8",
                                                           newline="") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
    except UnicodeDecodeError as exc:
        target.unlink(missing_ok=True)
        raise InputError(f"not valid {encoding} ({exc.reason}); set the source's 'encoding' "
                         "(or --encoding)", path=str(path)) from exc
    return target


def csv_read_error(exc: duckdb.Error, path: Path, encoding: str) -> InputError:
    """DuckDB's CSV error as one actionable line with the row where DuckDB names it."""
    text = str(exc)
    line = _CSV_ERROR_LINE.search(text)
    row = int(line.group(1)) - 1 if line else None
    if "GZIP" in text.upper() or "gzip" in text:
        return InputError("the file is truncated or not valid gzip", path=str(path))
    if "unicode" in text.lower() or "encod" in text.lower():
        return InputError(f"not valid {encoding}; set the source's 'encoding' (or --encoding), "
                          "e.g. latin-1 or cp1252", path=str(path), row=row)
    if "Expected Number of Columns" in text or "columns" in text.lower():
        return InputError("a row has a different number of fields than the header (wrong "
                          "delimiter, or an unclosed quote?)", path=str(path), row=row)
    return InputError(f"cannot read as CSV ({_first_line(exc)})", path=str(path), row=row)


def append_raw(conn: duckdb.DuckDBPyConnection, staged: str, columns: list[str], path: Path,
                file_id: str, ctx: LoadContext, reader_params: dict[str, Any] | None = None,
                row_number: str = "_source_row") -> int:
    """Append `staged` (a table with VARCHAR columns, or a table function reading the file)
    to raw.<source>, adding any new columns first; `row_number` is the SQL giving each row's
    1-based data row. Returns the number of rows appended."""
    target = ctx.raw_table
    ensure_raw_columns(conn, ctx.source.name, columns)
    masker = ctx.pseudonymiser
    select = ", ".join(
        f"{masker.sql_expression(quote_ident(c))} AS {quote_ident(c)}"
        if masker and c in masker.columns else quote_ident(c)
        for c in columns
    )
    return conn.execute(
        f"INSERT INTO {target} BY NAME SELECT $file_id AS _file_id, $path AS _source_file, "
        f"{row_number} AS _source_row, $loaded_at AS _loaded_at, {select} FROM {staged}",
        {"file_id": file_id, "path": str(path), "loaded_at": datetime.now(UTC),
         **(reader_params or {}),
         **(masker.sql_params() if masker and masker.columns & set(columns) else {})},
    ).fetchone()[0]


def raw_columns(conn: duckdb.DuckDBPyConnection, ctx: LoadContext) -> set[str]:
    """Columns of raw.<source> (empty if the table does not exist yet)."""
    return raw_table_columns(conn, ctx.source.name)


def raw_table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """Columns of raw.<table> (empty if the table does not exist yet)."""
    return {
        row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?", [table],
        ).fetchall()
    }


def ensure_raw_columns(conn: duckdb.DuckDBPyConnection, table: str,
                       columns: list[str]) -> None:
    """raw.<table> with the lineage columns and `columns` (VARCHAR): created, or the columns
    it lacks added."""
    target = f"raw.{quote_ident(table)}"
    existing = raw_table_columns(conn, table)
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


def preserves_order(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0])


def number_raw_rows(conn: duckdb.DuckDBPyConnection, ctx: LoadContext, raw: RawFile) -> None:
    """Set `_source_row` 1, 2, ... of a file appended unnumbered, in its order of insertion.

    DuckDB appended the rows in file order (preserve_insertion_order) under consecutive row
    ids. Call it after the append is committed: the append was written to the database file
    as it was read, and updating those rows in the same transaction would copy every row
    into the write-ahead log (a second write of the whole file).
    """
    target = ctx.raw_table
    first, last, count = conn.execute(
        f"SELECT min(rowid), max(rowid), count(*) FROM {target} WHERE _file_id = ?",
        [raw.file_id]).fetchone()
    if count != raw.rows:
        raise RuntimeError(f"{raw.path}: {count} raw rows, {raw.rows} appended")
    if not count:
        return
    if last - first + 1 == count:
        conn.execute(f"UPDATE {target} SET _source_row = rowid - ? + 1 WHERE _file_id = ?",
                     [first, raw.file_id])
    else:  # not one run of row ids (never seen): number them in row id order
        conn.execute(
            f"UPDATE {target} AS t SET _source_row = o.n FROM (SELECT rowid AS id, "
            f"row_number() OVER (ORDER BY rowid) AS n FROM {target} WHERE _file_id = ?) AS o "
            "WHERE t.rowid = o.id", [raw.file_id])


def create_mapping_tables(conn: duckdb.DuckDBPyConnection, config: Config,
                          sources: Iterable[str], groups: Iterable[str]) -> None:
    """The config's stage and sourcing mapping as temp tables for SQL to join.

    _stage_map(source, activity, d2c_stage): each source's [sources.<name>.stages], then the
    generic [stages] for the activities the source does not map; _sourcing_map(org_group,
    sourcing): each of `groups` by the first matching [[sourcing]] rule (else "unmapped").
    """
    generic = config.section("stages")
    stage_rows: list[tuple[str, str, str]] = []
    for name in dict.fromkeys(sources):
        own = config.source(name).stages if name in config.source_names else {}
        # an activity listed with "" is in the vocabulary but has no stage (left unmapped)
        stage_rows += [(name, activity, stage) for activity, stage in own.items() if stage]
        stage_rows += [(name, activity, stage) for activity, stage in generic.items()
                       if activity not in own and stage]
    groups = list(dict.fromkeys(groups))
    conn.execute("CREATE OR REPLACE TEMP TABLE _stage_map "
                 "(source VARCHAR, activity VARCHAR, d2c_stage VARCHAR)")
    conn.execute("CREATE OR REPLACE TEMP TABLE _sourcing_map (org_group VARCHAR, sourcing VARCHAR)")
    if stage_rows:
        conn.execute("INSERT INTO _stage_map SELECT unnest($sources), unnest($activities), "
                     "unnest($stages)", {"sources": [r[0] for r in stage_rows],
                                         "activities": [r[1] for r in stage_rows],
                                         "stages": [r[2] for r in stage_rows]})
    if groups:
        conn.execute("INSERT INTO _sourcing_map SELECT unnest($groups), unnest($sourcings)",
                     {"groups": groups, "sourcings": [config.sourcing_of(g) for g in groups]})


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
