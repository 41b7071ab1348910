"""The SQL models (dbt style) and the one statement splitter: no store, no real data needed."""

from __future__ import annotations

import re
from importlib import resources

import duckdb
import numpy as np
import pytest

from procmine.mine.changes import MINING_CODE
from procmine.sql import load_sql, run_sql
from procmine.sql.models import materialise, materialise_sql, model_query

# folders of procmine/sql whose every file is a model: one SELECT ending `SELECT * FROM final`
MODEL_FOLDERS = ("marts", "intermediate", "reports", "analyses", "links")
# files there that are scripts, not models (they create views or macros)
SCRIPTS = {"intermediate/vocabulary.sql", "intermediate/d2c_macros.sql"}
# models among scripts: publishing's parse of the records for d2c and the mining index's checks
# (core/, beside its scripts), whether validation's repeated ids serve publishing (validation/)
OTHER_MODELS = ("core/d2c_records.sql", "core/event_index_covers_core.sql",
                "core/event_index_in_step.sql", "validation/repeated_ids_reusable.sql")
# (EXCLUDE: a sort key that is not a column of the mart, e.g. conformance's variant index)
FINAL = re.compile(r"\nSELECT \*(?: EXCLUDE \(\w+\))? FROM final(\nORDER BY [^;]+?)?(\nLIMIT \$\w+)?\s*$")


def _model_names() -> list[str]:
    root = resources.files("procmine.sql")
    return sorted([f"{folder}/{entry.name}" for folder in MODEL_FOLDERS
                   for entry in root.joinpath(folder).iterdir()
                   if entry.name.endswith(".sql") and f"{folder}/{entry.name}" not in SCRIPTS]
                  + list(OTHER_MODELS))


def test_the_model_folders_hold_the_models() -> None:
    names = _model_names()
    assert "marts/transitions.sql" in names and "reports/waste_agg.sql" in names
    assert len([n for n in names if n.startswith("marts/")]) == 25
    assert len([n for n in names if n.startswith("intermediate/")]) == 12
    assert len([n for n in names if n.startswith("analyses/")]) == 7
    assert len([n for n in names if n.startswith("reports/")]) == 35
    assert len([n for n in names if n.startswith("links/")]) == 3


def test_the_mining_fingerprint_reads_every_mining_model() -> None:
    """A change to a model must rewrite every case's rows (changes.settings_fingerprint)."""
    folders = {folder.name for folder in MINING_CODE if any(folder.glob("*.sql"))}
    assert folders == {"intermediate", "marts"}


@pytest.mark.parametrize("name", _model_names())
def test_every_model_is_one_select_ending_with_final(name: str) -> None:
    text = load_sql(name)
    statements = duckdb.connect().extract_statements(text)
    assert len(statements) == 1, f"{name}: {len(statements)} statements"
    assert statements[0].type == duckdb.StatementType.SELECT, name
    assert re.search(r"^WITH \w+", text, re.MULTILINE), f"{name}: no import CTEs"
    assert re.search(r"^final AS \($", text, re.MULTILINE), f"{name}: no final CTE"
    assert FINAL.search(text), f"{name}: does not end with SELECT * FROM final"
    assert not re.search(r"\b(CREATE|INSERT|DELETE|UPDATE|DROP)\b", text), name


def test_materialise_replaces_appends_and_makes_temp_tables() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.register("_mine_backlog", {"day": np.array([19723, 19724]), "st": np.array([1, 0]),
                                    "open_cases": np.array([3, 4])})
    conn.register("_mine_stage", {"code": np.array([0, 1]),
                                   "name": np.array([None, "detect"], dtype=object)})
    materialise(conn, "marts/backlog", "marts.backlog")
    materialise(conn, "marts/backlog", "marts.backlog")   # replaced, not doubled
    assert conn.execute("SELECT count(*) FROM marts.backlog").fetchone() == (2,)
    materialise(conn, "marts/backlog", "marts.backlog", append=True)
    assert conn.execute("SELECT count(*) FROM marts.backlog").fetchone() == (4,)
    assert conn.execute("SELECT day::VARCHAR, d2c_stage, open_cases FROM marts.backlog "
                        "ORDER BY ALL LIMIT 1").fetchone() == ("2024-01-01", "detect", 3)
    materialise(conn, "marts/backlog", "_backlog_copy", temp=True)
    assert conn.execute("SELECT count(*) FROM temp.main._backlog_copy").fetchone() == (2,)
    assert materialise_sql("marts/backlog", 'odd"name').startswith(
        'CREATE OR REPLACE TABLE "odd""name" AS\n')
    assert not model_query("marts/backlog").endswith(";")


def test_run_sql_splits_with_duckdb_and_binds_only_the_used_parameters() -> None:
    # a ';' at the end of a line inside a string literal split the old regex splitter
    script = ("-- a comment; with a semicolon\n"
              "CREATE TABLE t AS SELECT 'a;\nb' AS s, $n::INTEGER AS n;\n"
              "INSERT INTO t VALUES ('c', $m);\n"
              "SELECT count(*), max(n), min(s) FROM t")
    conn = duckdb.connect()
    row = run_sql(conn, script, {"n": 1, "m": 2, "unused": 3}).fetchone()
    assert row == (2, 2, "a;\nb")
