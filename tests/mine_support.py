"""Helpers of the mining tests: tiny event logs written straight into core.events / core.cases
of a real (migrated) DuckDB file, the configuration with overrides, pm4py's view of the events."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from procmine import event_index, store
from procmine.config import Config, _deep_merge, load_config
from procmine.load import publish_d2c_records

T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)  # a Monday

EVENT_COLUMNS = ("event_id", "case_id", "case_type", "activity", "ts", "resource", "org_group",
                 "support_level", "sourcing", "d2c_stage", "source", "source_file",
                 "source_row", "seq")
CASE_COLUMNS = ("case_id", "case_type", "source", "priority", "category", "service",
                "opened_at", "resolved_at", "closed_at", "sla_met", "reopen_count",
                "problem_id", "change_id", "vendor", "sourcing", "attributes")


def config_with(overrides: dict[str, Any] | None = None) -> Config:
    """The shipped defaults (no project file) with `overrides` merged in."""
    base = load_config()
    data = _deep_merge(copy.deepcopy(base.data), overrides or {})
    return Config(data, base.path, base.base_dir)


@dataclass
class Log:
    """A hand-made event log: add events per case in order; times in minutes after T0."""

    config: Config = field(default_factory=config_with)
    events: list[dict[str, Any]] = field(default_factory=list)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, case: str, activity: str, minute: float, group: str | None = None, *,
            level: str | None = None, stage: str | None = "auto", seq: int = 0,
            row: int | None = None) -> Log:
        if stage == "auto":
            stage = self.config.stage_of("servicenow", activity)
        if level is None and group and group[-2:] in ("L1", "L2", "L3"):
            level = group[-2:]
        self.events.append({
            "event_id": f"e{len(self.events)}", "case_id": case, "case_type": "incident",
            "activity": activity, "ts": T0 + timedelta(minutes=minute), "resource": None,
            "org_group": group, "support_level": level,
            "sourcing": self.config.sourcing_of(group), "d2c_stage": stage,
            "source": "servicenow", "source_file": "test.csv",
            "source_row": row if row is not None else len(self.events) + 1, "seq": seq,
        })
        self.cases.setdefault(case, {})
        return self

    def case(self, case: str, **attributes: Any) -> Log:
        self.cases.setdefault(case, {}).update(attributes)
        return self

    def flow(self, case: str, steps: list[tuple[str, float, str | None]]) -> Log:
        for activity, minute, group in steps:
            self.add(case, activity, minute, group)
        return self

    def write(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Replace core.events / core.cases with this log (bulk, through Arrow), re-code
        the mining index and parse the records for d2c, as publishing does."""
        conn.execute("DELETE FROM core.events")
        conn.execute("DELETE FROM core.cases")
        cases = []
        for case, attributes in self.cases.items():
            row = {"case_id": case, "case_type": "incident", "source": "servicenow"}
            row.update(attributes)
            cases.append(row)
        for table, records, columns in (("core.events", self.events, EVENT_COLUMNS),
                                        ("core.cases", cases, CASE_COLUMNS)):
            if not records:
                continue
            batch = pa.table({c: [r.get(c) for r in records] for c in columns})
            conn.register("_test_rows", batch)
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"SELECT {', '.join(columns)} FROM _test_rows")
            conn.unregister("_test_rows")
        event_index.rebuild(conn)
        publish_d2c_records(conn, whole=True)


def fresh_db(path: Path) -> duckdb.DuckDBPyConnection:
    """A migrated database file, open for writing."""
    conn = store.connect(path)
    store.migrate(conn)
    return conn


def mine_log(log: Log, path: Path, **kwargs: Any) -> duckdb.DuckDBPyConnection:
    """Write `log` into a fresh database at `path`, mine it, return the open connection."""
    from procmine.mine import mine

    conn = fresh_db(path)
    log.write(conn)
    mine(conn, log.config, discover=False, **kwargs)
    return conn


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    result = conn.execute(sql, params) if params is not None else conn.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def pm4py_frame(conn: duckdb.DuckDBPyConnection):  # -> pandas.DataFrame
    """core.events as pm4py reads them: one row per event, cases contiguous, events of a case
    in the canonical order (ts, source_file, source_row, seq)."""
    frame = conn.execute(
        'SELECT case_id AS "case:concept:name", activity AS "concept:name", '
        'ts AS "time:timestamp" FROM core.events '
        "ORDER BY case_id, ts, source_file, source_row, seq").df()
    frame["time:timestamp"] = frame["time:timestamp"].dt.tz_convert("UTC")
    return frame


def same_values(left: object, right: object) -> bool:
    """Equal; floats within 1e-9 relative (DuckDB's parallel sums of doubles may differ in
    the last bits from run to run), tuples and lists element by element."""
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or math.isclose(left, right,
                                                                         rel_tol=1e-9)
    if isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)):
        return len(left) == len(right) and all(
            same_values(a, b) for a, b in zip(left, right, strict=True))
    return left == right
