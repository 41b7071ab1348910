"""OCEL 2.0 object-centric event logs in (the standard's SQLite layout), flattened per object.

The file is read with Python's sqlite3 (DuckDB's sqlite extension is not available offline),
read-only, its tables copied in batches into DuckDB temp tables and joined there
(sql/staging/ocel2_raw.sql), into three raw tables with lineage (docs/ocel.md):

- ``raw.<source>``: one row per row of the file's ``event_object`` table (its position is
  ``_source_row``), with the event's type and time: ``ocel_event_id``, ``ocel_object_id``,
  ``ocel_qualifier``, ``ocel_activity``, ``ocel_time``, ``ocel_object_type``; then one row per
  event related to no object (``ocel_object_id`` NULL: staged without a case, quarantined);
- ``raw.<source>_objects``: the ``object`` table, each object's initial attribute values
  (its ``object_<Type>`` row without ``ocel_changed_field``) as JSON;
- ``raw.<source>_o2o``: the ``object_object`` table.

Flattening: each (event, object) pair whose object type is a case type (``case_types``; empty:
every type) is one canonical event of the case = the object (case id = ``case_prefix`` +
object id, case type = object type). An event of three orders is three canonical events;
``procmine export --format ocel2`` joins them back into one (raw lineage), with the file's
event ids, qualifiers and object-object relations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from procmine.errors import InputError
from procmine.sources import register
from procmine.sources.base import Adapter, LoadContext, RawFile, append_raw
from procmine.sources.mapped import forget_raw_file, stage_activities
from procmine.sql import load_sql, quote_ident, run_sql

REQUIRED_TABLES = ("event", "object", "event_object", "object_object", "event_map_type",
                   "object_map_type")
EVENT_COLUMNS = ("ocel_event_id", "ocel_object_id", "ocel_qualifier", "ocel_activity",
                 "ocel_time", "ocel_object_type")
OBJECT_COLUMNS = ("ocel_object_id", "ocel_object_type", "ocel_attributes")
O2O_COLUMNS = ("ocel_source_id", "ocel_target_id", "ocel_qualifier")
STAGED = "_procmine_ocel_batch"             # sql/staging/ocel2_raw.sql
BATCH = 50_000

# The file's tables, copied as they are into DuckDB temp tables (pos: row order), then joined
# there (sql/staging/ocel2_raw.sql): SQLite has no index on them, DuckDB hashes them.
COPIES = {
    "_ocel_in_e2o": ("SELECT CAST(ocel_event_id AS TEXT), CAST(ocel_object_id AS TEXT), "
                     "CAST(ocel_qualifier AS TEXT) FROM event_object ORDER BY rowid",
                     ("ocel_event_id", "ocel_object_id", "ocel_qualifier")),
    "_ocel_in_event": ("SELECT CAST(ocel_id AS TEXT), CAST(ocel_type AS TEXT) FROM event "
                       "ORDER BY rowid", ("ocel_id", "ocel_type")),
    "_ocel_in_object": ("SELECT CAST(ocel_id AS TEXT), CAST(ocel_type AS TEXT) FROM object "
                        "ORDER BY rowid", ("ocel_id", "ocel_type")),
}
TIMES = "_ocel_in_time"


class Ocel2Adapter(Adapter):
    name = "ocel2"
    description = "OCEL 2.0 object-centric event log (SQLite), flattened per case-type object"
    SIDE_TABLES: ClassVar[dict[str, tuple[str, ...]]] = {"_objects": OBJECT_COLUMNS,
                                                        "_o2o": O2O_COLUMNS}

    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        forget_raw_file(conn, ctx, file_id)
        for suffix in self.SIDE_TABLES:
            self._side_table(conn, ctx, suffix)
            conn.execute(f"DELETE FROM {self._side_name(ctx, suffix)} WHERE _file_id = ?",
                         [file_id])
        source = _open(path)
        try:
            maps = {kind: _type_maps(source, path, kind) for kind in ("event", "object")}
            for table, (query, columns) in COPIES.items():
                _copy(conn, table, columns, _rows(source.execute(query)))
            _copy(conn, TIMES, ("ocel_id", "ocel_time"), _chain(*(source.execute(
                "SELECT CAST(ocel_id AS TEXT), CAST(ocel_time AS TEXT) "
                f"FROM {quote_ident('event_' + suffix)} ORDER BY rowid")
                for suffix in maps["event"].values())))
            run_sql(conn, load_sql("staging/ocel2_raw.sql"))
            try:
                rows = append_raw(conn, STAGED, list(EVENT_COLUMNS), path, file_id, ctx)
            finally:
                for table in (*COPIES, TIMES, STAGED):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
            self._append_side(conn, path, file_id, ctx, "_objects",
                              _objects(source, maps["object"]))
            self._append_side(conn, path, file_id, ctx, "_o2o", _rows(source.execute(
                "SELECT CAST(ocel_source_id AS TEXT), CAST(ocel_target_id AS TEXT), "
                "CAST(ocel_qualifier AS TEXT) FROM object_object ORDER BY rowid")))
        except sqlite3.Error as exc:
            raise InputError(f"cannot read as OCEL 2.0 SQLite ({exc})", path=str(path)) from exc
        finally:
            source.close()
        return RawFile(path, file_id, rows)

    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        sql = load_sql("staging/ocel2_events.sql").format(
            raw_table=ctx.raw_table, objects_table=self._side_name(ctx, "_objects"))
        run_sql(conn, sql, {
            "file_ids": [f.file_id for f in files],
            "null_tokens": ctx.source.null_tokens,
            "source": ctx.source.name,
            "case_types": [str(t) for t in ctx.option("case_types", []) or []],
            "case_prefix": ctx.option("case_prefix", "") or "",
            "date_format": ctx.option("date_format", "") or "",
            "timezone": ctx.option("timezone", "UTC"),
            "resolve_activities": stage_activities(ctx, "resolve", generic=True),
            "close_activities": stage_activities(ctx, "close", generic=True),
            "run_id": ctx.run_id,
        })

    # ------------------------------------------------------------------ raw tables

    @staticmethod
    def _side_name(ctx: LoadContext, suffix: str) -> str:
        return f"raw.{quote_ident(ctx.source.name + suffix)}"

    def _side_table(self, conn: duckdb.DuckDBPyConnection, ctx: LoadContext,
                    suffix: str) -> None:
        columns = ", ".join(f"{quote_ident(c)} VARCHAR" for c in self.SIDE_TABLES[suffix])
        conn.execute(f"CREATE TABLE IF NOT EXISTS {self._side_name(ctx, suffix)} "
                     "(_file_id VARCHAR, _source_file VARCHAR, _source_row BIGINT, "
                     f"_loaded_at TIMESTAMPTZ, {columns})")

    def _append_side(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                     ctx: LoadContext, suffix: str, rows: Iterator[tuple[Any, ...]]) -> None:
        columns = self.SIDE_TABLES[suffix]
        written = 0
        for batch in _batched(rows):
            conn.register(STAGED, _arrow(columns, batch, written))
            try:
                conn.execute(
                    f"INSERT INTO {self._side_name(ctx, suffix)} BY NAME SELECT $file_id AS "
                    "_file_id, $path AS _source_file, _source_row, $loaded_at AS _loaded_at, "
                    f"{', '.join(quote_ident(c) for c in columns)} FROM {STAGED}",
                    {"file_id": file_id, "path": str(path), "loaded_at": datetime.now(UTC)})
            finally:
                conn.unregister(STAGED)
            written += len(batch)


def _open(path: Path) -> sqlite3.Connection:
    with path.open("rb") as probe:
        if probe.read(16) != b"SQLite format 3\x00":
            raise InputError("not an SQLite file (OCEL 2.0 SQLite expected; for OCEL XML or "
                             "JSON, convert it with pm4py first)", path=str(path))
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN "
                                        "('table', 'view')")}
    missing = [t for t in REQUIRED_TABLES if t not in names]
    if missing:
        conn.close()
        raise InputError(f"not an OCEL 2.0 SQLite file: no table {', '.join(missing)}",
                         path=str(path))
    return conn


def _type_maps(source: sqlite3.Connection, path: Path, kind: str) -> dict[str, str]:
    """Type -> its `<kind>_<map>` table, each table checked to exist."""
    maps = {str(t): str(m) for t, m in source.execute(
        f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type")}
    tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
    for ocel_type, suffix in maps.items():
        if f"{kind}_{suffix}" not in tables:
            raise InputError(f"{kind}_map_type maps {ocel_type!r} to the table "
                             f"{kind}_{suffix}, which the file does not have", path=str(path))
    return maps


def _copy(conn: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...],
          rows: Iterator[tuple[Any, ...]]) -> None:
    """A temp table of text columns and `pos` (1-based row order), filled in batches."""
    ddl = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {table} (pos BIGINT, {ddl})")
    written = 0
    for batch in _batched(rows):
        frame = _arrow(columns, batch, written).rename_columns(["pos", *columns])
        conn.register("_procmine_ocel_arrow", frame)
        try:
            conn.execute(f"INSERT INTO {table} SELECT * FROM _procmine_ocel_arrow")
        finally:
            conn.unregister("_procmine_ocel_arrow")
        written += len(batch)


def _objects(source: sqlite3.Connection,
             maps: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    """(id, type, JSON of the initial attribute values) per row of the `object` table."""
    initial: dict[str, dict[str, Any]] = {}
    for suffix in maps.values():
        table = quote_ident("object_" + suffix)
        cursor = source.execute(f"SELECT * FROM {table} ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            values = dict(zip(names, row, strict=True))
            if values.get("ocel_changed_field") not in (None, ""):
                continue
            key = str(values.pop("ocel_id"))
            if key in initial:
                continue
            initial[key] = {k: v for k, v in values.items()
                            if v is not None and k not in ("ocel_time", "ocel_changed_field")}
    for object_id, object_type in source.execute(
            "SELECT CAST(ocel_id AS TEXT), CAST(ocel_type AS TEXT) FROM object ORDER BY rowid"):
        attributes = initial.get(object_id)
        yield (object_id, object_type,
               json.dumps(attributes, default=str) if attributes else None)


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def _chain(*cursors: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    for cursor in cursors:
        yield from _rows(cursor)


def _batched(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _arrow(columns: tuple[str, ...], batch: list[tuple[Any, ...]], offset: int) -> pa.Table:
    """A batch of text values (the queries cast to TEXT) with its 1-based `_source_row`
    (offset: rows before it)."""
    data: dict[str, pa.Array] = {
        "_source_row": pa.array(range(offset + 1, offset + len(batch) + 1), pa.int64())}
    for column, values in zip(columns, zip(*batch, strict=True), strict=True):
        data[column] = pa.array(values, pa.string())
    return pa.table(data)


register(Ocel2Adapter)
