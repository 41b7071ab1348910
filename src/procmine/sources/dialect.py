"""The dialect of an export, read from its values before events are staged.

Exports differ in how they write dates (``29/2/2016 01:16``, ``29-02-2016 01:16``,
``2/29/2016 1:16 AM``, ISO 8601), booleans (``true``, ``TRUE``, ``Y``, ``yes``, ``1``) and
decimals (``3,5``). A wrong guess does not fail loudly: every event is quarantined, or a
date is read as another date. So the format is chosen from the data, in SQL over the
distinct values (DuckDB's ``try_strptime`` through ``pm_parse_ts``, no per-row Python):

- the candidate that reads every non-null value wins (a day above 12 anywhere rules out the
  month-first reading);
- two candidates that read every value, but differently, stop the load with both readings
  of two example values and the flag that settles it (``--date-format``);
- a column most of whose rows no candidate reads is a dialect problem, not bad rows: the
  load stops with one line naming the column, an example and the flag.

A configured ``date_format`` (or ``--date-format``) wins; it is still checked, so a format
that reads almost nothing stops the load instead of quarantining the whole file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from procmine.errors import InputError
from procmine.sources.base import LoadContext, RawFile, quote_ident
from procmine.sql import load_sql, run_sql

ISO = ""  # pm_parse_ts's cast: ISO 8601 with or without an offset
_DATES = ("%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y",
          "%d/%m/%y", "%m/%d/%y", "%d-%m-%y", "%m-%d-%y", "%d.%m.%y")
_TIMES = (" %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p", "")
TIMESTAMP_FORMATS: tuple[str, ...] = (ISO, *(d + t for d in _DATES for t in _TIMES))
"""Candidates in order of preference (ties between equal readings go to the first)."""

MOST = 0.5  # below this share of rows read, the column's dialect is unknown: stop


@dataclass(frozen=True)
class Ambiguity:
    """Two formats that read every value, differently."""

    first: str
    second: str
    examples: tuple[tuple[str, datetime, datetime], ...]

    def describe(self) -> str:
        """'01/02/2024 09:00 = 1 February 2024 or 2 January 2024; ...'"""
        return "; ".join(f"{value} = {_day(a)} or {_day(b)}" for value, a, b in self.examples)


@dataclass(frozen=True)
class TimestampSniff:
    """The timestamp format of one or more columns, as read from their values.

    `format` is a strptime format, "" for ISO 8601; None when no format reads most rows
    (`unreadable`) or two read every value differently (`ambiguity`).
    """

    columns: tuple[str, ...]
    format: str | None
    read_rows: int
    total_rows: int
    distinct: int
    example: str | None = None
    ambiguity: Ambiguity | None = None
    configured: bool = False
    candidates: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        if self.format is None:
            return "unknown"
        return "ISO 8601" if self.format == ISO else self.format

    def problem(self, option: str = "--date-format") -> str | None:
        """One line saying why the columns cannot be loaded as they are (None: they can)."""
        named = ", ".join(repr(c) for c in self.columns)
        fix = (f"set {option} (a strptime format, e.g. {option} '%d-%m-%Y %H:%M') or the "
               "source's date_format")
        if self.ambiguity is not None:
            return (f"column {named}: ambiguous dates, two formats read every value "
                    f"differently ({self.ambiguity.describe()}); set {option} "
                    f"'{self.ambiguity.first}' or {option} '{self.ambiguity.second}' (or the "
                    "source's date_format)")
        if self.total_rows and self.read_rows < MOST * self.total_rows:
            share = 1 - self.read_rows / self.total_rows
            rule = (f"the date format {self.format!r} (configured)" if self.configured
                    else "any known date format")
            return (f"column {named}: {share:.0%} of the rows with a timestamp "
                    f"({self.total_rows - self.read_rows:,} of {self.total_rows:,}) do not "
                    f"match {rule}, e.g. {self.example!r}; {fix}")
        return None

    def require(self, *, path: str, option: str = "--date-format") -> str:
        """The format to load with; a stopping InputError (fatal) when there is none."""
        problem = self.problem(option)
        if problem is not None:
            raise InputError(problem, path=path, fatal=True)
        return self.format or ISO


def collect_values(conn: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                   params: dict[str, Any], null_tokens: Sequence[str], *,
                   sample: bool = False) -> None:
    """Fill the temp table _pm_ts_values(v, n): distinct non-null values of `columns` in
    `relation` (a FROM clause, with `params`) and their row counts; `sample`: of a fixed-size
    sample of the rows of each column (every row when there are fewer)."""
    model = "staging/dialect_values_sample.sql" if sample else "staging/dialect_values.sql"
    conn.execute(load_sql("staging/dialect_values_table.sql"))
    for column in columns:
        conn.execute(load_sql(model).format(relation=relation, column=quote_ident(column)),
                     {**params, "null_tokens": list(null_tokens)})


def sniff_timestamps(conn: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                     params: dict[str, Any], null_tokens: Sequence[str],
                     configured: str = "") -> TimestampSniff:
    """The format reading every value of `columns` (pooled: one format for all of them).

    Read from the first 200,000 rows of each column first: a big export's timestamps are
    mostly distinct, and grouping every one of them costs more than the rest of staging.
    When those rows settle it (one format reads them all, or the configured one reads most),
    later values the format does not read are quarantined like any unreadable timestamp;
    when they do not (two readings, or most rows unread), every value decides, so a load is
    only ever stopped on the whole file's evidence. Needs the pipeline macros on `conn`.
    """
    sniff = _sniff(conn, relation, columns, params, null_tokens, configured, sample=True)
    if sniff.ambiguity is None and sniff.format is not None and sniff.problem() is None:
        return sniff
    return _sniff(conn, relation, columns, params, null_tokens, configured, sample=False)


def _sniff(conn: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
           params: dict[str, Any], null_tokens: Sequence[str], configured: str, *,
           sample: bool) -> TimestampSniff:
    collect_values(conn, relation, columns, params, null_tokens, sample=sample)
    try:
        total, distinct = _size(conn, "_pm_ts_values")
        formats = [configured] if configured else _plausible(conn, list(TIMESTAMP_FORMATS))
        counts = _read_rows_each(conn, formats, "_pm_ts_values")
        scores = sorted(((counts[rank], -rank, fmt) for rank, fmt in enumerate(formats)),
                        reverse=True)
        top, _, best_format = scores[0] if scores else ((0, 0), 0, configured)
        best = top[1]  # rows read; ranked first by rows read to a plausible year
        complete = [fmt for count, _, fmt in scores if count == top and best > 0]
        found = best_format if best or configured else None
        example = _unread_example(conn, found)
        for other in complete[1:]:
            examples = conn.execute(load_sql("staging/dialect_timestamp_readings.sql"), {
                "first": best_format, "second": other, "limit": 2}).fetchall()
            if examples:
                return TimestampSniff(tuple(columns), None, best, total, distinct, example,
                                      Ambiguity(best_format, other, tuple(examples)),
                                      candidates=tuple(complete))
        return TimestampSniff(tuple(columns), found, best, total, distinct, example,
                              configured=bool(configured), candidates=tuple(complete))
    finally:
        run_sql(conn, load_sql("staging/dialect_drop.sql"))


def _read_rows_each(conn: duckdb.DuckDBPyConnection, formats: list[str],
                    values: str) -> list[tuple[int, int]]:
    """(plausible, read) rows of the temp table `values` for each format, in one query
    (DuckDB wants each strptime format constant, so each is its own parameter $f0, $f1, ...
    of a UNION ALL branch)."""
    template = load_sql("staging/dialect_timestamp_candidates.sql").format(
        values=quote_ident(values))
    branch = template.strip().rstrip(";")
    sql = "\nUNION ALL\n".join(f"({branch.replace('$fmt', f'$f{i}')})"
                                for i in range(len(formats)))
    rows = {fmt: (plausible, read) for fmt, read, plausible in conn.execute(
        sql, {f"f{i}": fmt for i, fmt in enumerate(formats)}).fetchall()}
    return [rows[fmt] for fmt in formats]


def _size(conn: duckdb.DuckDBPyConnection, values: str) -> tuple[int, int]:
    """(rows, distinct values) of the temp table `values`."""
    return conn.execute(load_sql("staging/dialect_values_size.sql").format(
        values=quote_ident(values))).fetchone()


def _plausible(conn: duckdb.DuckDBPyConnection, formats: list[str],
               sample: int = 1000) -> list[str]:
    """The formats worth scoring on every value: those reading at least half as many of a
    sample of the distinct values as the best one does (usually one or two of the 67), so
    a column of 400k distinct timestamps is not parsed 67 times."""
    conn.execute(load_sql("staging/dialect_sample.sql"), {"sample": sample})
    if formats[0] == ISO:  # ISO everywhere (most exports): no other candidate reads it
        (plausible, _), (rows, _) = (_read_rows_each(conn, [ISO], "_pm_ts_sample")[0],
                                     _size(conn, "_pm_ts_sample"))
        if rows and plausible == rows:
            return [ISO]
    scores = dict(zip(formats, _read_rows_each(conn, formats, "_pm_ts_sample"), strict=True))
    top = max((read for _, read in scores.values()), default=0)
    return [fmt for fmt in formats if top and scores[fmt][1] * 2 >= top] or formats[:1]


def raw_rows(ctx: LoadContext) -> str:
    """The raw rows of the files being loaded, as the `relation` (a FROM clause) the functions
    here read; it binds $file_ids (the files' ids)."""
    return f"{ctx.raw_table} WHERE list_contains($file_ids, _file_id)"


def sniff_raw_timestamps(conn: duckdb.DuckDBPyConnection, ctx: LoadContext,
                         files: list[RawFile], columns: list[str]) -> str:
    """The date format of `columns` of the raw rows of `files` (see procmine.sources.dialect)."""
    configured = str(ctx.option("date_format", "") or "")
    if not columns:
        return configured
    sniff = sniff_timestamps(
        conn, raw_rows(ctx), columns, {"file_ids": [f.file_id for f in files]},
        ctx.source.null_tokens, configured)
    return sniff.require(path=", ".join(str(f.path) for f in files))


def _unread_example(conn: duckdb.DuckDBPyConnection, fmt: str | None) -> str | None:
    """The most frequent value `fmt` does not read (any value when there is no format)."""
    row = conn.execute(load_sql("staging/dialect_unread_example.sql"), {"fmt": fmt}).fetchone()
    return row[0] if row else None


def boolean_columns(conn: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                    params: dict[str, Any], null_tokens: Sequence[str]) -> set[str]:
    """Those of `columns` holding only boolean words (TRUE/FALSE, true/false, Y/N, yes/no):
    loaded as 'true'/'false' whatever the export's dialect (1/0 columns are left as they are:
    a count can hold only 0 and 1)."""
    if not columns:
        return set()
    conn.execute(load_sql("staging/dialect_column_values_table.sql"))
    try:
        for column in columns:
            conn.execute(load_sql("staging/dialect_column_values.sql").format(
                relation=relation, column=quote_ident(column)),
                {**params, "col": column, "null_tokens": list(null_tokens)})
        return {row[0] for row in conn.execute(
            load_sql("staging/dialect_boolean_columns.sql")).fetchall()}
    finally:
        run_sql(conn, load_sql("staging/dialect_drop.sql"))


def check_boolean(conn: duckdb.DuckDBPyConnection, relation: str, column: str,
                  params: dict[str, Any], null_tokens: Sequence[str], *, path: str,
                  key: str) -> None:
    """Stop (one line) when most values of a boolean column are no boolean word: the column
    is another dialect or the wrong column, not a file of bad rows."""
    total, read, example = conn.execute(
        load_sql("staging/dialect_boolean_reading.sql").format(
            relation=relation, column=quote_ident(column)),
        {**params, "null_tokens": list(null_tokens)}).fetchone()
    if total and read < MOST * total:
        raise InputError(
            f"{1 - read / total:.0%} of the values ({total - read:,} of {total:,}) are not a "
            f"boolean (TRUE/FALSE, true/false, Y/N, yes/no, 1/0), e.g. {example!r}; map "
            f"{key} in the source's config to a boolean column, or to \"\" to leave it out",
            path=path, column=column, fatal=True)


def _day(value: datetime) -> str:
    """3 April 2024 (the reading of the date; the time is the same either way)."""
    return f"{value.day} {value:%B} {value.year}"
