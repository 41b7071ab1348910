"""Record tables: one record (a call, an incident, a change) per row or per group of rows.

ITSM tools export their records as tables, one row per record with its timestamps as columns
(BPIC 2014's interaction, incident and change tables). This adapter makes each record an
object (a case of the source's ``case_type``): one event per configured timestamp column that
holds a value (``[sources.<name>.events]``: activity = column), and the record's fields as
``core.cases`` columns and ``attributes`` keys (``[sources.<name>.attributes]``). Several rows
of one record in one file (a change × the CIs it touches) make one object: a ``list``
attribute collects every row's value, the others take the first row's (timestamps the earliest
or latest, ``pick``). A source with no events (``events`` empty) gives attributes of cases
whose events come from another source (``case_source``, e.g. the incident detail table beside
the incident activity log). Rules and examples: docs/sources.md ("Record tables").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from procmine.errors import ConfigError, InputError
from procmine.sources import register
from procmine.sources.base import (
    LINEAGE_COLUMNS,
    LoadContext,
    RawFile,
    append_csv,
    normalise_encoding,
    quote_ident,
    raw_columns,
    read_header,
)
from procmine.sources.dialect import sniff_raw_timestamps
from procmine.sources.mapped import MappedAdapter, forget_raw_file
from procmine.sql import load_sql, run_sql

CASE_TIMESTAMPS = {"opened_at": "min", "resolved_at": "max", "closed_at": "max"}
CASE_TEXT = ("priority", "category", "service", "problem_id", "change_id", "vendor",
             "resource", "group")
TYPES = ("text", "list", "boolean", "integer", "number", "timestamp")
PICKS = ("first", "min", "max")
UNNAMED = "_unnamed_"


@dataclass(frozen=True)
class Field:
    """One configured output: a column of the export, its type, and which row's value."""

    key: str
    column: str
    type: str = "text"
    pick: str = "first"


def parse_fields(spec: dict[str, Any], section: str, default_type: str = "text") -> list[Field]:
    """`key = "Column"` or `key = {column = "Column", type = ..., pick = ...}`."""
    fields = []
    for key, value in spec.items():
        if isinstance(value, str):
            field = Field(str(key), value, default_type, "first")
        elif isinstance(value, dict) and "column" in value:
            field = Field(str(key), str(value["column"]), str(value.get("type", default_type)),
                          str(value.get("pick", "first")))
        else:
            raise ConfigError(f"{section}.{key}: give a column name or a table with 'column' "
                              "(and optional 'type', 'pick'): docs/sources.md")
        if field.type not in TYPES:
            raise ConfigError(f"{section}.{key}: type {field.type!r} is not one of "
                              + ", ".join(TYPES))
        if field.pick not in PICKS:
            raise ConfigError(f"{section}.{key}: pick {field.pick!r} is not one of "
                              + ", ".join(PICKS))
        fields.append(field)
    return fields


