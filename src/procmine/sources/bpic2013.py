"""BPI Challenge 2013 (Volvo IT) incident logs: one event per row ("Status-Sub Status").

Sourcing: a [[sourcing]] rule matching the support team (``Involved ST``) wins; otherwise the
event's org line decides through the source's ``org_line_sourcing`` rules (docs/sources.md).
"""

from __future__ import annotations

import fnmatch
from typing import ClassVar

import duckdb

from procmine.sources import register
from procmine.sources.base import LoadContext, RawFile
from procmine.sources.mapped import MappedAdapter, stage_activities
from procmine.sql import load_sql, run_sql


class Bpic2013Adapter(MappedAdapter):
    name = "bpic2013"
    description = "BPI Challenge 2013 / Volvo IT activity log, one status change per row"

    DEFAULT_COLUMNS: ClassVar[dict[str, str]] = {
        "case": "SR Number", "timestamp": "Change Date+Time", "status": "Status",
        "sub_status": "Sub Status", "activity": "", "resource": "Resource",
        "group": "Involved ST", "level": "ST Level", "org_line": "Involved Org line 3",
        "function_div": "Involved ST Function Div", "product": "Product", "country": "Country",
        "owner_country": "Owner Country", "impact": "SR Latest Impact",
    }
    FLAG_KEYS: ClassVar[dict[str, str]] = {"case": "case", "activity": "activity", "timestamp": "timestamp",
                 "resource": "resource", "group": "group"}

    def required(self, ctx: LoadContext) -> list[tuple[str, str]]:
        mapping = self.mapping(ctx)
        keys = ["case", "timestamp"] + (["activity"] if mapping["activity"]
                                        else ["status", "sub_status"])
        return [(mapping[key] or key, f"columns.{key}") for key in keys]

    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        identifiers = self.identifiers(conn, ctx)
        params = {
            "file_ids": [f.file_id for f in files],
            "null_tokens": ctx.source.null_tokens,
        }
        _fill_sourcing(conn, ctx, identifiers, params)
        sql = load_sql("staging/bpic2013_events.sql").format(
            raw_table=ctx.raw_table, **identifiers)
        run_sql(conn, sql, {
            **params,
            "source": ctx.source.name,
            "case_type": ctx.option("case_type", "incident"),
            "case_prefix": ctx.option("case_prefix", "") or "",
            "date_format": self.date_format(conn, ctx, files, ("timestamp",)),
            "timezone": ctx.option("timezone", "UTC"),
            "level_pattern": ctx.option("level_pattern", r"^(L[1-3])$"),
            "resolve_activities": stage_activities(ctx, "resolve"),
            "close_activities": stage_activities(ctx, "close"),
            "run_id": ctx.run_id,
        })


def sourcing_of(ctx: LoadContext, team: str | None, org_line: str | None) -> str | None:
    """A team rule of [[sourcing]] wins, then the org line rules; None leaves it unmapped."""
    by_team = ctx.config.sourcing_of(team)
    if by_team != "unmapped":
        return by_team
    if org_line:
        for rule in ctx.source.get("org_line_sourcing", []):
            if fnmatch.fnmatchcase(org_line, str(rule["match"])):
                return str(rule["sourcing"])
    return None


def _fill_sourcing(conn: duckdb.DuckDBPyConnection, ctx: LoadContext,
                   identifiers: dict[str, str], params: dict[str, object]) -> None:
    """Temp table _bpic_sourcing(org_group, org_line, sourcing) for the new files' pairs."""
    pairs = conn.execute(
        f"SELECT DISTINCT pm_null({identifiers['group']}, $null_tokens), "
        f"pm_null({identifiers['org_line']}, $null_tokens) FROM {ctx.raw_table} "
        "WHERE list_contains($file_ids, _file_id)", params,
    ).fetchall()
    conn.execute("CREATE OR REPLACE TEMP TABLE _bpic_sourcing "
                 "(org_group VARCHAR, org_line VARCHAR, sourcing VARCHAR)")
    rows = [(team, line, sourcing_of(ctx, team, line)) for team, line in pairs]
    if rows:
        conn.executemany("INSERT INTO _bpic_sourcing VALUES (?, ?, ?)", rows)


register(Bpic2013Adapter)
