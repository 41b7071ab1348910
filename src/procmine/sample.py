"""Synthetic ServiceNow-style incident export with injected Lean waste and ground truth.

``generate_sample`` writes, under ``out_dir``:

- ``servicenow/incidents.csv``: one row per update of an incident record (state
  snapshots) in the 36-column layout of the public ServiceNow incident event log,
- ``servicenow/problems.csv`` and ``servicenow/changes.csv``: linked problem and
  change records in the same layout (clean flows, no injected waste),
- ``manifest.json``: seed, rates and, per incident, the waste instances injected.

Natural incident flow: New -> Assign (an L1 group) -> [Reclassify at triage] -> Active
-> [Awaiting User Info / Problem / Evidence -> Active] -> [escalations to fresh,
higher-level groups] -> Resolved -> Closed (auto-close 5-7 days later). Natural flows
contain none of the injected patterns, which are (over the collapsed group sequence
and the state events of one record):

- ping_pong_direct: A -> B -> A, one support level;
- ping_pong_indirect: A -> B -> C -> A, one support level;
- reopen: Resolved -> Active (reopen_count + 1) -> ... -> Resolved;
- vendor_waiting: an Awaiting Vendor period (``vendor`` column set meanwhile);
- rework: a second category change (Reclassify at triage, Active, Reclassify before
  the final resolution) -- the only work activity ever repeated after other work;
- escalation_bounce: L1 -> L2 -> a different L1 group.

Output is streamed and byte-identical for the same ``(cases, seed, rates)``.
"""

from __future__ import annotations

import itertools
import json
import random
from bisect import bisect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from procmine.sources.servicenow_layout import SNAPSHOT_COLUMNS


def _rint(rnd: random.Random, lo: int, hi: int) -> int:
    """A random integer in ``[lo, hi)`` (cheaper than ``randrange``)."""
    return lo + int(rnd.random() * (hi - lo))


class _Weighted:
    """A weighted choice with precomputed cumulative weights."""

    __slots__ = ("cum", "items")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rnd: random.Random) -> Any:
        return self.items[bisect(self.cum, rnd.random() * self.cum[-1])]


COLUMNS = SNAPSHOT_COLUMNS   # the sample is a ServiceNow export
NULL = "?"

WASTE_KINDS: tuple[str, ...] = (
    "ping_pong_direct",
    "ping_pong_indirect",
    "reopen",
    "vendor_waiting",
    "rework",
    "escalation_bounce",
)
DEFAULT_RATES: dict[str, float] = {
    "ping_pong_direct": 0.08,
    "ping_pong_indirect": 0.04,
    "reopen": 0.05,
    "vendor_waiting": 0.06,
    "rework": 0.05,
    "escalation_bounce": 0.04,
}
# Share of selected cases that get a second instance of the kind.
SECOND_INSTANCE: dict[str, float] = {
    "ping_pong_direct": 0.15,
    "reopen": 0.10,
    "vendor_waiting": 0.10,
}
BLOCK = 1000  # stratification block: each kind's count is exact per block

START = datetime(2024, 1, 1)  # a Monday; all times are naive UTC
TAIL_DAYS = 7  # the export is taken this long after the last arrival
BH_START, BH_END = 8 * 60, 18 * 60  # business hours, Mon-Fri
DAY = 1440

PRIORITIES: tuple[str, ...] = ("1 - Critical", "2 - High", "3 - Moderate", "4 - Low")
PRIORITY_WEIGHTS = (0.02, 0.08, 0.78, 0.12)
SLA_TARGET_HOURS: dict[str, int] = {
    "1 - Critical": 4, "2 - High": 8, "3 - Moderate": 24, "4 - Low": 72,
}  # fmt: skip
_LEVELS3 = ("1 - High", "2 - Medium", "3 - Low")
# priority -> weighted (impact, urgency) index pairs, consistent with the usual matrix.
_IMPACT_URGENCY: dict[str, _Weighted] = {
    "1 - Critical": _Weighted([(0, 0)], [1.0]),
    "2 - High": _Weighted([(0, 1), (1, 0)], [0.45, 0.55]),
    "3 - Moderate": _Weighted([(1, 1), (0, 2), (2, 0)], [0.97, 0.015, 0.015]),
    "4 - Low": _Weighted([(2, 2), (1, 2), (2, 1)], [0.6, 0.2, 0.2]),
}
# priority -> (work delay scale, wait scale, works around the clock)
_PACE: dict[str, tuple[float, float, bool]] = {
    "1 - Critical": (0.05, 0.12, True), "2 - High": (0.15, 0.3, True),
    "3 - Moderate": (0.3, 0.35, False), "4 - Low": (0.6, 0.7, False),
}  # fmt: skip

