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
import pyarrow as pa

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


TIEBREAK_PACKED = "(f.code::BIGINT << 44) | (e.source_row::BIGINT << 12) | e.seq::BIGINT"
TIEBREAK_WIDE = "f.code, e.source_row, e.seq"


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
        table = conn.sql(load_sql("mine/events.sql").format(tiebreak=tiebreak),
                         params={"salt": salt}).to_arrow_table()
        columns = {name: _numpy(table.column(name)) for name in ("h", "t", "x", "y")}
        return cls(vocab, columns["h"], columns["t"].astype(np.int64, copy=False),
                   columns["x"].astype(np.int32), columns["y"].astype(np.int32), salt)

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
    def ci(self) -> np.ndarray:
        """Case index of each event."""
        return (np.cumsum(self.new_case) - 1).astype(np.int32)

    @cached_property
    def pos(self) -> np.ndarray:
        """0-based position of each event in its case."""
        return (np.arange(self.n, dtype=np.int64) - self.starts[self.ci]).astype(np.int32)

    @cached_property
    def has_next(self) -> np.ndarray:
        """The event has a successor in its case."""
        return np.append(~self.new_case[1:], False)

    @cached_property
    def dwell_us(self) -> np.ndarray:
        """Microseconds from each event to the next one of its case (0 for the last)."""
        dwell = np.zeros(self.n, np.int64)
        if self.n > 1:
            dwell[:-1] = self.t[1:] - self.t[:-1]
        dwell[~self.has_next] = 0
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
        last = np.maximum.accumulate(np.where(has_group, np.arange(self.n), -1))
        valid = last >= self.starts[self.ci]
        return np.where(valid, self.y[np.maximum(last, 0)], self.y)

    def case_reduce_min(self, values: np.ndarray) -> np.ndarray:
        return np.minimum.reduceat(values, self.starts) if self.n else values[:0]

    def case_reduce_max(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values, self.starts) if self.n else values[:0]

    def last_before(self, flag: np.ndarray) -> np.ndarray:
        """Index of the last flagged event strictly before each event in its case, else -1."""
        last = np.maximum.accumulate(np.where(flag, np.arange(self.n), -1))
        before = np.full(self.n, -1, np.int64)
        if self.n > 1:
            before[1:] = last[:-1]
        before[before < self.starts[self.ci]] = -1
        return before

    def next_from(self, flag: np.ndarray) -> np.ndarray:
        """Index of the first flagged event at or after each event in its case, else -1."""
        idx = np.where(flag, np.arange(self.n), self.n)
        nxt = np.minimum.accumulate(idx[::-1])[::-1]
        nxt[nxt >= self.ends[self.ci]] = -1
        return nxt


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count:
        raise ProcmineError("core.events holds NULL case ids or timestamps; validate first")
    return column.to_numpy()


def load_events(conn: duckdb.DuckDBPyConnection) -> tuple[EventArrays, pa.Array]:
    """The sorted event arrays and the case ids (one per case, in array order).

    Case ids come from core.cases (one row per case), else from core.events; if two case ids
    share a hash, the events are encoded again with another salt.
    """
    vocab = Vocabulary.load(conn)
    for salt in range(MAX_SALT):
        events = EventArrays.load(conn, vocab, salt)
        status, ids = _case_ids(conn, events, "mine/case_ids.sql")
        if status == "missing":
            status, ids = _case_ids(conn, events, "mine/case_ids_from_events.sql")
        if status == "ok" and ids is not None:
            return events, ids
    raise ProcmineError("cannot tell case ids apart by their hash; please report this")


def _case_ids(conn: duckdb.DuckDBPyConnection, events: EventArrays, sql_name: str
              ) -> tuple[str, pa.Array | None]:
    """("ok", ids of the cases in array order), ("missing", None) or ("collision", None)."""
    table = conn.sql(load_sql(sql_name), params={"salt": events.salt}).to_arrow_table()
    if not events.cases:
        return "ok", pa.array([], pa.string())
    hashes = table.column("h").to_numpy()
    if not len(hashes):
        return "missing", None
    case_hash = events.h[events.starts]
    found = np.minimum(np.searchsorted(hashes, case_hash), len(hashes) - 1)
    if not np.array_equal(hashes[found], case_hash):
        return "missing", None
    if table.column("ids_per_hash").to_numpy()[found].max() > 1:
        return "collision", None
    return "ok", table.column("case_id").combine_chunks().take(pa.array(found))
