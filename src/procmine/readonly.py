"""Guarded ad-hoc SQL: only queries, on the published file, with no file or setting access."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from procmine import store
from procmine.errors import ProcmineError

if TYPE_CHECKING:
    import pyarrow as pa

Params = Sequence[Any] | Mapping[str, Any] | None
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

REFUSED_MESSAGES = {
    duckdb.StatementType.INSERT: "writes (INSERT)",
    duckdb.StatementType.UPDATE: "writes (UPDATE)",
    duckdb.StatementType.DELETE: "writes (DELETE)",
    duckdb.StatementType.CREATE: "DDL (CREATE)",
    duckdb.StatementType.DROP: "DDL (DROP)",
    duckdb.StatementType.ALTER: "DDL (ALTER)",
    duckdb.StatementType.ATTACH: "ATTACH",
    duckdb.StatementType.DETACH: "DETACH",
    duckdb.StatementType.COPY: "COPY",
    duckdb.StatementType.EXPORT: "EXPORT DATABASE",
    duckdb.StatementType.LOAD: "INSTALL/LOAD of extensions",
    duckdb.StatementType.SET: "SET/RESET of settings",
    duckdb.StatementType.VARIABLE_SET: "SET VARIABLE",
    duckdb.StatementType.PRAGMA: "PRAGMA",
    duckdb.StatementType.CALL: "CALL",
    duckdb.StatementType.TRANSACTION: "transaction control",
}


class ReadOnlyViolation(ProcmineError):
    """A statement `procmine sql` does not run."""


def check_query(conn: duckdb.DuckDBPyConnection, query: str) -> list[duckdb.Statement]:
    """The query's statements, if every one of them is a plain query; else a clear refusal."""
    try:
        statements = conn.extract_statements(query)
    except duckdb.Error as exc:
        raise ProcmineError(f"query failed: {str(exc).splitlines()[0]}") from exc
    if not statements:
        raise ReadOnlyViolation("empty query")
    for statement in statements:
        if statement.type not in ALLOWED_STATEMENTS:
            what = REFUSED_MESSAGES.get(statement.type, statement.type.name)
            raise ReadOnlyViolation(
                f"procmine sql is read-only: {what} is not allowed; use SELECT (or EXPLAIN) "
                "over the published tables"
            )
    return statements


def connect_readonly(db_path: Path) -> duckdb.DuckDBPyConnection:
    """The published database, read-only, with file access and settings locked."""
    store.reading(db_path).close()  # clear message if there is no database yet
    conn = duckdb.connect(str(db_path), read_only=True, config={
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    conn.execute(store.UTC_SQL)
    conn.execute("SET lock_configuration = true")
    return conn


@contextlib.contextmanager
def _refusing_file_access() -> Iterator[None]:
    """File access attempts get procmine's message, other errors a one-line one."""
    try:
        yield
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(
            "procmine sql is read-only: reading or writing files outside the database is not "
            "allowed (read_csv, read_parquet, glob, COPY ... TO, ATTACH ...)"
        ) from exc
    except duckdb.Error as exc:
        raise ProcmineError(f"query failed: {str(exc).splitlines()[0]}") from exc


def _checked(conn: duckdb.DuckDBPyConnection, query: str, params: Params) -> list[duckdb.Statement]:
    statements = check_query(conn, query)
    if params is not None and len(statements) > 1:
        raise ProcmineError("query parameters need a single statement; "
                            f"got {len(statements)}")
    return statements


def execute_readonly(conn: duckdb.DuckDBPyConnection, query: str, params: Params = None,
                     ) -> duckdb.DuckDBPyConnection:
    """Run a checked query (`params`, positional ``?`` or named ``$name`` values, need a
    single statement); the cursor of its last statement."""
    statements = _checked(conn, query, params)
    with _refusing_file_access():
        cursor = conn
        for statement in statements:
            cursor = conn.execute(statement, params) if params is not None else conn.execute(
                statement)
        return cursor


def arrow_readonly(conn: duckdb.DuckDBPyConnection, query: str,
                   params: Params = None) -> pa.Table | None:
    """A checked query's last result as an Arrow table (None if it returns no rows at all),
    straight from DuckDB without a row copy."""
    statements = _checked(conn, query, params)
    with _refusing_file_access():
        for statement in statements[:-1]:   # earlier results are not returned
            conn.execute(statement).fetchall()
        relation = conn.sql(statements[-1].query, params=params)
        return None if relation is None else relation.to_arrow_table()
