"""Period comparison (`procmine compare`): what changed between two periods, with evidence.

A case belongs to the period its open time falls in (marts.case_kpis.opened_at, start
inclusive, end exclusive) and brings all its events, also those after the period's end: a
period's figures are those of the cases opened in it, so both periods are measured alike
and no case is counted twice. Items (KPIs, variants, directly-follows edges, their waits,
waste heat-map cells) are compared side by side with a significance test each:

- counts and shares: Pearson's chi-square on the 2×2 table (item / rest × before / after),
  Fisher's exact test when an expected count is below 5; effect: Cohen's h of the shares;
- waits and durations: Mann–Whitney U (two-sided); effect: the rank-biserial correlation
  (after vs before: +1 = every after value is larger);
- means: Welch's t; effect: Cohen's d. Cases opened per day: an exact binomial test of the
  after period's share of the cases against its share of the days; effect: Cohen's h.

Every section is sorted by |effect|; q_value is the Benjamini–Hochberg adjusted p-value
within the section (many items are tested at once). Reads the published store read-only
(the guard of `procmine sql`); the SQL is in sql/analyses/compare_*.sql, where the periods'
cases are one model (compare_period_cases.sql, a temp table the others read).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from procmine.errors import ProcmineError
from procmine.readonly import arrow_readonly, connect_readonly, execute_readonly
from procmine.sql import load_sql
from procmine.sql.models import materialise

if TYPE_CHECKING:
    import duckdb
    import polars as pl
    import pyarrow as pa

SECTIONS = ("kpis", "variants", "edges", "waits", "waste")
COLUMNS = ("section", "item", "measure", "before", "after", "difference", "before_share",
           "after_share", "n_before", "n_after", "test", "statistic", "p_value", "q_value",
           "effect", "effect_measure", "detail")
CASE_COLUMNS = ("period", "resolved", "resolution_s", "response_s", "duration_s", "sla_met",
                "reopened", "first_contact_resolution", "handoffs", "ping_pong", "waste_hours")
MIN_WAITS = 5             # waits an edge needs in each period for its rank test
FISHER_BELOW = 5          # expected count under which the 2×2 test is Fisher's exact
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR = 3600.0
PERIOD_CASES = "_compare_period_case"   # sql/analyses/compare_period_cases.sql, per comparison


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC days; `label` names it in messages (the CLI's flag)."""

    start: date
    end: date
    label: str = "period"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(), UTC), datetime.combine(self.end, time(), UTC))

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _day(value: Any, label: str, text: str) -> date:
    if isinstance(value, datetime):
        if value.time() != time():
            raise ProcmineError(f"{label}: {text!r} must be whole days (YYYY-MM-DD)")
        return value.date()
    if isinstance(value, date):
        return value
    value = str(value).strip()
    if _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ProcmineError(f"{label}: {text!r} is not START..END with ISO dates (YYYY-MM-DD), "
                        "e.g. 2016-03-01..2016-06-01")


def period(value: str | Period | tuple[Any, Any] | list[Any], label: str) -> Period:
    """A period from "START..END" (ISO dates, END exclusive), a (start, end) pair of dates or
    ISO strings, or a Period; a one-line error naming `label` otherwise."""
    if isinstance(value, Period):   # (a label it was given, e.g. the CLI's flag, stays)
        return value if value.label != "period" else Period(value.start, value.end, label)
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, str):
        parts = value.split("..")
        if len(parts) != 2:
            raise ProcmineError(f"{label}: {value!r} is not START..END with ISO dates "
                                "(YYYY-MM-DD), e.g. 2016-03-01..2016-06-01")
    elif isinstance(value, tuple | list) and len(value) == 2:
        parts = list(value)
    else:
        raise ProcmineError(f"{label}: {text!r} is not a (start, end) pair of dates")
    start, end = (_day(p, label, text) for p in parts)
    if end <= start:
        raise ProcmineError(f"{label}: END {end.isoformat()} is not after START "
                            f"{start.isoformat()} (START..END, END exclusive)")
    return Period(start, end, label)


