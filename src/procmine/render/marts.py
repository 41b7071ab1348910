"""Read access to the marts for the dashboards: optional columns, fixed-shape views, records.

The mining step may add columns to the contract tables (DESIGN.md) or leave optional ones
out; `MartReader` looks at what is there and exposes two temporary views with a fixed set of
columns (missing ones are NULL), so the page SQL in sql/reports/ never depends on them. The
per-case marts are large (millions of rows), so the waste of every case is joined to its
case once, into the small temporary table sql/reports/waste_agg.sql that the pages share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb

from procmine.sql import load_sql, quote_ident, run_sql
from procmine.sql.models import materialise, model_query

CASE_VIEW = "pm_render_case"
WASTE_VIEW = "pm_render_waste_rows"
WASTE_AGG = "pm_render_waste_agg"   # the model sql/reports/waste_agg.sql, materialised
MAP_SLICES = "pm_render_map_slices"   # sql/reports/process_map_case_slices.sql, per parameters
MAP_DEVIATIONS = "pm_render_map_deviations"   # sql/reports/process_map_deviation_rows.sql
# temp table -> the report model it materialises on its first use by a query (or by another
# shared model that reads it, which is materialised again when it changes)
SHARED_MODELS = {WASTE_AGG: "reports/waste_agg", MAP_SLICES: "reports/process_map_case_slices",
                 MAP_DEVIATIONS: "reports/process_map_deviation_rows"}

# logical column -> (SQL type, candidate columns of marts.case_kpis, first present wins)
CASE_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case_id": ("VARCHAR", ("case_id",)),
    "variant_id": ("VARCHAR", ("variant_id",)),
    "duration_s": ("DOUBLE", ("duration_s",)),
    "resolution_s": ("DOUBLE", ("resolution_s", "duration_s")),
    "event_count": ("BIGINT", ("event_count",)),
    "handoffs": ("BIGINT", ("handoffs",)),
    "ping_pong": ("BIGINT", ("ping_pong",)),
    "reopened": ("BOOLEAN", ("reopened", "reopen_count")),
    "rework_events": ("BIGINT", ("rework_events",)),
    "waiting_s": ("DOUBLE", ("waiting_s",)),
    "sla_met": ("BOOLEAN", ("sla_met",)),
    "opened_at": ("TIMESTAMPTZ", ("opened_at", "opened", "start_ts", "started_at", "first_ts",
                                  "start_time")),
    "resolved_at": ("TIMESTAMPTZ", ("resolved_at", "resolved", "end_ts", "ended_at", "last_ts",
                                    "end_time")),
    "priority": ("VARCHAR", ("priority",)),
    "source": ("VARCHAR", ("source",)),
    "sourcing": ("VARCHAR", ("sourcing",)),
    "case_type": ("VARCHAR", ("case_type",)),
}
# Derived columns of the case view: the UTC day and hour by epoch arithmetic (the same values
# as CAST(ts AS DATE) and hour(ts) in the store's UTC session time zone, without their
# time-zone conversion, ~0.2 s per million cases and per use).
RESOLVED_TS = "coalesce(resolved_at, opened_at + to_seconds(resolution_s))"
UTC_DAY = "DATE '1970-01-01' + CAST(floor(epoch_us({ts}) / 86400000000) AS INTEGER)"
UTC_HOUR = "(CAST(floor(epoch_us({ts}) / 3600000000) AS BIGINT) % 24 + 24) % 24"
CASE_DERIVED: dict[str, str] = {
    "opened_day": UTC_DAY.format(ts="opened_at"),
    "opened_hour": UTC_HOUR.format(ts="opened_at"),
    "resolved_day": UTC_DAY.format(ts=RESOLVED_TS),   # resolved, else opened + resolution
    "resolved_hour": UTC_HOUR.format(ts=RESOLVED_TS),
}
WASTE_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case_id": ("VARCHAR", ("case_id",)),
    "d2c_stage": ("VARCHAR", ("d2c_stage",)),
    "waste_type": ("VARCHAR", ("waste_type",)),
    "hours": ("DOUBLE", ("hours",)),
    "cost": ("DOUBLE", ("cost",)),
    "evidence": ("VARCHAR", ("evidence",)),
    "sourcing": ("VARCHAR", ("sourcing",)),
    "org_group": ("VARCHAR", ("org_group", "group")),
    "detail": ("VARCHAR", ("detail",)),   # e.g. 'vendor' for waiting in a vendor state
}


def _select_list(available: set[str], columns: dict[str, tuple[str, tuple[str, ...]]],
                 alias: str) -> dict[str, str]:
    """logical name -> SQL expression over `alias` (NULL of the right type when absent)."""
    exprs = {}
    for name, (sql_type, candidates) in columns.items():
        found = next((c for c in candidates if c in available), None)
        exprs[name] = (f"TRY_CAST({alias}.{quote_ident(found)} AS {sql_type})" if found
                       else f"CAST(NULL AS {sql_type})")
    return exprs


class MartReader:
    """The marts of one database connection, as the pages need them."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self._columns: dict[tuple[str, str], set[str]] = {}
        rows = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('marts', 'quarantine') AND table_catalog = current_database()"
        ).fetchall()
        for schema, table, column in rows:
            self._columns.setdefault((schema, table), set()).add(column)
        self.case_columns: set[str] = set()
        self._shared: dict[str, tuple[Any, ...]] = {}   # materialised table -> its parameters

    def has_table(self, schema: str, table: str) -> bool:
        return (schema, table) in self._columns

    def columns(self, schema: str, table: str) -> set[str]:
        return set(self._columns.get((schema, table), set()))

    def has_case(self, logical: str) -> bool:
        """Whether marts.case_kpis supplies this logical column (e.g. opened_at)."""
        candidates = CASE_COLUMNS[logical][1]
        return any(c in self.case_columns for c in candidates)

    def __enter__(self) -> MartReader:
        self.create_views()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_views()

    def create_views(self) -> None:
        """Temporary views of fixed shape over marts.case_kpis and marts.waste (the waste of
        every case by the attributes of its case, `WASTE_AGG`, follows with its first use)."""
        self.case_columns = self.columns("marts", "case_kpis")
        case = _select_list(self.case_columns, CASE_COLUMNS, "k")
        self._create_view(CASE_VIEW, case, "marts.case_kpis AS k",
                          self.has_table("marts", "case_kpis"), CASE_DERIVED)
        waste = _select_list(self.columns("marts", "waste"), WASTE_COLUMNS, "w")
        self._create_view(WASTE_VIEW, waste, "marts.waste AS w",
                          self.has_table("marts", "waste"))
        self._shared = {}

    def _create_view(self, view: str, exprs: dict[str, str], source: str, exists: bool,
                     derived: dict[str, str] | None = None) -> None:
        select = ", ".join(f"{expr} AS {name}" for name, expr in exprs.items())
        if not exists:  # an empty view of the same shape
            select = ", ".join(
                f"CAST(NULL AS {typ}) AS {name}"
                for name, typ in zip(exprs, self._types(view), strict=True))
            source = "(SELECT 1) AS w WHERE false"
        query = f"SELECT {select} FROM {source}"
        if derived:
            extra = ", ".join(f"{expr} AS {name}" for name, expr in derived.items())
            query = f"SELECT *, {extra} FROM ({query})"
        self.conn.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS {query}")

    @staticmethod
    def _types(view: str) -> list[str]:
        table = CASE_COLUMNS if view == CASE_VIEW else WASTE_COLUMNS
        return [typ for typ, _ in table.values()]

    def drop_views(self) -> None:
        for table in SHARED_MODELS:
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(table)}")
        for view in (WASTE_VIEW, CASE_VIEW):
            self.conn.execute(f"DROP VIEW IF EXISTS temp.{quote_ident(view)}")

    def query(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of the query sql/reports/<name>.sql (one SELECT) as JSON-ready dicts."""
        return records(self._execute(name, params))

    def query_columns(self, name: str,
                      params: dict[str, Any] | None = None) -> dict[str, list[Any]]:
        """The rows of `query` as a list of JSON-ready values per column: for a large result
        (the process map's slices, ~50k rows at 1M events), whose dict per row and value
        converted one by one cost more than the page's own work with them."""
        return columns(self._execute(name, params))

    def _execute(self, name: str, params: dict[str, Any] | None) -> duckdb.DuckDBPyConnection:
        script = load_sql(f"reports/{name}.sql")
        for table in SHARED_MODELS:
            if table in script:
                self._materialise(table, params or {})
        return run_sql(self.conn, script, params)

    def _materialise(self, table: str, params: dict[str, Any]) -> tuple[Any, ...]:
        """The temp table of a report model that several queries share, written once per set
        of the parameters it uses, its own and those of the shared tables it reads (written
        first): its key in `_shared`, returned."""
        model = SHARED_MODELS[table]
        query = model_query(model)
        inputs = tuple(self._materialise(t, params)
                       for t in SHARED_MODELS if t != table and t in query)
        own = tuple(sorted((k, params[k]) for k in self.conn.extract_statements(
            query)[0].named_parameters if k in params))
        key = (own, inputs)
        if self._shared.get(table) != key:
            materialise(self.conn, model, table, dict(own), temp=True)
            self._shared[table] = key
        return key

    def scalar(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        rows = self.query(name, params)
        return rows[0] if rows else {}


def records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description or []]
    return [{c: jsonable(v) for c, v in zip(columns, row, strict=True)}
            for row in cursor.fetchall()]


# DuckDB types whose Python values (int, str, bool, None) `jsonable` returns unchanged
PLAIN_TYPES = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                         "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "VARCHAR"})


def columns(cursor: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """The result as column name -> its `jsonable` values (converted only where the column's
    type needs it)."""
    description = cursor.description or []
    values = list(zip(*cursor.fetchall(), strict=True)) or [() for _ in description]
    return {d[0]: list(col) if str(d[1]) in PLAIN_TYPES else list(map(jsonable, col))
            for d, col in zip(description, values, strict=True)}


def jsonable(value: Any) -> Any:
    """A JSON value with one spelling per value: ISO dates (UTC), no NaN, floats as floats."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    return str(value)
