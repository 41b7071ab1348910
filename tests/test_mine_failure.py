"""A phase of mining that fails: its error reaches the caller after the threads beside it that
use the connection (the SQL writer, the d2c links, the model, drift's imports) are joined and the tables mining
registered and its temp tables are gone; the connection stays usable and a second run
mines the same marts as a run that never failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import procmine.mine as mine_mod
from procmine import store
from procmine.mine import mine
from tests.mine_support import Log, fresh_db, rows

DESK, L2 = "Service Desk L1", "Network L2"
# the threads beside the phases that use the connection (the waste detection's works on the
# event arrays only, and is not waited for when a phase fails)
CONNECTION_THREADS = ("procmine-mine-sql", "procmine-mine-d2c", "procmine-mine-model",
                      "procmine-mine-preload", "procmine-mine-case-rows")
# (a function mining calls by this name in procmine.mine, what runs beside it then)
FAILING = ["compute_variants",   # the waste detection's thread
           "case_table",         # marts.waste being written
           "backlog_tables",     # marts.case_kpis being written
           "step_waits"]         # marts.waste_drivers and marts.kpis being written


def _log() -> Log:
    log = Log()
    for n in range(6):
        log.flow(f"C{n}", [("Open", 0, DESK), ("Reassign", 10 + n, L2), ("Active", 30, L2),
                           ("Reassign", 40, DESK), ("Resolved", 50 + n, DESK)])
    return log


def _marts(conn) -> dict[str, list[dict]]:
    return {mart: sorted(rows(conn, f"SELECT * FROM marts.{mart}"), key=repr)
            for mart in ("variants", "waste", "case_kpis", "kpis", "bottlenecks", "backlog")}


@pytest.mark.parametrize("helper", FAILING)
def test_a_failing_phase_leaves_nothing_behind(helper: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = _log()
    conn = fresh_db(tmp_path / "db.duckdb")
    log.write(conn)

    def fail(*args, **kwargs):
        raise RuntimeError(f"{helper} failed")

    monkeypatch.setattr(mine_mod, helper, fail)
    with pytest.raises(RuntimeError, match=f"{helper} failed"):
        mine(conn, log.config, model_dir=tmp_path / "model")
    monkeypatch.undo()
    assert not [t.name for t in threading.enumerate()
                if t.name in CONNECTION_THREADS and t.is_alive()]
    left = conn.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_mine%' "
                        "UNION ALL SELECT view_name FROM duckdb_views() "
                        "WHERE view_name LIKE '_mine%'").fetchall()
    assert left == []
    mine(conn, log.config, discover=False)
    clean = fresh_db(tmp_path / "clean.duckdb")
    log.write(clean)
    mine(clean, log.config, discover=False)
    assert _marts(conn) == _marts(clean)


def test_the_core_runs_beside_a_lower_duckdb_limit_and_the_rest_at_the_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """store.beside_arrays: DuckDB's limit is ARRAYS_MEMORY_LIMIT while the core's arrays are
    at their largest (conformance), the store's from the per-case marts on, and after a
    failure too."""
    monkeypatch.delenv(store.MEMORY_LIMIT_ENV, raising=False)
    log = _log()
    conn = fresh_db(tmp_path / "db.duckdb")
    log.write(conn)
    limit_sql = "SELECT current_setting('memory_limit')"
    stored = conn.execute(limit_sql).fetchone()[0]
    conn.execute("SET memory_limit = ?", [store.ARRAYS_MEMORY_LIMIT])
    lowered = conn.execute(limit_sql).fetchone()[0]
    conn.execute("SET memory_limit = ?", [store.memory_limit()])
    assert lowered != stored
    seen: dict[str, str] = {}
    probe = conn.cursor()   # (the writer may be using the connection: the limit is global)

    def spy(name: str, real):
        def call(*args, **kwargs):
            seen.setdefault(name, probe.execute(limit_sql).fetchone()[0])
            return real(*args, **kwargs)
        return call

    for name in ("case_table", "backlog_tables"):
        monkeypatch.setattr(mine_mod, name, spy(name, getattr(mine_mod, name)))
    monkeypatch.setattr(mine_mod.conformance_mod, "check",
                        spy("conformance", mine_mod.conformance_mod.check))
    mine(conn, log.config, discover=False)
    assert seen == {"conformance": lowered, "case_table": stored, "backlog_tables": stored}
    assert conn.execute(limit_sql).fetchone()[0] == stored

    def fail(*args, **kwargs):
        raise RuntimeError("the core failed")

    monkeypatch.setattr(mine_mod, "compute_variants", fail)
    with pytest.raises(RuntimeError, match="the core failed"):
        mine(conn, log.config, discover=False)
    assert conn.execute(limit_sql).fetchone()[0] == stored
