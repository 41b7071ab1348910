"""Which staged event ids occur more than once: by sorting their 64-bit hashes in numpy.

Validation (numbering identical rows of a file apart, validation/occurrences.sql, then the
event_id_unique rule) and publishing (one copy of each event into core) look only at the rows
whose id is repeated, usually none. Finding them with DuckDB's
``GROUP BY hash(event_id) HAVING count(*) > 1`` builds a hash table of every id (10M groups
for a 10M-event load: 3-5 s on two cores); fetching the hashes and sorting them in numpy
costs about half, and an empty answer lets the caller skip the work altogether. A hash shared
by two different ids only sends both to the exact check (a superset is safe).
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from procmine.sql import load_sql, run_sql

# procmine's own temp table names only (never user input)
HASH_TABLE_SQL = "CREATE OR REPLACE TEMP TABLE {table} (h UBIGINT)"

# the 64-bit hashes of the staged (source, case) pairs (validation's case facts, publishing)
STAGED_CASE_HASHES_SQL = "SELECT hash(source, case_id) AS h FROM staging.cases"
# the 64-bit hashes of a run's staged event ids
RUN_ID_HASHES_SQL = "SELECT hash(event_id) AS h FROM staging.events WHERE run_id = $run_id"

# Validation keeps the run's repeated ids (_repeated_ids) for publishing on the same
# connection, noting whose they are in _repeated_ids_of (validation/repeated_ids_keep.sql);
# publishing reuses them when that table exists and they are still valid
# (validation/repeated_ids_reusable.sql).
KEPT_SQL = ("SELECT count(*) FROM duckdb_tables() "
            "WHERE temporary AND table_name = '_repeated_ids_of'")


def repeated_hashes(conn: duckdb.DuckDBPyConnection, sql: str,
                    params: dict[str, Any] | None = None) -> np.ndarray:
    """The distinct values that occur more than once in the single UBIGINT column `sql`
    yields (sorted)."""
    column = (conn.execute(sql, params) if params else conn.execute(sql)).fetchnumpy()
    values = np.asarray(next(iter(column.values())), dtype=np.uint64)
    if len(values) < 2:
        return np.empty(0, dtype=np.uint64)
    values.sort()
    same = values[1:] == values[:-1]
    if not same.any():
        return np.empty(0, dtype=np.uint64)
    return np.unique(values[1:][same])


def run_repeats(conn: duckdb.DuckDBPyConnection, run_id: str, table: str) -> int:
    """The hashes of the run's event ids staged more than once into `table`: those validation
    kept (`keep_run_repeats`) when still valid, else found anew. Returns how many."""
    params = {"run_id": run_id}
    if (conn.execute(KEPT_SQL).fetchone()[0] and conn.execute(
            load_sql("validation/repeated_ids_reusable.sql"), params).fetchone()[0]):
        conn.execute(HASH_TABLE_SQL.format(table=table))
        conn.execute(f"INSERT INTO {table} SELECT h FROM _repeated_ids")
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    hashes = repeated_hashes(conn, RUN_ID_HASHES_SQL, params)
    store_hashes(conn, table, hashes)
    return len(hashes)


def keep_run_repeats(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """After validation: _repeated_ids (made by `run_repeats`) may serve publishing."""
    run_sql(conn, load_sql("validation/repeated_ids_keep.sql"), {"run_id": run_id})


def store_hashes(conn: duckdb.DuckDBPyConnection, table: str, hashes: np.ndarray) -> None:
    """(Re)create the temp table `table` (h UBIGINT) holding `hashes` (`table` is one of
    procmine's own names, never user input)."""
    conn.execute(HASH_TABLE_SQL.format(table=table))
    if len(hashes):
        conn.register("_hashes_view", pa.table({"h": pa.array(hashes, pa.uint64())}))
        try:
            conn.execute(f"INSERT INTO {table} SELECT h FROM _hashes_view")
        finally:
            conn.unregister("_hashes_view")
