"""Lean waste instances of Detect-to-Correct, detected on the sorted event arrays.

Each detector returns an `Instances` batch: one row per waste instance, tied to the event
where it shows (its d2c_stage, time and holder come from that event) with hours and the codes
that make up its evidence. Definitions (DESIGN.md "Lean waste"; settings from procmine.toml):

- waiting: an event whose activity is in [waiting].states, until the case's next event;
  detail 'vendor' for [waiting].vendor_states ('still_waiting' when no event follows).
- handoff: each change of org_group after the first (events without a group are skipped);
  hours = [cost].handoff_effort_h.
- ping_pong: a group run that returns to a group the case held before: 'direct' when it is the
  group two runs back (A → B → A), else 'indirect' (A → B → … → A); hours = time away.
- rework: an event of a [rework].work_stages activity whose previous occurrence in the case
  is separated from it by another work-stage activity (waiting and assignment events are not
  work, so Active → Awaiting → Active is no rework). A reopen event is never rework; with
  [rework] count_after_reopen = false, a reopen between the two occurrences rules it out.
- reopen: an event whose stage is not resolve/close (nor in [reopen].ignore_stages) after a
  [reopen].resolved_activities event with no such event in between; hours until the next
  resolution (or the case's last event).
- escalation_bounce: a group change to a lower support level, from a level the case had
  reached from a lower one (L1 → L2 → L1); hours at the higher level.
- deviation: an event the reference model does not allow (conformance.py, per variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from procmine.mine.events import EventArrays
from procmine.mine.settings import DETAILS, RESOLVED_STAGES, WASTE_TYPES, MiningSettings

US_PER_HOUR = 3_600_000_000
FIELDS = ("ci", "ev", "wtype", "detail", "hours", "e1", "e2", "e3")


def _code(name: str) -> int:
    return WASTE_TYPES.index(name)


def _detail(name: str) -> int:
    return DETAILS.index(name)


@dataclass
class Instances:
    """A batch of waste instances (parallel arrays). e1..e3 are evidence codes whose meaning
    depends on the waste type (see sql/mine/waste.sql)."""

    ci: np.ndarray
    ev: np.ndarray
    wtype: np.ndarray
    detail: np.ndarray
    hours: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    e3: np.ndarray

    @classmethod
    def make(cls, events: EventArrays, ev: np.ndarray, wtype: str, hours: np.ndarray,
             detail: np.ndarray | int = 0, e1: np.ndarray | int = 0, e2: np.ndarray | int = 0,
             e3: np.ndarray | int = 0) -> Instances:
        n = len(ev)

        def full(value: np.ndarray | int, dtype: type) -> np.ndarray:
            return (np.full(n, value, dtype) if np.isscalar(value)
                    else np.asarray(value).astype(dtype))

        return cls(events.ci[ev], ev.astype(np.int64), np.full(n, _code(wtype), np.int8),
                   full(detail, np.int8), np.asarray(hours, np.float64), full(e1, np.int32),
                   full(e2, np.int32), full(e3, np.int32))

    @classmethod
    def concat(cls, batches: list[Instances]) -> Instances:
        return cls(*(np.concatenate([getattr(b, f) for b in batches]) for f in FIELDS))

    def __len__(self) -> int:
        return len(self.ev)


@dataclass
class GroupRuns:
    """Maximal runs of one org_group within a case (events without a group skipped)."""

    event: np.ndarray        # index of the run's first event
    case: np.ndarray
    group: np.ndarray
    holder: np.ndarray
    level: np.ndarray        # numeric support level (0 unknown)
    first: np.ndarray        # the case's first run

    @classmethod
    def of(cls, events: EventArrays) -> GroupRuns:
        with_group = np.flatnonzero(events.g > 0)
        case, group = events.ci[with_group], events.g[with_group]
        change = np.ones(len(with_group), dtype=bool)
        if len(with_group) > 1:
            change[1:] = (case[1:] != case[:-1]) | (group[1:] != group[:-1])
        starts = with_group[change]
        run_case = events.ci[starts]
        first = np.ones(len(starts), dtype=bool)
        if len(starts) > 1:
            first[1:] = run_case[1:] != run_case[:-1]
        holder = events.y[starts]
        vocab = events.vocab
        return cls(starts, run_case, events.g[starts], holder,
                   vocab.level_number[vocab.holder_level[holder]], first)

    def previous_same_group(self) -> np.ndarray:
        """Per run, the index of the case's previous run of the same group, else -1."""
        n = len(self.event)
        prev = np.full(n, -1, np.int64)
        if n < 2:
            return prev
        key = self.case.astype(np.int64) * (int(self.group.max()) + 1) + self.group
        order = np.argsort(key, kind="stable")
        same = key[order][1:] == key[order][:-1]
        prev[order[1:][same]] = order[:-1][same]
        return prev


