"""Shared parts of the delimited-file adapters driven by a column mapping (ServiceNow, BPIC).

A source's ``[sources.<name>.columns]`` maps canonical keys to the file's columns; the CLI
flags ``--case``, ``--activity``, ``--timestamp``, ``--resource``, ``--group`` override
the keys named in ``FLAG_KEYS``. Columns are only ever put into SQL through ``quote_ident``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

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

NULL_VARCHAR = "NULL::VARCHAR"


class MappedAdapter(Adapter):
    """An adapter reading a delimited export whose columns are named by a mapping."""

    DEFAULT_COLUMNS: ClassVar[dict[str, str]] = {}
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    FLAG_KEYS: ClassVar[dict[str, str]] = {}  # CLI override key -> mapping key

    def mapping(self, ctx: LoadContext) -> dict[str, str]:
        """Mapping key -> file column ("" = not mapped): flags, then config, then defaults."""
        configured = dict(ctx.source.get("columns", {}))
        mapping = {key: str(configured.get(key, default) or "")
                   for key, default in self.DEFAULT_COLUMNS.items()}
        for flag, key in self.FLAG_KEYS.items():
            if ctx.overrides.get(flag):
                mapping[key] = str(ctx.overrides[flag])
        return mapping

    def required(self, ctx: LoadContext) -> list[tuple[str, str]]:
        """(column, mapping key) pairs a file must have."""
        mapping = self.mapping(ctx)
        return [(mapping[key] or key, f"columns.{key}") for key in self.REQUIRED]

    def load_raw(self, conn: duckdb.DuckDBPyConnection, path: Path, file_id: str,
                 ctx: LoadContext) -> RawFile:
        forget_raw_file(conn, ctx, file_id)
        return read_delimited(conn, path, file_id, ctx, self.required(ctx))

    def identifiers(self, conn: duckdb.DuckDBPyConnection, ctx: LoadContext) -> dict[str, str]:
        """Mapping key -> quoted raw column, or a typed NULL when the column is absent."""
        present = raw_columns(conn, ctx)
        return {key: quote_ident(column) if column and column in present else NULL_VARCHAR
                for key, column in self.mapping(ctx).items()}

    def date_format(self, conn: duckdb.DuckDBPyConnection, ctx: LoadContext,
                    files: list[RawFile], keys: tuple[str, ...]) -> str:
        """--date-format / config (checked), else sniffed from the values of the timestamp
        columns named by `keys` (procmine.sources.dialect); a dialect problem stops the load."""
        present = raw_columns(conn, ctx)
        mapping = self.mapping(ctx)
        columns = [mapping[key] for key in keys if mapping.get(key) and mapping[key] in present]
        return sniff_raw_timestamps(conn, ctx, files, columns)


def forget_raw_file(conn: duckdb.DuckDBPyConnection, ctx: LoadContext, file_id: str) -> None:
    """Drop raw rows left by an earlier load of the same content (e.g. before `run --full`),
    so a file read again is not counted twice."""
    if raw_columns(conn, ctx):
        conn.execute(f"DELETE FROM {ctx.raw_table} WHERE _file_id = ?", [file_id])


def stage_activities(ctx: LoadContext, stage: str, *, generic: bool = False) -> list[str]:
    """The source's activities mapped to `stage` (e.g. resolve, close); with `generic`, then
    those the configuration's generic [stages] maps to it (XES, OCEL 2.0)."""
    found = [activity for activity, mapped in ctx.source.stages.items() if mapped == stage]
    if generic:
        found += [activity for activity, mapped in ctx.config.section("stages").items()
                  if mapped == stage]
    return found
