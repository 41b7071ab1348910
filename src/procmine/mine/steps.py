"""The per-step flags of bottlenecks.sql: a step's first occurrence in its case, by transition,
by group and by sourcing (apart from variants.py, since the flags need waste.first_in_case and
waste needs variants.mix64)."""

from __future__ import annotations

import numpy as np

from procmine.mine.events import EventArrays
from procmine.mine.settings import CLOCK_CLASSES
from procmine.mine.variants import Table
from procmine.mine.waste import first_in_case


def step_flags(events: EventArrays, steps: Table, wait_class: np.ndarray) -> Table:
    """The step table plus the group and sourcing codes of the holder (from_group,
    from_sourcing) and first_transition / first_group / first_sourcing: a step whose
    (transition, stage) / (group, stage) / (sourcing, stage) occurs for the first time in its
    case; their sums count distinct cases (bottlenecks.sql)."""
    vocab = events.vocab
    index = np.flatnonzero(events.has_next)
    classes = len(CLOCK_CLASSES)
    stages = (len(vocab.stages) + 1) * classes   # (stage, clock class) of each step
    cases = events.ci[index]
    holder = steps["from_holder"]

    def first(codes: np.ndarray) -> np.ndarray:
        flags = np.zeros(events.n, dtype=bool)
        flags[index] = first_in_case(codes[index].astype(np.int64) * stages
                                     + events.st[index] * classes + wait_class[index], cases)
        return flags

    group, sourcing = vocab.holder_group[holder], vocab.holder_sourcing[holder]
    return {
        **steps,
        "from_group": group,
        "from_sourcing": sourcing,
        "first_transition": first(events.a.astype(np.int64) * (len(vocab.activities) + 1)
                                  + steps["to_a"]),
        "first_group": first(group),
        "first_sourcing": first(sourcing),
        "clock": wait_class,
    }