@dataclass
class Comparison:
    """Two periods side by side: one polars frame per section, sorted by |effect|, largest
    first. Columns: section, item, measure (the unit of before/after: cases, transitions,
    share, median h, mean, cases/day), before, after, difference (after − before),
    before_share / after_share (count rows: the share of the period's cases, or of its
    transitions for edges), n_before / n_after (the denominators or sample sizes), test,
    statistic, p_value, q_value, effect, effect_measure (cohen_h, rank_biserial, cohen_d:
    positive = higher after) and detail."""

    before: Period
    after: Period
    cases_before: int
    cases_after: int
    sections: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def kpis(self) -> pl.DataFrame:
        return self.sections["kpis"]

    @property
    def variants(self) -> pl.DataFrame:
        return self.sections["variants"]

    @property
    def edges(self) -> pl.DataFrame:
        return self.sections["edges"]

    @property
    def waits(self) -> pl.DataFrame:
        return self.sections["waits"]

    @property
    def waste(self) -> pl.DataFrame:
        return self.sections["waste"]

    def frame(self) -> pl.DataFrame:
        """Every section in one frame (the `section` column says which)."""
        import polars as pl

        return pl.concat([self.sections[name] for name in SECTIONS], how="vertical")


# -- the tests ----------------------------------------------------------------------------

def cohens_h(p_before: float, p_after: float) -> float:
    """Cohen's h: the difference of two proportions on the arcsine scale (0.2 small, 0.5
    medium, 0.8 large)."""
    return 2 * math.asin(math.sqrt(p_after)) - 2 * math.asin(math.sqrt(p_before))


def proportions(k_before: int, n_before: int, k_after: int, n_after: int,
                ) -> tuple[str, float, float, float]:
    """(test, statistic, p, Cohen's h) for k of n before against k of n after."""
    from scipy.stats import chi2_contingency, fisher_exact

    if n_before == 0 or n_after == 0:
        return "", math.nan, math.nan, math.nan
    effect = cohens_h(k_before / n_before, k_after / n_after)
    table = np.array([[k_before, n_before - k_before], [k_after, n_after - k_after]])
    if (table.sum(axis=0) == 0).any():   # 0 % or 100 % in both periods: nothing differs
        return "", math.nan, 1.0, effect
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() < FISHER_BELOW:
        odds, p = fisher_exact(table)
        return "fisher", float(odds), float(p), effect
    chi2, p, _, _ = chi2_contingency(table, correction=True)
    return "chi-square", float(chi2), float(p), effect


def ranks(before: np.ndarray, after: np.ndarray) -> tuple[str, float, float, float]:
    """(test, U, p, rank-biserial r) of Mann–Whitney U, after against before."""
    from scipy.stats import mannwhitneyu

    if len(before) == 0 or len(after) == 0:
        return "", math.nan, math.nan, math.nan
    result = mannwhitneyu(after, before, alternative="two-sided")
    u = float(result.statistic)
    return "mann-whitney", u, float(result.pvalue), 2 * u / (len(before) * len(after)) - 1


def means(before: np.ndarray, after: np.ndarray) -> tuple[str, float, float, float]:
    """(test, t, p, Cohen's d) of Welch's t-test, after against before."""
    from scipy.stats import ttest_ind

    if len(before) < 2 or len(after) < 2:
        return "", math.nan, math.nan, math.nan
    result = ttest_ind(after, before, equal_var=False)
    pooled = math.sqrt((before.var(ddof=1) + after.var(ddof=1)) / 2)
    effect = (after.mean() - before.mean()) / pooled if pooled > 0 else 0.0
    return "welch-t", float(result.statistic), float(result.pvalue), float(effect)


def rate_of_cases(n_before: int, days_before: int, n_after: int, days_after: int,
                  ) -> tuple[str, float, float, float]:
    """(test, k, p, Cohen's h) of an exact binomial test: does the after period hold the
    share of the cases that its share of the days predicts (equal cases per day)?"""
    from scipy.stats import binomtest

    total = n_before + n_after
    expected = days_after / (days_before + days_after)
    p = binomtest(n_after, total, expected).pvalue
    return "binomial", float(n_after), float(p), cohens_h(expected, n_after / total)


# -- the sections -------------------------------------------------------------------------

