"""Per-case figures and the daily backlog (inventory) from the event arrays.

The tables built here feed the SQL models case_kpis.sql, backlog.sql, kpi_daily.sql and
kpis.sql, which join them with core.cases and the configuration.
"""

from __future__ import annotations

import numpy as np

from procmine.mine.clock import CUSTOMER, POLICY, Clock
from procmine.mine.events import EventArrays
from procmine.mine.settings import DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.variants import Table, Variants
from procmine.mine.waste import GroupRuns, Instances, Resolution

DAY_US = 86_400_000_000
INVENTORY_EXCLUDED = frozenset({"close"})   # a closed case is no longer inventory


def clock_columns(events: EventArrays, resolution: Resolution, clock: Clock) -> Table:
    """The case table's clock columns: per case its customer and policy (clock-stopped)
    waits and those before its final resolution (the stopped part of its resolution time),
    in seconds, and the final resolution's time (resolved_us, -1 = none: the resolution is
    found once, here). Taken while the clock's running sums (24 bytes per event) exist:
    mining frees them before the per-case marts are written."""
    final = resolution.final_resolution(events)
    per_class = clock.per_case(events) / 1e6
    to_resolution = clock.between(events.starts,
                                  np.where(final >= 0, final, events.starts)) / 1e6
    return {"resolved_us": np.where(final >= 0, events.t[np.maximum(final, 0)],
                                    -1).astype(np.int64),
            "customer_wait_s": per_class[CUSTOMER], "policy_wait_s": per_class[POLICY],
            "stopped_resolution_s": to_resolution[CUSTOMER] + to_resolution[POLICY]}


def case_spans(events: EventArrays) -> Table:
    """Per case (array order) its first and last event's time (epoch microseconds): what the
    aggregate marts read of the case table (waste_drivers.sql, waste_heatmap.sql)."""
    n = events.cases
    return {"ci": np.arange(n, dtype=np.int32),
            "first_us": events.t[events.starts] if n else np.zeros(0, np.int64),
            "last_us": events.t[events.ends - 1] if n else np.zeros(0, np.int64)}


