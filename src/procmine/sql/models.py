"""SQL models, dbt style: a model is a .sql file holding one SELECT (import CTEs named for
what they read, logical CTEs, then `final`; it ends `SELECT * FROM final`). `materialise`
writes a model into its table; the models never create or insert themselves."""

from __future__ import annotations

from functools import cache
from typing import Any

import duckdb

from procmine.sql import load_sql, quote_ident, run_sql


@cache
def model_query(model: str) -> str:
    """The SELECT of the model sql/<model>.sql (one query, no trailing ';')."""
    return load_sql(f"{model}.sql").strip().removesuffix(";").rstrip()


def qualified(table: str) -> str:
    """`schema.table` (or `table`) with each part quoted."""
    return ".".join(quote_ident(part) for part in table.split("."))


def materialise_sql(model: str, table: str, *, append: bool = False,
                    temp: bool = False) -> str:
    """The statement that writes the rows of `model` into `table`: the whole table replaced
    (a TEMP table with `temp`), or the rows appended by column name (`append`, the
    incremental per-case marts: their stale rows are deleted first)."""
    query = model_query(model)
    if append:
        return f"INSERT INTO {qualified(table)} BY NAME\n{query}"
    kind = "TEMP TABLE" if temp else "TABLE"
    return f"CREATE OR REPLACE {kind} {qualified(table)} AS\n{query}"


def materialise(conn: duckdb.DuckDBPyConnection, model: str, table: str,
                params: dict[str, Any] | None = None, *, append: bool = False,
                temp: bool = False) -> None:
    """Write the model sql/<model>.sql into `table` (see `materialise_sql`), e.g.
    materialise(conn, "marts/transitions", "marts.transitions", params)."""
    run_sql(conn, materialise_sql(model, table, append=append, temp=temp), params)