def _row(section: str, item: str, measure: str, before: float | None, after: float | None,
         test: tuple[str, float, float, float], *, before_share: float | None = None,
         after_share: float | None = None, n_before: int = 0, n_after: int = 0,
         effect_measure: str = "", detail: str = "") -> dict[str, Any]:
    name, statistic, p, effect = test
    difference = None if before is None or after is None else after - before
    return {"section": section, "item": item, "measure": measure, "before": before,
            "after": after, "difference": difference, "before_share": before_share,
            "after_share": after_share, "n_before": n_before, "n_after": n_after,
            "test": name, "statistic": _num(statistic), "p_value": _num(p), "q_value": None,
            "effect": _num(effect), "effect_measure": effect_measure if name else "",
            "detail": detail}


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _median_h(values: np.ndarray) -> float | None:
    return float(np.median(values)) / HOUR if len(values) else None


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The section's rows, q-values added, sorted by |effect| (untested rows last)."""
    import polars as pl
    from scipy.stats import false_discovery_control

    tested = [i for i, r in enumerate(rows) if r["p_value"] is not None]
    if tested:
        q = false_discovery_control([rows[i]["p_value"] for i in tested])
        for i, value in zip(tested, q, strict=True):
            rows[i]["q_value"] = float(value)
    schema = {c: pl.Float64 for c in COLUMNS}
    schema.update({c: pl.Utf8 for c in ("section", "item", "measure", "test",
                                        "effect_measure", "detail")})
    schema.update({"n_before": pl.Int64, "n_after": pl.Int64})
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(
        schema=schema)
    return (frame.with_columns(pl.col("effect").abs().alias("_size"))
            .sort(["_size", "item"], descending=[True, False], nulls_last=True)
            .drop("_size"))


def _kpis(cases: dict[str, dict[str, np.ndarray]], before: Period, after: Period,
          ) -> pl.DataFrame:
    b, a = cases["before"], cases["after"]
    nb, na = b["cases"], a["cases"]
    rows = [_row("kpis", "cases opened per day", "cases/day", nb / before.days, na / after.days,
                 rate_of_cases(nb, before.days, na, after.days), n_before=nb, n_after=na, effect_measure="cohen_h",
                 detail=f"{nb:,} cases in {before.days} days → {na:,} in {after.days} days")]

    def values(frame: dict[str, np.ndarray], column: str, where: str | None = None) -> np.ndarray:
        data = frame[column]
        keep = ~np.isnan(data) if data.dtype.kind == "f" else np.ones(len(data), bool)
        if where is not None:
            keep &= frame[where]
        return data[keep].astype(np.float64)

    for item, column, where in (("median resolution time", "resolution_s", "resolved"),
                                ("median response time", "response_s", None),
                                ("median case duration", "duration_s", None)):
        vb, va = values(b, column, where), values(a, column, where)
        rows.append(_row("kpis", item, "median h", _median_h(vb), _median_h(va), ranks(vb, va),
                         n_before=len(vb), n_after=len(va), effect_measure="rank_biserial"))
    vb, va = values(b, "resolution_s", "resolved"), values(a, "resolution_s", "resolved")
    rows.append(_row("kpis", "mean resolution time", "mean h",
                     float(vb.mean()) / HOUR if len(vb) else None,
                     float(va.mean()) / HOUR if len(va) else None, means(vb, va),
                     n_before=len(vb), n_after=len(va), effect_measure="cohen_d"))
    for item, column in (("hand-offs per case", "handoffs"),
                         ("waste hours per case", "waste_hours")):
        vb, va = values(b, column), values(a, column)
        rows.append(_row("kpis", item, "mean", float(vb.mean()) if len(vb) else None,
                         float(va.mean()) if len(va) else None, ranks(vb, va),
                         n_before=len(vb), n_after=len(va), effect_measure="rank_biserial",
                         detail="tested: Mann–Whitney U on the per-case values"))
    for item, flag, among in (("SLA rate", "sla_met", None),
                              ("reopen rate", "reopened", None),
                              ("first-contact resolution rate", "first_contact_resolution",
                               "resolved"),
                              ("reassignment rate", "reassigned", None),
                              ("ping-pong rate", "ping_ponged", None)):
        kb, nb_ = _share(b, flag, among)
        ka, na_ = _share(a, flag, among)
        rows.append(_row("kpis", item, "share", kb / nb_ if nb_ else None,
                         ka / na_ if na_ else None, proportions(kb, nb_, ka, na_),
                         n_before=nb_,
                         n_after=na_, effect_measure="cohen_h",
                         detail=f"{kb:,} of {nb_:,} → {ka:,} of {na_:,}" if nb_ or na_
                         else "no values in this log"))
    return _frame(rows)


