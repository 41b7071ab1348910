"""The store layer's SQL toolkit: SQL lives in .sql files beside this module; `load_sql` reads
them by relative name, `run_sql` executes a multi-statement file with named parameters and
`quote_ident` is the one way a name (from a file, a config or the catalog) reaches SQL text."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@cache
def load_sql(name: str) -> str:
    """The text of procmine/sql/<name> (e.g. "sources/csv_events.sql")."""
    return resources.files("procmine.sql").joinpath(name).read_text(encoding="utf-8")


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted; the only way names from files reach SQL text."""
    return '"' + name.replace('"', '""') + '"'


def split_statements(script: str) -> list[str]:
    """Statements of a script; a statement ends with ';' at the end of a line."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";[ \t]*(?:\n|$)", body) if s.strip()]


def run_sql(conn: duckdb.DuckDBPyConnection, script: str,
            params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute each statement of `script`, binding only the $parameters it uses."""
    params = params or {}
    result = conn
    for statement in split_statements(script):
        used = {name: params[name] for name in _PARAM.findall(statement) if name in params}
        result = conn.execute(statement, used) if used else conn.execute(statement)
    return result
