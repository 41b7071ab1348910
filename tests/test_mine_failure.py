"""A phase of mining that fails: its error reaches the caller after the threads beside it that
use the connection (the SQL writer, the d2c links, the model, drift's imports) are joined and the tables mining
registered and its temp tables are gone; the connection stays usable and a second run
mines the same marts as a run that never failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import procmine.mine as mine_mod
from procmine.mine import mine
from tests.mine_support import Log, fresh_db, rows

DESK, L2 = "Service Desk L1", "Network L2"
# the threads beside the phases that use the connection (the waste detection's works on the
# event arrays only, and is not waited for when a phase fails)
CONNECTION_THREADS = ("procmine-mine-sql", "procmine-mine-d2c", "procmine-mine-model",
                      "procmine-mine-preload")
# (a function mining calls by this name in procmine.mine, what runs beside it then)
FAILING = ["compute_variants",   # the waste detection's thread
           "case_table",         # marts.waste being written
           "backlog_tables",     # marts.case_kpis being written
           "step_flags"]         # marts.waste_drivers and marts.kpis being written


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