def case_table(events: EventArrays, variants: Variants, runs: GroupRuns, waste: Instances,
               cost: np.ndarray, settings: MiningSettings, clocked: Table,
               rows: np.ndarray | None = None) -> Table:
    """One row per case (array order), or per case of `rows` (sorted case indices: the
    rewritten cases, whose marts.case_kpis rows are written): times in epoch microseconds
    (-1 = none), counts, and the columns of `clock_columns` (one per case of the log)."""
    n = events.cases if rows is None else len(rows)
    ci = np.arange(n, dtype=np.int32) if rows is None else rows.astype(np.int32)
    starts, ends = ((events.starts, events.ends) if rows is None
                    else (events.starts[rows], events.ends[rows]))
    vocab = events.vocab
    response = events.first_per_case(
        events.flagged(vocab.stage_codes(settings.response_stages), events.st), cases=rows)
    response_us = np.where(response >= 0, events.t[np.maximum(response, 0)], -1)
    # each case's row (position in the table), -1 for cases without one
    at = None if rows is None else np.full(events.cases, -1, np.int64)
    if at is not None:
        at[ci] = np.arange(n)
        clocked = {name: column[ci] for name, column in clocked.items()}
        chosen = at[waste.ci] >= 0
        waste_at, wtypes, details = at[waste.ci[chosen]], waste.wtype[chosen], waste.detail[chosen]
        hours, cost = waste.hours[chosen], cost[chosen]
    else:
        waste_at, wtypes, details, hours = waste.ci, waste.wtype, waste.detail, waste.hours
    first_holder = np.zeros(n, np.int32)
    run_case, run_holder = runs.case[runs.first], runs.holder[runs.first]
    if at is not None:
        run_case = at[run_case]
        run_case, run_holder = run_case[run_case >= 0], run_holder[run_case >= 0]
    first_holder[run_case] = run_holder

    def count(wtype: str, detail: str | None = None) -> np.ndarray:
        # int32: case_kpis.sql casts the counts to INTEGER (half the bytes per case)
        mask = wtypes == WASTE_TYPES.index(wtype)
        if detail is not None:
            mask &= details == DETAILS.index(detail)
        return np.bincount(waste_at[mask], minlength=n).astype(np.int32)

    def total(weights: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        # float even without any instance (numpy's bincount of nothing is int64, which made
        # marts.case_kpis' hour and cost columns BIGINT, truncating later incremental rows)
        if mask is None:
            found = np.bincount(waste_at, weights=weights, minlength=n)
            return found.astype(np.float64, copy=False)
        return np.bincount(waste_at[mask], weights=weights[mask],
                           minlength=n).astype(np.float64, copy=False)

    waiting = wtypes == WASTE_TYPES.index("waiting")
    vendor = waiting & (details == DETAILS.index("vendor"))
    return {
        "ci": ci,
        "vi": variants.case_variant if rows is None else variants.case_variant[rows],
        "event_count": (ends - starts).astype(np.int64),
        "first_us": events.t[starts] if n else np.zeros(0, np.int64),
        "last_us": events.t[ends - 1] if n else np.zeros(0, np.int64),
        "response_us": response_us.astype(np.int64),
        "resolved_us": clocked["resolved_us"],
        "first_x": events.x[starts].astype(np.int32) if n else np.zeros(0, np.int32),
        "first_holder": first_holder,
        "last_holder": events.holder[ends - 1].astype(np.int32) if n else np.zeros(0, np.int32),
        "handoffs": count("handoff"),
        "ping_pong": count("ping_pong"),
        "pp_direct": count("ping_pong", "direct"),
        "pp_indirect": count("ping_pong", "indirect"),
        "reopens": count("reopen"),
        "rework": count("rework"),
        "bounces": count("escalation_bounce"),
        "deviations": count("deviation"),
        "waiting_s": total(hours * 3600, waiting),
        "vendor_waiting_s": total(hours * 3600, vendor),
        "waste_hours": total(hours),
        "waste_cost": total(cost),
        **{name: column for name, column in clocked.items() if name != "resolved_us"},
    }


def backlog_tables(events: EventArrays, resolution: Resolution
                   ) -> tuple[Table, Table]:
    """(open cases per stage at each day's end, case-hours per stage).

    A case is in the stage of its latest event from that event until its next one (until the
    end of the log after its last event); at the end of day d it counts in the stage it is in
    then. A reassignment or reclassification of a resolved case leaves it resolved; closed
    cases are not inventory.
    """
    empty = ({"day": np.zeros(0, np.int64), "st": np.zeros(0, np.int32),
              "open_cases": np.zeros(0, np.int64)},
             {"st": np.zeros(0, np.int32), "hours": np.zeros(0)})
    if events.n == 0:
        return empty
    vocab = events.vocab
    excluded = vocab.stage_codes(INVENTORY_EXCLUDED)
    first_day = int(events.t.min() // DAY_US)
    last_day = int(events.t.max() // DAY_US)
    span = last_day - first_day + 2
    stages = len(vocab.stages)
    size = stages * span
    delta = np.zeros(size, np.int64)
    seen = np.zeros(stages, dtype=bool)
    hours = np.zeros(stages)
    # range by range (integer counts add exactly; the hours are added in event order, as
    # one bincount over all events would): temporaries of one range only
    for lo, hi in events.case_chunks():
        has_next, dwell = events.next_and_dwell(lo, hi)
        stage = events.st[lo:hi].copy()
        j0, j1 = np.searchsorted(resolution.neutral, (lo, hi))
        stage[resolution.neutral[j0:j1] - lo] = events.st[resolution.neutral_after[j0:j1]]
        idx = lo + np.flatnonzero(~excluded[stage])
        stage = stage[idx - lo]
        seen[stage] = True
        day_in = events.t[idx] // DAY_US - first_day
        day_out = np.where(has_next[idx - lo],
                           events.t[np.minimum(idx + 1, events.n - 1)] // DAY_US - first_day,
                           span - 1)
        keep = day_out > day_in
        st = stage[keep].astype(np.int64)   # (stage codes may be int16: st * span is not)
        delta += np.bincount(st * span + day_in[keep], minlength=size)
        delta -= np.bincount(st * span + day_out[keep], minlength=size)
        np.add.at(hours, stage, dwell[idx - lo] / 3.6e9)
    open_cases = np.cumsum(delta.reshape(stages, span), axis=1)[:, :span - 1]
    present = np.flatnonzero(seen)
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    backlog = {
        "day": np.tile(days, len(present)),
        "st": np.repeat(present, len(days)).astype(np.int32),
        "open_cases": open_cases[present].reshape(-1),
    }
    stage_hours = {"st": present.astype(np.int32), "hours": hours[present]}
    return backlog, stage_hours
