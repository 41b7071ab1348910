"""core.events as sorted, dictionary-encoded numpy arrays: the input of every mining step.

One DuckDB query encodes and sorts the events (case, ts, source_file, source_row, seq);
everything after works on integer arrays, vectorised per event, never a Python loop per case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np

from procmine.errors import ProcmineError
from procmine.sql import load_sql, run_sql

_LEVEL_NUMBER = re.compile(r"(\d+)")
MAX_SALT = 8


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
    files: int
    packable: bool                    # the tie-break (file, row, seq) fits one BIGINT

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection) -> Vocabulary:
        run_sql(conn, load_sql("mine/vocabulary.sql"))
        steps = conn.execute(
            "SELECT code, activity, d2c_stage, source FROM _mine_step_key ORDER BY code"
        ).fetchall()
        holders = conn.execute(
            "SELECT code, org_group, support_level, sourcing FROM _mine_holder_key ORDER BY code"
        ).fetchall()
        files, min_row, max_row, min_seq, max_seq = conn.execute(
            "SELECT len(files), min_row, max_row, min_seq, max_seq FROM _mine_scan"
        ).fetchall()[0]
        activities, a_code = _codes([s[1] for s in steps])
        stages, st_code = _codes([s[2] for s in steps])
        sources, src_code = _codes([s[3] for s in steps])
        groups, g_code = _codes([h[1] for h in holders])
        levels, lv_code = _codes([h[2] for h in holders])
        sourcings, so_code = _codes([h[3] for h in holders])
        size = len(steps) + 1
        step_activity = np.zeros(size, np.int32)
        step_stage = np.zeros(size, np.int32)
        step_source = np.zeros(size, np.int32)
        for code, activity, stage, source in steps:
            step_activity[code] = a_code[activity]
            step_stage[code] = st_code[stage]
            step_source[code] = src_code[source]
        size = len(holders) + 1
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
        packable = ((files or 0) < 2**19 and min_row >= 0 and max_row < 2**32
                    and min_seq >= 0 and max_seq < 2**12)
        return cls(activities, stages, sources, groups, levels, sourcings, step_activity,
                   step_stage, step_source, holder_group, holder_level, holder_sourcing,
                   level_number, files, packable)

    def stage_codes(self, names: frozenset[str]) -> np.ndarray:
        """Boolean lookup by stage code: stage in `names`."""
        return np.array([s in names for s in self.stages], dtype=bool)

    def activity_codes(self, names: frozenset[str]) -> np.ndarray:
        """Boolean lookup by activity code: activity in `names`."""
        return np.array([a in names for a in self.activities], dtype=bool)


TIEBREAK_PACKED = "(f.code::BIGINT << 44) | (e.source_row::BIGINT << 12) | e.seq::BIGINT AS k"
TIEBREAK_WIDE = "f.code AS f, e.source_row AS r, e.seq AS s"


@dataclass
class EventArrays:
    """Events sorted by case, then canonical order; one numpy array per attribute.

    h: case hash, t: epoch microseconds, x: step code (activity, stage, source),
    y: holder code (group, level, sourcing). Cases are the runs of equal h.
    """

    vocab: Vocabulary
    h: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    salt: int

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection, vocab: Vocabulary, salt: int = 0
             ) -> EventArrays:
        tiebreak = TIEBREAK_PACKED if vocab.packable else TIEBREAK_WIDE
        columns = {name: _numpy(column) for name, column in conn.sql(
            load_sql("mine/events.sql").format(tiebreak=tiebreak),
            params={"salt": salt}).fetchnumpy().items()}
        h, t = columns["h"], columns["t"].astype(np.int64, copy=False)
        x, y = columns["x"].astype(np.int32), columns["y"].astype(np.int32)
        keys = [columns["k"]] if vocab.packable else [columns["f"], columns["r"], columns["s"]]
        order = _tie_order(h, t, keys)
        if order is not None:
            x, y = x[order], y[order]
        return cls(vocab, h, t, x, y, salt)

    @property
    def n(self) -> int:
        return len(self.h)

    @cached_property
    def new_case(self) -> np.ndarray:
        """True at the first event of each case."""
        new = np.ones(self.n, dtype=bool)
        if self.n > 1:
            np.not_equal(self.h[1:], self.h[:-1], out=new[1:])
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
        """Index of the first event of each event's case."""
        return np.repeat(self.starts, self.lengths)

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

    @cached_property
    def a(self) -> np.ndarray:
        return self.vocab.step_activity[self.x]

    @cached_property
    def st(self) -> np.ndarray:
        return self.vocab.step_stage[self.x]

    @cached_property
    def g(self) -> np.ndarray:
        return self.vocab.holder_group[self.y]

    @cached_property
    def holder(self) -> np.ndarray:
        """Holder code of the last event with a group up to each event (its own if it has
        one); the event's own holder code when the case has no group yet."""
        has_group = self.g > 0
        if has_group.all():
            return self.y
        grouped = np.flatnonzero(has_group)
        missing = np.flatnonzero(~has_group)
        last = self.last_before_at(grouped, missing)
        out = self.y.copy()
        found = last >= 0
        out[missing[found]] = self.y[last[found]]
        return out

    def flagged(self, lookup: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Indices of the events whose code (activity, stage ...) is flagged in `lookup`."""
        return np.flatnonzero(lookup[codes])

    def last_before_at(self, flagged: np.ndarray, at: np.ndarray) -> np.ndarray:
        """For the events `at`, the last of the sorted event indices `flagged` strictly before
        each in its case, else -1."""
        k = np.searchsorted(flagged, at) - 1
        last = np.where(k >= 0, flagged[np.maximum(k, 0)] if len(flagged) else -1, -1)
        last[last < self.case_start[at]] = -1
        return last

    def first_from_at(self, flagged: np.ndarray, at: np.ndarray) -> np.ndarray:
        """For the events `at`, the first of the sorted event indices `flagged` at or after
        each in its case, else -1."""
        k = np.searchsorted(flagged, at)
        inside = k < len(flagged)
        first = np.where(inside, flagged[np.minimum(k, max(len(flagged) - 1, 0))]
                         if len(flagged) else -1, -1)
        first[~inside | (first >= self.ends[self.ci[at]])] = -1
        return first

    def first_per_case(self, flagged: np.ndarray, after: np.ndarray | None = None
                       ) -> np.ndarray:
        """Per case, the first of the sorted event indices `flagged` at or after `after` (the
        case's start by default), else -1."""
        start = self.starts if after is None else after
        k = np.searchsorted(flagged, start)
        inside = k < len(flagged)
        first = np.where(inside, flagged[np.minimum(k, max(len(flagged) - 1, 0))]
                         if len(flagged) else -1, -1)
        first[~inside | (first >= self.ends)] = -1
        return first

    def last_per_case(self, flagged: np.ndarray) -> np.ndarray:
        """Per case, the last of the sorted event indices `flagged`, else -1."""
        k = np.searchsorted(flagged, self.ends) - 1
        last = np.where(k >= 0, flagged[np.maximum(k, 0)] if len(flagged) else -1, -1)
        last[last < self.starts] = -1
        return last


def _tie_order(h: np.ndarray, t: np.ndarray, keys: list[np.ndarray]) -> np.ndarray | None:
    """The permutation that puts events with equal (case, ts) in tie-break order (keys:
    most significant first), or None when they already are. Only the runs of equal
    (case, ts) that are out of order are re-sorted."""
    if len(h) < 2:
        return None
    tie = (h[1:] == h[:-1]) & (t[1:] == t[:-1])
    if not tie.any():
        return None
    pairs = np.flatnonzero(tie)
    # out of order: a pair whose tie-break tuple decreases
    later = [k[pairs + 1] for k in keys]
    earlier = [k[pairs] for k in keys]
    decreasing = np.zeros(len(pairs), dtype=bool)
    equal_so_far = np.ones(len(pairs), dtype=bool)
    for lo, hi in zip(later, earlier, strict=True):
        decreasing |= equal_so_far & (lo < hi)
        equal_so_far &= lo == hi
    if not decreasing.any():
        return None
    # runs of ties: members are the pair positions and their successors
    member = np.zeros(len(h), dtype=bool)
    member[pairs] = True
    member[pairs + 1] = True
    starts = member & ~np.concatenate([[False], tie])
    run = np.cumsum(starts) - 1
    bad_runs = np.unique(run[pairs[decreasing]])
    members = np.flatnonzero(member & np.isin(run, bad_runs))
    within = np.lexsort([k[members] for k in reversed(keys)] + [run[members]])
    order = np.arange(len(h))
    order[members] = members[within]
    return order


def _numpy(column: np.ndarray) -> np.ndarray:
    if np.ma.isMaskedArray(column) and column.mask.any():
        raise ProcmineError("core.events holds NULL case ids or timestamps; validate first")
    return np.asarray(column)


def load_events(conn: duckdb.DuckDBPyConnection, salt: int = 0,
                vocab: Vocabulary | None = None) -> EventArrays:
    """The sorted event arrays (case ids: see `resolve_case_ids`)."""
    return EventArrays.load(conn, vocab or Vocabulary.load(conn), salt)


def resolve_case_ids(conn: duckdb.DuckDBPyConnection, events: EventArrays) -> str:
    """Build the temp table _mine_case_id (ci, case_id): each case's id, from core.cases,
    else core.events. "ok", or "collision" when two case ids share the hash (then load the
    events again with another salt)."""
    conn.register("_mine_case_hash", {"ci": np.arange(events.cases, dtype=np.int32),
                                      "h": events.h[events.starts]})
    try:
        status = _case_ids(conn, events.salt, "core.cases", events.cases)
        if status == "missing":
            status = _case_ids(conn, events.salt, "core.events", events.cases)
    finally:
        conn.unregister("_mine_case_hash")
    if status == "missing":
        raise ProcmineError("some cases of core.events have no id (internal error)")
    return status


def _case_ids(conn: duckdb.DuckDBPyConnection, salt: int, table: str, cases: int) -> str:
    """Build _mine_case_id from `table`: "ok", "missing" (cases without an id there) or
    "collision" (two ids with one hash)."""
    run_sql(conn, load_sql("mine/case_ids.sql").format(table=table), {"salt": salt})
    found, distinct, colliding = conn.execute(
        "SELECT count(DISTINCT ci), count(*), count(*) - count(DISTINCT ci) FROM _mine_case_id"
    ).fetchall()[0]
    if colliding:
        return "collision"
    return "ok" if found == cases and distinct == cases else "missing"
