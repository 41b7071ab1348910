"""The mining index (migration 6): core.events as integer codes in canonical order.

publish_core.sql marks the cases a run gave new events (_reindex_cases) and `refresh` re-codes
just those; `rebuild` re-codes everything (a database upgraded from migration 5, core.events
written by hand in tests or by an analyst). The mining step reads core.event_codes with a
plain scan and calls `rebuild` when the index is out of step with core.events.
"""

from __future__ import annotations

import duckdb

from procmine.sql import load_sql, run_sql

# events and the sum of their times, in core.events and in the index: equal when in step (a
# scan of two numeric columns; catches events added, removed or re-timed outside publishing)
IN_STEP_SQL = """
SELECT (SELECT (count(*), coalesce(sum(epoch_us(ts)), 0)) FROM core.events)
     = (SELECT (count(*), coalesce(sum(t), 0)) FROM core.event_codes)
"""


def refresh(conn: duckdb.DuckDBPyConnection) -> None:
    """Re-code the cases listed in the temp table _reindex_cases (then dropped)."""
    run_sql(conn, load_sql("pipeline/event_index.sql"))
    conn.execute("DROP TABLE IF EXISTS _reindex_cases")


def rebuild(conn: duckdb.DuckDBPyConnection) -> None:
    """Re-code every event of core.events."""
    run_sql(conn, load_sql("pipeline/event_index_rebuild.sql"))
    refresh(conn)


def in_step(conn: duckdb.DuckDBPyConnection) -> bool:
    """The index holds the events of core.events (as publishing maintains it)."""
    return bool(conn.execute(IN_STEP_SQL).fetchall()[0][0])
