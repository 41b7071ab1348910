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
from itertools import pairwise
from typing import Any

import duckdb
import numpy as np
import polars as pl

from procmine.config import Config
from procmine.errors import ConfigError
from procmine.mine.events import EventArrays
from procmine.mine.variants import Variants
from procmine.sql.models import model_query

KPIS = ("cases_opened", "median_resolution_h", "handoffs_per_case", "reopen_rate")
MIXES = {"edge": "directly-follows edges", "handoff": "hand-off edges", "variant": "variants"}
COLUMNS = ("week", "kind", "series", "before_value", "after_value", "change",
           "relative_change", "score", "weeks_before", "weeks_after", "contributors",
           "contributor_detail", "window_start", "window_end")


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
                  events: EventArrays, variants: Variants) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(weekly KPIs, weekly item counts) of the window, from the mining index (`events`,
    `variants`) with numpy: no second read of core.events and no SQL scan of every case
    (10M events: 3.6 s in SQL, most of it over cases outside the window). Each case's
    resolution and reopens come from _mine_case_id (core.cases; intermediate/drift_cases.sql),
    which mining's SQL writer builds (intermediate/case_ids.sql); load_events rebuilds an index that is out
    of step with core.events, so every store has one."""
    none = np.zeros(0, np.int64)
    if events.cases == 0:
        return _kpi_frame(none, {}), _item_frame(none, [], 1)
    first_us = events.t[events.starts]
    week = _week_start_days(first_us)
    weeks = _window_weeks(week, int(events.t[events.ends - 1].max()), settings.window_weeks)
    if not len(weeks):   # no complete week yet
        return _kpi_frame(none, {}), _item_frame(none, [], 1)
    at = np.minimum(np.searchsorted(weeks, week), len(weeks) - 1)
    inside = weeks[at] == week
    case_week = np.where(inside, at, -1)   # index into `weeks`, -1: outside the window
    cases = np.flatnonzero(inside)
    wk, n_weeks = at[cases], len(weeks)
    facts = conn.sql(model_query("intermediate/drift_cases")).fetchnumpy()
    ci = np.asarray(facts["ci"], dtype=np.int64)
    resolved = np.zeros(events.cases, dtype=bool)
    resolved_us = np.zeros(events.cases, dtype=np.int64)
    reopened = np.zeros(events.cases, dtype=bool)
    resolved[ci] = np.asarray(facts["resolved"], dtype=bool)
    resolved_us[ci] = np.asarray(facts["resolved_us"], dtype=np.int64)
    reopened[ci] = np.asarray(facts["reopened"], dtype=bool)
    handoffs, pair_ci, pair_code, pair_names = _handoffs(events, inside)
    hours = (resolved_us[cases] - first_us[cases]) / 1e6 / 3600.0   # as epoch(interval)/3600
    kpis = _kpi_frame(weeks, _weekly_kpis(n_weeks, wk, hours, resolved[cases],
                                          handoffs[cases], reopened[cases]))
    size = variants.size
    week_variant = np.bincount(wk * size + variants.case_variant[cases],
                               minlength=n_weeks * size).reshape(n_weeks, size)
    handoff = np.bincount(case_week[pair_ci] * len(pair_names) + pair_code,
                          minlength=n_weeks * len(pair_names)).reshape(n_weeks, len(pair_names))
    items = [("edge", *_edge_counts(week_variant, variants.activities)),
             ("handoff", pair_names, handoff),
             ("variant", *_by_name([" → ".join(a) for a in variants.activities],
                                   week_variant))]
    return kpis, _item_frame(weeks, items, settings.min_item_cases)


DAY_US = 86_400_000_000


def _week_start_days(us: np.ndarray) -> np.ndarray:
    """The Monday (days since 1970-01-01, UTC) of each epoch-microsecond time, as
    date_trunc('week', ...) in the store's UTC session (1970-01-01 was a Thursday)."""
    days = us // DAY_US
    return days - (days + 3) % 7


def _window_weeks(week: np.ndarray, last_us: int, window: int) -> np.ndarray:
    """The last `window` complete weeks in which cases were opened (sorted, days): the events
    reach past the week's end."""
    weeks = _distinct(week)
    complete = weeks[(weeks + 7) * DAY_US <= last_us]
    return complete[-window:] if window else complete[:0]


