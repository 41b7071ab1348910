"""Guarded ad-hoc SQL: only queries, on the published file, with no file or setting access."""

from __future__ import annotations

from pathlib import Path

import duckdb

from procmine import store
from procmine.errors import ProcmineError

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
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET lock_configuration = true")
    return conn


def execute_readonly(conn: duckdb.DuckDBPyConnection, query: str) -> duckdb.DuckDBPyConnection:
    """Run a checked query; file access attempts get procmine's message, not DuckDB's."""
    statements = check_query(conn, query)
    try:
        cursor = conn
        for statement in statements:
            cursor = conn.execute(statement)
        return cursor
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(
            "procmine sql is read-only: reading or writing files outside the database is not "
            "allowed (read_csv, read_parquet, glob, COPY ... TO, ATTACH ...)"
        ) from exc
    except duckdb.Error as exc:
        raise ProcmineError(f"query failed: {str(exc).splitlines()[0]}") from exc
