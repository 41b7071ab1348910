"""Mining's SQL writer: the statements that materialise the SQL models (sql/marts/,
sql/intermediate/) over the numpy tables mining registers, run in a background thread while
numpy works in the caller's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from procmine.mine.background import in_thread
from procmine.mine.partition_marts import (
    CASE_MARTS,
    DELETE_REWRITTEN_SQL,
    append_statements,
    files_param,
)
from procmine.mine.variants import Table, scannable
from procmine.sql import run_sql
from procmine.sql.models import materialise_sql, qualified

# a statement of the SQL writer: a script, or a function of the connection and parameters
Statement = str | Callable[[duckdb.DuckDBPyConnection, dict[str, Any]], None]
# rows of a per-case mart's input written per statement (per_case): DuckDB holds one part's
# new rows and join state at a time (at 10M events, writing marts.case_kpis in one statement
# held ~0.7 GB of them beside mining's arrays)
PART_ROWS = 1 << 19


class Writer:
    """Runs SQL models in a background thread while numpy works in the caller's: DuckDB
    releases the GIL, so the two overlap on two cores. The connection is used by one thread
    at a time: the caller registers tables only between `wait()` and the next `run()`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, params: dict[str, Any],
                 timings: dict[str, float]) -> None:
        self.conn, self.params, self.timings = conn, params, timings
        self._join: Callable[[], None] | None = None
        self.done: dict[str, float] = {}   # when each statement's name last finished

    def run(self, *statements: tuple[str, Statement]) -> None:
        """Run (name, SQL script) pairs in order, timed as sql_<name>; a script may also be a
        function of the connection and parameters (`with_input`)."""
        def work() -> None:
            for name, script in statements:
                started = time.perf_counter()
                if callable(script):
                    script(self.conn, self.params)
                else:
                    run_sql(self.conn, script, self.params)
                key = f"sql_{name}"
                self.done[name] = time.perf_counter()
                self.timings[key] = self.timings.get(key, 0.0) + self.done[name] - started

        self.wait()
        self._join = in_thread(work, "procmine-mine-sql")

    def wait(self) -> None:
        join, self._join = self._join, None
        if join is not None:
            join()


def models(*names: str) -> list[tuple[str, str]]:
    """The statements materialising the models sql/marts/<name>.sql into marts.<name>, as
    (name, statement) for Writer.run."""
    return [(name, materialise_sql(f"marts/{name}", f"marts.{name}")) for name in names]


def temp_table(model: str, table: str) -> str:
    """The statement materialising an intermediate model into a temp table."""
    return materialise_sql(model, table, temp=True)


def per_case(mart: str, rewrite: np.ndarray | None, inputs: str, rows: Table,
             derive: Callable[[Table], Table] | None = None) -> list[tuple[str, Statement]]:
    """The statements that write a per-case mart from its model (sql/marts/<mart>.sql): the
    whole table, or the rewritten cases' rows deleted and appended (DELETE_REWRITTEN_SQL). The
    model's input table `inputs` (`rows`, one row per case or waste instance, each written on
    its own) is handed to it PART_ROWS rows at a time: the first part creates the table, the
    others append. `derive` adds columns to each part when its statement runs (columns taken
    from the event arrays exist for one part at a time)."""
    model, table = f"marts/{mart}", f"marts.{mart}"
    size = len(next(iter(rows.values())))
    statements: list[tuple[str, Statement]] = []
    if rewrite is not None:
        statements.append((mart, DELETE_REWRITTEN_SQL.format(table=qualified(table))))
    for start in range(0, max(size, 1), PART_ROWS):
        part = {name: column[start:start + PART_ROWS] for name, column in rows.items()}
        sql = materialise_sql(model, table, append=rewrite is not None or start > 0)
        statements.append((mart, with_input(inputs, part, sql, derive)))
    return statements


def with_input(name: str, table: Table, sql: str,
               derive: Callable[[Table], Table] | None = None) -> Statement:
    """A writer statement that registers `table` (with `derive`'s columns, made now) as
    `name` (replacing what had that name), then runs `sql`."""
    def run(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
        conn.register(name, scannable(table if derive is None else derive(table)))
        run_sql(conn, sql, params)

    return run


def append_case_marts(params: dict[str, Any], files: dict[str, list[str]],
                      rewrite: np.ndarray | None) -> list[tuple[str, str]]:
    """The statements putting the partitions' rows of the per-case marts (Parquet files,
    partition_marts.write_partition) into marts.waste and marts.case_kpis."""
    statements = []
    for mart in CASE_MARTS:
        if files[mart]:   # (none: no case rewritten)
            params[files_param(mart)] = files[mart]
            statements += append_statements(mart, rewrite)
    return statements
