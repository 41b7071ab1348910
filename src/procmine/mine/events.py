"""core.events as dictionary-encoded numpy arrays in canonical order: the input of mining.

The events come from the mining index (core.event_codes, event_index.py): integer columns
kept by publishing with each case's events contiguous and in canonical order (ts, source_file,
source_row, seq), so reading them is a plain scan; everything after works on integer arrays,
vectorised per event, never a Python loop per case.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np

from procmine import event_index
from procmine.errors import ProcmineError
from procmine.sql import load_sql, run_sql

_LEVEL_NUMBER = re.compile(r"(\d+)")
EVENTS_SQL = "SELECT case_key, t, step, holder FROM core.event_codes"
# events per range of the per-event work done range by range (case_chunks): its temporaries
# stay at tens of MB whatever the log's size
CHUNK_EVENTS = 1 << 20
DENSE_QUERIES = 16   # above n / 16 queries, a running max/min beats one binary search each


def code_dtype(codes: int) -> type:
    """The narrowest signed integer type of `codes` codes (0 .. codes - 1) for a per-event
    column the SQL models only group and join by: int16 for the vocabularies of real logs,
    half the bytes per event of int32."""
    return np.int16 if codes <= np.iinfo(np.int16).max else np.int32


def _codes(values: list[str | None]) -> tuple[list[str | None], dict[str | None, int]]:
    """Names indexed by code (code 0 = NULL) and the reverse map, names in sorted order."""
    names: list[str | None] = [None, *sorted({v for v in values if v is not None})]
    return names, {name: code for code, name in enumerate(names)}


@dataclass
class Vocabulary:
    """Code tables: activity/stage/source of each step code, group/level/sourcing of each
    holder code (code 0 of groups, levels, stages, sourcings means NULL)."""

    activities: list[str | None]
    stages: list[str | None]
    sources: list[str | None]
    groups: list[str | None]
    levels: list[str | None]
    sourcings: list[str | None]
    step_activity: np.ndarray
    step_stage: np.ndarray
    step_source: np.ndarray
    holder_group: np.ndarray
    holder_level: np.ndarray
    holder_sourcing: np.ndarray
    level_number: np.ndarray          # level code -> 1, 2, 3 ... (0 when not numbered)

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection) -> Vocabulary:
        """From the index's code tables (also exposed to the SQL models as _mine_step_key
        and _mine_holder_key by vocabulary.sql)."""
        run_sql(conn, load_sql("intermediate/vocabulary.sql"))
        steps = conn.execute(
            "SELECT code, activity, d2c_stage, source FROM _mine_step_key ORDER BY code"
        ).fetchall()
        holders = conn.execute(
            "SELECT code, org_group, support_level, sourcing FROM _mine_holder_key ORDER BY code"
        ).fetchall()
        activities, a_code = _codes([s[1] for s in steps])
        stages, st_code = _codes([s[2] for s in steps])
        sources, src_code = _codes([s[3] for s in steps])
        groups, g_code = _codes([h[1] for h in holders])
        levels, lv_code = _codes([h[2] for h in holders])
        sourcings, so_code = _codes([h[3] for h in holders])
        size = max((s[0] for s in steps), default=0) + 1
        step_activity = np.zeros(size, np.int32)
        step_stage = np.zeros(size, np.int32)
        step_source = np.zeros(size, np.int32)
        for code, activity, stage, source in steps:
            step_activity[code] = a_code[activity]
            step_stage[code] = st_code[stage]
            step_source[code] = src_code[source]
        size = max((h[0] for h in holders), default=0) + 1
        holder_group = np.zeros(size, np.int32)
        holder_level = np.zeros(size, np.int32)
        holder_sourcing = np.zeros(size, np.int32)
        for code, group, level, sourcing in holders:
            holder_group[code] = g_code[group]
            holder_level[code] = lv_code[level]
            holder_sourcing[code] = so_code[sourcing]
        level_number = np.zeros(len(levels), np.int32)
        for code, name in enumerate(levels):
            found = _LEVEL_NUMBER.search(name or "")
            level_number[code] = int(found.group(1)) if found else 0
        return cls(activities, stages, sources, groups, levels, sourcings, step_activity,
                   step_stage, step_source, holder_group, holder_level, holder_sourcing,
                   level_number)

    def stage_codes(self, names: frozenset[str]) -> np.ndarray:
        """Boolean lookup by stage code: stage in `names`."""
        return np.array([s in names for s in self.stages], dtype=bool)

    def activity_codes(self, names: frozenset[str]) -> np.ndarray:
        """Boolean lookup by activity code: activity in `names`."""
        return np.array([a in names for a in self.activities], dtype=bool)


@dataclass
class EventArrays:
    """Events in canonical order, each case's events contiguous; one numpy array per
    attribute. key: case key (core.case_keys), t: epoch microseconds, x: step code (activity,
    stage, source), y: holder code (group, level, sourcing) (x, y: int16 when they fit). Cases are the runs of equal key.
    """

    vocab: Vocabulary
    key: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection, vocab: Vocabulary) -> EventArrays | None:
        """The index as arrays, or None when it is not in canonical layout."""
        columns = conn.sql(EVENTS_SQL).fetchnumpy()
        events = cls(vocab, _case_keys(columns["case_key"]), np.asarray(columns["t"]),
                     _step_codes(columns["step"]), _step_codes(columns["holder"]))
        return events if events.canonical() else None

    def canonical(self) -> bool:
        """Each case's events contiguous (no case key starts two runs) and in time order."""
        if self.n == 0:
            return True
        keys = self.key[self.starts]
        if int(keys.min()) < 0 or np.bincount(keys).max() > 1:
            return False
        later = self.t[1:] >= self.t[:-1]
        return bool((later | self.new_case[1:]).all())

    @property
    def n(self) -> int:
        return len(self.key)

    @cached_property
    def new_case(self) -> np.ndarray:
        """True at the first event of each case."""
        new = np.ones(self.n, dtype=bool)
        if self.n > 1:
            np.not_equal(self.key[1:], self.key[:-1], out=new[1:])
        return new

    @cached_property
    def starts(self) -> np.ndarray:
        return np.flatnonzero(self.new_case)

    @cached_property
    def ends(self) -> np.ndarray:
        """One past each case's last event."""
        return np.append(self.starts[1:], self.n)

    @property
    def cases(self) -> int:
        return len(self.starts)

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts

    @cached_property
    def ci(self) -> np.ndarray:
        """Case index of each event."""
        return np.repeat(np.arange(self.cases, dtype=np.int32), self.lengths)

    @cached_property
    def case_start(self) -> np.ndarray:
        """Index of the first event of each event's case (int32: indices into the events)."""
        return np.repeat(self.starts.astype(np.int32), self.lengths)

    @cached_property
    def pos(self) -> np.ndarray:
        """0-based position of each event in its case."""
        return (np.arange(self.n, dtype=np.int64) - self.case_start).astype(np.int32)

    @cached_property
    def has_next(self) -> np.ndarray:
        """The event has a successor in its case."""
        return np.append(~self.new_case[1:], False)

    @cached_property
    def dwell_us(self) -> np.ndarray:
        """Microseconds from each event to the next one of its case (0 for the last)."""
        dwell = np.zeros(self.n, np.int64)
        if self.n > 1:
            np.subtract(self.t[1:], self.t[:-1], out=dwell[:-1])
        dwell[self.ends - 1] = 0
        return dwell

    # activity, stage and group codes per event: int16 when the vocabulary fits (code_dtype;
    # 6 bytes per event less than int32, alive through most of mining)
    @cached_property
    def a(self) -> np.ndarray:
        return _narrow(self.vocab.step_activity, len(self.vocab.activities))[self.x]

    @cached_property
    def st(self) -> np.ndarray:
        return _narrow(self.vocab.step_stage, len(self.vocab.stages))[self.x]

    @cached_property
    def g(self) -> np.ndarray:
        return _narrow(self.vocab.holder_group, len(self.vocab.groups))[self.y]

    @cached_property
    def holder(self) -> np.ndarray:
        """Holder code of the last event with a group up to each event (its own if it has
        one); the event's own holder code when the case has no group yet."""
        missing = np.flatnonzero(self.g == 0)
        if not len(missing):
            return self.y
        # the last event with a group before an event without one is the event before its
        # run of events without a group, when that one is still in its case
        run_start = np.ones(len(missing), dtype=bool)
        run_start[1:] = missing[1:] != missing[:-1] + 1
        before_run = missing[run_start][np.cumsum(run_start) - 1] - 1
        found = before_run >= self.case_start[missing]
        if not found.any():
            return self.y
        out = self.y.copy()
        out[missing[found]] = self.y[before_run[found]]
        return out

    def next_and_dwell(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """has_next and dwell_us of the events lo..hi-1 of a range of whole cases
        (case_chunks): the cached arrays' slices, else computed for the range alone (the same
        values; no per-event array of the whole log made for one range's use)."""
        if "has_next" in self.__dict__ and "dwell_us" in self.__dict__:
            return self.has_next[lo:hi], self.dwell_us[lo:hi]
        has_next = np.zeros(hi - lo, dtype=bool)
        np.equal(self.key[lo + 1:hi], self.key[lo:hi - 1], out=has_next[:-1])
        dwell = np.zeros(hi - lo, np.int64)
        np.subtract(self.t[lo + 1:hi], self.t[lo:hi - 1], out=dwell[:-1])
        dwell[~has_next] = 0
        return has_next, dwell

    def forget(self, *names: str) -> None:
        """Free derived arrays (cached properties) no longer needed: a later use computes
        them again."""
        for name in names:
            self.__dict__.pop(name, None)

    def case_chunks(self, size: int | None = None) -> list[tuple[int, int]]:
        """Event ranges [lo, hi) of about `size` (CHUNK_EVENTS) events that hold whole cases,
        covering all events: per-case work done range by range needs temporaries of one range
        only."""
        if self.n == 0:
            return []
        size = size or CHUNK_EVENTS
        cuts = np.unique(self.starts[np.searchsorted(self.starts,
                                                     np.arange(0, self.n, size))])
        bounds = [*cuts.tolist(), self.n]
        return list(itertools.pairwise(bounds))

    def case_sums(self, values: Callable[[int, int], np.ndarray]) -> np.ndarray:
        """Per case, the sum (uint64, wrapping) of `values(lo, hi)`, one value per event of
        lo..hi-1, computed range by range (case_chunks): per-event temporaries of one range."""
        out = np.empty(self.cases, np.uint64)
        for lo, hi in self.case_chunks():
            c0, c1 = np.searchsorted(self.starts, (lo, hi))
            out[c0:c1] = np.add.reduceat(values(lo, hi), self.starts[c0:c1] - lo)
        return out

    def flagged(self, lookup: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Indices of the events whose code (activity, stage ...) is flagged in `lookup`."""
        return np.flatnonzero(lookup[codes])

    def first_from_at(self, flagged: np.ndarray, at: np.ndarray) -> np.ndarray:
        """For the events `at`, the first of the sorted event indices `flagged` at or after
        each in its case, else -1."""
        none = self.n
        if len(at) * DENSE_QUERIES > self.n:   # many queries: one running minimum, O(n)
            marks = np.full(self.n, none, np.int32)
            marks[flagged] = flagged
            first = np.minimum.accumulate(marks[::-1])[::-1][at].astype(np.int64)
        else:
            k = np.searchsorted(flagged, at)
            first = flagged[np.minimum(k, len(flagged) - 1)] if len(flagged) else np.full(
                len(at), none, np.int64)
            first = np.where(k < len(flagged), first, none)
        first[first >= self.ends[self.ci[at]]] = -1
        return first

    def first_per_case(self, flagged: np.ndarray, after: np.ndarray | None = None,
                       cases: np.ndarray | None = None) -> np.ndarray:
        """Per case (of `cases` only, if given), the first of the sorted event indices
        `flagged` at or after `after` (the case's start by default), else -1."""
        starts, ends = ((self.starts, self.ends) if cases is None
                        else (self.starts[cases], self.ends[cases]))
        start = starts if after is None else after
        k = np.searchsorted(flagged, start)
        inside = k < len(flagged)
        first = np.where(inside, flagged[np.minimum(k, max(len(flagged) - 1, 0))]
                         if len(flagged) else -1, -1)
        first[~inside | (first >= ends)] = -1
        return first

    def last_per_case(self, flagged: np.ndarray) -> np.ndarray:
        """Per case, the last of the sorted event indices `flagged`, else -1."""
        k = np.searchsorted(flagged, self.ends) - 1
        last = np.where(k >= 0, flagged[np.maximum(k, 0)] if len(flagged) else -1, -1)
        last[last < self.starts] = -1
        return last


def load_events(conn: duckdb.DuckDBPyConnection) -> EventArrays:
    """The event arrays; the mining index is rebuilt first when it is out of step with
    core.events or not in canonical layout (written by something other than publishing)."""
    if not event_index.in_step(conn):
        event_index.rebuild(conn)
    events = EventArrays.load(conn, Vocabulary.load(conn))
    if events is None:
        event_index.rebuild(conn)
        events = EventArrays.load(conn, Vocabulary.load(conn))
    if events is None:
        raise ProcmineError("core.event_codes is not in canonical order after a rebuild "
                            "(internal error)")
    return events


def _narrow(lookup: np.ndarray, codes: int) -> np.ndarray:
    """A code lookup table in the narrowest type of its `codes` codes (code_dtype)."""
    return lookup.astype(code_dtype(codes))


def _case_keys(column: np.ndarray) -> np.ndarray:
    """Case keys as read (DuckDB's UINTEGER: uint32, no copy) or as int64."""
    values = np.asarray(column)
    return values if values.dtype.kind == "u" and values.itemsize <= 4 else values.astype(
        np.int64)


def _step_codes(column: np.ndarray) -> np.ndarray:
    """Step / holder codes (UINTEGER, small) in the narrowest type (code_dtype: int16 for
    the vocabularies of real logs, 4 bytes per event less than the int32 view of what was
    read), else int32 (the same bits, viewed without a copy)."""
    values = np.asarray(column)
    top = int(values.max()) if len(values) else 0
    if top < np.iinfo(np.int16).max:
        return values.astype(np.int16)
    if values.dtype == np.uint32 and top < 2**31:
        return values.view(np.int32)
    return values.astype(np.int32)


def case_key_table(events: EventArrays, case_variant: np.ndarray) -> dict[str, np.ndarray]:
    """_mine_case_key, the input of intermediate/case_ids.sql: each case's index, key, first
    step and variant (`case_variant`: variants.Variants.case_variant)."""
    return {"ci": np.arange(events.cases, dtype=np.int32),
            "case_key": events.key[events.starts],
            "first_step": events.x[events.starts].astype(np.int32),
            "vi": case_variant}


def check_case_ids(conn: duckdb.DuckDBPyConnection, events: EventArrays) -> None:
    """Every case of the index has its row in _mine_case_id."""
    found = conn.execute("SELECT count(*) FROM _mine_case_id").fetchall()[0][0]
    if found != events.cases:
        raise ProcmineError("some cases of core.event_codes have no case id (internal error)")


def case_index(events: EventArrays, keys: np.ndarray) -> np.ndarray:
    """The case index of each case key in `keys` (-1: no events)."""
    lookup = np.full(int(max(events.key.max(initial=0), keys.max(initial=0))) + 1, -1, np.int64)
    lookup[events.key[events.starts]] = np.arange(events.cases)
    return lookup[keys]