class RecordsAdapter(MappedAdapter):
    name = "records"
    description = "record table: one record per row (or rows), events from timestamp columns"

    DEFAULT_COLUMNS: ClassVar[dict[str, str]] = {
        "case": "", **dict.fromkeys(CASE_TEXT, ""), **dict.fromkeys(CASE_TIMESTAMPS, ""),
    }
    REQUIRED: ClassVar[tuple[str, ...]] = ("case",)
    FLAG_KEYS: ClassVar[dict[str, str]] = {"case": "case", "resource": "resource",
                                           "group": "group"}

    # ------------------------------------------------------------------ raw
    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        """Like read_delimited, but trailing unnamed header cells (an export padding every
        row with empty fields) are read and must be empty; they are not kept in raw."""
        forget_raw_file(conn, ctx, file_id)
        delimiter = str(ctx.option("delimiter", ","))
        encoding = normalise_encoding(str(ctx.option("encoding", "utf-8")))
        header = _header(path, delimiter, encoding)
        names = [name if name.strip() else f"{UNNAMED}{i}" for i, name in enumerate(header, 1)]
        named = [n for n in names if not n.startswith(UNNAMED)]
        unnamed = [n for n in names if n.startswith(UNNAMED)]
        for column, key in self.required(ctx) + self._configured_columns(ctx):
            if column not in named:
                raise InputError(f"missing column {column!r}; set the source's {key!r} to the "
                                 "column that holds it; found: " + ", ".join(named[:20]),
                                 path=str(path))

        def check(reader: str, params: dict[str, Any]) -> None:
            if unnamed:
                _check_unnamed_empty(conn, reader, params, unnamed, path)

        return append_csv(conn, path, file_id, ctx, names, named, delimiter, encoding, check)

    def _configured_columns(self, ctx: LoadContext) -> list[tuple[str, str]]:
        """(column, config key) of every event and attribute column the source names."""
        events = parse_fields(dict(ctx.source.get("events", {})), "events", "timestamp")
        attributes = parse_fields(dict(ctx.source.get("attributes", {})), "attributes")
        mapped = [(column, f"columns.{key}") for key, column in self.mapping(ctx).items()
                  if column and key != "case"]
        return mapped + [(f.column, f"events.{f.key}") for f in events] + [
            (f.column, f"attributes.{f.key}") for f in attributes]

    # ------------------------------------------------------------------ normalise
    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        mapping = self.mapping(ctx)
        events = parse_fields(dict(ctx.source.get("events", {})), "events", "timestamp")
        attributes = parse_fields(dict(ctx.source.get("attributes", {})), "attributes")
        present = raw_columns(conn, ctx)
        timestamp_columns = sorted(
            {f.column for f in events}
            | {f.column for f in attributes if f.type == "timestamp"}
            | {mapping[k] for k in CASE_TIMESTAMPS if mapping.get(k)})
        params = {
            "file_ids": [f.file_id for f in files],
            "null_tokens": ctx.source.null_tokens,
            "source": ctx.source.name,
            "case_source": str(ctx.option("case_source", "") or ctx.source.name),
            "case_type": ctx.option("case_type", "incident"),
            "case_prefix": ctx.option("case_prefix", "") or "",
            "date_format": sniff_raw_timestamps(
                conn, ctx, files, [c for c in timestamp_columns if c in present]),
            "timezone": ctx.option("timezone", "UTC"),
            "activities": [f.key for f in events],
            "run_id": ctx.run_id,
        }
        exported = sorted(present - set(LINEAGE_COLUMNS))
        run_sql(conn, load_sql("staging/records_rows.sql").format(
            raw_table=ctx.raw_table,
            case=quote_ident(mapping["case"]),
            blank="coalesce(" + ", ".join(
                f"pm_null({quote_ident(c)}, $null_tokens)" for c in exported) + ") IS NULL",
        ), params)
        # one row per record (the interaction and incident tables): no aggregation, which on
        # 147,004 records cost more CPU than the rest of the normalise
        single = bool(conn.execute("SELECT count(_record_id) = count(DISTINCT _record_id) "
                                   "FROM _rec_rows").fetchone()[0])
        record_fields = [
            "_source_file AS _file, _source_row AS _row" if single else
            "arg_min(_source_file, _order) AS _file, arg_min(_source_row, _order) AS _row",
            *(_aggregate(Field(key, mapping[key], "text"), f"c_{key}", single)
              for key in CASE_TEXT),
            *(_aggregate(Field(key, mapping[key], "ts", pick), f"c_{key}", single)
              for key, pick in CASE_TIMESTAMPS.items()),
            *(_aggregate(Field(f.key, f.column, "ts", _ts_pick(f)), f"e{i}", single)
              for i, f in enumerate(events)),
            *(_aggregate(f, f"a{i}", single) for i, f in enumerate(attributes)),
        ]
        run_sql(conn, load_sql("staging/records_group.sql").format(
            record_fields=",\n    ".join(record_fields),
            group_by="" if single else "GROUP BY _record_id",
        ), params)
        event_list = "[" + ", ".join(
            f"{{'i': {i}, 'ts': e{i}_ts, 'raw': e{i}_raw}}"
            for i in range(len(events))) + "]"
        attribute_json = ("to_json(struct_pack(" + ", ".join(
            f"{quote_ident(f.key)} := a{i}" for i, f in enumerate(attributes)) + "))"
            if attributes else "NULL::JSON")
        run_sql(conn, load_sql("staging/records_events.sql").format(
            events=event_list if events else "[]::STRUCT(i INTEGER, ts TIMESTAMPTZ, "
            "raw VARCHAR)[]",
            attributes=attribute_json,
        ), params)


