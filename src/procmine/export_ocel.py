"""Export the store as an OCEL 2.0 object-centric event log (the standard's SQLite layout).

What becomes what (docs/ocel.md):

- objects: the cases that have events, their type the case type (incident, problem, change,
  interaction, request, or an OCEL file's object types); core.cases' columns are the
  attributes of the per-type tables ``object_<Type>`` (one row per object, at 1970-01-01:
  procmine keeps no attribute history). Assignment groups and resources stay event
  attributes, not objects: they are pseudonymised personal data, and their flow is the
  handoff matrix already.
- events: core.events, the event type its activity; an event relates to its case's object
  (qualifier ``case``). Events loaded from an OCEL file relate again to all the objects the
  file related them to, with the file's event ids and qualifiers (raw lineage).
- object-to-object: core.cases' problem_id (qualifier ``problem``) and change_id (``change``),
  the o2o relations of loaded OCEL files, and core.links when the store has that table
  (qualifier: its kind; inferred links ``<kind> (inferred: <rule>)``). Relations to objects
  the export does not hold are counted and left out (OCEL readers drop them).

Tables are declared with the standard's primary and foreign keys (pm4py's OCEL 2.0 schema
validation passes all 24 constraints). The file is written beside the target and renamed
into place (never half a file).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from procmine import store
from procmine.sql import load_sql, quote_ident
from procmine.sql.models import materialise

CASE_QUALIFIER = "case"
EPOCH = "1970-01-01 00:00:00.000000"
OCEL_LINEAGE_COLUMNS = ("ocel_event_id", "ocel_qualifier", "ocel_activity")   # raw columns of ocel2 sources
O2O_SUFFIX = "_o2o"                                          # raw.<source>_o2o of ocel2 sources
EVENT_ATTRIBUTES = ("resource", "org_group", "support_level", "sourcing", "d2c_stage", "source")
OBJECT_ATTRIBUTES = {"source": "TEXT", "priority": "TEXT", "category": "TEXT", "service": "TEXT",
                     "opened_at": "TIMESTAMP", "resolved_at": "TIMESTAMP",
                     "closed_at": "TIMESTAMP", "sla_met": "INTEGER", "reopen_count": "INTEGER",
                     "vendor": "TEXT", "sourcing": "TEXT"}
# core.links (migration 017, mine/d2c.py): the first present of each candidate column name
LINK_COLUMNS = {
    "source": ("from_id",),
    "target": ("to_id",),
    "kind": ("kind",),
    "origin": ("origin",),
    "rule": ("rule",),
}
BATCH = 50_000


@dataclass
class OcelCounts:
    """What an OCEL 2.0 export holds (the counts pm4py reads back)."""

    events: int = 0
    objects: int = 0
    event_objects: int = 0
    object_objects: int = 0
    object_objects_left_out: int = 0  # relations to an object without events in the store


def export_ocel(db_path: Path, out_file: Path) -> OcelCounts:
    """Write the published store to `out_file` as OCEL 2.0 SQLite; returns its counts."""
    conn = store.reading(db_path)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        partial = out_file.with_name(f".{out_file.name}.part")
        partial.unlink(missing_ok=True)
        try:
            counts = write_ocel(conn, partial)
            os.replace(partial, out_file)
        finally:
            partial.unlink(missing_ok=True)
        return counts
    finally:
        conn.close()


def write_ocel(conn: duckdb.DuckDBPyConnection, path: Path) -> OcelCounts:
    """Stream the store's events, objects and relations into a new SQLite file at `path`."""
    _lineage_table(conn)
    _links_table(conn)
    materialise(conn, "export/ocel_e2o", "_ocel_e2o", {"qualifier": CASE_QUALIFIER}, temp=True)
    materialise(conn, "export/ocel_o2o", "_ocel_o2o", temp=True)
    counts = OcelCounts()
    out = sqlite3.connect(path)
    try:
        out.execute("PRAGMA journal_mode = OFF")
        out.execute("PRAGMA synchronous = OFF")
        counts.events = _write_typed(out, "event", conn.execute(load_sql("export/ocel_events.sql")),
                                     {c: "TEXT" for c in EVENT_ATTRIBUTES}, with_changes=False)
        counts.objects = _write_typed(out, "object", conn.execute(load_sql(
            "export/ocel_objects.sql")), OBJECT_ATTRIBUTES, with_changes=True)
        out.execute("CREATE TABLE event_object (ocel_event_id TEXT NOT NULL, ocel_object_id "
                    "TEXT NOT NULL, ocel_qualifier TEXT, PRIMARY KEY (ocel_event_id, "
                    "ocel_object_id, ocel_qualifier), FOREIGN KEY (ocel_event_id) REFERENCES "
                    "event (ocel_id), FOREIGN KEY (ocel_object_id) REFERENCES object (ocel_id))")
        counts.event_objects = _insert(out, "event_object", 3, conn.execute(
            "SELECT ocel_id, case_id, qualifier FROM _ocel_e2o "
            "GROUP BY ocel_id, case_id, qualifier ORDER BY min(rank)"))
        out.execute("CREATE TABLE object_object (ocel_source_id TEXT NOT NULL, ocel_target_id "
                    "TEXT NOT NULL, ocel_qualifier TEXT, PRIMARY KEY (ocel_source_id, "
                    "ocel_target_id, ocel_qualifier), FOREIGN KEY (ocel_source_id) REFERENCES "
                    "object (ocel_id), FOREIGN KEY (ocel_target_id) REFERENCES object (ocel_id))")
        counts.object_objects = _insert(out, "object_object", 3, conn.execute(
            "SELECT source_id, target_id, qualifier FROM _ocel_o2o WHERE exported "
            "ORDER BY ALL"))
        counts.object_objects_left_out = conn.execute(
            "SELECT count(*) FROM _ocel_o2o WHERE NOT exported").fetchone()[0]
        out.commit()
    finally:
        out.close()
        for table in ("_ocel_e2o", "_ocel_o2o", "_ocel_lineage", "_ocel_links"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return counts


def type_table_names(types: list[str]) -> dict[str, str]:
    """Type -> table suffix: letters, digits and _ only, distinct ignoring case (as pm4py)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for name in types:
        base = re.sub(r"[^0-9A-Za-z_]", "", name) or "Type"
        candidate, suffix = base, 2
        while candidate.casefold() in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate.casefold())
        names[name] = candidate
    return names


def _write_typed(out: sqlite3.Connection, kind: str, cursor: duckdb.DuckDBPyConnection,
                 attributes: dict[str, str], *, with_changes: bool) -> int:
    """`event` or `object`, its map table and one `<kind>_<Type>` table per type.

    `cursor` yields (ocel_id, ocel_type, [ocel_time,] attributes...) in the order to write.
    """
    out.execute(f"CREATE TABLE {kind} (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL, "
                f"FOREIGN KEY (ocel_type) REFERENCES {kind}_map_type (ocel_type))")
    out.execute(f"CREATE TABLE {kind}_map_type (ocel_type TEXT PRIMARY KEY, "
                "ocel_type_map TEXT NOT NULL)")
    tables: dict[str, str] = {}
    extra = ["ocel_changed_field TEXT"] if with_changes else []
    columns = ", ".join([*extra, *(f"{quote_ident(c)} {t}" for c, t in attributes.items())])
    width = 2 + len(extra) + len(attributes)
    written = 0
    for batch in _batches(cursor):
        by_type: dict[str, list[tuple[Any, ...]]] = {}
        for row in batch:
            by_type.setdefault(row[1], []).append(
                (row[0], EPOCH, None, *row[2:]) if with_changes else (row[0], *row[2:]))
        for ocel_type in by_type:
            if ocel_type not in tables:
                tables[ocel_type] = type_table_names([*tables, ocel_type])[ocel_type]
                table = quote_ident(f"{kind}_{tables[ocel_type]}")
                out.execute(f"CREATE TABLE {table} (ocel_id TEXT PRIMARY KEY, "
                            f"ocel_time TIMESTAMP, {columns}, "
                            f"FOREIGN KEY (ocel_id) REFERENCES {kind} (ocel_id))")
        out.executemany(f"INSERT INTO {kind} VALUES (?, ?)", [(r[0], r[1]) for r in batch])
        for ocel_type, rows in by_type.items():
            table = quote_ident(f"{kind}_{tables[ocel_type]}")
            out.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", rows)
        written += len(batch)
    out.executemany(f"INSERT INTO {kind}_map_type VALUES (?, ?)", sorted(tables.items()))
    return written


def _insert(out: sqlite3.Connection, table: str, width: int,
            cursor: duckdb.DuckDBPyConnection) -> int:
    written = 0
    for batch in _batches(cursor):
        out.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", batch)
        written += len(batch)
    return written


def _batches(cursor: duckdb.DuckDBPyConnection) -> Iterator[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(BATCH):
        yield batch


def _raw_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw'").fetchall():
        tables.setdefault(table, set()).add(column)
    return tables


def _lineage_table(conn: duckdb.DuckDBPyConnection) -> None:
    """_ocel_lineage: the OCEL event id and qualifier of each raw row of the ocel2 sources."""
    conn.execute("CREATE OR REPLACE TEMP TABLE _ocel_lineage (source VARCHAR, source_file "
                 "VARCHAR, source_row BIGINT, activity VARCHAR, ocel_event_id VARCHAR, "
                 "qualifier VARCHAR)")
    sources = {r[0] for r in conn.execute("SELECT DISTINCT source FROM core.events").fetchall()}
    for table, columns in _raw_columns(conn).items():
        if table in sources and set(OCEL_LINEAGE_COLUMNS) <= columns:
            conn.execute(
                "INSERT INTO _ocel_lineage SELECT ?, _source_file, _source_row, "
                "nullif(trim(ocel_activity), ''), ocel_event_id, ocel_qualifier "
                f"FROM raw.{quote_ident(table)}", [table])


def _links_table(conn: duckdb.DuckDBPyConnection) -> None:
    """_ocel_links: the o2o rows of loaded OCEL files and, where the store has it, core.links."""
    conn.execute("CREATE OR REPLACE TEMP TABLE _ocel_links "
                 "(source_id VARCHAR, target_id VARCHAR, qualifier VARCHAR)")
    raw = _raw_columns(conn)
    for table, columns in raw.items():
        if (table.endswith(O2O_SUFFIX) and table[: -len(O2O_SUFFIX)] in raw
                and {"ocel_source_id", "ocel_target_id", "ocel_qualifier"} <= columns):
            conn.execute("INSERT INTO _ocel_links SELECT ocel_source_id, ocel_target_id, "
                         f"ocel_qualifier FROM raw.{quote_ident(table)}")
    columns = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'core' AND table_name = 'links'").fetchall()]
    found = {key: next((c for c in names if c in columns), None)
             for key, names in LINK_COLUMNS.items()}
    if not (found["source"] and found["target"]):
        return
    kind = quote_ident(found["kind"]) if found["kind"] else "'link'"
    qualifier = kind
    if found["origin"]:
        rule = f"coalesce({quote_ident(found['rule'])}, '')" if found["rule"] else "''"
        qualifier = (f"CASE WHEN lower({quote_ident(found['origin'])}) = 'inferred' "
                     f"THEN {kind} || ' (inferred: ' || {rule} || ')' ELSE {kind} END")
    # the links from problem_id / change_id are core.cases' own relations (ocel_o2o.sql)
    given_twice = (f"WHERE {quote_ident(found['rule'])} NOT IN ('problem_id', 'change_id')"
                   if found["rule"] else "")
    conn.execute(f"INSERT INTO _ocel_links SELECT {quote_ident(found['source'])}, "
                 f"{quote_ident(found['target'])}, {qualifier} FROM core.links {given_twice}")
