"""Generic CSV: one event per row, columns named by the source's column mapping."""

from __future__ import annotations

from pathlib import Path

import duckdb

from procmine.sources.base import (
    Adapter,
    LoadContext,
    RawFile,
    quote_ident,
    raw_columns,
    read_delimited,
)
from procmine.sources.dialect import sniff_raw_timestamps
from procmine.sql import load_sql

MAPPING_KEYS = ("case", "activity", "timestamp", "resource", "group", "case_type")
REQUIRED_KEYS = ("case", "activity", "timestamp")


class CsvAdapter(Adapter):
    name = "csv"
    description = "generic event-log CSV, one event per row, with a column mapping"
    file_local = True   # events from the file's own rows; no staging.cases rows

    @staticmethod
    def column_mapping(ctx: LoadContext) -> dict[str, str | None]:
        """Mapping key -> file column; flags (--case, --activity, ...) win over the config."""
        configured = dict(ctx.source.get("columns", {}))
        return {key: ctx.overrides.get(key) or configured.get(key) for key in MAPPING_KEYS}

    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        mapping = self.column_mapping(ctx)
        required = [(mapping[key] or key, f"columns.{key}") for key in REQUIRED_KEYS]
        return read_delimited(conn, path, file_id, ctx, required)

    def normalise(self, conn: duckdb.DuckDBPyConnection, files: list[RawFile],
                  ctx: LoadContext) -> None:
        mapping = self.column_mapping(ctx)
        present = raw_columns(conn, ctx)
        identifiers = {
            key: quote_ident(column) if column and column in present else "NULL::VARCHAR"
            for key, column in mapping.items()
        }
        sql = load_sql("staging/csv_events.sql").format(raw_table=ctx.raw_table, **identifiers)
        date_format = sniff_raw_timestamps(
            conn, ctx, files, [mapping["timestamp"]] if mapping["timestamp"] in present else [])
        conn.execute(sql, {
            "null_tokens": ctx.source.null_tokens,
            "file_ids": [f.file_id for f in files],
            "source": ctx.source.name,
            "case_type": ctx.option("case_type", "incident"),
            "date_format": date_format,
            "timezone": ctx.option("timezone", "UTC"),
            "run_id": ctx.run_id,
        })
