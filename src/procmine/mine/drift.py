"""Drift detection: when did the process change, in what, how much, and which paths changed.

Weekly series over the last `window_weeks` complete weeks (each case in the week of its first
event; SQL models intermediate/drift_*.sql): four KPIs (cases opened, median hours to
resolution, hand-offs per case, reopen rate) and three mixes (the share of cases with each
directly-follows edge, each hand-off edge between groups, each variant). Each series is
standardised by its sampling noise (binomial for shares, Poisson for counts, the standard error
of a mean, the spread of week-to-week differences for the median), inflated by the
overdispersion the week-to-week differences show, so that a stationary series is roughly
standard normal. ruptures' PELT (least-squares cost, `model="l2"`) then finds the change points
of each KPI (one column) and of each mix (one column per item) with the penalty

    pen = d + penalty · √(2 · d · ln n) + 2 · ln n     (d columns, n weeks)

which a split of pure noise exceeds about once in a thousand series (calibrated by simulation).
A mix's contributors are its items ranked by their share of the change's cost reduction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import polars as pl

from procmine.config import Config
from procmine.errors import ConfigError
from procmine.mine.events import EventArrays
from procmine.mine.variants import Table, object_array
from procmine.sql import run_sql
from procmine.sql.models import materialise_sql, model_query

KPIS = ("cases_opened", "median_resolution_h", "handoffs_per_case", "reopen_rate")
MIXES = {"edge": "directly-follows edges", "handoff": "hand-off edges", "variant": "variants"}
COLUMNS = ("week", "kind", "series", "before_value", "after_value", "change",
           "relative_change", "score", "weeks_before", "weeks_after", "contributors",
           "contributor_detail", "window_start", "window_end")
TEMPS = ("_drift_week", "_drift_case")
# the mining index's per-case tables intermediate/drift_*.sql read (case_tables)
INDEX_TABLES = ("_mine_drift_case", "_mine_drift_handoff", "_mine_drift_handoff_name")


@dataclass(frozen=True)
class DriftSettings:
    """[drift] in the configuration (docs/drift.md)."""

    window_weeks: int = 26      # complete weeks analysed, the latest ones
    penalty: float = 3.0        # c in pen = d + c·√(2·d·ln n) + 2·ln n
    min_size: int = 3           # weeks: the shortest regime PELT may find
    min_item_cases: int = 20    # an edge or variant is followed from this many cases
    top_items: int = 30         # per mix, the most frequent items followed
    contributors: int = 3       # listed per mix change

    @classmethod
    def from_config(cls, config: Config) -> DriftSettings:
        section = config.section("drift")
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"[drift] unknown keys {sorted(unknown)}; known: "
                              f"{', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in section.items():
            kind = float if key == "penalty" else int
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"[drift] {key} must be a positive number, got {value!r}")
            values[key] = kind(value)
        settings = cls(**values)
        if settings.window_weeks < 2 * settings.min_size:
            raise ConfigError(f"[drift] window_weeks ({settings.window_weeks}) must be at "
                              f"least twice min_size ({settings.min_size})")
        return settings


def penalty(settings: DriftSettings, weeks: int, columns: int) -> float:
    """The PELT penalty for `columns` standardised series over `weeks` weeks."""
    log_n = math.log(weeks)
    return columns + settings.penalty * math.sqrt(2 * columns * log_n) + 2 * log_n


def weekly_series(conn: duckdb.DuckDBPyConnection, settings: DriftSettings,
                  events: EventArrays, case_variant: np.ndarray
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(weekly KPIs, weekly item counts) of the window, from the mining index (`events`, each
    case's variant) as mining has it: no second read and sort of core.events. Needs
    _mine_variant and _mine_case_id (mining builds both; load_events rebuilds an index that
    is out of step with core.events, so every store has one)."""
    tables = case_tables(events, case_variant)
    params = {"window_weeks": settings.window_weeks, "min_item_cases": settings.min_item_cases}
    try:
        for name, table in zip(INDEX_TABLES, tables, strict=True):
            conn.register(name, table)
        run_sql(conn, materialise_sql("intermediate/drift_weeks", "_drift_week", temp=True),
                params)
        run_sql(conn, materialise_sql("intermediate/drift_cases", "_drift_case", temp=True),
                params)
        kpis = _frame_of(conn, "intermediate/drift_kpis_weekly", {})
        items = _frame_of(conn, "intermediate/drift_items_weekly",
                          {"min_item_cases": settings.min_item_cases})
    finally:
        for name in INDEX_TABLES:
            conn.unregister(name)
        for temp in TEMPS:
            conn.execute(f"DROP TABLE IF EXISTS {temp}")
    return kpis, items


