"""Pseudonymisation: no clear personal value in any layer; pseudonyms stable across runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from procmine import store
from tests.conftest import run_cli

KEY = {"PROCMINE_PSEUDONYM_KEY": "k" * 32}
NAMES = ["Wilhelmina Featherstonehaugh", "Bartholomew Quigglesworth"]


def _export(folder: Path, name: str, rows: int = 300) -> Path:
    lines = ["number,state,updated,assigned_to,caller_id,team"]
    for i in range(rows):
        person = NAMES[i % 2]
        lines.append(f"INC{i // 3:05d},{['Open', 'Active', 'Resolved'][i % 3]},"
                     f"2024-05-{1 + i % 28:02d} 1{i % 10}:00,{person},{NAMES[(i + 1) % 2]},"
                     f"Hub Network L2")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(folder: Path, enabled: bool) -> Path:
    path = folder / "procmine.toml"
    path.write_text(
        f"[privacy]\nenabled = {str(enabled).lower()}\n"
        "[sources.csv.columns]\ncase = \"number\"\nactivity = \"state\"\n"
        "timestamp = \"updated\"\nresource = \"assigned_to\"\ngroup = \"team\"\n")
    return path


def _ingest(folder: Path, enabled: bool, *files: Path, env: dict[str, str] | None = None,
            check: bool = True):
    return run_cli("--config", _config(folder, enabled), "ingest", *files, "--source", "csv",
                   "--db", folder / "procmine.duckdb", env=env, check=check)


def test_control_clear_names_are_visible_without_pseudonymisation(tmp_path: Path) -> None:
    """Proves the byte search below can see names DuckDB stored (so its silence means something)."""
    _ingest(tmp_path, False, _export(tmp_path, "a.csv"))
    content = (tmp_path / "procmine.duckdb").read_bytes()
    assert all(name.encode() in content for name in NAMES)


def test_no_clear_name_in_any_layer(tmp_path: Path) -> None:
    _ingest(tmp_path, True, _export(tmp_path, "a.csv"), env=KEY)
    db_path = tmp_path / "procmine.duckdb"
    content = db_path.read_bytes()
    for name in NAMES:
        assert name.encode() not in content
        for part in name.split():
            assert part.encode() not in content
    conn = store.reading(db_path)
    raw = conn.execute("SELECT DISTINCT assigned_to FROM raw.csv UNION "
                       "SELECT DISTINCT caller_id FROM raw.csv").fetchall()
    resources = conn.execute("SELECT DISTINCT resource FROM core.events").fetchall()
    assert len(raw) == 2 and all(v.startswith("p:") and len(v) == 18 for (v,) in raw)
    assert {r for (r,) in resources} == {v for (v,) in raw}
    assert not list(tmp_path.glob("*.wal")) and not list(tmp_path.glob(".*.work*"))


def test_pseudonyms_are_stable_across_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    _ingest(first, True, _export(first, "a.csv"), env=KEY)
    _ingest(second, True, _export(second, "b.csv", rows=30), env=KEY)
    query = "SELECT DISTINCT resource FROM core.events ORDER BY 1"
    values = [store.reading(d / "procmine.duckdb").execute(query).fetchall() for d in (first, second)]
    assert values[0] == values[1]


def test_enabled_without_key_is_a_clear_error(tmp_path: Path) -> None:
    proc = _ingest(tmp_path, True, _export(tmp_path, "a.csv"), check=False)
    assert proc.returncode == 1
    assert "PROCMINE_PSEUDONYM_KEY" in proc.stderr
    assert not (tmp_path / "procmine.duckdb").exists()


@pytest.mark.parametrize("key", ["short"])
def test_short_key_is_refused(tmp_path: Path, key: str) -> None:
    proc = _ingest(tmp_path, True, _export(tmp_path, "a.csv"),
                   env={"PROCMINE_PSEUDONYM_KEY": key}, check=False)
    assert proc.returncode == 1 and "shorter than 16" in proc.stderr
