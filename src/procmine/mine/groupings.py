"""Integer inputs of the aggregate marts, prepared in numpy so their SQL models group and
join small integer codes instead of names, and count distinct cases by summing flags:

- handoff_table: the hand-offs with their from/to group and sourcing codes, each flagged when
  its (group pair) / (sourcing pair) occurs for the first time in its case (handoff_matrix.sql);
- distinct_in_case: the distinct (case, code) pairs of per-event or per-run codes (the
  groups and sourcings each case passed through);
- case_waste_masks: per case, a bit mask of the waste types it has;
- driver_counts: from those, the case counts waste_drivers.sql divides (cases with a value,
  with a waste type, with both);
- first_of_kind: flags the first waste instance of each (stage, waste type) in its case
  (waste_heatmap.sql counts distinct cases with it); first_per_case is the flag for any codes.
"""

from __future__ import annotations

import numpy as np

from procmine.mine.events import EventArrays
from procmine.mine.settings import WASTE_TYPES
from procmine.mine.variants import Table
from procmine.mine.waste import Instances, first_in_case, stable_argsort

WASTE_TYPE_BITS = len(WASTE_TYPES)
assert WASTE_TYPE_BITS <= 16, "case_waste_masks packs the waste types into 16 bits"


def distinct_in_case(cases: np.ndarray, codes: np.ndarray) -> Table:
    """The distinct (ci, code) pairs with code > 0 (0 = NULL); `cases` in event order."""
    keep = first_in_case(codes, cases) & (codes > 0)
    return {"ci": cases[keep].astype(np.int32), "code": codes[keep].astype(np.int32)}


def handoff_table(events: EventArrays, instances: Instances, handoff_code: int) -> Table:
    """One row per hand-off instance (e1 = holder handing off, e2 = holder taking over)."""
    vocab = events.vocab
    idx = np.flatnonzero(instances.wtype == handoff_code)
    ci = instances.ci[idx]
    from_holder, to_holder = instances.e1[idx], instances.e2[idx]
    groups, sourcings = len(vocab.groups), len(vocab.sourcings)
    from_group, to_group = vocab.holder_group[from_holder], vocab.holder_group[to_holder]
    from_sourcing = vocab.holder_sourcing[from_holder]
    to_sourcing = vocab.holder_sourcing[to_holder]
    return {
        "ci": ci,
        "dwell_s": events.dwell_us[instances.ev[idx]] / 1e6,
        "from_group": from_group,
        "to_group": to_group,
        "from_sourcing": from_sourcing,
        "to_sourcing": to_sourcing,
        "first_group": first_per_case(from_group.astype(np.int64) * groups + to_group, ci),
        "first_sourcing": first_per_case(from_sourcing.astype(np.int64) * sourcings
                                         + to_sourcing, ci),
    }


def case_waste_masks(instances: Instances, cases: int) -> np.ndarray:
    """Per case, a bit mask of its waste types (bit = waste type code; 0: no waste)."""
    seen = np.zeros((cases, 8 * ((WASTE_TYPE_BITS + 7) // 8)), dtype=bool)
    seen[instances.ci, instances.wtype] = True
    packed = np.packbits(seen, axis=1, bitorder="little")
    return packed.view(np.uint8 if packed.shape[1] == 1 else np.uint16).reshape(-1)


def driver_counts(pairs: list[tuple[np.ndarray, np.ndarray]], masks: np.ndarray,
                  values: int) -> dict[str, Table]:
    """The counts of waste_drivers.sql from the distinct (case index, value id 1..values)
    pairs and each case's waste mask (case_waste_masks): base (vid, cases with the value),
    type (wtype, cases with the waste type), hits (wtype, vid, cases with both); zero counts
    are left out. Cases are counted per mask first, then per waste type (a bit of the mask).
    The pairs are counted list entry by list entry and taken off the list as they are (no
    concatenated copy of millions of pairs: the counts are sums of per-entry counts)."""
    bits = (np.arange(1 << WASTE_TYPE_BITS)[:, None] >> np.arange(WASTE_TYPE_BITS)) & 1
    per_mask = np.bincount(masks, minlength=1 << WASTE_TYPE_BITS)
    per_type = per_mask @ bits
    present = np.flatnonzero(per_mask[1:]) + 1           # the masks some case has
    slot = np.zeros(1 << WASTE_TYPE_BITS, np.int64)
    slot[present] = np.arange(len(present))
    base = np.zeros(values + 1, np.int64)
    by_mask = np.zeros((values + 1) * len(present), np.int64)
    while pairs:
        ci, vid = pairs.pop(0)
        vid = np.asarray(vid).astype(np.int64, copy=False)
        named = vid > 0                                  # 0: a code without a name
        ci, vid = ci[named], vid[named]
        base += np.bincount(vid, minlength=values + 1)
        mask = masks[ci]
        wasteful = mask != 0
        by_mask += np.bincount(vid[wasteful] * len(present) + slot[mask[wasteful]],
                               minlength=(values + 1) * len(present))
        del ci, vid, named, mask, wasteful
    hits = by_mask.reshape(values + 1, len(present)) @ bits[present]   # [vid, wtype]
    hit_vid, hit_type = np.nonzero(hits)
    has_value, has_type = np.flatnonzero(base), np.flatnonzero(per_type)
    return {
        "_mine_driver_base": {"vid": has_value.astype(np.int32), "cases": base[has_value]},
        "_mine_driver_type": {"wtype": has_type.astype(np.int32), "cases": per_type[has_type]},
        "_mine_driver_hits": {"wtype": hit_type.astype(np.int32),
                              "vid": hit_vid.astype(np.int32),
                              "cases": hits[hit_vid, hit_type]},
    }


def first_of_kind(ci: np.ndarray, stage: np.ndarray, wtype: np.ndarray,
                  waste_types: int) -> np.ndarray:
    """True on the first instance of each (stage, waste type) in its case."""
    return first_per_case(stage.astype(np.int64) * waste_types + wtype, ci)


def first_per_case(codes: np.ndarray, ci: np.ndarray) -> np.ndarray:
    """True where a code occurs for the first time in its case, rows in any order (waste
    instances come by type; waste.first_in_case needs each case's rows in event order)."""
    by_case = stable_argsort(ci)
    flags = np.empty(len(ci), dtype=bool)
    flags[by_case] = first_in_case(codes[by_case], ci[by_case])
    return flags
