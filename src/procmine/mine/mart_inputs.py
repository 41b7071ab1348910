"""The numpy tables mining registers for the SQL models (code tables, the waste rows, costs,
the drivers' counts), built from the event arrays and the waste instances."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import duckdb
import numpy as np

from procmine.mine.conformance import Conformance
from procmine.mine.events import EventArrays
from procmine.mine.groupings import case_waste_masks, distinct_in_case, driver_counts
from procmine.mine.settings import DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.variants import Table, object_array, utc
from procmine.mine.waste import GroupRuns, Instances, Resolution
from procmine.sql import run_sql
from procmine.sql.models import materialise_sql, model_query

CASE_VENDORS_SQL = "SELECT ci, vendor FROM _mine_case_id WHERE vendor IS NOT NULL"


def names(values: list[str | None]) -> Table:
    """A code table: each name's code is its position."""
    return {"code": np.arange(len(values), dtype=np.int32), "name": object_array(values)}


def stage_names(events: EventArrays) -> list[str | None]:
    """The stage code table, with 'reopen' (the stage of reopen waste) if not there yet."""
    stages = list(events.vocab.stages)
    return stages if "reopen" in stages else [*stages, "reopen"]


def holder_rates(events: EventArrays, settings: MiningSettings) -> np.ndarray:
    vocab = events.vocab
    return np.array([
        settings.rate(vocab.levels[vocab.holder_level[code]],
                      vocab.sourcings[vocab.holder_sourcing[code]])
        for code in range(len(vocab.holder_group))
    ], dtype=np.float64)


def costs(events: EventArrays, instances: Instances, settings: MiningSettings) -> np.ndarray:
    """hours × hourly rate of the group holding the case there × the waste type's factor."""
    rate = holder_rates(events, settings)[events.holder[instances.ev]]
    factor = np.array([settings.factor(w) for w in WASTE_TYPES])[instances.wtype]
    return instances.hours * rate * factor


def neutral_only(resolution: Resolution) -> Resolution:
    """The resolution with only its neutral events kept (the backlog's input; the other
    index arrays, one int64 per open event among them, are freed)."""
    none = np.zeros(0, np.int64)
    return dataclasses.replace(resolution, resolved=none, resolved_stage=none, open=none,
                               reopen=none, reopen_after=none)


def waste_table(events: EventArrays, instances: Instances, cost: np.ndarray,
                reopen_stage: int) -> Table:
    ev = instances.ev
    reopen = instances.wtype == WASTE_TYPES.index("reopen")
    stage = np.where(reopen, reopen_stage, events.st[ev]).astype(np.int32)
    return {
        "ci": instances.ci,
        "wtype": instances.wtype,
        "stage": stage,
        "detail": instances.detail,
        "hours": instances.hours,
        "cost": cost,
        "e1": instances.e1,
        "e2": instances.e2,
        "e3": instances.e3,
        "stopped_hours": instances.stopped,
        "clock": instances.clock,
        # the instances' event indices (not copies): `event_columns` takes each part's
        # times and holder from them when it is written
        "ev": ev,
        "since": instances.since,
        "until": instances.until,
    }


def event_columns(events: EventArrays) -> Callable[[Table], Table]:
    """Rows of the waste table (`waste_table`) with what waste.sql reads of their events:
    the holder and the times (epoch microseconds and TIMESTAMPTZ ts, since_ts, until_ts).
    Made part by part as marts.waste is written (in the writer's thread, from the arrays
    taken here): 28 bytes per instance for one part only."""
    t, holder = events.t, events.holder

    def add(rows: Table) -> Table:
        return with_times({**rows, "holder": holder[rows["ev"]].astype(np.int32),
                           "t_us": t[rows["ev"]],
                           "since_us": t[rows["since"]], "until_us": t[rows["until"]]},
                          ts="t_us", since_ts="since_us", until_ts="until_us")

    return add


def with_times(table: Table, **columns: str) -> Table:
    """The table with TIMESTAMPTZ columns (variants.utc) beside the epoch-microsecond columns
    they view, e.g. ts="t_us" (the SQL models read them as they are: no cast per row)."""
    return {**table, **{name: utc(table[source]) for name, source in columns.items()}}