def _share(frame: dict[str, np.ndarray], flag: str, among: str | None) -> tuple[int, int]:
    """(cases with the flag, cases it is known for) [among those with `among`]."""
    values = frame[flag]
    known = ~frame[f"{flag}_null"] if f"{flag}_null" in frame else np.ones(len(values), bool)
    if among is not None:
        known &= frame[among]
    return int((values & known).sum()), int(known.sum())


def _case_arrays(table: pa.Table | None) -> dict[str, dict[str, Any]]:
    """compare_cases.sql's rows as numpy arrays per period (NULLs: NaN, or a `_null` flag)."""
    import polars as pl

    frame = pl.DataFrame() if table is None else pl.from_arrow(table)
    out: dict[str, dict[str, Any]] = {}
    for name in ("before", "after"):
        part = (frame.filter(pl.col("period") == name) if frame.height else
                pl.DataFrame(schema={c: pl.Float64 for c in CASE_COLUMNS}))
        arrays: dict[str, Any] = {"cases": part.height}
        for column in ("resolution_s", "response_s", "duration_s", "waste_hours", "handoffs",
                       "ping_pong"):
            arrays[column] = part[column].cast(pl.Float64).fill_null(math.nan).to_numpy()
        for column in ("resolved", "sla_met", "reopened", "first_contact_resolution"):
            values = part[column].cast(pl.Boolean)
            arrays[column] = values.fill_null(False).to_numpy().astype(bool)
            arrays[f"{column}_null"] = values.is_null().to_numpy().astype(bool)
        arrays["reassigned"] = np.nan_to_num(arrays["handoffs"]) > 0
        arrays["reassigned_null"] = np.isnan(arrays["handoffs"])
        arrays["ping_ponged"] = np.nan_to_num(arrays["ping_pong"]) > 0
        arrays["ping_ponged_null"] = np.isnan(arrays["ping_pong"])
        out[name] = arrays
    return out


def _variants(rows: list[tuple[Any, ...]], cases_before: int, cases_after: int,
              ) -> pl.DataFrame:
    counts: dict[str, dict[str, Any]] = {}
    for period_name, variant, rank, activities, cases in rows:
        entry = counts.setdefault(variant, {"rank": rank, "activities": activities,
                                            "before": 0, "after": 0})
        entry[period_name] = int(cases)
    out = []
    for variant, c in counts.items():
        path = " → ".join(c["activities"] or [])
        label = f"#{c['rank']} " if c["rank"] is not None else ""
        out.append(_row("variants", f"{label}{variant}", "cases", float(c["before"]),
                        float(c["after"]),
                        proportions(c["before"], cases_before, c["after"], cases_after),
                        before_share=c["before"] / cases_before,
                        after_share=c["after"] / cases_after, n_before=cases_before,
                        n_after=cases_after, effect_measure="cohen_h", detail=path))
    return _frame(out)


