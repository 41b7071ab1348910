"""`--source NAME` takes any source of the configuration ([sources.NAME] adapter = ...), and
an unknown name is one clear line listing the configured ones, before anything is read."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

CONFIG = """
[sources.tickets]
adapter = "csv"
delimiter = ";"

[sources.tickets.columns]
case = "ticket"
activity = "what"
timestamp = "when"
"""


def test_a_source_defined_in_procmine_toml_loads(tmp_path: Path) -> None:
    (tmp_path / "procmine.toml").write_text(CONFIG, encoding="utf-8")
    export = tmp_path / "tickets.csv"
    export.write_text("ticket;what;when\nT1;Open;2024-03-01 09:00\nT1;Closed;2024-03-02 09:00\n",
                      encoding="utf-8")
    proc = run_cli("ingest", export, "--source", "tickets", "--db", tmp_path / "t.duckdb",
                   cwd=tmp_path)
    assert "+2 events in core, 0 quarantined" in " ".join((proc.stdout + proc.stderr).split())


def test_an_unknown_source_lists_the_configured_ones(tmp_path: Path) -> None:
    (tmp_path / "procmine.toml").write_text(CONFIG, encoding="utf-8")
    export = tmp_path / "x.csv"
    export.write_text("a\n1\n", encoding="utf-8")
    proc = run_cli("ingest", export, "--source", "nope", "--db", tmp_path / "t.duckdb",
                   cwd=tmp_path, check=False)
    assert proc.returncode != 0
    output = " ".join((proc.stdout + proc.stderr).split())
    assert ("unknown source 'nope'; configured sources: bpic2013, csv, ocel2, servicenow, tickets, xes"
            in output)
    assert "[sources.nope]" in output
    assert not (tmp_path / "t.duckdb").exists()
