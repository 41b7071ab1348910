"""Case partitions of the event arrays: the unit of work of a partitioned mining engine.

A case's events stay together: its partition is a stable hash of its case id
(sql/intermediate/case_partitions.sql), the same in every run and on every host. Each
partition is an EventArrays of its own (whole cases in canonical order), so the per-case
detectors (waste.detect) run on it anywhere, e.g. on a Dask worker
(procmine.orchestration.dask_engine). `merge_waste` maps the partitions' results back onto
the whole log's event indices and orders them as `detect` on the whole log does, so the rest
of the mine stage (variants, conformance, clock, the aggregate marts) runs unchanged on the
coordinator and the marts equal the local engine's exactly (tests/test_dask_engine.py
compares the merged arrays with the local ones, field by field). The per-case marts' rows are
written per partition too (mine/partition_marts.py, the same partitions).
"""

from __future__ import annotations

from dataclasses import fields

import duckdb
import numpy as np

from procmine.mine.events import EventArrays, Vocabulary
from procmine.mine.settings import DETAILS, WASTE_TYPES, MiningSettings
from procmine.mine.variants import mix64
from procmine.mine.waste import (
    FIELDS,
    GroupRuns,
    Instances,
    Resolution,
    WasteResult,
    detect,
    index_dtype,
)
from procmine.sql.models import model_query

COLUMNS = ("key", "t", "x", "y")   # what a partition carries (EventArrays' own columns)
# waste.detect's batch order (each batch in event order): the merged instances follow it
BATCHES = ("waiting", "handoff", "ping_pong", "escalation_bounce", "rework", "reopen")
_PATH_MIX = np.uint64(0x9E3779B97F4A7C15)   # waste.detect_group_waste's path fingerprint


def indirect_ping_pong(wtype: np.ndarray, detail: np.ndarray) -> np.ndarray:
    """Which waste rows are indirect ping-pong returns: their e3 is a path id."""
    return (wtype == WASTE_TYPES.index("ping_pong")) & (detail == DETAILS.index("indirect"))


def case_partitions(conn: duckdb.DuckDBPyConnection, events: EventArrays,
                    parts: int) -> list[np.ndarray]:
    """Per partition, the indices of its events in the whole log (ascending: each case's
    events contiguous and in canonical order, as EventArrays needs them)."""
    found = conn.execute(model_query("intermediate/case_partitions"),
                         {"partitions": parts}).fetchnumpy()
    keys, part = np.asarray(found["case_key"]), np.asarray(found["part"])
    size = int(max(keys.max(initial=0), events.key.max(initial=0))) + 1
    lookup = np.zeros(size, np.int32)
    lookup[keys] = part
    of_event = np.repeat(lookup[events.key[events.starts]], events.lengths)
    order = np.argsort(of_event, kind="stable")
    bounds = np.cumsum(np.bincount(of_event, minlength=parts))
    return np.split(order, bounds[:-1])


def partition_columns(events: EventArrays, index: np.ndarray) -> dict[str, np.ndarray]:
    """One partition's events (whole cases), as the columns of a file for a worker."""
    return {name: getattr(events, name)[index] for name in COLUMNS}


def detect_partition(columns: dict[str, np.ndarray], vocab: Vocabulary,
                     settings: MiningSettings) -> WasteResult:
    """waste.detect on one partition (indices local to it)."""
    events = EventArrays(vocab, *(np.asarray(columns[name]) for name in COLUMNS))
    return detect(events, settings)


def merge_waste(events: EventArrays, pieces: list[tuple[np.ndarray, WasteResult]]
                ) -> WasteResult:
    """The partitions' results (each with its events' indices in the whole log) as one
    WasteResult equal to `detect(events, ...)`: event and case indices mapped, rows in
    detect's order, ping-pong path ids renumbered over the whole log."""
    pieces = [(index, found) for index, found in pieces if len(index)]
    rank = _path_ranks([found for _, found in pieces])
    instances = _merge_instances(events, pieces, rank)
    path_instance, path_step, path_holder = _merge_paths(pieces, rank, instances)
    return WasteResult(instances, _merge_runs(events, pieces), _merge_resolution(pieces),
                       path_instance, path_step, path_holder)


def _path_keys(found: WasteResult) -> np.ndarray:
    """Per local path id (1-based; index 0 unused) its fingerprint, as detect_group_waste
    computes it from the path's holders and steps."""
    keys = np.zeros(int(found.path_instance.max(initial=0)) + 1, np.uint64)
    if not len(found.path_instance):
        return keys
    starts = np.flatnonzero(found.path_step == 0)
    lengths = np.diff(np.append(starts, len(found.path_step)))
    mixed = mix64(found.path_holder.astype(np.uint64) * _PATH_MIX
                  + found.path_step.astype(np.uint64))
    keys[found.path_instance[starts]] = np.add.reduceat(mixed, starts) ^ mix64(
        lengths.astype(np.uint64))
    return keys


