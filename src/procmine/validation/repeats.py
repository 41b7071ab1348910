"""Which staged event ids occur more than once: by sorting their 64-bit hashes in numpy.

Validation (the event_id_unique rule) and publishing (one copy of each event into core) look
only at the rows whose id is repeated, usually none. Finding them with DuckDB's
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

# procmine's own temp table names only (never user input)
HASH_TABLE_SQL = "CREATE OR REPLACE TEMP TABLE {table} (h UBIGINT)"


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
