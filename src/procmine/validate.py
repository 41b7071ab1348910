"""Validation of staged events: row- and case-level rules quarantine rows with the reason.

(The Great Expectations suites of issue #4 replace these built-in checks.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from procmine.config import Config
from procmine.sql import load_sql, run_sql

ROW_RULES: dict[str, tuple[str, str, str]] = {
    # rule: (predicate over staging.events s, column, reason)
    "case_id_not_null": ("s.case_id IS NULL", "case_id", "case id is empty"),
    "activity_not_null": ("s.activity IS NULL", "activity", "activity is empty"),
    "ts_not_null": ("s.ts IS NULL", "ts", "timestamp is empty or not parseable"),
    "ts_in_range": ("s.ts < $min_ts OR s.ts > now() + INTERVAL 1 DAY", "ts",
                    "timestamp before the minimum or more than a day in the future"),
    "activity_in_vocabulary": (
        "s.activity IS NOT NULL AND s.source IN (SELECT source FROM _vocab) AND NOT EXISTS "
        "(SELECT 1 FROM _vocab v WHERE v.source = s.source AND v.activity = s.activity)",
        "activity", "activity not in the source's configured vocabulary"),
    "resource_present": ("s.resource IS NULL AND list_contains($require_resource, s.source)",
                         "resource", "resource is required by this source"),
}


@dataclass
class ValidationReport:
    run_id: str
    staged: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        return sum(self.quarantined_by_rule.values())


def validate_staged(conn: duckdb.DuckDBPyConnection, config: Config, run_id: str) -> ValidationReport:
    """Quarantine this run's staged rows that break a rule; the rest stay staged for core."""
    report = ValidationReport(run_id)
    report.staged = conn.execute(
        "SELECT count(*) FROM staging.events WHERE run_id = ?", [run_id]).fetchone()[0]
    conn.execute("CREATE OR REPLACE TEMP TABLE _vocab (source VARCHAR, activity VARCHAR)")
    vocab = [(n, a) for n in config.source_names for a in config.source(n).stages]
    if vocab:
        conn.executemany("INSERT INTO _vocab VALUES (?, ?)", vocab)
    require_resource = [n for n in config.source_names if config.source(n).get("require_resource")]
    params = {"run_id": run_id, "min_ts": config.section("validation").get("min_ts", "1990-01-01"),
              "require_resource": require_resource}
    conn.execute("CREATE OR REPLACE TEMP TABLE _failed (row_key UBIGINT, rule VARCHAR, "
                 "column_name VARCHAR, bad_value VARCHAR, reason VARCHAR)")
    for rule, (predicate, column, reason) in ROW_RULES.items():
        value = "s.ts_raw" if column == "ts" else f"CAST(s.{column} AS VARCHAR)"
        used = {k: v for k, v in params.items() if f"${k}" in predicate}
        conn.execute(
            f"INSERT INTO _failed SELECT hash(s.source_file, s.source_row, s.seq, s.event_id), "
            f"$rule, $column, {value}, $reason FROM staging.events s "
            f"WHERE s.run_id = $run_id AND ({predicate})",
            {**used, "run_id": run_id, "rule": rule, "column": column, "reason": reason},
        )
    # duplicates within one source file: the second and later copies
    conn.execute(
        "INSERT INTO _failed SELECT hash(source_file, source_row, seq, event_id), "
        "'event_id_unique', 'event_id', event_id, 'duplicate event in the same file' FROM ("
        "SELECT *, row_number() OVER (PARTITION BY event_id, source_file "
        "ORDER BY source_row, seq) AS n FROM staging.events WHERE run_id = $run_id) WHERE n > 1",
        {"run_id": run_id},
    )
    for rule, count in conn.execute("SELECT rule, count(*) FROM _failed GROUP BY rule").fetchall():
        report.quarantined_by_rule[rule] = count
    run_sql(conn, load_sql("pipeline/quarantine_rows.sql"), {"run_id": run_id})
    return report
