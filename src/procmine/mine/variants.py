"""Variants (distinct activity sequences) and directly-follows steps, from the event arrays.

A case's sequence is fingerprinted by summing a 64-bit mix of (position, activity) over its
events (order-sensitive, collision odds ~2^-64 per pair of distinct sequences), so grouping
cases into variants is one np.unique over one number per case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from procmine.mine.events import EventArrays

_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_K3 = np.uint64(0x165667B19E3779F9)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised (uint64 arithmetic wraps)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def variant_id(activities: list[str]) -> str:
    """Stable id of an activity sequence (same sequence, same id, in every run)."""
    return hashlib.md5("\x1f".join(activities).encode("utf-8")).hexdigest()[:16]


@dataclass
class Variants:
    """Per case its variant index; per variant (most frequent first) id, activities, count."""

    case_variant: np.ndarray
    ids: list[str]
    activities: list[list[str]]
    counts: np.ndarray
    lengths: np.ndarray
    representative: np.ndarray      # one case index per variant

    @property
    def size(self) -> int:
        return len(self.ids)


def compute_variants(events: EventArrays) -> Variants:
    if events.cases == 0:
        empty = np.zeros(0, np.int64)
        return Variants(np.zeros(0, np.int32), [], [], empty, empty, empty)
    a = events.a.astype(np.uint64)
    pos = events.pos.astype(np.uint64)
    fingerprint = mix64(a * _K1 + pos * _K2 + _K3)
    case_key = np.add.reduceat(fingerprint, events.starts)
    lengths = (events.ends - events.starts).astype(np.uint64)
    case_key ^= mix64(lengths * _K3 + _K1)
    _, first, inverse, counts = np.unique(case_key, return_index=True, return_inverse=True,
                                          return_counts=True)
    names = events.vocab.activities
    activities = []
    for case in first:
        codes = events.a[events.starts[case]:events.ends[case]]
        activities.append([str(names[c]) for c in codes])
    ids = [variant_id(acts) for acts in activities]
    # most frequent first, ties by id: a deterministic order
    order = np.array(sorted(range(len(ids)), key=lambda v: (-int(counts[v]), ids[v])),
                     dtype=np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Variants(
        case_variant=rank[inverse.reshape(-1)].astype(np.int32),
        ids=[ids[v] for v in order],
        activities=[activities[v] for v in order],
        counts=counts[order].astype(np.int64),
        lengths=np.array([len(activities[v]) for v in order], dtype=np.int64),
        representative=first[order].astype(np.int64),
    )


def case_durations_s(events: EventArrays) -> np.ndarray:
    """First to last event of each case, in seconds."""
    if events.cases == 0:
        return np.zeros(0)
    return (events.t[events.ends - 1] - events.t[events.starts]) / 1e6


def variant_table(variants: Variants, durations_s: np.ndarray) -> pa.Table:
    """One row per variant, most frequent first (the input of sql/mine/variants.sql)."""
    cases = max(int(variants.counts.sum()), 1)
    stats = (pl.DataFrame({"v": variants.case_variant, "d": durations_s})
             .group_by("v").agg(pl.col("d").median().alias("median"),
                                pl.col("d").mean().alias("mean"))
             .sort("v"))
    median = np.full(variants.size, np.nan)
    mean = np.full(variants.size, np.nan)
    median[stats["v"].to_numpy()] = stats["median"].to_numpy()
    mean[stats["v"].to_numpy()] = stats["mean"].to_numpy()
    return pa.table({
        "vi": pa.array(np.arange(variants.size, dtype=np.int32)),
        "variant_id": pa.array(variants.ids, pa.string()),
        "activities": pa.array(variants.activities, pa.list_(pa.string())),
        "case_count": pa.array(variants.counts),
        "case_share": pa.array(variants.counts / cases),
        "median_duration_s": pa.array(median),
        "mean_duration_s": pa.array(mean),
        "event_count": pa.array(variants.lengths),
    })


def step_table(events: EventArrays) -> pa.Table:
    """One row per directly-follows step (an event and its successor in the case): the input
    of transitions.sql and bottlenecks.sql. Waits in seconds, from the earlier event."""
    nxt = np.flatnonzero(events.has_next)
    after = nxt + 1
    return pa.table({
        "ci": pa.array(events.ci[nxt]),
        "from_a": pa.array(events.a[nxt]),
        "to_a": pa.array(events.a[after]),
        "from_st": pa.array(events.st[nxt]),
        "from_holder": pa.array(events.holder[nxt]),
        "wait_s": pa.array((events.t[after] - events.t[nxt]) / 1e6),
    })
