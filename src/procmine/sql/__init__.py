"""The store layer's SQL toolkit. SQL lives in .sql files beside this module, in folders by
data layer (README there); `load_sql` reads them by relative name, `run_sql` executes a
multi-statement file with named parameters, models (files holding one SELECT) are written
into tables by `procmine.sql.models.materialise`, `quote_ident` is the one way a name
(from a file, a config or the catalog) reaches SQL text, and `table_exists` asks the catalog
for a table an older store may lack.

Statements are split by DuckDB's own parser (`extract_statements`), the same splitter the
read-only `procmine sql` guard uses, so a ';' in a string or comment never splits one."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import duckdb


@cache
def load_sql(name: str) -> str:
    """The text of procmine/sql/<name> (e.g. "staging/csv_events.sql")."""
    return resources.files("procmine.sql").joinpath(name).read_text(encoding="utf-8")


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted; the only way names from files reach SQL text."""
    return '"' + name.replace('"', '""') + '"'


def run_sql(conn: duckdb.DuckDBPyConnection, script: str,
            params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute each statement of `script`, binding only the $parameters it uses."""
    params = params or {}
    result = conn
    for statement in conn.extract_statements(script):
        used = {name: params[name] for name in statement.named_parameters if name in params}
        result = conn.execute(statement.query, used) if used else conn.execute(statement.query)
    return result


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema`.`table` (a table or view) exists in the open database: for tables a
    later migration or an optional step adds, which an older store does not have."""
    return bool(conn.execute(load_sql("catalog/table_exists.sql"),
                             {"schema": schema, "table": table}).fetchone()[0])
