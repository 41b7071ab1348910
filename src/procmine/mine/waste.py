"""Lean waste instances of Detect-to-Correct, detected on the sorted event arrays.

Each detector returns an `Instances` batch: one row per waste instance, tied to the event
where it shows (its d2c_stage, time and holder come from that event) with hours and the codes
that make up its evidence. Definitions (DESIGN.md "Lean waste"; settings from procmine.toml):

- waiting: an event whose activity is in [waiting].states, or whose d2c stage is in
  [waiting].stages (a stage table alone then finds the waits of a new log), until the case's
  next event;
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

import itertools
from dataclasses import dataclass, field

import numpy as np

from procmine.mine.background import in_thread
from procmine.mine.clock import INTERNAL, US_PER_HOUR, Clock
from procmine.mine.events import CHUNK_EVENTS, EventArrays
from procmine.mine.settings import DETAILS, RESOLVED_STAGES, WASTE_TYPES, MiningSettings
from procmine.mine.variants import mix64

FIELDS = ("ci", "ev", "wtype", "detail", "hours", "e1", "e2", "e3", "since", "until",
          "stopped", "clock")


def index_dtype(events: int) -> type:
    """The type of the instances' event indices (ev, since, until): int32 below 2^31 events
    (12 bytes per instance less than int64, alive from detection to the per-case marts)."""
    return np.int32 if events < 2**31 else np.int64


def _code(name: str) -> int:
    return WASTE_TYPES.index(name)


def _detail(name: str) -> int:
    return DETAILS.index(name)


@dataclass
class Instances:
    """A batch of waste instances (parallel arrays). e1..e3 are evidence codes whose meaning
    depends on the waste type (see sql/marts/waste.sql). since/until: the events bounding
    the elapsed interval the hours measure (equal: none, e.g. a hand-off's effort); stopped:
    hours of that interval in clock-stopped states and clock: the class holding most of it
    (both set by `apply_clock`, which takes the stopped hours out of `hours`)."""

    ci: np.ndarray
    ev: np.ndarray
    wtype: np.ndarray
    detail: np.ndarray
    hours: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    e3: np.ndarray
    since: np.ndarray
    until: np.ndarray
    stopped: np.ndarray
    clock: np.ndarray

    @classmethod
    def make(cls, events: EventArrays, ev: np.ndarray, wtype: str, hours: np.ndarray,
             detail: np.ndarray | int = 0, e1: np.ndarray | int = 0, e2: np.ndarray | int = 0,
             e3: np.ndarray | int = 0, since: np.ndarray | None = None,
             until: np.ndarray | None = None) -> Instances:
        n = len(ev)
        index = index_dtype(events.n)
        ev = np.asarray(ev, index)

        def full(value: np.ndarray | int, dtype: type) -> np.ndarray:
            return (np.full(n, value, dtype) if np.isscalar(value)
                    else np.asarray(value).astype(dtype))

        return cls(events.ci[ev], ev, np.full(n, _code(wtype), np.int8),
                   full(detail, np.int8), np.asarray(hours, np.float64), full(e1, np.int32),
                   full(e2, np.int32), full(e3, np.int32),
                   ev if since is None else np.asarray(since, index),
                   ev if until is None else np.asarray(until, index),
                   np.zeros(n), np.zeros(n, np.int8))

    @classmethod
    def concat(cls, batches: list[Instances]) -> Instances:
        return cls(*(np.concatenate([getattr(b, f) for b in batches]) for f in FIELDS))

    def __len__(self) -> int:
        return len(self.ev)

    def apply_clock(self, clock: Clock) -> None:
        """Take the clock-stopped time out of the hours of every instance that measures an
        elapsed interval (hours = its internal time; stopped = the rest), and set each
        instance's clock class: the class holding most of its interval (internal on ties and
        for instances without an interval)."""
        parts = clock.between(self.since, self.until)
        interval = self.until > self.since
        self.hours = np.where(interval, parts[INTERNAL] / US_PER_HOUR, self.hours)
        self.stopped = (parts.sum(axis=0) - parts[INTERNAL]) / US_PER_HOUR
        self.clock = np.argmax(parts, axis=0).astype(np.int8)


def next_event(events: EventArrays, ev: np.ndarray) -> np.ndarray:
    """The next event of each event's case, else the event itself (the end of its wait)."""
    return np.where(events.has_next[ev], ev + 1, ev)