@dataclass
class WasteResult:
    instances: Instances
    runs: GroupRuns
    resolution: Resolution
    path_instance: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    path_step: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    path_holder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))


def _hours(us: np.ndarray) -> np.ndarray:
    return us.astype(np.float64) / US_PER_HOUR


def detect_waiting(events: EventArrays, settings: MiningSettings) -> Instances:
    vocab = events.vocab
    waiting = vocab.activity_codes(settings.waiting_states)[events.a]
    vendor = vocab.activity_codes(settings.vendor_states)[events.a]
    idx = np.flatnonzero(waiting)
    detail = np.where(vendor[idx], _detail("vendor"), _detail("other"))
    detail = np.where(events.has_next[idx], detail, _detail("still_waiting"))
    return Instances.make(events, idx, "waiting", _hours(events.dwell_us[idx]), detail,
                          e1=vendor[idx].astype(np.int32))


def detect_group_waste(events: EventArrays, runs: GroupRuns, settings: MiningSettings
                       ) -> tuple[list[Instances], np.ndarray, np.ndarray, np.ndarray]:
    """Hand-offs, ping-pong and escalation bounces over the group runs; also the ping-pong
    paths (instance, step, holder) of indirect returns for their evidence."""
    later = np.flatnonzero(~runs.first)
    prev = later - 1
    handoffs = Instances.make(events, runs.event[later], "handoff",
                              np.full(len(later), settings.handoff_effort_h),
                              e1=runs.holder[prev], e2=runs.holder[later])

    back = runs.previous_same_group()
    returns = np.flatnonzero(back >= 0)
    home = back[returns]
    direct = home == returns - 2
    away_us = events.t[runs.event[returns]] - events.t[runs.event[home + 1]]
    ping_pong = Instances.make(
        events, runs.event[returns], "ping_pong", _hours(away_us),
        np.where(direct, _detail("direct"), _detail("indirect")),
        e1=runs.holder[home], e2=runs.holder[home + 1], e3=runs.holder[returns])
    # evidence paths of indirect returns: the runs from the earlier visit to the return
    indirect = np.flatnonzero(~direct)
    lengths = returns[indirect] - home[indirect] + 1
    total = int(lengths.sum())
    path_instance = np.repeat(indirect, lengths).astype(np.int64)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    path_runs = np.repeat(home[indirect], lengths) + offsets
    path_step = offsets.astype(np.int32)
    path_holder = runs.holder[path_runs] if total else np.zeros(0, np.int32)

    bounces = _bounces(events, runs)
    return [handoffs, ping_pong, bounces], path_instance, path_step, path_holder


def _bounces(events: EventArrays, runs: GroupRuns) -> Instances:
    """Runs whose level is below the previous run's, which the case had reached from a lower
    level: the previous run's level exceeds the minimum known level of the runs before it."""
    n = len(runs.event)
    level = runs.level
    if n < 3:
        return Instances.make(events, np.zeros(0, np.int64), "escalation_bounce", np.zeros(0))
    # minimum known level (0 = unknown is ignored) over the case's runs up to each run
    big = np.iinfo(np.int32).max
    known = np.where(level > 0, level, big).astype(np.int64)
    segment = np.cumsum(runs.first) - 1
    # segmented running minimum: offset each case so a global accumulate cannot cross cases
    offset = segment.astype(np.int64) * (2 * big + 2)
    running_min = np.minimum.accumulate(known - offset) + offset
    r = np.arange(2, n)
    same_case = (runs.case[r] == runs.case[r - 1]) & (runs.case[r - 1] == runs.case[r - 2])
    down = (level[r] > 0) & (level[r - 1] > 0) & (level[r] < level[r - 1])
    reached_from_below = running_min[r - 2] < level[r - 1]
    hit = r[same_case & down & reached_from_below]
    # a case whose second run already goes down cannot bounce (nothing below before it)
    hours = _hours(events.t[runs.event[hit]] - events.t[runs.event[hit - 1]])
    return Instances.make(events, runs.event[hit], "escalation_bounce", hours,
                          e1=runs.holder[hit - 2], e2=runs.holder[hit - 1],
                          e3=runs.holder[hit])


