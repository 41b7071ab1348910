"""Export core.events to CSV or XES (IEEE 1849: ProM, Disco, pm4py); XES is gzip if .gz."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import duckdb

from procmine import store
from procmine.sql import load_sql

# the columns of export/xes_cases.sql after (source, case_id)
CASE_COLUMNS = ("case_type", "priority", "category", "service", "opened_at", "resolved_at",
                "closed_at", "sla_met", "reopen_count", "problem_id", "change_id", "vendor",
                "sourcing", "attributes")
DATE_KEYS = frozenset({"opened_at", "resolved_at", "closed_at"})
# optional event attributes: (XES key, index in a row of export/xes_events.sql)
EVENT_KEYS = (("org:resource", 4), ("org:group", 5), ("support_level", 6), ("sourcing", 7),
              ("d2c_stage", 8), ("source", 0), ("event_id", 9))

XES_HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext" />
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext" />
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext" />
\t<global scope="trace">
\t\t<string key="concept:name" value="__INVALID__" />
\t</global>
\t<global scope="event">
\t\t<string key="concept:name" value="__INVALID__" />
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00" />
\t</global>
\t<classifier name="Activity" keys="concept:name" />
\t<string key="concept:name" value="procmine core.events" />
"""
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_events(db_path: Path, fmt: str, out_file: Path) -> int:
    """Write core.events to `out_file`; returns the number of events written."""
    conn = store.reading(db_path)
    try:
        count = conn.execute("SELECT count(*) FROM core.events").fetchall()[0][0]  # (finished)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            conn.sql(load_sql("export/events_csv.sql")).write_csv(str(out_file))
        elif fmt == "xes":
            write_xes(conn, out_file)
        return count
    finally:
        conn.close()


def write_xes(conn: duckdb.DuckDBPyConnection, out_file: Path) -> None:
    """Stream core.events as XES traces (one per case, with its core.cases attributes).

    Written to a temporary file first and renamed, so a reader never sees half a log.
    """
    cases = {(row[0], row[1]): row[2:]
             for row in conn.execute(load_sql("export/xes_cases.sql")).fetchall()}
    partial = out_file.with_name(f".{out_file.name}.part")
    try:
        with _open_text(partial, gzipped=out_file.name.endswith(".gz")) as out:
            out.write(XES_HEADER)
            current: tuple[str, str] | None = None
            for row in _rows(conn.execute(load_sql("export/xes_events.sql"))):
                key = (row[0], row[1])
                if key != current:
                    if current is not None:
                        out.write("\t</trace>\n")
                    out.write("\t<trace>\n")
                    out.write(_attr("string", "concept:name", row[1], 2))
                    out.write(_case_attrs(cases.get(key)))
                    current = key
                out.write(_event(row))
            if current is not None:
                out.write("\t</trace>\n")
            out.write("</log>\n")
        os.replace(partial, out_file)
    finally:
        partial.unlink(missing_ok=True)


def _open_text(path: Path, *, gzipped: bool) -> IO[str]:
    if gzipped:
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=6)
    return path.open("w", encoding="utf-8")


def _rows(cursor: duckdb.DuckDBPyConnection, size: int = 50_000) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(size):
        yield from batch


def _escape(value: object) -> str:
    text = _INVALID_XML.sub("", str(value))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _attr(kind: str, key: str, value: object, depth: int) -> str:
    indent = "\t" * depth
    return f'{indent}<{kind} key="{_escape(key)}" value="{_escape(value)}" />\n'


def _event(row: tuple[Any, ...]) -> str:
    parts = ["\t\t<event>\n", _attr("string", "concept:name", row[2], 3),
             _attr("date", "time:timestamp", row[3], 3)]
    for key, index in EVENT_KEYS:
        if row[index] is not None:
            parts.append(_attr("string", key, row[index], 3))
    parts.append("\t\t</event>\n")
    return "".join(parts)


def _case_attrs(values: tuple[Any, ...] | None) -> str:
    """A trace's attributes from its core.cases row (JSON attributes flattened)."""
    if values is None:
        return ""
    parts = []
    for key, value in zip(CASE_COLUMNS, values, strict=True):
        if value is None:
            continue
        if key == "attributes":
            for name, item in (json.loads(value) or {}).items():
                if item is not None and name not in CASE_COLUMNS and ":" not in name:
                    text = item if isinstance(item, str) else json.dumps(item)
                    parts.append(_attr("string", name, text, 2))
        elif key in DATE_KEYS:
            parts.append(_attr("date", key, value, 2))
        elif key == "sla_met":
            parts.append(_attr("boolean", key, "true" if value else "false", 2))
        elif key == "reopen_count":
            parts.append(_attr("int", key, value, 2))
        else:
            parts.append(_attr("string", key, value, 2))
    return "".join(parts)