def stable_argsort(codes: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative integer codes: numpy's radix sort on 16-bit digits
    (one or two passes), falling back to its merge sort for codes beyond 32 bits."""
    top = int(codes.max()) if len(codes) else 0
    if top < 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    if top < 2**32:
        low = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
        return low[np.argsort((codes[low] >> 16).astype(np.uint16), kind="stable")]
    return np.argsort(codes, kind="stable")


def previous_same(codes: np.ndarray, cases: np.ndarray) -> np.ndarray:
    """For each position, the previous position with the same code in the same case, else -1
    (positions are in event order; a stable sort by code keeps that order within a code).
    Long inputs are done range by range of whole cases (their sorts' temporaries stay those
    of CHUNK_EVENTS positions): a case's positions are consecutive in event order."""
    n = len(codes)
    if n <= CHUNK_EVENTS or not bool(np.all(cases[1:] >= cases[:-1])):
        return _previous_same(codes, cases)
    cuts = np.unique(np.searchsorted(cases, cases[np.arange(0, n, CHUNK_EVENTS)]))
    bounds = [*cuts.tolist(), n]
    prev = np.empty(n, np.int64)
    for lo, hi in itertools.pairwise(bounds):
        found = _previous_same(codes[lo:hi], cases[lo:hi])
        prev[lo:hi] = np.where(found >= 0, found + lo, -1)
    return prev


def _previous_same(codes: np.ndarray, cases: np.ndarray) -> np.ndarray:
    n = len(codes)
    prev = np.full(n, -1, np.int64)
    if n < 2:
        return prev
    order = stable_argsort(codes)
    sorted_codes, sorted_cases = codes[order], cases[order]
    same = (sorted_codes[1:] == sorted_codes[:-1]) & (sorted_cases[1:] == sorted_cases[:-1])
    prev[order[1:][same]] = order[:-1][same]
    return prev


def first_in_case(codes: np.ndarray, cases: np.ndarray) -> np.ndarray:
    """True where a code occurs for the first time in its case (distinct cases per code =
    the number of these)."""
    return previous_same(codes, cases) < 0


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
        g = events.g
        # a run starts at an event with a group other than the case's group so far (the
        # group of the event's holder, which skips events without a group; 0: none yet)
        group_before = np.zeros_like(g)
        if events.n > 1:
            group_before[1:] = events.vocab.holder_group[events.holder[:-1]]
        group_before[events.starts] = 0
        starts = np.flatnonzero((g > 0) & (g != group_before))
        run_case = events.ci[starts]
        first = np.ones(len(starts), dtype=bool)
        if len(starts) > 1:
            first[1:] = run_case[1:] != run_case[:-1]
        holder = events.y[starts]
        vocab = events.vocab
        return cls(starts, run_case, g[starts], holder,
                   vocab.level_number[vocab.holder_level[holder]], first)

    def previous_same_group(self) -> np.ndarray:
        """Per run, the index of the case's previous run of the same group, else -1."""
        return previous_same(self.group, self.case)


@dataclass
class Resolution:
    """Where each case stands between resolutions (sorted event indices).

    resolved: the activity is in [reopen].resolved_activities; open: the event's stage is
    neither resolve/close nor in [reopen].ignore_stages (a reassignment or reclassification of
    a resolved ticket does not reopen it); reopen: an open event after a resolved one, with no
    open event in between; neutral: an ignored-stage event while the case is resolved, with
    the resolved event it follows.
    """

    resolved: np.ndarray
    resolved_stage: np.ndarray
    open: np.ndarray
    reopen: np.ndarray
    reopen_after: np.ndarray           # per reopen: the resolved event it follows
    neutral: np.ndarray
    neutral_after: np.ndarray

    @classmethod
    def of(cls, events: EventArrays, settings: MiningSettings) -> Resolution:
        vocab = events.vocab
        resolved = events.flagged(vocab.activity_codes(settings.resolved_activities), events.a)
        resolved_stage_lookup = vocab.stage_codes(RESOLVED_STAGES)
        ignored = vocab.stage_codes(settings.reopen_ignore_stages) & ~resolved_stage_lookup
        resolved_stage = events.flagged(resolved_stage_lookup, events.st)
        is_open = events.flagged(~resolved_stage_lookup & ~ignored, events.st)
        neutral = events.flagged(ignored, events.st)
        # per event, the latest resolved or open event before it: 2 * index + 1 when it is a
        # resolved one, 2 * index when open (also when both), -1 none (one running maximum).
        # An open event reopens, and an ignored-stage event is neutral while resolved, when
        # that latest event is a resolved one of its case.
        latest = np.full(events.n + 1, -1, np.int32)
        latest[resolved + 1] = 2 * resolved + 1
        latest[is_open + 1] = 2 * is_open
        np.maximum.accumulate(latest, out=latest)

        def resolved_before(at: np.ndarray) -> np.ndarray:
            last = latest[at]
            index = last >> 1
            return np.where((last >= 0) & (last & 1 == 1) & (index >= events.case_start[at]),
                            index, -1)

        before = resolved_before(is_open)
        reopening = before >= 0
        neutral_before = resolved_before(neutral)
        neutral_resolved = neutral_before >= 0
        return cls(resolved, resolved_stage, is_open, is_open[reopening], before[reopening],
                   neutral[neutral_resolved], neutral_before[neutral_resolved])

    def resolved_state(self, events: EventArrays) -> np.ndarray:
        """Per event, whether the case stands resolved after it: resolved activities,
        resolve/close stage events and the neutral events while resolved (a mask: no sort)."""
        mask = np.zeros(events.n, dtype=bool)
        for indices in (self.resolved, self.resolved_stage, self.neutral):
            mask[indices] = True
        return mask

    def final_resolution(self, events: EventArrays) -> np.ndarray:
        """Per case, the index of its final resolution (the first resolve/close event after
        its last open event), else -1 (still open)."""
        last_open = events.last_per_case(self.open)
        return events.first_per_case(self.resolved_stage,
                                     np.maximum(last_open + 1, events.starts))


@dataclass
class WasteResult:
    instances: Instances
    runs: GroupRuns
    resolution: Resolution
    path_instance: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # path id
    path_step: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    path_holder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))