def _handoffs(events: EventArrays, inside: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """For the cases `inside` the window: per case (all cases, 0 outside) its hand-offs (a
    change of org_group between consecutive events of the case, both with a group); each
    distinct hand-off edge of each case (case index, edge code) and the edges' names
    ('from → to')."""
    g = events.g
    change = np.zeros(events.n, dtype=bool)
    if events.n > 1:
        change[1:] = (inside[events.ci[1:]] & ~events.new_case[1:] & (g[1:] != 0)
                      & (g[:-1] != 0) & (g[1:] != g[:-1]))
    at = np.flatnonzero(change)
    ci = events.ci[at].astype(np.int64)
    width = np.int64(max(len(events.vocab.groups), 1))
    pairs = _distinct(ci * (width * width) + g[at - 1].astype(np.int64) * width + g[at])
    edge = pairs % (width * width)
    present = np.bincount(edge, minlength=int(width * width)) > 0
    codes = np.flatnonzero(present)
    groups = events.vocab.groups
    names = [f"{groups[int(c // width)]} → {groups[int(c % width)]}" for c in codes]
    return (np.bincount(ci, minlength=events.cases), pairs // (width * width),
            (np.cumsum(present) - 1)[edge], names)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: a stable sort (timsort: fast on keys nearly in order, as
    case-major keys are) and a diff; np.unique's hash table took 2 s for 1.5M such int64
    keys, this 0.02 s."""
    ordered = np.sort(values, kind="stable")
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _weekly_kpis(n_weeks: int, wk: np.ndarray, hours: np.ndarray, resolved: np.ndarray,
                 handoffs: np.ndarray, reopened: np.ndarray) -> dict[str, np.ndarray]:
    """Per week: cases opened, resolved, the median hours to resolution (DuckDB's median:
    lo + (hi - lo) / 2 between the middle values), hand-offs per case (mean, sample
    standard deviation, 0 for one case) and reopened cases."""
    cases = np.bincount(wk, minlength=n_weeks)
    done = np.bincount(wk[resolved], minlength=n_weeks)
    order = np.lexsort((hours[resolved], wk[resolved]))
    sorted_hours = hours[resolved][order]
    bounds = np.concatenate([[0], np.cumsum(done)])
    median = np.full(n_weeks, np.nan)
    sd = np.zeros(n_weeks)
    by_week = np.argsort(wk, kind="stable")
    split = np.split(handoffs[by_week].astype(np.float64), np.cumsum(cases)[:-1])
    for w in range(n_weeks):
        k = int(done[w])
        if k:
            values = sorted_hours[bounds[w]:bounds[w + 1]]
            lo, hi = values[(k - 1) // 2], values[k // 2]
            median[w] = lo + (hi - lo) * 0.5
        if cases[w] > 1:
            sd[w] = float(np.std(split[w], ddof=1))
    sums = np.bincount(wk, weights=handoffs, minlength=n_weeks)
    return {"cases": cases, "resolved": done, "median_resolution_h": median,
            "handoffs_mean": sums / np.maximum(cases, 1), "handoffs_sd": sd,
            "reopened": np.bincount(wk[reopened], minlength=n_weeks)}


def _kpi_frame(weeks: np.ndarray, columns: dict[str, np.ndarray]) -> pl.DataFrame:
    week = pl.Series("week", weeks.astype(np.int32), dtype=pl.Int32).cast(pl.Date)
    out = pl.DataFrame({"week": week}).with_columns(
        pl.Series(name, columns.get(name, np.zeros(0)), dtype=kind)
        for name, kind in (("cases", pl.Int64), ("resolved", pl.Int64),
                           ("median_resolution_h", pl.Float64), ("handoffs_mean", pl.Float64),
                           ("handoffs_sd", pl.Float64), ("reopened", pl.Int64)))
    return out.with_columns(pl.col("median_resolution_h").fill_nan(None))


def _by_name(names: list[str], counts: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The columns of `counts` (weeks × items) summed per distinct item name."""
    unique: dict[str, int] = {}
    index = np.array([unique.setdefault(n, len(unique)) for n in names], dtype=np.int64)
    out = np.zeros((counts.shape[0], len(unique)), dtype=np.int64)
    np.add.at(out.T, index, counts.T)
    return list(unique), out


def _edge_counts(week_variant: np.ndarray, activities: list[list[str]]
                 ) -> tuple[list[str], np.ndarray]:
    """Per week and directly-follows edge ('a → b'), the cases whose variant has the edge
    (each variant's distinct edges, from its activities)."""
    present = np.flatnonzero(week_variant.sum(axis=0))
    unique: dict[str, int] = {}
    rows, cols = [], []
    for vi in present:
        acts = activities[vi]
        for item in {f"{a} → {b}" for a, b in pairwise(acts)}:
            rows.append(vi)
            cols.append(unique.setdefault(item, len(unique)))
    incidence = np.zeros((week_variant.shape[1], len(unique)))
    incidence[rows, cols] = 1.0
    counts = week_variant.astype(np.float64) @ incidence   # exact: integers below 2**53
    return list(unique), np.rint(counts).astype(np.int64)


def _item_frame(weeks: np.ndarray, items: list[tuple[str, list[str], np.ndarray]],
                min_item_cases: int) -> pl.DataFrame:
    """(week, kind, item, cases) for each item seen in at least `min_item_cases` cases of the
    window and each week it was seen in, ordered by kind, item, week."""
    parts = []
    for kind, names, counts in items:
        kept = np.flatnonzero(counts.sum(axis=0) >= min_item_cases)
        w, j = np.nonzero(counts[:, kept])
        parts.append(pl.DataFrame({
            "week": pl.Series(weeks[w].astype(np.int32), dtype=pl.Int32).cast(pl.Date),
            "kind": pl.Series([kind] * len(w), dtype=pl.Utf8),
            "item": pl.Series(np.array(names, dtype=object)[kept][j].tolist()
                              if len(kept) else [], dtype=pl.Utf8),
            "cases": pl.Series(counts[w, kept[j]], dtype=pl.Int64)}))
    schema = {"week": pl.Date, "kind": pl.Utf8, "item": pl.Utf8, "cases": pl.Int64}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).sort(["kind", "item", "week"])


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
                  events: EventArrays, variants: Variants) -> pl.DataFrame:
    """The drift findings of the store's events (not written anywhere), from mining's index
    (`events`, `variants`)."""
    return detect_drift(*weekly_series(conn, settings, events, variants), settings)


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
