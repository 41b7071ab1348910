"""ServiceNow audit exports: one row per update of a record (state snapshots) → events.

The derivation rules (Open, state changes, Assign/Reassign, Reclassify; case attributes
from the last snapshot) live in sql/staging/servicenow_rows.sql (the snapshots of the new
files' records) and servicenow_events.sql (events, cases), and in docs/sources.md.
"""

from __future__ import annotations

from typing import ClassVar

import duckdb

from procmine.sources import register
from procmine.sources.base import (
    LINEAGE_COLUMNS,
    LoadContext,
    RawFile,
    create_mapping_tables,
    quote_ident,
    raw_columns,
)
from procmine.sources.dialect import boolean_columns, check_boolean, raw_rows
from procmine.sources.mapped import NULL_VARCHAR, MappedAdapter
from procmine.sql import load_sql, run_sql

DEFAULT_CASE_ATTRIBUTES = (
    "impact", "urgency", "contact_type", "location", "subcategory", "u_symptom",
    "closed_code", "caused_by", "reassignment_count", "knowledge", "u_priority_confirmation",
    "notify",
)
TIMESTAMP_KEYS = ("opened_at", "updated_at", "resolved_at", "closed_at")


class ServiceNowAdapter(MappedAdapter):
    name = "servicenow"
    description = "ServiceNow audit export: state snapshots per record (incident, problem, ...)"

    DEFAULT_COLUMNS: ClassVar[dict[str, str]] = {
        "number": "number", "state": "incident_state", "updated_at": "sys_updated_at",
        "mod_count": "sys_mod_count", "opened_at": "opened_at", "group": "assignment_group",
        "resource": "assigned_to", "category": "category", "priority": "priority",
        "service": "cmdb_ci", "resolved_at": "resolved_at", "closed_at": "closed_at",
        "sla_met": "made_sla", "reopen_count": "reopen_count", "problem_id": "problem_id",
        "change_id": "rfc", "vendor": "vendor",
    }
    REQUIRED: ClassVar[tuple[str, ...]] = ("number", "state", "updated_at", "opened_at")
    FLAG_KEYS: ClassVar[dict[str, str]] = {"case": "number", "activity": "state", "timestamp": "updated_at",
                 "resource": "resource", "group": "group"}

    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        present = raw_columns(conn, ctx)
        exported = sorted(present - set(LINEAGE_COLUMNS))
        attribute_columns = [c for c in ctx.option("case_attributes", DEFAULT_CASE_ATTRIBUTES)
                             if c in present]
        params = {
            "file_ids": [f.file_id for f in files],
            "null_tokens": ctx.source.null_tokens,
            "source": ctx.source.name,
            "case_type": ctx.option("case_type", "incident"),
            "case_prefix": ctx.option("case_prefix", "") or "",
            "date_format": self.date_format(conn, ctx, files, TIMESTAMP_KEYS),
            "timezone": ctx.option("timezone", "UTC"),
            "level_pattern": ctx.option("level_pattern", r" (L[1-3])$"),
            "run_id": ctx.run_id,
        }
        sla_met = self.mapping(ctx).get("sla_met", "")
        if sla_met and sla_met in present:
            check_boolean(conn, raw_rows(ctx), sla_met, {"file_ids": params["file_ids"]},
                          ctx.source.null_tokens, path=", ".join(str(f.path) for f in files),
                          key="columns.sla_met")
        identifiers = {key: column if column == NULL_VARCHAR else f"raw_row.{column}"
                       for key, column in self.identifiers(conn, ctx).items()}
        run_sql(conn, load_sql("staging/servicenow_rows.sql").format(
            raw_table=ctx.raw_table,
            content="hash(" + ", ".join(quote_ident(c) for c in exported) + ")",
            **identifiers,
        ), params)
        # the events are staged with their stage and sourcing (no UPDATE of them afterwards)
        create_mapping_tables(conn, ctx.config, [ctx.source.name], [row[0] for row in conn.execute(
            "SELECT DISTINCT grp FROM _sn_rows WHERE is_new AND grp IS NOT NULL").fetchall()])
        run_sql(conn, load_sql("staging/servicenow_events.sql").format(
            raw_table=ctx.raw_table,
            attributes=_attributes_json(attribute_columns, boolean_columns(
                conn, raw_rows(ctx), attribute_columns, {"file_ids": params["file_ids"]},
                ctx.source.null_tokens), identifiers["service"]),
            **identifiers,
        ), params)


    def snapshot_rows(self, conn: duckdb.DuckDBPyConnection, raw: RawFile,
                      ctx: LoadContext) -> int | None:
        """The file's rows that name a record (a number): its snapshots."""
        number = self.identifiers(conn, ctx)["number"]
        if number == NULL_VARCHAR:
            return 0
        query = load_sql("staging/servicenow_snapshot_rows.sql").format(
            raw_table=ctx.raw_table, number=f"raw_row.{number}")
        return int(conn.execute(query, {"file_id": raw.file_id,
                                        "null_tokens": ctx.source.null_tokens}).fetchone()[0])


def _attributes_json(columns: list[str], booleans: set[str], ci: str = NULL_VARCHAR) -> str:
    """JSON object of the case attribute columns (cleaned of null tokens); the boolean ones
    (TRUE/FALSE, Y/N, yes/no, ...) as 'true'/'false' whatever the export's dialect. `ci` (the
    mapped service column, cmdb_ci) is also `cis`, the list of CIs every record type shares
    (docs/sources.md "Record tables")."""
    if not columns and ci == NULL_VARCHAR:
        return "NULL::JSON"
    fields = [
        f"{quote_ident(c)} := " + (f"pm_bool(pm_null({quote_ident(c)}, $null_tokens))::VARCHAR"
                                   if c in booleans
                                   else f"pm_null({quote_ident(c)}, $null_tokens)")
        for c in columns]
    if ci != NULL_VARCHAR:
        fields.append(f"cis := CASE WHEN pm_null({ci}, $null_tokens) IS NOT NULL "
                      f"THEN [pm_null({ci}, $null_tokens)] END")
    return f"to_json(struct_pack({', '.join(fields)}))"


register(ServiceNowAdapter)
