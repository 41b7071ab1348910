"""The per-step flags of bottlenecks.sql: a step's first occurrence in its case, by transition,
by group and by sourcing (apart from variants.py, since the flags need waste.first_in_case and
waste needs variants.mix64)."""

from __future__ import annotations

import numpy as np

from procmine.mine.events import EventArrays
from procmine.mine.settings import CLOCK_CLASSES
from procmine.mine.variants import Table, code_dtype
from procmine.mine.waste import first_in_case


def step_flags(events: EventArrays, steps: Table, wait_class: np.ndarray) -> Table:
    """The step table plus the group and sourcing codes of the holder (from_group,
    from_sourcing) and first_transition / first_group / first_sourcing: a step whose
    (transition, stage) / (group, stage) / (sourcing, stage) occurs for the first time in its
    case; their sums count distinct cases (bottlenecks.sql). The flags are found range by
    range of whole cases (events.case_chunks): their sorts' temporaries stay small."""
    vocab = events.vocab
    classes = len(CLOCK_CLASSES)
    stages = (len(vocab.stages) + 1) * classes   # (stage, clock class) of each step
    activities = len(vocab.activities) + 1
    holder = steps["from_holder"]
    group = vocab.holder_group.astype(code_dtype(len(vocab.groups)))[holder]
    sourcing = vocab.holder_sourcing.astype(code_dtype(len(vocab.sourcings)))[holder]
    flags = {name: np.zeros(events.n, dtype=bool)
             for name in ("first_transition", "first_group", "first_sourcing")}
    for lo, hi in events.case_chunks():
        index = lo + np.flatnonzero(events.has_next[lo:hi])
        cases = events.ci[index]
        stage_class = events.st[index].astype(np.int64) * classes + wait_class[index]
        transition = events.a[index].astype(np.int64) * activities + steps["to_a"][index]
        for name, codes in (("first_transition", transition), ("first_group", group[index]),
                            ("first_sourcing", sourcing[index])):
            flags[name][index] = first_in_case(codes.astype(np.int64) * stages + stage_class,
                                               cases)
    return {**steps, "from_group": group, "from_sourcing": sourcing, **flags,
            "clock": wait_class}
