"""The waits of the directly-follows steps (an event's wait: the time to the next event of its
case), aggregated per group in numpy for transitions.sql (per activity pair) and
bottlenecks.sql (per transition, group and sourcing, each with the stage and clock class of
the wait): per group the steps, the distinct cases, the sum and mean of the waits and their
quantiles, as DuckDB's quantile_cont computes them (`grouped_waits`).

A group's waits are found by one sort of (group, wait) packed into one int64, instead of
DuckDB's median() buffering every wait per group in three aggregations over every step.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from procmine.mine.events import EventArrays, code_dtype
from procmine.mine.settings import CLOCK_CLASSES
from procmine.mine.variants import Table

US_PER_S = 1e6
# above this many group codes, the codes present are numbered densely first (np.unique):
# the per-code counts stay small whatever the vocabularies' sizes
DENSE_GROUPS = 1 << 20


def quantile_cont(ordered: np.ndarray, starts: np.ndarray, sizes: np.ndarray, q: float,
                  scale: float = 1.0) -> np.ndarray:
    """Per group (its values ordered[start:start + size] / scale, ascending, size > 0) the
    quantile q of its values as DuckDB's quantile_cont (and median, q = 0.5) gives it: at the
    position (size - 1) * q, the value there, or lo * (1 - d) + hi * d between the values at
    its floor and ceiling (d: its fraction; `_interpolate`)."""
    position = (sizes - 1).astype(np.float64) * q
    floor, ceil = np.floor(position), np.ceil(position)
    lo = ordered[starts + floor.astype(np.int64)] / scale
    hi = ordered[starts + ceil.astype(np.int64)] / scale
    between = np.flatnonzero(floor != ceil)
    out = lo.copy()
    out[between] = _interpolate(lo[between], hi[between], (position - floor)[between])
    return out


def _interpolate(lo: np.ndarray, hi: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """lo * (1 - d) + hi * d rounded as DuckDB's build computes it: the first product fused
    into the sum (one rounding, an FMA). Only where lo * (1 - d) is inexact does that differ
    from numpy's two roundings (never at d = 0.5, a median's): there it is taken exactly."""
    share = 1.0 - fraction
    upper = hi * fraction
    out = lo * share + upper
    for i in np.flatnonzero(fraction != 0.5).tolist():
        out[i] = float(Fraction(float(lo[i])) * Fraction(float(share[i]))
                       + Fraction(float(upper[i])))
    return out


def _sorted_waits(key: np.ndarray, groups: int, dwell_us: np.ndarray) -> np.ndarray:
    """The waits (microseconds) ordered by (group, wait): `key` (int64 codes 0..groups - 1)
    is packed with the wait into itself and sorted in place when both fit in 63 bits (else a
    lexsort)."""
    shift = 63 - max(groups - 1, 1).bit_length()
    if int(dwell_us.max(initial=0)) >= 1 << shift:
        return dwell_us[np.lexsort((dwell_us, key))]
    key <<= shift
    key |= dwell_us
    key.sort()
    key &= (1 << shift) - 1
    return key


def _distinct_cases(events: EventArrays, key: np.ndarray, groups: int) -> np.ndarray:
    """Per group code, the number of distinct cases with a step in it, counted range by range
    of whole cases: their (case, group) pairs packed into one int64 come in case order, so a
    stable sort (timsort, merging the runs it finds) orders them in about one pass."""
    bits = max(groups - 1, 1).bit_length()
    cases = np.zeros(groups, np.int64)
    ci = events.ci
    for lo, hi in events.case_chunks():
        pairs = np.left_shift(ci[lo:hi], bits, dtype=np.int64)
        pairs |= key[lo:hi]
        pairs.sort(kind="stable")
        first = np.ones(hi - lo, dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        pairs = pairs[first]
        pairs &= (1 << bits) - 1
        cases += np.bincount(pairs, minlength=groups)
    return cases


def grouped_waits(events: EventArrays, key: np.ndarray, groups: int,
                  quantiles: tuple[float, ...], *, cases: bool) -> Table:
    """Per group code 0..groups - 1 with steps (`key`: each event's group code as int64,
    `groups` for the events not counted; sorted in place): code, steps, total_wait_s,
    mean_wait_s, q<i> (the quantiles of the waits in seconds) and, when asked, cases
    (distinct cases)."""
    codes = None
    if groups > DENSE_GROUPS:   # the codes present, numbered (the uncounted one last)
        codes, dense = np.unique(key, return_inverse=True)
        groups = len(codes) - int(codes[-1] == groups)
        key = dense.astype(np.int64).reshape(-1)
        del dense
    steps = np.bincount(key, minlength=groups + 1)[:groups]
    present = np.flatnonzero(steps)
    sizes = steps[present]
    out: Table = {"code": present if codes is None else codes[present], "steps": sizes}
    if cases:
        out["cases"] = _distinct_cases(events, key, groups + 1)[present]
    ends = np.cumsum(steps)[present]
    starts = ends - sizes
    waits = _sorted_waits(key, groups + 1, events.dwell_us)
    for i, q in enumerate(quantiles):
        out[f"q{i}"] = quantile_cont(waits, starts, sizes, q, US_PER_S)
    # each group's sum on its own (numpy's pairwise summation of a contiguous slice)
    total = np.array([(waits[s:e] / US_PER_S).sum() for s, e in zip(starts, ends, strict=True)],
                     dtype=np.float64)
    out["total_wait_s"] = total
    out["mean_wait_s"] = total / sizes
    return out


def _pair_codes(events: EventArrays) -> np.ndarray:
    """Each event's (activity, next event's activity) code, activity * activities + next
    (any next activity for the last event)."""
    pair = events.a.astype(np.int64)
    pair *= len(events.vocab.activities)
    pair[:-1] += events.a[1:]
    return pair


def pair_waits(events: EventArrays) -> Table:
    """transitions.sql's input: per activity pair (from_a, to_a) with steps, their count n,
    the median, 90th percentile, mean and sum of the waits in seconds."""
    activities = len(events.vocab.activities)
    groups = activities * activities
    key = _pair_codes(events)
    key[~events.has_next] = groups
    found = grouped_waits(events, key, groups, (0.5, 0.9), cases=False)
    code = found["code"]
    return {"from_a": code // activities, "to_a": code % activities, "n": found["steps"],
            "median_wait_s": found["q0"], "p90_wait_s": found["q1"],
            "mean_wait_s": found["mean_wait_s"], "total_wait_s": found["total_wait_s"]}


def step_waits(events: EventArrays, wait_class: np.ndarray) -> dict[str, Table]:
    """bottlenecks.sql's inputs: the waits per (transition, stage, clock class),
    (group, stage, clock class) and (sourcing, stage, clock class) of the holder the case
    waits with (steps without a group / sourcing left out of those): codes, the median and
    mean wait in seconds, distinct cases and steps."""
    vocab = events.vocab
    activities = len(vocab.activities)
    # the stage and clock class of each wait (the codes' low part in every grouping)
    low = len(vocab.stages) * len(CLOCK_CLASSES)
    stage_class = events.st.astype(code_dtype(low))
    stage_class *= len(CLOCK_CLASSES)
    stage_class += wait_class
    holder = events.holder
    uncounted = ~events.has_next
    tables: dict[str, Table] = {}
    for name, column, size in (("_mine_transition_waits", "pair", activities * activities),
                               ("_mine_group_waits", "from_group", len(vocab.groups)),
                               ("_mine_sourcing_waits", "from_sourcing", len(vocab.sourcings))):
        groups = size * low
        if column == "pair":
            key = _pair_codes(events)
            skip = uncounted
        else:
            lookup = vocab.holder_group if column == "from_group" else vocab.holder_sourcing
            key = lookup.astype(np.int64)[holder]
            skip = uncounted | (key == 0)   # code 0: no group / sourcing
        key *= low
        key += stage_class
        key[skip] = groups
        del skip
        found = grouped_waits(events, key, groups, (0.5,), cases=True)
        del key
        code = found["code"]
        high = code // low
        own = ({"from_a": high // activities, "to_a": high % activities} if column == "pair"
               else {column: high})
        tables[name] = own | {"from_st": code % low // len(CLOCK_CLASSES),
                              "clock": code % len(CLOCK_CLASSES),
                              "median_wait_s": found["q0"], "mean_wait_s": found["mean_wait_s"],
                              "cases": found["cases"], "steps": found["steps"]}
    return tables