N_CATEGORIES = 40
SECURITY_CATEGORY = N_CATEGORIES + 1  # index of the "Security" category
SECURITY_SHARE = 0.03
CONTACT_TYPES = ("Phone", "Email", "Self service", "Walk in", "Chat")
CONTACT_WEIGHTS = (0.55, 0.2, 0.2, 0.03, 0.02)
CLOSED_CODES = tuple(f"code {i}" for i in range(1, 18))
PROBLEM_LINK_SHARE, PROBLEM_REUSE = 0.05, 0.45
CHANGE_LINK_SHARE, CHANGE_REUSE = 0.04, 0.10
CAUSED_BY_SHARE = 0.004
NATURAL_RECLASSIFY = 0.2  # share of incidents whose category is corrected at triage
SYSTEM_USER = "Updated by 908"


@dataclass(frozen=True)
class Group:
    """An assignment group; level and sourcing follow from its name."""

    name: str
    level: int
    sourcing: str
    vendor: str | None
    weight: float
    resolvers: tuple[str, ...]


def _build_groups() -> tuple[Group, ...]:
    specs = (
        ("Hub Service Desk L1", 45), ("Hub Service Desk 2 L1", 20),
        ("Spoke Finance IT L1", 12), ("Spoke Retail IT L1", 13),
        ("Spoke Manufacturing IT L1", 10),
        ("Hub Network L2", 20), ("Hub Server L2", 18), ("Hub Applications L2", 25),
        ("Spoke Finance IT L2", 10), ("Spoke Retail IT L2", 10),
        ("Spoke Manufacturing IT L2", 8), ("Vendor Acme Networks L2", 9),
        ("Hub Database L3", 25), ("Hub Security L3", 15), ("Vendor Acme Networks L3", 20),
        ("Vendor Globex Apps L3", 25), ("Vendor Initech Cloud L3", 15),
    )  # fmt: skip
    groups = []
    for gi, (name, weight) in enumerate(specs):
        words = name.split()
        vendor = words[1] if words[0] == "Vendor" else None
        if words[0] == "Hub":
            sourcing = "hub"
        elif words[0] == "Spoke":
            sourcing = f"spoke:{words[1].lower()}"
        else:
            sourcing = f"vendor:{words[1].lower()}"
        resolvers = tuple(f"Resolver {gi * 12 + k + 1:03d}" for k in range(12))
        groups.append(Group(name, int(words[-1][1]), sourcing, vendor, weight, resolvers))
    return tuple(groups)


GROUPS: tuple[Group, ...] = _build_groups()
GROUPS_BY_LEVEL: dict[int, tuple[Group, ...]] = {
    lvl: tuple(g for g in GROUPS if g.level == lvl) for lvl in (1, 2, 3)
}
VENDORS: tuple[str, ...] = tuple(sorted({g.vendor for g in GROUPS if g.vendor}))


@dataclass
class SampleSummary:
    """What ``generate_sample`` wrote."""

    out_dir: Path
    cases: int
    snapshot_rows: int  # data rows over incidents, problems and changes
    files: list[Path]  # the three CSV files and the manifest
    manifest: Path


# ---------------------------------------------------------------- time helpers


class _Clock:
    """Minute offsets from START, formatted as ``d/m/yyyy HH:MM``."""

    def __init__(self, days: int) -> None:
        self._days = [
            f"{d.day}/{d.month}/{d.year} "
            for d in (START + timedelta(days=i) for i in range(days + 1))
        ]
        self._hm = [f"{m // 60:02d}:{m % 60:02d}" for m in range(DAY)]

    def fmt(self, t: int) -> str:
        day, minute = divmod(t, DAY)
        return self._days[day] + self._hm[minute]


def _snap(t: int, rnd: random.Random) -> int:
    """Move ``t`` into business hours (next business morning, with jitter)."""
    day, minute = divmod(t, DAY)
    if day % 7 < 5 and BH_START <= minute < BH_END:
        return t
    if day % 7 >= 5 or minute >= BH_END:
        day += 1
    while day % 7 >= 5:
        day += 1
    return day * DAY + BH_START + _rint(rnd, 0, 75)


