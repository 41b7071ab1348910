"""XES event logs (IEEE 1849) in: traces → cases, events → canonical events.

Parsing is hardened (defusedxml): a DOCTYPE or ENTITY declaration is refused with an
InputError before anything is expanded. Each event lands in ``raw.xes`` as one row whose
columns are its attribute keys (``concept:name``, ``time:timestamp``, ...) plus the trace's
attributes prefixed ``case:`` (values as written in the file).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, ClassVar
from xml.etree.ElementTree import ParseError

import duckdb
import pyarrow as pa
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from procmine.errors import InputError
from procmine.sources import register
from procmine.sources.base import LoadContext, RawFile, append_raw, quote_ident, raw_columns
from procmine.sources.mapped import MappedAdapter, forget_raw_file, stage_activities
from procmine.sql import load_sql, run_sql

ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id", "list",
                            "container"})
CASE_PREFIX = "case:"
CASE_KEY = "case:concept:name"
STAGED = "_procmine_read"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _open(path: Path) -> IO[bytes]:
    handle = path.open("rb")
    magic = handle.read(2)
    handle.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def read_xes_events(path: Path) -> Iterator[dict[str, str | None]]:
    """The file's events in order, each a dict of its attributes and its trace's (``case:``).

    Raises InputError for DTD/entity declarations, malformed XML, truncated gzip, non-XES.
    """
    stack: list[str] = []
    trace: dict[str, str | None] = {}
    events: list[dict[str, str | None]] = []
    current: dict[str, str | None] = {}
    try:
        with _open(path) as handle:
            for kind, elem in iterparse(handle, events=("start", "end"), forbid_dtd=True,
                                        forbid_entities=True, forbid_external=True):
                tag = _local(elem.tag)
                if kind == "start":
                    if not stack and tag != "log":
                        raise InputError(f"not an XES log (root element <{tag}>, expected <log>)",
                                         path=str(path))
                    if tag == "trace":
                        trace, events = {}, []
                    elif tag == "event":
                        current = {}
                    stack.append(tag)
                    continue
                stack.pop()
                parent = stack[-1] if stack else ""
                if tag in ATTRIBUTE_TAGS and parent in ("trace", "event"):
                    key = elem.get("key")
                    if key:
                        target = current if parent == "event" else trace
                        target[key] = elem.get("value")
                elif tag == "event":
                    if parent == "trace":
                        events.append(current)
                    else:  # an event outside any trace: kept, without a case (quarantined)
                        yield dict(current)
                    elem.clear()
                elif tag == "trace":
                    case_attrs = {CASE_PREFIX + k: v for k, v in trace.items()}
                    for event in events:
                        yield {**case_attrs, **event}
                    elem.clear()
    except DefusedXmlException as exc:
        raise InputError(
            "DOCTYPE/ENTITY declarations are refused in XES files (entity expansion "
            f"attacks); remove them from the file ({type(exc).__name__})", path=str(path),
        ) from exc
    except ParseError as exc:
        raise InputError(f"not well-formed XML ({exc})", path=str(path)) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"truncated or corrupt gzip ({exc})", path=str(path)) from exc


class XesAdapter(MappedAdapter):
    name = "xes"
    description = "XES event log (IEEE 1849), plain or gzip"

    DEFAULT_COLUMNS: ClassVar[dict[str, str]] = {
        "case": CASE_KEY, "activity": "concept:name", "timestamp": "time:timestamp",
        "resource": "org:resource", "group": "org:group", "level": "support_level",
        "case_type": "case:case_type", "priority": "case:priority",
        "category": "case:category", "service": "case:service",
    }
    REQUIRED: ClassVar[tuple[str, ...]] = ("case", "activity", "timestamp")
    FLAG_KEYS: ClassVar[dict[str, str]] = {"case": "case", "activity": "activity", "timestamp": "timestamp",
                 "resource": "resource", "group": "group"}

    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        rows = list(read_xes_events(path))
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        for column, key in self.required(ctx):
            if column not in columns:
                raise InputError(
                    f"missing required attribute {column!r}; set the mapping key {key!r} in "
                    "the source's config (or its flag) to the attribute that holds it; found: "
                    + ", ".join(list(columns)[:20]), path=str(path),
                )
        data: dict[str, Any] = {"_source_row": pa.array(range(1, len(rows) + 1), pa.int64())}
        for column in columns:
            data[column] = pa.array([row.get(column) for row in rows], pa.string())
        conn.register("_procmine_xes_arrow", pa.table(data))
        try:
            conn.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} AS "
                         "SELECT * FROM _procmine_xes_arrow")
        finally:
            conn.unregister("_procmine_xes_arrow")
        forget_raw_file(conn, ctx, file_id)
        append_raw(conn, STAGED, list(columns), path, file_id, ctx)
        conn.execute(f"DROP TABLE {STAGED}")
        return RawFile(path, file_id, len(rows))

    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        present = raw_columns(conn, ctx)
        case_columns = sorted(c for c in present if c.startswith(CASE_PREFIX) and c != CASE_KEY)
        sql = load_sql("staging/xes_events.sql").format(
            raw_table=ctx.raw_table, attributes=_case_attributes(case_columns),
            **self.identifiers(conn, ctx))
        run_sql(conn, sql, {
            "file_ids": [f.file_id for f in files],
            "null_tokens": ctx.source.null_tokens,
            "source": ctx.source.name,
            "case_type": ctx.option("case_type", "incident"),
            "case_prefix": ctx.option("case_prefix", "") or "",
            "date_format": self.date_format(conn, ctx, files, ("timestamp",)),
            "timezone": ctx.option("timezone", "UTC"),
            "resolve_activities": stage_activities(ctx, "resolve", generic=True),
            "close_activities": stage_activities(ctx, "close", generic=True),
            "run_id": ctx.run_id,
        })


def _case_attributes(columns: list[str]) -> str:
    """JSON object of the trace attributes (``case:`` prefix dropped) of a case."""
    if not columns:
        return "NULL::JSON"
    fields = ", ".join(
        f"{quote_ident(c[len(CASE_PREFIX):])} := pm_null({quote_ident(c)}, $null_tokens)"
        for c in columns)
    return f"to_json(struct_pack({fields}))"


register(XesAdapter)