def _hours(us: np.ndarray) -> np.ndarray:
    return us.astype(np.float64) / US_PER_HOUR


def detect_waiting(events: EventArrays, settings: MiningSettings) -> Instances:
    """e1 = the waiting activity, e2 = the holder when it is a vendor group (else 0)."""
    vocab = events.vocab
    waiting_step = (vocab.activity_codes(settings.waiting_states)[vocab.step_activity]
                    | vocab.stage_codes(settings.waiting_stages)[vocab.step_stage])
    idx = events.flagged(waiting_step, events.x)
    vendor = vocab.activity_codes(settings.vendor_states)[events.a[idx]]
    detail = np.where(vendor, _detail("vendor"), _detail("other"))
    detail = np.where(events.has_next[idx], detail, _detail("still_waiting"))
    holder = events.holder[idx]
    at_vendor = np.array([(s or "").startswith("vendor:") for s in vocab.sourcings])
    vendor_holder = np.where(vendor & at_vendor[vocab.holder_sourcing[holder]], holder, 0)
    return Instances.make(events, idx, "waiting", _hours(events.dwell_us[idx]), detail,
                          e1=events.a[idx], e2=vendor_holder, until=next_event(events, idx))


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
        e1=runs.holder[home], e2=runs.holder[home + 1], e3=runs.holder[returns],
        since=runs.event[home + 1], until=runs.event[returns])
    # evidence paths of indirect returns (the runs from the earlier visit to the return),
    # numbered by distinct path: instance e3 = path id, the path's holders in path_holder
    indirect = np.flatnonzero(~direct)
    lengths = returns[indirect] - home[indirect] + 1
    total = int(lengths.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    holders = runs.holder[np.repeat(home[indirect], lengths) + offsets] if total else (
        np.zeros(0, np.int32))
    owner = np.repeat(np.arange(len(indirect)), lengths)
    key = np.zeros(len(indirect), np.uint64)
    if total:
        mixed = mix64(holders.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                      + offsets.astype(np.uint64))
        key = np.add.reduceat(mixed, np.cumsum(lengths) - lengths) ^ mix64(
            lengths.astype(np.uint64))
    _, first, path_id = np.unique(key, return_index=True, return_inverse=True)
    ping_pong.e3[indirect] = path_id.reshape(-1) + 1
    keep = np.isin(owner, first)
    path_instance = (path_id.reshape(-1)[owner[keep]] + 1).astype(np.int64) if total else (
        np.zeros(0, np.int64))
    path_step = offsets[keep].astype(np.int32) if total else np.zeros(0, np.int32)
    path_holder = holders[keep] if total else np.zeros(0, np.int32)

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
                          e3=runs.holder[hit], since=runs.event[hit - 1], until=runs.event[hit])