def case_rows(table: Table, rewrite: np.ndarray | None, events: EventArrays) -> Table:
    """The rows of a table with a case index column `ci` that belong to the rewritten cases."""
    if rewrite is None:
        return table
    chosen = np.zeros(events.cases, dtype=bool)
    chosen[rewrite] = True
    keep = chosen[table["ci"]]
    return {name: column[keep] for name, column in table.items()}


def case_vendors(conn: duckdb.DuckDBPyConnection, events: EventArrays,
                 instances: Instances) -> list[str | None]:
    """Vendor names (code table) and, on waits at a vendor, e3 = the case's vendor code
    (core.cases.vendor, e.g. ServiceNow's vendor column)."""
    found = conn.sql(CASE_VENDORS_SQL).fetchnumpy()
    at, vendor_names = np.asarray(found["ci"]), np.asarray(found["vendor"], dtype=object)
    if not len(at):
        return [None]
    vendors, codes = np.unique(vendor_names.astype(str), return_inverse=True)
    case_vendor = np.zeros(events.cases, np.int32)
    case_vendor[at] = codes.reshape(-1) + 1
    vendor_wait = (instances.wtype == WASTE_TYPES.index("waiting")) & (
        instances.detail == DETAILS.index("vendor"))
    instances.e3[vendor_wait] = case_vendor[instances.ci[vendor_wait]]
    return [None, *vendors.tolist()]


def driver_tables(conn: duckdb.DuckDBPyConnection, events: EventArrays, runs: GroupRuns,
                  instances: Instances) -> dict[str, Table]:
    """The case counts of waste_drivers.sql (groupings.driver_counts) over the values
    driver_values.sql numbers: each case's priority, category and source, and the groups and
    sourcings of its group runs. Needs _mine_case_id, _mine_group and _mine_sourcing."""
    vocab = events.vocab
    run_sql(conn, materialise_sql("intermediate/driver_values", "_mine_driver_value",
                                  temp=True))
    case_values = conn.execute(model_query("intermediate/case_driver_values")).fetchnumpy()
    values = conn.execute("SELECT count(*) FROM _mine_driver_value").fetchall()[0][0]
    vid_of = {"group": np.zeros(len(vocab.groups), np.int64),
              "sourcing": np.zeros(len(vocab.sourcings), np.int64)}
    for attribute, code, vid in conn.execute(model_query("intermediate/driver_codes")).fetchall():
        vid_of[attribute][code] = vid
    pairs = [(np.asarray(case_values["ci"]), np.asarray(case_values["vid"]))]
    del case_values   # (driver_counts frees each entry of `pairs` once counted)
    for attribute, of_holder in (("group", vocab.holder_group),
                                 ("sourcing", vocab.holder_sourcing)):
        passed = distinct_in_case(runs.case, of_holder[runs.holder])
        pairs.append((passed["ci"], vid_of[attribute][passed["code"]]))
    return driver_counts(pairs, case_waste_masks(instances, events.cases), values)


def conformance_table(checked: Conformance, variants: int) -> Table:
    """Per variant, the conformance check's figures (marts/conformance.sql's input)."""
    return {
        "vi": np.arange(variants, dtype=np.int32),
        "fitness": np.array([np.nan if f is None else f for f in checked.fitness]),
        "deviations": object_array(checked.deviations),
        "log_moves": np.array([len(m) for m in checked.log_moves], dtype=np.int32),
        "model_moves": np.array(checked.model_moves, dtype=np.int32),
        "unjudged_events": np.array(checked.unjudged, dtype=np.int64)}


def setting_tables(events: EventArrays, settings: MiningSettings,
                   categories: list[str]) -> dict[str, Table]:
    """The settings the per-case marts read: each holder's hourly rate, the SLA targets by
    priority and the security categories among `categories`."""
    return {
        "_mine_holder_rate": {"code": np.arange(len(events.vocab.holder_group), dtype=np.int32),
                              "rate": holder_rates(events, settings)},
        "_mine_sla": {"priority": object_array(list(settings.sla_resolution_h)),
                      "hours": np.array(list(settings.sla_resolution_h.values()), np.float64)},
        "_mine_security": {"category": object_array(
            [c for c in categories if settings.is_security(c)])}}