def _path_ranks(found: list[WasteResult]) -> list[np.ndarray]:
    """Per partition, local path id -> global path id (1-based): the rank of its fingerprint
    among every partition's, as np.unique numbers them on the whole log."""
    keys = [_path_keys(f) for f in found]
    distinct = np.unique(np.concatenate([k[1:] for k in keys])) if keys else np.zeros(
        0, np.uint64)
    ranks = []
    for k in keys:
        rank = np.searchsorted(distinct, k) + 1
        rank[0] = 0
        ranks.append(rank.astype(np.int32))
    return ranks


def _merge_instances(events: EventArrays, pieces: list[tuple[np.ndarray, WasteResult]],
                     ranks: list[np.ndarray]) -> Instances:
    columns: dict[str, list[np.ndarray]] = {name: [] for name in FIELDS}
    for (index, found), rank in zip(pieces, ranks, strict=True):
        local = found.instances
        for name in FIELDS:
            value = getattr(local, name)
            if name in ("ev", "since", "until"):   # (indices into the whole log)
                value = index[value].astype(index_dtype(events.n))
            elif name == "e3":
                path = indirect_ping_pong(local.wtype, local.detail)
                value = np.where(path, rank[np.where(path, value, 0)], value).astype(
                    value.dtype)
            columns[name].append(value)
    merged = {name: np.concatenate(parts) if parts else _empty(name)
              for name, parts in columns.items()}
    batch = np.zeros(len(WASTE_TYPES), np.int8)
    for position, name in enumerate(BATCHES):
        batch[WASTE_TYPES.index(name)] = position
    order = np.lexsort((merged["ev"], batch[merged["wtype"]]))
    merged = {name: value[order] for name, value in merged.items()}
    merged["ci"] = events.ci[merged["ev"]]
    return Instances(**merged)


def _empty(name: str) -> np.ndarray:
    dtypes = {"ci": np.int32, "ev": np.int32, "wtype": np.int8, "detail": np.int8,
              "hours": np.float64, "e1": np.int32, "e2": np.int32, "e3": np.int32,
              "since": np.int32, "until": np.int32, "stopped": np.float64, "clock": np.int8}
    return np.zeros(0, dtypes[name])


def _merge_paths(pieces: list[tuple[np.ndarray, WasteResult]], ranks: list[np.ndarray],
                 instances: Instances) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct path's rows once, paths in the order of their first indirect return
    in the whole log, steps in order (as detect_group_waste keeps them)."""
    if not any(len(found.path_instance) for _, found in pieces):
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
    path = indirect_ping_pong(instances.wtype, instances.detail)
    gid = instances.e3[path]
    first_at = np.full(int(gid.max(initial=0)) + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_at, gid, np.arange(len(gid)))
    pid, step, holder, source = [], [], [], []
    for number, ((_, found), rank) in enumerate(zip(pieces, ranks, strict=True)):
        pid.append(rank[found.path_instance])
        step.append(found.path_step)
        holder.append(found.path_holder)
        source.append(np.full(len(found.path_step), number, np.int32))
    pids, steps, holders, sources = (np.concatenate(p) for p in (pid, step, holder, source))
    # one copy per path: the rows of the first partition that has it
    first_source = np.full(len(first_at), np.iinfo(np.int32).max, np.int32)
    np.minimum.at(first_source, pids, sources)
    keep = sources == first_source[pids]
    pids, steps, holders = pids[keep], steps[keep], holders[keep]
    order = np.lexsort((steps, first_at[pids]))
    return (pids[order].astype(np.int64), steps[order].astype(np.int32), holders[order])


def _merge_runs(events: EventArrays, pieces: list[tuple[np.ndarray, WasteResult]]
                ) -> GroupRuns:
    names = [f.name for f in fields(GroupRuns)]
    merged = {name: np.concatenate([getattr(found.runs, name) for _, found in pieces])
              for name in names}
    merged["event"] = np.concatenate(
        [index[found.runs.event].astype(found.runs.event.dtype) for index, found in pieces])
    order = np.argsort(merged["event"], kind="stable")
    merged = {name: value[order] for name, value in merged.items()}
    merged["case"] = events.ci[merged["event"]]
    return GroupRuns(**merged)


def _merge_resolution(pieces: list[tuple[np.ndarray, WasteResult]]) -> Resolution:
    def mapped(name: str) -> np.ndarray:
        return np.concatenate([index[getattr(found.resolution, name)].astype(
            getattr(found.resolution, name).dtype) for index, found in pieces])

    merged = {}
    for name in ("resolved", "resolved_stage", "open"):
        merged[name] = np.sort(mapped(name), kind="stable")
    for name, after in (("reopen", "reopen_after"), ("neutral", "neutral_after")):
        at, before = mapped(name), mapped(after)
        order = np.argsort(at, kind="stable")
        merged[name], merged[after] = at[order], before[order]
    return Resolution(**merged)