def detect_reopen(events: EventArrays, resolution: Resolution) -> Instances:
    """e1 = the resolved activity reopened, e2 = the reopening activity."""
    idx = resolution.reopen
    nxt = events.first_from_at(resolution.resolved, idx)
    end = np.where(nxt >= 0, nxt, events.ends[events.ci[idx]] - 1)
    return Instances.make(events, idx, "reopen", _hours(events.t[end] - events.t[idx]),
                          e1=events.a[resolution.reopen_after], e2=events.a[idx], until=end)


def detect_rework(events: EventArrays, resolution: Resolution, settings: MiningSettings
                  ) -> Instances:
    """Repeats of work-stage activities (see the module docstring); e1 = the other work
    activity just before the repeat, e2 = the repeated activity."""
    vocab = events.vocab
    widx = events.flagged(vocab.stage_codes(settings.work_stages), events.st)
    if len(widx) < 2:
        return Instances.make(events, np.zeros(0, np.int64), "rework", np.zeros(0))
    prev = previous_same(events.a[widx], events.ci[widx])   # positions within widx
    cur = np.flatnonzero(prev >= 0)
    before = prev[cur]
    other_work_between = cur - before >= 2
    reopens = resolution.reopen
    at, since = widx[cur], widx[before]
    if settings.rework_after_reopen:
        reopened = np.zeros(events.n, dtype=bool)
        reopened[reopens] = True
        allowed = ~reopened[at]
    else:
        allowed = (np.searchsorted(reopens, at, side="right")
                   == np.searchsorted(reopens, since, side="right"))
    keep = cur[other_work_between & allowed]
    hit = widx[keep]
    return Instances.make(events, hit, "rework", _hours(events.dwell_us[hit]),
                          e1=events.a[widx[keep - 1]], e2=events.a[hit],
                          until=next_event(events, hit))


def detect(events: EventArrays, settings: MiningSettings) -> WasteResult:
    """Every waste type but deviation (conformance.py adds it). The group-run detectors run
    in a second thread (numpy releases the GIL on large arrays): two cores, two chains.
    (The mining step runs this beside the variants: EventArrays' derived arrays are cached
    properties, deterministic, so two threads asking for one at once get equal arrays.)"""
    for name in ("ci", "case_start", "a", "st", "g", "holder", "has_next", "dwell_us"):
        getattr(events, name)   # shared derived arrays, computed once before forking

    def groups() -> tuple[GroupRuns, tuple]:
        runs = GroupRuns.of(events)
        return runs, detect_group_waste(events, runs, settings)

    group_chain = in_thread(groups, "procmine-mine-groups")
    try:
        waiting = detect_waiting(events, settings)
        resolution = Resolution.of(events, settings)
        rework = detect_rework(events, resolution, settings)
        reopen = detect_reopen(events, resolution)
    finally:
        found = group_chain()   # joined even when this chain failed
    runs, ((handoffs, ping_pong, bounces), path_instance, path_step, path_holder) = found
    batches = [waiting, handoffs, ping_pong, bounces, rework, reopen]
    return WasteResult(Instances.concat(batches), runs, resolution, path_instance, path_step,
                       path_holder)
