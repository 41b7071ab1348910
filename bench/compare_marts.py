"""Compare the marts of two procmine stores, table by table.

    .venv/bin/python bench/compare_marts.py BEFORE.duckdb AFTER.duckdb [--schema marts]
        [--rel 1e-9] [--ignore marts.run_log] [--column-ignore marts.conformance.reference_model]
        [--exact marts.waste] [--in-duckdb]

For every table of the schema (default `marts`) in either store: `equal`, `only in ...`, or
`different` with the reason (columns, row count, or the first differing row). Rows are
compared in a canonical order (every column, ascending, NULLs last), so the physical row order
of a table does not matter; floats are equal within a relative tolerance (default 1e-9;
NaN equals NaN), everything else exactly. Exit status 0 when every compared table is equal.
Used to check that a refactoring of the SQL models leaves every result unchanged.

`--exact TABLE` compares that table in DuckDB instead (both stores attached; rows of each that
the other lacks, as multisets: EXCEPT ALL both ways), every value exactly, no float tolerance:
for tables too large to fetch into Python twice (marts.waste's 5M rows at 10M events);
`--in-duckdb` does so for every table of the schema (raw and core at 10M events).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import duckdb


def _tables(conn: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $schema AND table_catalog = current_database() "
        "ORDER BY table_name, ordinal_position", {"schema": schema}).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(conn: duckdb.DuckDBPyConnection, schema: str, table: str,
          columns: list[str]) -> list[tuple[Any, ...]]:
    select = ", ".join(_quote(c) for c in columns)
    order = ", ".join(f"{i} ASC NULLS LAST" for i in range(1, len(columns) + 1))
    return conn.execute(
        f"SELECT {select} FROM {_quote(schema)}.{_quote(table)} ORDER BY {order}").fetchall()


def _same(a: Any, b: Any, rel: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=0.0)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel) for k in a)
    return a == b


def compare_table(before: duckdb.DuckDBPyConnection, after: duckdb.DuckDBPyConnection,
                  schema: str, table: str, columns_before: list[tuple[str, str]],
                  columns_after: list[tuple[str, str]], rel: float,
                  ignored_columns: set[str]) -> str:
    """'equal' or why the table differs."""
    if columns_before != columns_after:
        return f"different columns: {columns_before} vs {columns_after}"
    columns = [c for c, _ in columns_before if f"{schema}.{table}.{c}" not in ignored_columns]
    rows_b = _rows(before, schema, table, columns)
    rows_a = _rows(after, schema, table, columns)
    if len(rows_b) != len(rows_a):
        return f"different row counts: {len(rows_b)} vs {len(rows_a)}"
    for i, (rb, ra) in enumerate(zip(rows_b, rows_a, strict=True)):
        for column, vb, va in zip(columns, rb, ra, strict=True):
            if not _same(vb, va, rel):
                return f"different at sorted row {i}, column {column}: {vb!r} vs {va!r}"
    return f"equal ({len(rows_b)} rows)"


def compare_in_duckdb(conn: duckdb.DuckDBPyConnection, schema: str, table: str,
                      columns_before: list[tuple[str, str]],
                      columns_after: list[tuple[str, str]], ignored_columns: set[str]) -> str:
    """'equal' or why the table differs, computed by DuckDB over the attached stores b and a
    (every value exactly, rows as multisets)."""
    if columns_before != columns_after:
        return f"different columns: {columns_before} vs {columns_after}"
    select = ", ".join(_quote(c) for c, _ in columns_before
                       if f"{schema}.{table}.{c}" not in ignored_columns)
    name = f"{_quote(schema)}.{_quote(table)}"
    rows_b, rows_a, only_b, only_a = conn.execute(
        f"SELECT (SELECT count(*) FROM b.{name}), (SELECT count(*) FROM a.{name}), "
        f"(SELECT count(*) FROM (SELECT {select} FROM b.{name} EXCEPT ALL "
        f"SELECT {select} FROM a.{name})), "
        f"(SELECT count(*) FROM (SELECT {select} FROM a.{name} EXCEPT ALL "
        f"SELECT {select} FROM b.{name}))").fetchone()
    if rows_b != rows_a:
        return f"different row counts: {rows_b} vs {rows_a}"
    if only_b or only_a:
        return f"different: {only_b} rows only before, {only_a} only after"
    return f"equal ({rows_b} rows)"


def compare(before: Path, after: Path, schema: str = "marts", rel: float = 1e-9,
            ignore: set[str] | None = None, ignore_columns: set[str] | None = None,
            in_duckdb: bool = False, exact: set[str] | None = None) -> dict[str, str]:
    """Per table `schema.table`: 'equal (n rows)' or the reason it differs."""
    ignore, ignore_columns, exact = ignore or set(), ignore_columns or set(), exact or set()
    with duckdb.connect(str(before), read_only=True) as b, \
            duckdb.connect(str(after), read_only=True) as a:
        tables_b, tables_a = _tables(b, schema), _tables(a, schema)
        results, in_db = {}, []
        for table in sorted(tables_b.keys() | tables_a.keys()):
            name = f"{schema}.{table}"
            if name in ignore:
                results[name] = "ignored"
            elif table not in tables_a:
                results[name] = f"only in {before}"
            elif table not in tables_b:
                results[name] = f"only in {after}"
            elif in_duckdb or name in exact:
                in_db.append(table)   # after both connections are closed
            else:
                results[name] = compare_table(b, a, schema, table, tables_b[table],
                                              tables_a[table], rel, ignore_columns)
    if in_db:
        with duckdb.connect() as conn:
            conn.execute("ATTACH $path AS b (READ_ONLY)", {"path": str(before)})
            conn.execute("ATTACH $path AS a (READ_ONLY)", {"path": str(after)})
            for table in in_db:
                results[f"{schema}.{table}"] = compare_in_duckdb(
                    conn, schema, table, tables_b[table], tables_a[table], ignore_columns)
    return dict(sorted(results.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--schema", default="marts")
    parser.add_argument("--rel", type=float, default=1e-9, help="relative float tolerance")
    parser.add_argument("--ignore", action="append", default=[],
                        help="a table to skip, e.g. marts.run_log (repeatable)")
    parser.add_argument("--column-ignore", action="append", default=[],
                        help="a column to skip, schema.table.column (repeatable)")
    parser.add_argument("--in-duckdb", action="store_true",
                        help="compare in DuckDB (EXCEPT ALL both ways, values exactly): for "
                             "tables too large to fetch")
    parser.add_argument("--exact", action="append", default=[],
                        help="a table compared in DuckDB, exactly (repeatable)")
    args = parser.parse_args(argv)
    results = compare(args.before, args.after, args.schema, args.rel, set(args.ignore),
                      set(args.column_ignore), args.in_duckdb, set(args.exact))
    width = max((len(name) for name in results), default=0)
    for name, outcome in results.items():
        print(f"{name:<{width}}  {outcome}")
    bad = [n for n, o in results.items() if not (o.startswith("equal") or o == "ignored")]
    print(f"{len(results) - len(bad)} of {len(results)} tables equal or ignored"
          + (f"; different: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
