"""Clock semantics: which waits the organisation can shorten and which it cannot.

ITSM tools stop the service clock at resolution and on customer-pending states (ServiceNow's
SLA pause conditions). Each event's wait (the time until the case's next event) gets a class:

- internal: the organisation's own delay (work, queues, hand-offs, vendors it manages);
- customer: waiting for the user or customer ([sources.<name>.clock] customer);
- policy: a wait the process imposes: resolved until closed or reopened (the customer's
  confirmation window before an auto-close; [sources.<name>.clock] after_resolution) and
  scheduled or planned waits ([sources.<name>.clock] policy).

Customer and policy waits are clock-stopped: waste hours exclude them, bottlenecks rank them
apart, KPIs report them beside the internal figures. Everything is vectorised: one class per
step code (activity of a source), one running sum per class, so the time of any interval
between two events of a case in each class is a difference of two sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procmine.mine.events import EventArrays
from procmine.mine.settings import CLOCK_CLASSES, MiningSettings

INTERNAL, CUSTOMER, POLICY = (CLOCK_CLASSES.index(c) for c in ("internal", "customer", "policy"))
US_PER_HOUR = 3_600_000_000


STOPPED = tuple(k for k in range(len(CLOCK_CLASSES)) if k != INTERNAL)


@dataclass
class Clock:
    """Per event the class of its wait (int8: CLOCK_CLASSES) and, per clock-stopped class
    (STOPPED), the running sum of the waits before each event (index n: the sum of all): a
    case's time in such a class between events i <= j is sums[row][j] - sums[row][i]. Its
    internal time is the rest of t[j] - t[i] (the waits of a case add up to its time span):
    no running sum for it, 8 bytes per event less while the clock exists."""

    wait_class: np.ndarray
    sums: np.ndarray          # (len(STOPPED), n + 1) int64 microseconds
    t: np.ndarray             # the events' times (EventArrays.t, not a copy)

    @classmethod
    def of(cls, events: EventArrays, settings: MiningSettings,
           resolved: np.ndarray) -> Clock:
        """`resolved`: per event, whether the case stands resolved after it (resolve/close
        events and the neutral ones while resolved, waste.Resolution.resolved_state)."""
        vocab = events.vocab
        steps = len(vocab.step_activity)
        step_class = np.full(steps, INTERNAL, np.int8)
        step_stops_after = np.zeros(steps, dtype=bool)
        for code in range(steps):   # per step code (the vocabulary), not per event
            rules = settings.clock_rules(vocab.sources[vocab.step_source[code]])
            activity = vocab.activities[vocab.step_activity[code]]
            if activity in rules.customer:
                step_class[code] = CUSTOMER
            elif activity in rules.policy:
                step_class[code] = POLICY
            step_stops_after[code] = rules.after_resolution
        wait_class = step_class[events.x]
        wait_class[resolved & step_stops_after[events.x] & (wait_class == INTERNAL)] = POLICY
        dwell = events.dwell_us
        sums = np.zeros((len(STOPPED), events.n + 1), np.int64)
        for row, k in enumerate(STOPPED):
            np.multiply(dwell, wait_class == k, out=sums[row, 1:])
            np.cumsum(sums[row, 1:], out=sums[row, 1:])
        return cls(wait_class, sums, events.t)

    def stopped(self) -> np.ndarray:
        """Per event, whether its wait is clock-stopped (customer or policy)."""
        return self.wait_class != INTERNAL

    def between(self, since: np.ndarray, until: np.ndarray) -> np.ndarray:
        """Per interval (event indices since <= until of one case), microseconds per class:
        shape (len(CLOCK_CLASSES), len(since))."""
        parts = np.empty((len(CLOCK_CLASSES), len(since)), np.int64)
        parts[INTERNAL] = self.t[until] - self.t[since]
        for row, k in enumerate(STOPPED):
            parts[k] = self.sums[row, until] - self.sums[row, since]
            parts[INTERNAL] -= parts[k]
        return parts

    def per_case(self, events: EventArrays) -> np.ndarray:
        """Per case, microseconds per class: shape (len(CLOCK_CLASSES), cases)."""
        return self.between(events.starts, events.ends - 1)
