"""SQL lives in .sql files beside this module; `load_sql` reads them by relative name,
and `run_sql` executes a multi-statement file with named parameters (models, files holding
one SELECT that `procmine.sql.models.materialise` writes into a table: models.py).

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


def run_sql(conn: duckdb.DuckDBPyConnection, script: str,
            params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute each statement of `script`, binding only the $parameters it uses."""
    params = params or {}
    result = conn
    for statement in conn.extract_statements(script):
        used = {name: params[name] for name in statement.named_parameters if name in params}
        result = conn.execute(statement.query, used) if used else conn.execute(statement.query)
    return result
