"""A failed validation can be explained: when the batch-level gate stops a load, nothing is
published, yet `procmine quarantine list --failed-run` and `procmine status` say what would
have been quarantined and why (rule, column, example values, counts), and the error points
there. Real data: the ServiceNow log as a generic CSV whose stage table misses most states."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path

import pytest

from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from tests.conftest import SERVICENOW_LOG, run_cli
from tests.landing_data import write_project

ROWS = 20_000
LISTED = ("New", "Resolved", "Closed")


def _table_rows(db: Path) -> dict[str, list[tuple]]:
    """Every data table's rows (not the run's bookkeeping: run_log, validation results)."""
    conn = store.reading(db)
    try:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('core', 'quarantine', 'staging', 'raw') "
            "OR (table_schema = 'marts' AND table_name NOT IN "
            "('run_log', 'validation_results', 'failed_quarantine')) ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": sorted(conn.execute(f'SELECT * FROM "{s}"."{t}"').fetchall(),
                                   key=repr) for s, t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A first load of the rows whose state the stage table lists (published), then the
    first 20,000 distinct rows of the log: most states unlisted, the gate stops it."""
    root = tmp_path_factory.mktemp("failed_run")
    config = write_project(root, extra_toml="""
        [sources.csv.columns]
        case = "number"
        activity = "incident_state"
        timestamp = "sys_updated_at"
        resource = ""
        group = ""

        [sources.csv.stages]
        "New" = "log"
        "Resolved" = "resolve"
        "Closed" = "close"
        """)
    seen: set[tuple[str, ...]] = set()
    rows: list[tuple[str, ...]] = []
    with gzip.open(SERVICENOW_LOG, "rt", encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source):
            key = (row["number"], row["incident_state"], row["sys_updated_at"])
            if key not in seen:
                seen.add(key)
                rows.append(key)
            if len(rows) == ROWS:
                break

    def write(path: Path, chosen: list[tuple[str, ...]]) -> Path:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["number", "incident_state", "sys_updated_at"])
            writer.writerows(chosen)
        return path

    good = write(root / "listed.csv", [r for r in rows if r[1] in LISTED])
    export = write(root / "export.csv", rows)
    db = root / "data" / "procmine.duckdb"
    ingest(load_config(config), db, "csv", [good])   # the first load (in this process)
    before = _table_rows(db)
    failed = run_cli("--config", config, "ingest", "--source", "csv", export, check=False)
    return {"config": config, "db": db, "rows": rows, "before": before, "failed": failed,
            "listing": run_cli("--config", config, "quarantine", "list", "--failed-run").stdout,
            "status": run_cli("--config", config, "status").stdout}


def test_the_gate_stops_the_load_and_publishes_nothing(stopped: dict) -> None:
    failed = stopped["failed"]
    assert failed.returncode == 1
    error = " ".join(failed.stderr.split())
    unlisted = sum(1 for r in stopped["rows"] if r[1] not in LISTED)
    assert unlisted == 9_037
    assert (f"quarantined_share_below_threshold: csv: {unlisted:,} of {ROWS:,} rows "
            "quarantined (45.2% > 5.0%)") in error
    assert "what was quarantined and why: procmine quarantine list --failed-run" in error
    assert _table_rows(stopped["db"]) == stopped["before"]
    assert stopped["before"]["core.events"]   # the first load is there, untouched
    assert "quarantine.events" in stopped["before"] and not stopped["before"]["quarantine.events"]


def test_quarantine_list_failed_run_explains(stopped: dict) -> None:
    listing = " ".join(stopped["listing"].split())
    by_state = Counter(r[1] for r in stopped["rows"] if r[1] not in LISTED)
    assert by_state.most_common(3) == [("Active", 6_008), ("Awaiting User Info", 2_824),
                                       ("Awaiting Problem", 161)]
    first_row = {state: 1 + next(i for i, r in enumerate(stopped["rows"]) if r[1] == state)
                 for state in by_state}   # source_row: data rows numbered from 1
    assert (first_row["Active"], first_row["Awaiting User Info"]) == (6, 11)
    assert "was stopped by validation and published nothing" in listing
    reason = "activity not in the source's configured vocabulary ([sources.<name>.stages])"
    assert ("activity_in_vocabulary (source csv, column activity): 9,037 row(s), e.g. "
            f"'Active' (export.csv row 6: {reason}); 'Awaiting User Info' (export.csv row 11: "
            f"{reason}); 'Awaiting Problem' (export.csv row {first_row['Awaiting Problem']}: "
            f"{reason})") in listing
    # the published quarantine has nothing: the run published nothing
    plain = run_cli("--config", stopped["config"], "quarantine", "list").stdout
    assert "0 quarantined row(s)" in plain


def test_status_explains_the_failed_run(stopped: dict) -> None:
    status = " ".join(stopped["status"].split())
    assert "failed_validation" in status
    assert "it would have quarantined (nothing was published):" in status
    assert ("activity_in_vocabulary (source csv, column activity): 9,037 row(s), e.g. "
            "'Active' (export.csv row 6: activity not in the source's configured vocabulary "
            "([sources.<name>.stages])); 'Awaiting User Info' (export.csv row 11") in status
    assert "what was quarantined and why: procmine quarantine list --failed-run" in status