def _edges(rows: list[tuple[Any, ...]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The edges' frequency (share of the period's transitions) and their waits."""
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    totals = {"before": 0, "after": 0}
    for period_name, source, target, count, cases, waits in rows:
        entry = edges.setdefault((source, target), {})
        entry[period_name] = (int(count), int(cases), np.asarray(waits, dtype=np.float64))
        totals[period_name] += int(count)
    empty = (0, 0, np.zeros(0))
    frequency, waits_rows = [], []
    tb, ta = totals["before"], totals["after"]
    for (source, target), entry in edges.items():
        item = f"{source} → {target}"
        kb, cb, wb = entry.get("before", empty)
        ka, ca, wa = entry.get("after", empty)
        frequency.append(_row("edges", item, "transitions", float(kb), float(ka),
                              proportions(kb, tb, ka, ta),
                              before_share=kb / tb if tb else None,
                              after_share=ka / ta if ta else None, n_before=tb, n_after=ta,
                              effect_measure="cohen_h",
                              detail=f"cases {cb:,} → {ca:,}"))
        if len(wb) and len(wa):
            tested = min(len(wb), len(wa)) >= MIN_WAITS
            waits_rows.append(_row(
                "waits", item, "median wait h", _median_h(wb), _median_h(wa),
                ranks(wb, wa) if tested else ("", math.nan, math.nan, math.nan),
                n_before=len(wb), n_after=len(wa), effect_measure="rank_biserial",
                detail=f"mean wait h {wb.mean() / HOUR:,.2f} → {wa.mean() / HOUR:,.2f}"
                + ("" if tested else f"; not tested: fewer than {MIN_WAITS} waits in a period")))
    return _frame(frequency), _frame(waits_rows)


def _waste(rows: list[tuple[Any, ...]], cases_before: int, cases_after: int) -> pl.DataFrame:
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for period_name, stage, waste_type, cases, instances, hours in rows:
        cells.setdefault((stage or "(none)", waste_type), {})[period_name] = (
            int(cases), int(instances), float(hours or 0.0))
    out = []
    for (stage, waste_type), entry in cells.items():
        kb, ib, hb = entry.get("before", (0, 0, 0.0))
        ka, ia, ha = entry.get("after", (0, 0, 0.0))
        out.append(_row("waste", f"{stage} × {waste_type}", "cases", float(kb), float(ka),
                        proportions(kb, cases_before, ka, cases_after),
                        before_share=kb / cases_before, after_share=ka / cases_after,
                        n_before=cases_before, n_after=cases_after, effect_measure="cohen_h",
                        detail=f"instances {ib:,} → {ia:,}; hours {hb:,.0f} → {ha:,.0f}"))
    return _frame(out)


# -- reading ------------------------------------------------------------------------------

def _read(conn: duckdb.DuckDBPyConnection, model: str,
          ) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = execute_readonly(conn, load_sql(f"analyses/{model}.sql"))
    return [d[0] for d in cursor.description], cursor.fetchall()


def compare(db_path: Path, before: Period, after: Period) -> Comparison:
    """Compare the cases opened in `before` with those opened in `after` (see the module)."""
    if before.start < after.end and after.start < before.end:
        raise ProcmineError(f"{before.label} {before} and {after.label} {after} overlap: a "
                            "case would be in both; choose periods that do not overlap")
    start_b, end_b = before.bounds()
    start_a, end_a = after.bounds()
    params = {"before_start": start_b, "before_end": end_b, "after_start": start_a,
              "after_end": end_a}
    conn = connect_readonly(db_path)
    try:   # (a temp table: the published file stays untouched)
        materialise(conn, "analyses/compare_period_cases", PERIOD_CASES, params, temp=True)
        cases = _case_arrays(arrow_readonly(conn, load_sql("analyses/compare_cases.sql")))
        for chosen, name in ((before, "before"), (after, "after")):
            if cases[name]["cases"] == 0:
                _, ((first, last, total),) = _read(conn, "compare_span")
                span = (f"the {total:,} cases were opened from {first:%Y-%m-%d} to "
                        f"{last:%Y-%m-%d}" if total else "marts.case_kpis is empty: run "
                        "procmine mine first")
                raise ProcmineError(f"{chosen.label} {chosen}: no case was opened in this "
                                    f"period; {span}")
        _, variant_rows = _read(conn, "compare_variants")
        _, edge_rows = _read(conn, "compare_edges")
        _, waste_rows = _read(conn, "compare_waste")
    finally:
        conn.close()
    nb, na = cases["before"]["cases"], cases["after"]["cases"]
    edges, waits = _edges(edge_rows)
    return Comparison(before, after, nb, na, {
        "kpis": _kpis(cases, before, after),
        "variants": _variants(variant_rows, nb, na),
        "edges": edges,
        "waits": waits,
        "waste": _waste(waste_rows, nb, na),
    })