def case_tables(events: EventArrays, case_variant: np.ndarray) -> tuple[Table, Table, Table]:
    """(_mine_drift_case, _mine_drift_handoff, _mine_drift_handoff_name): per case its first
    and last event time (epoch microseconds), variant and hand-offs (a change of org_group
    between consecutive events of the case, both with a group); each distinct hand-off edge
    of each case (ci, code) and the edges' names ('from → to')."""
    g = events.g
    change = np.zeros(events.n, dtype=bool)
    if events.n > 1:
        change[1:] = ~events.new_case[1:] & (g[1:] != 0) & (g[:-1] != 0) & (g[1:] != g[:-1])
    at = np.flatnonzero(change)
    ci = events.ci[at].astype(np.int64)
    width = np.int64(max(len(events.vocab.groups), 1))
    pairs = np.unique(ci * (width * width) + g[at - 1].astype(np.int64) * width + g[at])
    codes, item = np.unique(pairs % (width * width), return_inverse=True)
    groups = events.vocab.groups
    names = [f"{groups[int(c // width)]} → {groups[int(c % width)]}" for c in codes]
    cases = {"ci": np.arange(events.cases, dtype=np.int32),
             "first_us": events.t[events.starts], "last_us": events.t[events.ends - 1],
             "vi": case_variant,
             "handoffs": np.bincount(ci, minlength=events.cases).astype(np.int64)}
    handoff = {"ci": (pairs // (width * width)).astype(np.int32),
               "code": item.reshape(-1).astype(np.int32)}
    return cases, handoff, {"code": np.arange(len(names), dtype=np.int32),
                            "item": object_array(names)}


def _frame_of(conn: duckdb.DuckDBPyConnection, model: str,
              params: dict[str, Any]) -> pl.DataFrame:
    frame = conn.sql(model_query(model), params=params or None).pl()
    assert isinstance(frame, pl.DataFrame)
    return frame


def detect_drift(kpis: pl.DataFrame, items: pl.DataFrame,
                 settings: DriftSettings) -> pl.DataFrame:
    """The change points of the weekly series (columns COLUMNS, one row per change)."""
    weeks: list[date] = kpis["week"].to_list()
    n = len(weeks)
    rows: list[dict[str, Any]] = []
    if n < 2 * settings.min_size:
        return _frame(rows)
    window = (weeks[0], weeks[-1] + timedelta(days=7))
    cases = kpis["cases"].to_numpy().astype(np.float64)
    for name, raw, z in _kpi_series(kpis):
        for k, before, after, score in _changes(z[:, None], settings):
            b, a = float(np.nanmean(raw[before])), float(np.nanmean(raw[after]))
            rows.append(_row(weeks, k, before, after, "kpi", name, b, a, score, window))
    for kind, label in MIXES.items():
        names, shares, z = _mix(items.filter(pl.col("kind") == kind), weeks, cases, settings)
        if not names:
            continue
        for k, before, after, score in _changes(z, settings):
            gain = _column_gains(z, before, after)
            order = np.argsort(-gain, kind="stable")[:settings.contributors]
            b, a = shares[before].mean(axis=0), shares[after].mean(axis=0)
            top = int(order[0])
            row = _row(weeks, k, before, after, kind, label, float(b[top]), float(a[top]),
                       score, window)
            row["contributors"] = [names[i] for i in order]
            row["contributor_detail"] = "; ".join(
                f"{names[i]}: {b[i]:.1%} → {a[i]:.1%}" for i in order)
            rows.append(row)
    return _frame(rows)


def preload() -> None:
    """Import ruptures (and the scipy parts it pulls in: about a second of CPU) ahead of
    detect_drift, in a thread beside mining's SQL, which frees the GIL."""
    import ruptures  # noqa: F401


def compute_drift(conn: duckdb.DuckDBPyConnection, settings: DriftSettings,
                  events: EventArrays, case_variant: np.ndarray) -> pl.DataFrame:
    """The drift findings of the store's events (not written anywhere), from mining's index
    (`events`, each case's `case_variant`)."""
    return detect_drift(*weekly_series(conn, settings, events, case_variant), settings)


def _kpi_series(kpis: pl.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, raw weekly values, standardised values) of each KPI with data every week."""
    cases = kpis["cases"].to_numpy().astype(np.float64)
    out = []
    mean = cases.mean()
    out.append(("cases_opened", cases, (cases - mean) / math.sqrt(max(mean, 1.0))))
    median = kpis["median_resolution_h"].to_numpy().astype(np.float64)
    if np.all(np.isfinite(median)) and np.all(median > 0):
        logged = np.log(median)
        spread = float(np.std(np.diff(logged)) / math.sqrt(2))
        if spread > 0:
            out.append(("median_resolution_h", median, (logged - logged.mean()) / spread))
    handoffs = kpis["handoffs_mean"].to_numpy().astype(np.float64)
    sd = kpis["handoffs_sd"].to_numpy().astype(np.float64)
    pooled = math.sqrt(float(np.sum(sd**2 * np.maximum(cases - 1, 0)))
                       / max(float(cases.sum() - len(cases)), 1.0))
    if pooled > 0:
        overall = float(np.sum(handoffs * cases) / cases.sum())
        out.append(("handoffs_per_case", handoffs,
                     (handoffs - overall) / (pooled / np.sqrt(cases))))
    reopened = kpis["reopened"].to_numpy().astype(np.float64)
    rate = reopened / cases
    overall = reopened.sum() / cases.sum()
    if 0 < overall < 1:
        out.append(("reopen_rate", rate, (rate - overall) / np.sqrt(overall * (1 - overall)
                                                                    / cases)))
    return [(name, raw, _deflate(z)) for name, raw, z in out]


def _mix(items: pl.DataFrame, weeks: list[date], cases: np.ndarray,
         settings: DriftSettings) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The followed items of a mix, their weekly shares of cases and standardised shares."""
    if items.is_empty():
        return [], np.empty((len(weeks), 0)), np.empty((len(weeks), 0))
    totals = items.group_by("item").agg(pl.col("cases").sum()).sort(
        ["cases", "item"], descending=[True, False]).head(settings.top_items)
    names: list[str] = totals["item"].to_list()
    index = {name: i for i, name in enumerate(names)}
    at = {week: i for i, week in enumerate(weeks)}
    counts = np.zeros((len(weeks), len(names)))
    for week, item, n in items.select("week", "item", "cases").iter_rows():
        if item in index and week in at:
            counts[at[week], index[item]] = n
    shares = counts / cases[:, None]
    overall = counts.sum(axis=0) / cases.sum()
    keep = (overall > 0) & (overall < 1)
    names = [name for name, kept in zip(names, keep, strict=True) if kept]
    shares, overall = shares[:, keep], overall[keep]
    z = (shares - overall) / np.sqrt(overall * (1 - overall) / cases[:, None])
    return names, shares, np.column_stack([_deflate(z[:, j]) for j in range(z.shape[1])]) \
        if names else z


def _deflate(z: np.ndarray) -> np.ndarray:
    """z over its overdispersion (the variance of week-to-week differences / 2, at least 1)."""
    dispersion = float(np.mean(np.diff(z) ** 2) / 2) if len(z) > 1 else 1.0
    return (z - z.mean()) / math.sqrt(max(dispersion, 1.0))


def _changes(signal: np.ndarray,
             settings: DriftSettings) -> list[tuple[int, slice, slice, float]]:
    """(index of the new regime's first week, weeks before, weeks after, score) per change
    point PELT finds; score = the split's cost reduction / the penalty."""
    import ruptures  # imported here: the mine stage's other work does not need it

    n, d = signal.shape
    pen = penalty(settings, n, d)
    ends = ruptures.Pelt(model="l2", min_size=settings.min_size, jump=1).fit(
        signal).predict(pen=pen)
    bounds = [0, *ends]
    found = []
    for i in range(1, len(bounds) - 1):
        before, after = slice(bounds[i - 1], bounds[i]), slice(bounds[i], bounds[i + 1])
        gain = float(_column_gains(signal, before, after).sum())
        found.append((bounds[i], before, after, gain / pen))
    return found


def _column_gains(signal: np.ndarray, before: slice, after: slice) -> np.ndarray:
    """Per column, the least-squares cost a split between the two segments saves."""
    a, b = signal[before], signal[after]
    n1, n2 = len(a), len(b)
    return n1 * n2 / (n1 + n2) * (a.mean(axis=0) - b.mean(axis=0)) ** 2


def _row(weeks: list[date], k: int, before: slice, after: slice, kind: str, series: str,
         b: float, a: float, score: float, window: tuple[date, date]) -> dict[str, Any]:
    return {"week": weeks[k], "kind": kind, "series": series, "before_value": b,
            "after_value": a, "change": a - b, "relative_change": (a - b) / b if b else None,
            "score": score, "weeks_before": before.stop - before.start,
            "weeks_after": after.stop - after.start, "contributors": [],
            "contributor_detail": None, "window_start": window[0], "window_end": window[1]}


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {"week": pl.Date, "kind": pl.Utf8, "series": pl.Utf8, "before_value": pl.Float64,
              "after_value": pl.Float64, "change": pl.Float64, "relative_change": pl.Float64,
              "score": pl.Float64, "weeks_before": pl.Int32, "weeks_after": pl.Int32,
              "contributors": pl.List(pl.Utf8), "contributor_detail": pl.Utf8,
              "window_start": pl.Date, "window_end": pl.Date}
    return pl.DataFrame(rows, schema=schema)