def _span_days(cases: int) -> int:
    """Arrival period: several weeks for small samples, up to a year for large ones."""
    return min(364, max(28, cases // 150))


def _arrivals(np_rng: np.random.Generator, cases: int, days: int) -> np.ndarray:
    """Sorted arrival minutes, peaking Mon-Fri 08-18."""
    hours = np.arange(days * 24)
    hod, dow = hours % 24, (hours // 24) % 7
    weekday = dow < 5
    w = np.where(weekday, 0.6, 0.4)
    w = np.where(weekday & (((hod >= 6) & (hod < 8)) | ((hod >= 18) & (hod < 21))), 3.0, w)
    w = np.where(weekday & (hod >= 8) & (hod < 18), 10.0, w)
    w = np.where(~weekday & (hod >= 9) & (hod < 19), 1.2, w)
    picked = np_rng.choice(hours, size=cases, p=w / w.sum())
    minutes = picked * 60 + np_rng.integers(0, 60, size=cases)
    minutes.sort()
    return minutes


# ---------------------------------------------------------------- waste plan


def _block_plan(
    rnd: random.Random, size: int, rates: dict[str, float]
) -> dict[int, dict[str, int]]:
    """Per offset in a block: the waste kinds and instance counts to inject.

    Each kind gets floor/ceil(rate * size) cases (stochastic rounding), so the
    realised share is exact per full block whatever the seed.
    """
    plan: dict[int, dict[str, int]] = {}
    for kind in WASTE_KINDS:
        expected = rates[kind] * size
        k = int(expected)
        if rnd.random() < expected - k:
            k += 1
        for offset in sorted(rnd.sample(range(size), k)):
            n = 2 if rnd.random() < SECOND_INSTANCE.get(kind, 0.0) else 1
            plan.setdefault(offset, {})[kind] = n
    return plan


# ---------------------------------------------------------------- record flows


@dataclass(slots=True)
class _Snap:
    t: int
    state: str
    group: Group | None
    assignee: str
    category: int
    vendor: str
    reassign: int
    reopen: int
    updated_by: str
    problem: str
    rfc: str


class _Flow:
    """Simulates one record's life as a list of snapshots (O(rows) state)."""

    def __init__(self, rnd: random.Random, t0: int, priority: str, category: int) -> None:
        self.rnd = rnd
        self.t = t0
        self.scale, self.wait_scale, self.round_clock = _PACE[priority]
        self.state = "New"
        self.group: Group | None = None
        self.assignee = NULL
        self.category = category
        self.vendor = NULL
        self.reassign = 0
        self.reopen = 0
        self.problem = NULL
        self.rfc = NULL
        self.used: set[str] = set()
        self.rows: list[_Snap] = []
        self.done: list[tuple[str, int]] = []  # (waste kind, time the pattern completes)

    # -- clock
    def work(self, base: float) -> None:
        """Advance by a work step (scaled by priority), in business hours if due."""
        self.t += max(1, int(base * self.scale * self.rnd.lognormvariate(0.0, 0.75)))
        if not self.round_clock:
            self.t = _snap(self.t, self.rnd)

    def wait(self, median: float, scaled: bool = True) -> None:
        """Advance by a calendar wait; the resuming step is a work step."""
        median *= self.wait_scale if scaled else 1.0
        self.t += max(5, int(median * self.rnd.lognormvariate(0.0, 0.6)))
        if not self.round_clock:
            self.t = _snap(self.t, self.rnd)

    # -- rows
    def emit(self, updated_by: str | None = None) -> int:
        if self.rows and self.t <= self.rows[-1].t:
            self.t = self.rows[-1].t + 1
        self.rows.append(
            _Snap(
                self.t, self.state, self.group, self.assignee, self.category, self.vendor,
                self.reassign, self.reopen,
                updated_by or f"Updated by {_rint(self.rnd, 1, 1000)}",
                self.problem, self.rfc,
            )
        )  # fmt: skip
        return self.t

    def note(self, p: float) -> None:
        """Maybe add a work-note row (same state)."""
        if self.rnd.random() < p:
            self.work(25)
            self.emit()

    def set_state(self, state: str, base: float = 90) -> int:
        self.work(base)
        self.state = state
        return self.emit()

    # -- groups
    def fresh(self, level: int) -> Group | None:
        pool = [g for g in GROUPS_BY_LEVEL[level] if g.name not in self.used]
        if not pool:
            return None
        return self.rnd.choices(pool, weights=[g.weight for g in pool])[0]

    def assign(self, group: Group, base: float = 60) -> int:
        """Hand the record to ``group`` (queue row), then a resolver picks it up."""
        if self.rows:
            self.work(base)
        if self.group is not None:
            self.reassign += 1
        self.group, self.assignee = group, NULL
        self.used.add(group.name)
        return self.emit()

    def pick_up(self) -> None:
        assert self.group is not None
        self.work(40)
        self.assignee = self.rnd.choice(self.group.resolvers)
        self.emit()

    def level(self) -> int:
        return self.group.level if self.group else 1


# -- incident episodes (each starts and ends in state Active)


def _ep_escalate(f: _Flow) -> bool:
    if f.level() >= 3:
        return False
    up = 2 if f.level() == 1 and f.rnd.random() < 0.2 else 1  # L1 -> L3 now and then
    target = f.fresh(f.level() + up) or f.fresh(3)
    if target is None:
        return False
    f.assign(target, 150)
    f.pick_up()
    f.note(0.3)
    return True


def _ep_ping_pong(f: _Flow, detour: int, kind: str) -> None:
    """A -> B (-> C) -> A at one support level; escalate first if the level is full."""
    while sum(g.name not in f.used for g in GROUPS_BY_LEVEL[f.level()]) < detour:
        if not _ep_escalate(f):
            return
    home = f.group
    assert home is not None
    for _ in range(detour):
        other = f.fresh(f.level())
        assert other is not None
        f.assign(other, 90)
        f.note(0.5)
    f.assign(home, 60)
    f.done.append((kind, f.rows[-1].t))
    f.pick_up()


def _ep_bounce(f: _Flow) -> None:
    """L1 -> fresh L2 -> a different, fresh L1 group."""
    up, down = f.fresh(2), f.fresh(1)
    if f.level() != 1 or up is None or down is None:
        return
    f.assign(up, 120)
    f.pick_up()
    f.assign(down, 90)
    f.done.append(("escalation_bounce", f.rows[-1].t))
    f.pick_up()


def _ep_wait(f: _Flow, state: str, median: float) -> None:
    f.set_state(state)
    f.note(0.2)
    f.wait(median)
    f.state = "Active"
    f.emit()


def _ep_vendor(f: _Flow) -> None:
    assert f.group is not None
    f.vendor = f.group.vendor or f.rnd.choice(VENDORS)
    f.done.append(("vendor_waiting", f.set_state("Awaiting Vendor")))
    f.note(0.4)
    f.wait(f.rnd.choice((360, 1200, 2400)), scaled=False)  # hours to days
    f.vendor = NULL
    f.state = "Active"
    f.emit()


def _new_category(f: _Flow) -> int:
    c = _rint(f.rnd, 1, N_CATEGORIES + 1)
    return c if c != f.category else c % N_CATEGORIES + 1


def _reclassify(f: _Flow) -> int:
    """Change the category (a row of its own, state unchanged)."""
    f.work(60)
    f.category = _new_category(f)
    return f.emit()


_N_ESCALATIONS = _Weighted((0, 1, 2), (0.45, 0.4, 0.15))
_GROUP_EPISODES = frozenset({"escalate", "pp_direct", "pp_indirect"})


def _plan_episodes(f: _Flow, waste: dict[str, int], problem_wait: bool) -> list[str]:
    rnd = f.rnd
    eps = ["escalate"] * _N_ESCALATIONS.pick(rnd)
    if rnd.random() < 0.45:
        eps.append("await_user")
    if problem_wait:
        eps.append("await_problem")
    if rnd.random() < 0.01:
        eps.append("await_evidence")
    eps += ["pp_direct"] * waste.get("ping_pong_direct", 0)
    eps += ["pp_indirect"] * waste.get("ping_pong_indirect", 0)
    eps += ["vendor"] * waste.get("vendor_waiting", 0)
    rnd.shuffle(eps)
    if "escalation_bounce" in waste:  # before any other group change: starts at L1
        moves = [i for i, ep in enumerate(eps) if ep in _GROUP_EPISODES]
        eps.insert(rnd.randint(0, moves[0] if moves else len(eps)), "bounce")
    return eps


def _run_episode(f: _Flow, ep: str) -> None:
    if ep == "escalate":
        _ep_escalate(f)
    elif ep == "pp_direct":
        _ep_ping_pong(f, 1, "ping_pong_direct")
    elif ep == "pp_indirect":
        _ep_ping_pong(f, 2, "ping_pong_indirect")
    elif ep == "bounce":
        _ep_bounce(f)
    elif ep == "vendor":
        _ep_vendor(f)
    elif ep == "await_user":
        _ep_wait(f, "Awaiting User Info", 900)
    elif ep == "await_problem":
        _ep_wait(f, "Awaiting Problem", 3000)
    elif ep == "await_evidence":
        _ep_wait(f, "Awaiting Evidence", 1500)
    f.note(0.25)


def _resolve_and_close(f: _Flow, reopens: int = 0, rework: bool = False) -> None:
    """Resolve (and reopen ``reopens`` times), then auto-close some days later.

    With ``rework`` the category is changed again just before the final resolution:
    after the last Active, so the classification is the only work step repeated.
    """
    for i in range(reopens + 1):
        if i:
            f.wait(f.rnd.choice((600, 1500, 3000)), scaled=False)
            f.state, f.reopen = "Active", f.reopen + 1
            f.done.append(("reopen", f.emit()))
            f.note(0.4)
        if rework and i == reopens:
            f.done.append(("rework", _reclassify(f)))
        f.set_state("Resolved", 150)
        f.note(0.3)
    f.t += DAY * f.rnd.choice((5, 5, 5, 6, 7))  # auto-close, on the hour, any day
    f.t += -f.t % 60
    f.state = "Closed"
    f.emit(SYSTEM_USER)


# ---------------------------------------------------------------- static columns


_CATEGORY_NAMES = ["", *(f"Category {c}" for c in range(1, N_CATEGORIES + 1)), "Security"]
_SUBCATEGORIES = [[f"Subcategory {(c - 1) * 6 + k + 1}" for k in range(6)] for c in range(43)]
_CLOSED_CODE = _Weighted(CLOSED_CODES, (3, 1, 2, 1, 3, 50, 12, 4, 8, 1, 1, 1, 1, 1, 1, 1, 1))
_CONTACT = _Weighted(CONTACT_TYPES, CONTACT_WEIGHTS)
_CATEGORY = _Weighted(
    range(1, N_CATEGORIES + 1), [1.0 / c**0.8 for c in range(1, N_CATEGORIES + 1)]
)


@dataclass(slots=True)
class _Static:
    """Per-record column values that do not change between snapshots."""

    head: list[str]  # caller_id .. sys_created_at
    contact_location: list[str]  # contact_type, location
    detail: list[str]  # u_symptom .. priority
    flags: list[str]  # knowledge, u_priority_confirmation, notify
    caused_by: str
    closed_code: str
    subcategory: int  # which of the category's subcategories
    deadline: int  # SLA resolution deadline (minutes)


def _static(
    rnd: random.Random, clock: _Clock, t0: int, created: int, priority: str, incident: bool
) -> _Static:
    """Static columns of a record opened at ``t0`` whose first snapshot is at ``created``."""
    impact, urgency = _IMPACT_URGENCY[priority].pick(rnd)
    unknown = incident and rnd.random() < 0.1  # the real export lacks sys_created_* at times
    head = [
        f"Caller {_rint(rnd, 1, 5000)}" if incident else NULL,
        f"Opened by  {_rint(rnd, 1, 400)}",  # two spaces, as in the real export
        clock.fmt(t0),
        NULL if unknown else f"Created by {_rint(rnd, 1, 250)}",
        NULL if unknown else clock.fmt(created),
    ]
    contact = _CONTACT.pick(rnd) if incident else NULL
    return _Static(
        head=head,
        contact_location=[contact, f"Location {_rint(rnd, 1, 250)}"],
        detail=[
            f"Symptom {_rint(rnd, 1, 500)}" if incident else NULL,
            f"cmdb_ci {_rint(rnd, 1, 300)}" if rnd.random() < 0.05 else NULL,
            _LEVELS3[impact],
            _LEVELS3[urgency],
            priority,
        ],
        flags=[
            "true" if rnd.random() < 0.2 else "false",
            "true" if rnd.random() < 0.27 else "false",
            "Send Email" if rnd.random() < 0.01 else "Do Not Notify",
        ],
        caused_by=NULL,
        closed_code=_CLOSED_CODE.pick(rnd),
        subcategory=_rint(rnd, 0, 6),
        deadline=t0 + SLA_TARGET_HOURS[priority] * 60,
    )


def _pick_category(rnd: random.Random) -> int:
    if rnd.random() < SECURITY_SHARE:
        return SECURITY_CATEGORY
    return _CATEGORY.pick(rnd)


# ---------------------------------------------------------------- writing


class _Writer:
    """Streams records' snapshots, cut at the export time, as CSV lines.

    Every value comes from a fixed vocabulary or a number, so no field ever needs
    quoting; lines are joined directly (what ``csv.writer`` would write, 3x faster).
    """

    def __init__(self, handle: IO[str], clock: _Clock, cutoff: int) -> None:
        self.handle = handle
        self.clock = clock
        self.cutoff = cutoff
        self.rows = 0
        handle.write(",".join(COLUMNS) + "\n")

    def record(self, number: str, f: _Flow, st: _Static) -> None:
        rows = [r for r in f.rows if r.t <= self.cutoff]
        if not rows:
            return
        fmt = self.clock.fmt
        resolved = None  # the final resolution, repeated on every row as in the real export
        if rows[-1].state in ("Resolved", "Closed"):
            resolved = next(r for r in reversed(rows) if r.state == "Resolved")
        breached = (resolved.t if resolved else self.cutoff) > st.deadline
        tail = ",".join(
            [
                st.caused_by,
                st.closed_code if resolved else NULL,
                _resolved_by(resolved),
                fmt(resolved.t) if resolved else NULL,
                fmt(rows[-1].t) if rows[-1].state == "Closed" else NULL,
            ]
        )
        head, contact, detail, flags = (
            ",".join(x) for x in (st.head, st.contact_location, st.detail, st.flags)
        )
        deadline, sub = st.deadline, st.subcategory
        lines = []
        for mod, r in enumerate(rows):
            active = "false" if r.state == "Closed" else "true"
            made = "false" if breached and r.t >= deadline else "true"
            group = r.group.name if r.group else NULL
            lines.append(
                f"{number},{r.state},{active},{r.reassign},{r.reopen},{mod},{made},{head},"
                f"{r.updated_by},{fmt(r.t)},{contact},{_CATEGORY_NAMES[r.category]},"
                f"{_SUBCATEGORIES[r.category][sub]},{detail},{group},{r.assignee},{flags},"
                f"{r.problem},{r.rfc},{r.vendor},{tail}\n"
            )
        self.handle.write("".join(lines))
        self.rows += len(lines)


def _resolved_by(row: _Snap | None) -> str:
    if row is None:
        return NULL
    if row.assignee != NULL:
        return "Resolved by " + row.assignee.removeprefix("Resolver ")
    assert row.group is not None
    return "Resolved by " + row.group.resolvers[0].removeprefix("Resolver ")


# ---------------------------------------------------------------- linked records


class _Linked:
    """Problems or changes referenced from incidents: clean flows, written at once."""

    def __init__(self, prefix: str, writer: _Writer, reuse: float) -> None:
        self.prefix, self.writer, self.reuse = prefix, writer, reuse
        self.recent: deque[tuple[str, int, int]] = deque(maxlen=40)  # number, opened, resolved
        self.count = 0

    def link(self, rnd: random.Random, t: int, priority: str, category: int) -> str:
        """Number of a recent record still open at ``t``, or of a newly opened one."""
        if rnd.random() < self.reuse:
            live = [r for r in self.recent if r[1] <= t < r[2]]
            if live:
                return rnd.choice(live)[0]
        self.count += 1
        number = f"{self.prefix}{self.count:07d}"
        t0 = max(0, t - _rint(rnd, 5, 60))  # opened just before the incident links it
        f = _Flow(rnd, t0, "3 - Moderate", category)
        self._flow(f)
        resolved = max(r.t for r in f.rows if r.state == "Resolved")
        self.recent.append((number, t0, resolved))
        st = _static(rnd, self.writer.clock, t0, t0, priority, False)
        self.writer.record(number, f, st)
        return number

    def recent_number(self, rnd: random.Random) -> str | None:
        return rnd.choice(self.recent)[0] if self.recent else None

    def _flow(self, f: _Flow) -> None:
        """New (queued at L2/L3) -> Active -> [Awaiting Evidence -> Active] -> Resolved -> Closed."""
        rnd = f.rnd
        f.assign(f.fresh(2 if rnd.random() < 0.6 else 3) or GROUPS_BY_LEVEL[3][0])
        f.pick_up()
        f.set_state("Active", 300)
        f.note(0.5)
        if rnd.random() < 0.3:
            _ep_wait(f, "Awaiting Evidence", 2500)
        if f.level() == 2 and rnd.random() < 0.3:
            _ep_escalate(f)
        f.work(3000 if self.prefix == "PRB" else 1200)
        _resolve_and_close(f)


# ---------------------------------------------------------------- incidents


_L1 = _Weighted(GROUPS_BY_LEVEL[1], [g.weight for g in GROUPS_BY_LEVEL[1]])
_PRIORITY = _Weighted(PRIORITIES, PRIORITY_WEIGHTS)


def _incident(
    rnd: random.Random,
    t0: int,
    waste: dict[str, int],
    problems: _Linked,
    changes: _Linked,
    clock: _Clock,
    loop: Group | None = None,
) -> tuple[_Flow, _Static]:
    """One incident's snapshots (natural flow plus the injected ``waste``; with ``loop``,
    the drift's hand-off loop desk -> loop -> desk at triage)."""
    priority = _PRIORITY.pick(rnd)
    created = t0 + _rint(rnd, 0, 15)
    f = _Flow(rnd, created, priority, _pick_category(rnd))
    st = _static(rnd, clock, t0, created, priority, True)
    if rnd.random() < CAUSED_BY_SHARE:
        st.caused_by = changes.recent_number(rnd) or NULL
    desk = _L1.pick(rnd)
    if rnd.random() < 0.3:  # created straight into a service-desk queue
        f.assign(desk)
    else:
        f.emit()
        f.note(0.2)
        f.assign(desk, 20)
    f.note(0.3)
    if loop is not None:
        f.assign(loop, 60)
        f.pick_up()
        f.assign(desk, 60)
    if "rework" in waste or rnd.random() < NATURAL_RECLASSIFY:
        _reclassify(f)  # at triage, before any work: natural flows reclassify only here
    f.work(60)
    f.state, f.assignee = "Active", rnd.choice(desk.resolvers)
    problem_wait = False
    if rnd.random() < PROBLEM_LINK_SHARE:
        f.problem = problems.link(rnd, f.t, priority, f.category)
        problem_wait = rnd.random() < 0.3
    if rnd.random() < CHANGE_LINK_SHARE:
        f.rfc = changes.link(rnd, f.t, priority, f.category)
    f.emit()
    f.note(0.4)
    for ep in _plan_episodes(f, waste, problem_wait):
        _run_episode(f, ep)
    _resolve_and_close(f, waste.get("reopen", 0), "rework" in waste)
    return f, st


def _realised(f: _Flow, cutoff: int) -> dict[str, int]:
    """Injected instances whose pattern is complete by the export time."""
    out: dict[str, int] = {}
    for kind, t in f.done:
        if t <= cutoff:
            out[kind] = out.get(kind, 0) + 1
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- drift


@dataclass(frozen=True)
class Drift:
    """A process change: from ``at`` (a date), a ``share`` of the new incidents make a
    hand-off loop at triage, service desk -> ``group`` -> the same service desk."""

    at: date
    group: str
    share: float = 0.5

    def resolve(self) -> Group:
        """The group named ``group`` exactly, or the one group whose name ends with it."""
        exact = [g for g in GROUPS if g.name == self.group]
        found = exact or [g for g in GROUPS if g.name.endswith(self.group)]
        if len(found) != 1:
            raise ValueError(f"--drift-group {self.group!r} names {len(found)} groups; "
                             f"known: {', '.join(g.name for g in GROUPS)}")
        if found[0].level == 1:
            raise ValueError(f"--drift-group {self.group!r}: the loop goes from a service "
                             "desk (L1) to an L2 or L3 group")
        return found[0]

    def manifest(self, group: Group, cases: int) -> dict[str, Any]:
        desks = [g.name for g in GROUPS_BY_LEVEL[1]]
        return {
            "at": self.at.isoformat(), "group": group.name, "share": self.share,
            "cases": cases, "change": "hand-off loop at triage: service desk -> group -> desk",
            "edges": sorted([f"{d} → {group.name}" for d in desks]
                            + [f"{group.name} → {d}" for d in desks]),
        }


def _drift_plan(drift: Drift | None, seed: int) -> tuple[Group | None, int, random.Random]:
    """(loop group, first arrival minute of the change, the RNG choosing looped cases: its
    own, so that the arrivals and the waste plan do not depend on the drift)."""
    if drift is None:
        return None, 0, random.Random(0)
    if not 0.0 < drift.share <= 1.0:
        raise ValueError(f"--drift-share must be within (0, 1], got {drift.share}")
    at = datetime(drift.at.year, drift.at.month, drift.at.day)
    return drift.resolve(), int((at - START).total_seconds() // 60), random.Random(seed + 1)


# ---------------------------------------------------------------- entry point


def _check_rates(rates: dict[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_RATES)
    for kind, rate in (rates or {}).items():
        if kind not in merged:
            raise ValueError(f"unknown waste kind {kind!r}; known: {', '.join(WASTE_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate of {kind} must be within [0, 1], got {rate}")
        merged[kind] = float(rate)
    return merged


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(", ", ": "))


def generate_sample(
    out_dir: Path,
    cases: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    rates: dict[str, float] | None = None,
    *,
    weeks: int | None = None,
    drift: Drift | None = None,
) -> SampleSummary:
    """Write a ServiceNow-style incident export with injected waste and its manifest.

    ``rates`` overrides ``DEFAULT_RATES`` (share of incidents per waste kind).
    ``weeks`` sets the arrival period (default: from ``cases``, ``_span_days``); ``drift``
    injects a process change (``Drift``), recorded under "drift" in the manifest.
    ``progress`` is called with the number of incidents done, every 1000 incidents.
    """
    if cases < 1:
        raise ValueError("cases must be at least 1")
    rates = _check_rates(rates)
    loop, drift_from, drift_rnd = _drift_plan(drift, seed)   # checked before writing
    out_dir = Path(out_dir)
    sn_dir = out_dir / "servicenow"
    sn_dir.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    span = weeks * 7 if weeks else _span_days(cases)
    drift_cases = 0
    cutoff = (span + TAIL_DAYS) * DAY
    arrivals = _arrivals(np.random.default_rng(rnd.getrandbits(64)), cases, span)
    clock = _Clock(span + TAIL_DAYS + 1)
    paths = [sn_dir / "incidents.csv", sn_dir / "problems.csv", sn_dir / "changes.csv"]
    manifest = out_dir / "manifest.json"
    part = out_dir / ".manifest.cases.part"
    counts = dict.fromkeys(WASTE_KINDS, 0)
    case_counts = dict.fromkeys(WASTE_KINDS, 0)
    with (
        paths[0].open("w", encoding="utf-8", newline="") as inc_h,
        paths[1].open("w", encoding="utf-8", newline="") as prb_h,
        paths[2].open("w", encoding="utf-8", newline="") as chg_h,
        part.open("w", encoding="utf-8", newline="\n") as part_h,
    ):
        incidents = _Writer(inc_h, clock, cutoff)
        problems = _Linked("PRB", _Writer(prb_h, clock, cutoff), PROBLEM_REUSE)
        changes = _Linked("CHG", _Writer(chg_h, clock, cutoff), CHANGE_REUSE)
        first = True
        for start in range(0, cases, BLOCK):
            size = min(BLOCK, cases - start)
            plan = _block_plan(rnd, size, rates)
            for offset, t0 in enumerate(arrivals[start : start + size].tolist()):
                number = f"INC{start + offset + 1:07d}"
                looped = None
                if (drift is not None and loop is not None and t0 >= drift_from
                        and drift_rnd.random() < drift.share):
                    looped, drift_cases = loop, drift_cases + 1
                f, st = _incident(rnd, t0, plan.get(offset, {}), problems, changes, clock,
                                  looped)
                incidents.record(number, f, st)
                realised = _realised(f, cutoff)
                if realised:
                    part_h.write(("" if first else ",\n") + f'    "{number}": {_dumps(realised)}')
                    first = False
                    for kind, n in realised.items():
                        counts[kind] += n
                        case_counts[kind] += 1
            if progress is not None:
                progress(start + size)
        part_h.write("\n")
    meta = _manifest_meta(seed, cases, rates, span, cutoff)
    if drift is not None and loop is not None:
        meta["drift"] = drift.manifest(loop, drift_cases)
    _write_manifest(manifest, part, meta, counts, case_counts)
    rows = incidents.rows + problems.writer.rows + changes.writer.rows
    return SampleSummary(out_dir, cases, rows, [*paths, manifest], manifest)


def _manifest_meta(
    seed: int, cases: int, rates: dict[str, float], span: int, cutoff: int
) -> dict[str, Any]:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "seed": seed,
        "cases": cases,
        "rates": dict(sorted(rates.items())),
        "period": {
            "start": START.strftime(iso),
            "arrivals_end": (START + timedelta(days=span)).strftime(iso),
            "export_at": (START + timedelta(minutes=cutoff)).strftime(iso),
        },
        "sla_target_hours": SLA_TARGET_HOURS,
        "groups": {g.name: {"level": f"L{g.level}", "sourcing": g.sourcing} for g in GROUPS},
    }


def _write_manifest(
    path: Path,
    part: Path,
    meta: dict[str, Any],
    counts: dict[str, int],
    case_counts: dict[str, int],
) -> None:
    """Assemble manifest.json (keys sorted) around the streamed per-case part."""
    top = {**meta, "counts": counts, "case_counts": case_counts}
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("{\n")
        keys = sorted([*top, "cases_with_waste"])
        for i, key in enumerate(keys):
            sep = ",\n" if i < len(keys) - 1 else "\n"
            if key == "cases_with_waste":
                out.write('  "cases_with_waste": {\n')
                with part.open(encoding="utf-8") as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                out.write("  }" + sep)
            else:
                out.write(f"  {json.dumps(key)}: {_dumps(top[key])}{sep}")
        out.write("}\n")
    part.unlink()
