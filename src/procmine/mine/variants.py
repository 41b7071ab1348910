"""Variants (distinct activity sequences) and directly-follows steps, from the event arrays.

A case's sequence is fingerprinted by summing a 64-bit mix of (position, activity) over its
events (order-sensitive, collision odds ~2^-64 per pair of distinct sequences), so grouping
cases into variants is one np.unique over one number per case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

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


MAX_TABLE = 1 << 22


def _fingerprints(events: EventArrays) -> np.ndarray:
    """One 64-bit number per case from its (position, activity) pairs: a sum of random
    64-bit values, one per pair (a table when it is small, else a mix of the pair)."""
    width = len(events.vocab.activities)
    longest = int(events.lengths.max())
    pos, a = events.pos, events.a
    if longest * width <= MAX_TABLE:
        table = np.random.default_rng(0x5EED).integers(
            0, np.iinfo(np.uint64).max, size=longest * width, dtype=np.uint64, endpoint=True)

        def per_event(lo: int, hi: int) -> np.ndarray:
            return table[pos[lo:hi].astype(np.int64) * width + a[lo:hi]]
    else:
        def per_event(lo: int, hi: int) -> np.ndarray:
            return mix64(a[lo:hi].astype(np.uint64) * _K1
                         + pos[lo:hi].astype(np.uint64) * _K2 + _K3)
    keys = events.case_sums(per_event)
    keys ^= mix64(events.lengths.astype(np.uint64) * _K3 + _K1)
    return keys


def compute_variants(events: EventArrays) -> Variants:
    if events.cases == 0:
        empty = np.zeros(0, np.int64)
        return Variants(np.zeros(0, np.int32), [], [], empty, empty, empty)
    _, first, inverse, counts = np.unique(_fingerprints(events), return_index=True,
                                          return_inverse=True, return_counts=True)
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


Table = dict[str, np.ndarray]   # columns DuckDB scans in place (conn.register)


def variant_table(variants: Variants) -> Table:
    """One row per variant, most frequent first (the input of sql/marts/variants.sql)."""
    cases = max(int(variants.counts.sum()), 1)
    return {
        "vi": np.arange(variants.size, dtype=np.int32),
        "variant_id": np.array(variants.ids, dtype=object),
        "activities": object_array(variants.activities),
        "case_count": variants.counts,
        "case_share": variants.counts / cases,
        "event_count": variants.lengths,
    }


def utc(us: np.ndarray) -> np.ndarray:
    """Epoch microseconds (UTC) as a datetime64[us] column, which `scannable` hands DuckDB as
    TIMESTAMPTZ (a view: no copy)."""
    return np.asarray(us, np.int64).view("M8[us]")


def to_arrow(table: Table) -> Any:
    """The table as an Arrow table; datetime64[us] columns (`utc`) become timestamps in UTC,
    which DuckDB reads as TIMESTAMPTZ without a per-value conversion (its cast of TIMESTAMP
    to TIMESTAMPTZ goes through ICU: 0.8 s per 5M values on the benchmark machine, a third
    of writing marts.waste at 10M events)."""
    import pyarrow as pa

    return pa.table({name: pa.array(column, type=pa.timestamp("us", tz="UTC"))
                     if column.dtype.kind == "M" else column
                     for name, column in table.items()})


def scannable(table: Table) -> Any:
    """What DuckDB scans for `table` (conn.register): the numpy columns in place, or an
    Arrow table (`to_arrow`) when a column holds `utc` timestamps."""
    if any(column.dtype.kind == "M" for column in table.values()):
        return to_arrow(table)
    return table


def object_array(values: list) -> np.ndarray:
    """A 1-d object array of `values` (lists stay lists: DuckDB reads them as LIST)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