@dataclass
class Resolution:
    """Where each case stands between resolutions, per event.

    resolved: the activity is in [reopen].resolved_activities; open: the event's stage is
    neither resolve/close nor in [reopen].ignore_stages (a reassignment or reclassification of
    a resolved ticket does not reopen it); reopen: an open event after a resolved one, with no
    open event in between; neutral_after_resolution: an ignored-stage event while resolved.
    """

    resolved: np.ndarray
    resolved_stage: np.ndarray
    open: np.ndarray
    reopen: np.ndarray
    neutral_after_resolution: np.ndarray
    last_resolved: np.ndarray          # index of the last resolved event before, else -1

    @classmethod
    def of(cls, events: EventArrays, settings: MiningSettings) -> Resolution:
        vocab = events.vocab
        resolved = vocab.activity_codes(settings.resolved_activities)[events.a]
        resolved_stage = vocab.stage_codes(RESOLVED_STAGES)[events.st]
        neutral = vocab.stage_codes(settings.reopen_ignore_stages)[events.st] & ~resolved_stage
        is_open = ~resolved_stage & ~neutral
        last_resolved = events.last_before(resolved)
        since_resolution = (last_resolved >= 0) & (last_resolved > events.last_before(is_open))
        return cls(resolved, resolved_stage, is_open, is_open & since_resolution,
                   neutral & since_resolution, last_resolved)

    def final_resolution(self, events: EventArrays) -> np.ndarray:
        """Per case, the index of its final resolution (the first resolve/close event after
        its last open event), else -1 (still open)."""
        idx = np.arange(events.n)
        last_open = events.case_reduce_max(np.where(self.open, idx, -1))
        search = np.maximum(last_open + 1, events.starts)
        found = np.full(events.cases, -1, np.int64)
        inside = search < events.ends
        found[inside] = events.next_from(self.resolved_stage)[search[inside]]
        return found


def detect_reopen(events: EventArrays, resolution: Resolution) -> Instances:
    idx = np.flatnonzero(resolution.reopen)
    previous = resolution.last_resolved[idx]
    nxt = events.next_from(resolution.resolved)[idx]
    until = np.where(nxt >= 0, events.t[np.maximum(nxt, 0)],
                     events.t[events.ends[events.ci[idx]] - 1])
    return Instances.make(events, idx, "reopen", _hours(until - events.t[idx]),
                          e1=events.a[previous])


def detect_rework(events: EventArrays, reopen: np.ndarray, settings: MiningSettings
                  ) -> Instances:
    """Repeats of work-stage activities (see the module docstring)."""
    vocab = events.vocab
    work = vocab.stage_codes(settings.work_stages)[events.st]
    widx = np.flatnonzero(work)
    if len(widx) < 2:
        return Instances.make(events, np.zeros(0, np.int64), "rework", np.zeros(0))
    key = events.ci[widx].astype(np.int64) * (len(vocab.activities) + 1) + events.a[widx]
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    prev = np.full(len(widx), -1, np.int64)
    prev[order[1:][same]] = widx[order[:-1][same]]
    has_prev = prev >= 0
    cur, before = widx[has_prev], prev[has_prev]
    work_count = np.cumsum(work)
    reopen_count = np.cumsum(reopen)
    other_work_between = work_count[cur] - work_count[before] >= 2
    if settings.rework_after_reopen:
        allowed = ~reopen[cur]
    else:
        allowed = reopen_count[cur] == reopen_count[before]
    hit = cur[other_work_between & allowed]
    last_work = events.last_before(work)[hit]
    return Instances.make(events, hit, "rework", _hours(events.dwell_us[hit]),
                          e1=events.a[last_work])


def detect(events: EventArrays, settings: MiningSettings) -> WasteResult:
    """Every waste type but deviation (conformance.py adds it)."""
    runs = GroupRuns.of(events)
    waiting = detect_waiting(events, settings)
    (handoffs, ping_pong, bounces), path_instance, path_step, path_holder = detect_group_waste(
        events, runs, settings)
    resolution = Resolution.of(events, settings)
    batches = [waiting, handoffs, ping_pong, bounces,
               detect_rework(events, resolution.reopen, settings),
               detect_reopen(events, resolution)]
    # path instances index the ping-pong batch; make them index the concatenated instances
    path_instance = path_instance + len(waiting) + len(handoffs)
    return WasteResult(Instances.concat(batches), runs, resolution, path_instance, path_step,
                       path_holder)
