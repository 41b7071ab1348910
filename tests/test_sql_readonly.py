"""`procmine sql` is read-only: every refused form gets a clear message; SELECT works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from procmine import store
from procmine.query import fetch
from procmine.readonly import ReadOnlyViolation
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def published_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db_path = tmp_path_factory.mktemp("ro") / "procmine.duckdb"
    with store.writing(db_path) as conn:
        conn.execute("INSERT INTO marts.run_log (run_id, started_at, status) "
                     "VALUES ('r1', now(), 'success')")
    return db_path


REFUSED = {
    "insert": ("INSERT INTO marts.run_log (run_id, started_at, status) VALUES ('x', now(), 'x')",
               "writes (INSERT)"),
    "update": ("UPDATE marts.run_log SET status = 'x'", "writes (UPDATE)"),
    "delete": ("DELETE FROM core.events", "writes (DELETE)"),
    "create": ("CREATE TABLE marts.x AS SELECT 1", "DDL (CREATE)"),
    "create_temp": ("CREATE TEMP TABLE x AS SELECT 1", "DDL (CREATE)"),
    "drop": ("DROP TABLE core.events", "DDL (DROP)"),
    "alter": ("ALTER TABLE core.events ADD COLUMN x INT", "DDL (ALTER)"),
    "attach": ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    "copy_to": ("COPY core.events TO '/tmp/leak.csv'", "COPY"),
    "copy_from": ("COPY core.events FROM '/tmp/in.csv'", "COPY"),
    "export": ("EXPORT DATABASE '/tmp/dump'", "EXPORT DATABASE"),
    "install": ("INSTALL httpfs", "INSTALL/LOAD"),
    "load": ("LOAD icu", "INSTALL/LOAD"),
    "set": ("SET threads = 1", "SET/RESET of settings"),
    "reset": ("RESET threads", "SET/RESET of settings"),
    "pragma_set": ("PRAGMA threads = 1", "SET/RESET of settings"),
    "pragma": ("PRAGMA enable_profiling", "PRAGMA"),
    "hidden_after_select": ("SELECT 1; DROP TABLE core.events", "DDL (DROP)"),
    "read_csv": ("SELECT * FROM read_csv('/etc/passwd')", "reading or writing files"),
    "read_text": ("SELECT * FROM read_text('/etc/hostname')", "reading or writing files"),
    "glob": ("SELECT * FROM glob('/etc/*')", "reading or writing files"),
    "read_parquet": ("SELECT * FROM read_parquet('/tmp/x.parquet')", "reading or writing files"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_statement(published_db: Path, name: str) -> None:
    query, what = REFUSED[name]
    before = published_db.read_bytes()
    with pytest.raises(ReadOnlyViolation, match="procmine sql is read-only") as refused:
        fetch(published_db, query)
    assert what in str(refused.value)
    assert published_db.read_bytes() == before
    assert not Path("/tmp/leak.csv").exists()


def test_cli_refusal_is_one_line_and_non_zero(published_db: Path) -> None:
    proc = run_cli("sql", "DROP TABLE core.events", "--db", published_db, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: procmine sql is read-only: DDL (DROP)")
    assert "Traceback" not in proc.stderr


def test_select_on_every_mart_works(published_db: Path) -> None:
    conn = store.reading(published_db)
    marts = [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
        "ORDER BY 1").fetchall()]
    conn.close()
    assert {"variants", "transitions", "waste", "waste_heatmap", "run_log"} <= set(marts)
    union = " UNION ALL ".join(f"SELECT '{m}' AS mart, count(*) AS n FROM marts.{m}" for m in marts)
    proc = run_cli("sql", union, "--db", published_db, "--format", "json")
    rows = {row["mart"]: row["n"] for row in json.loads(proc.stdout)}
    assert set(rows) == set(marts) and rows["run_log"] == 1