def _ts_pick(field: Field) -> str:
    return "max" if field.pick == "max" else "min"


def _aggregate(field: Field, alias: str, single: bool = False) -> str:
    """SQL giving `alias` (for event timestamps `alias`_ts and `alias`_raw) from a record's
    rows in _rec_rows: aggregates, or with `single` (one row per record) the row's values.
    Column names are quoted, never values."""
    if not field.column:
        return f"NULL::{'TIMESTAMPTZ' if field.type == 'ts' else 'VARCHAR'} AS {alias}"
    value = f"pm_null({quote_ident(field.column)}, $null_tokens)"
    parsed = f"pm_parse_ts({value}, $date_format, $timezone)"
    if single:
        first = value
        if field.type == "ts":
            return (f"{parsed} AS {alias}" if alias.startswith("c_")
                    else f"{parsed} AS {alias}_ts, {value} AS {alias}_raw")
        if field.type == "list":
            return f"CASE WHEN {value} IS NOT NULL THEN [{value}] END AS {alias}"
        if field.type == "timestamp":
            return f"strftime(timezone('UTC', {parsed}), '%Y-%m-%dT%H:%M:%SZ') AS {alias}"
    else:
        # the first row's value (_order: file, then row); arg_min, not an ordered first(),
        # which sorts each record's rows
        first = f"arg_min({value}, _order) FILTER (WHERE {value} IS NOT NULL)"
        if field.type == "ts":  # an event (or a case time): the earliest / latest reading
            if alias.startswith("c_"):
                return f"{field.pick}({parsed}) AS {alias}"
            best = "arg_max" if field.pick == "max" else "arg_min"
            return (f"{field.pick}({parsed}) AS {alias}_ts, "
                    f"coalesce({best}({value}, {parsed}), {first}) AS {alias}_raw")
        if field.type == "list":
            return (f"list_sort(list_distinct(list({value}) FILTER (WHERE {value} IS NOT NULL)))"
                    f" AS {alias}")
        if field.type == "timestamp":
            agg = "max" if field.pick == "max" else "min"
            return (f"strftime(timezone('UTC', {agg}({parsed})), '%Y-%m-%dT%H:%M:%SZ') "
                    f"AS {alias}")
    if field.type == "boolean":
        return f"pm_bool({first}) AS {alias}"
    if field.type == "integer":
        return f"try_cast(pm_number({first}) AS BIGINT) AS {alias}"
    if field.type == "number":
        return f"pm_number({first}) AS {alias}"
    return f"{first} AS {alias}"


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    """The header row (base.read_header; trailing unnamed cells allowed), with a hint when one
    column holds another delimiter."""
    header = read_header(path, delimiter, encoding, trailing_unnamed=True)
    if len(header) == 1 and any(sep in header[0] for sep in ",;\t|" if sep != delimiter):
        raise InputError(f"one column only; is the delimiter {delimiter!r} right? set the "
                         "source's 'delimiter', e.g. delimiter = \";\"", path=str(path))
    return header


def _check_unnamed_empty(conn: duckdb.DuckDBPyConnection, reader: str, params: dict[str, Any],
                         unnamed: list[str], path: Path) -> None:
    """Trailing unnamed columns are padding: a value in one would be lost, so it stops."""
    filled = " OR ".join(f"coalesce(trim({quote_ident(c)}), '') <> ''" for c in unnamed)
    found = conn.execute(
        f"SELECT row_no, [{', '.join(quote_ident(c) for c in unnamed)}] FROM ("
        f"SELECT row_number() OVER () AS row_no, * FROM {reader}) WHERE {filled} LIMIT 1",
        params).fetchone()
    if found:
        column = next(i for i, v in enumerate(found[1]) if v and v.strip())
        raise InputError(f"a value ({found[1][column]!r}) under an unnamed header column "
                         f"({unnamed[column].removeprefix(UNNAMED)}); name the column in the "
                         "header", path=str(path), row=int(found[0]))


register(RecordsAdapter)
