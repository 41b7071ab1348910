"""The `procmine` executable's error handling: usage mistakes are Click's usage errors (exit
2, usage text, no "internal error"); defects stay labelled "internal error" (exit 1) with the
traceback under --debug; user errors are one "error:" line (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.real_stores import RealStore

USAGE_MISTAKES = {
    "unknown command": (["inspekt"], "Usage: procmine [OPTIONS] COMMAND [ARGS]...",
                        "Error: No such command 'inspekt'."),
    "unknown option": (["sql", "--bogus", "select 1"], "Usage: procmine sql [OPTIONS]",
                       "Error: No such option: --bogus"),
    "missing argument": (["sql"], "Usage: procmine sql [OPTIONS]",
                         "Error: Missing argument 'query'."),
    "bad value": (["run", "--wait", "-1"], "Usage: procmine run [OPTIONS]",
                  "Error: Invalid value for '--wait'"),
    "bad choice": (["export", "--format", "pdf", "--out", "x.pdf"],
                   "Usage: procmine export [OPTIONS]", "Error: Invalid value for '--format'"),
    "missing option": (["ingest", "x.csv"], "Usage: procmine ingest [OPTIONS]",
                       "Error: Missing option '--source'"),
}


@pytest.mark.parametrize("name", sorted(USAGE_MISTAKES))
def test_usage_mistakes_exit_2_with_the_usage(name: str, tmp_path: Path) -> None:
    args, usage, error = USAGE_MISTAKES[name]
    proc = run_cli(*args, cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(usage)
    assert error in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())   # nothing ran


def test_no_command_shows_the_help_and_exits_2(tmp_path: Path) -> None:
    proc = run_cli(cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "Usage: procmine [OPTIONS] COMMAND [ARGS]..." in proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr


def test_defects_are_still_internal_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database\n")
    proc = run_cli("status", "--db", broken, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("internal error: IO Error:")
    assert proc.stderr.rstrip().endswith("(run with --debug for the traceback)")
    assert len(proc.stderr.strip().splitlines()) == 1
    debug = run_cli("--debug", "status", "--db", broken, cwd=tmp_path, check=False)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_user_errors_are_one_error_line(tmp_path: Path) -> None:
    proc = run_cli("mine", "--db", tmp_path / "none.duckdb", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"error: no database at {tmp_path / 'none.duckdb'} yet; "
                                   "load data first (procmine ingest PATH --source ...)")
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.real_data
def test_sql_prints_what_the_api_returns(volvo_store: RealStore) -> None:
    """On the session's Volvo store (tests/real_stores.py; read only)."""
    import procmine

    db = procmine.open(volvo_store.db)
    query = "select source, count(*) as n from core.events group by source"
    csv_out = run_cli("sql", "--format", "csv", query, "--db", db.path).stdout
    assert csv_out == "source,n\nbpic2013,65533\n"
    assert db.query(query).rows() == [("bpic2013", 65533)]
    table = run_cli("sql", query, "--db", db.path).stdout
    assert "bpic2013" in table and "65533" in table and table.rstrip().endswith("1 row(s)")
    status = run_cli("status", "--db", db.path).stdout
    assert f"{db.path}: 65,533 events, 7,554 cases in core" in status.replace("\n", "")
