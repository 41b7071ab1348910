"""The mining index (migration 6): core.events as integer codes in canonical order.

Publishing (load.publish_core) marks the cases a run gave new events (_reindex_cases),
with all their events in the view _reindex_events, and `refresh` re-codes just those;
`rebuild` re-codes everything (a database upgraded from migration 5, core.events written by
hand in tests or by an analyst). The mining step reads core.event_codes with a plain scan and
calls `rebuild` when the index is out of step with core.events. Publishing also uses
core.case_keys to find the cases core already holds events of (`covers_core` first).
"""

from __future__ import annotations

import duckdb

from procmine.sql import load_sql, run_sql


def refresh(conn: duckdb.DuckDBPyConnection, *, events_ready: bool = False) -> None:
    """Re-code the cases listed in the temp table _reindex_cases (then dropped).

    `events_ready`: the caller defined the temp view _reindex_events (all events of those
    cases; publishing has them at hand); otherwise they are read from core.events.
    """
    if not events_ready:
        run_sql(conn, load_sql("core/event_index_events.sql"))
    run_sql(conn, load_sql("core/event_index.sql"))
    conn.execute("DROP TABLE IF EXISTS _reindex_cases")


def clear(conn: duckdb.DuckDBPyConnection) -> None:
    """Empty the index and the mining state keyed by it."""
    run_sql(conn, load_sql("core/event_index_clear.sql"))


def rebuild(conn: duckdb.DuckDBPyConnection) -> None:
    """Re-code every event of core.events."""
    clear(conn)
    run_sql(conn, load_sql("core/event_index_rebuild.sql"))
    refresh(conn, events_ready=True)


def in_step(conn: duckdb.DuckDBPyConnection) -> bool:
    """The index holds the events of core.events (as publishing maintains it)."""
    return bool(conn.execute(load_sql("core/event_index_in_step.sql")).fetchall()[0][0])


def covers_core(conn: duckdb.DuckDBPyConnection) -> bool:
    """The index has a row per event of core.events, so core.case_keys names every case that
    has events (what publishing relies on to look only at the cases a run touches)."""
    return bool(conn.execute(load_sql("core/event_index_covers_core.sql")).fetchall()[0][0])
